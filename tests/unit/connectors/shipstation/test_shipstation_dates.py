"""Pacific wall time without an offset, both ways, across the DST edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tradewire.connectors.shipstation.dates import (
    is_ambiguous,
    is_date_only,
    pacific_date,
    parse_pacific,
    safe_window_start,
    to_pacific_text,
)


def test_the_documented_example_is_pacific_daylight_time() -> None:
    assert parse_pacific("2015-06-29T08:46:27.0000000") == datetime(2015, 6, 29, 15, 46, 27, tzinfo=UTC)


def test_winter_times_are_eight_hours_behind_utc() -> None:
    assert parse_pacific("2026-01-15T23:30:00.0000000") == datetime(2026, 1, 16, 7, 30, tzinfo=UTC)
    assert to_pacific_text(datetime(2026, 1, 16, 7, 30, tzinfo=UTC)) == "2026-01-15T23:30:00.0000000"


def test_seven_fraction_digits_are_written_and_up_to_nine_read() -> None:
    moment = datetime(2026, 7, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert to_pacific_text(moment) == "2026-07-01T05:00:00.1234560"
    assert parse_pacific("2026-07-01T05:00:00.1234567") == moment
    assert parse_pacific("2026-07-01T05:00:00.123456789") == moment
    assert parse_pacific("2026-07-01 05:00:00") == moment.replace(microsecond=0)


def test_every_minute_across_both_2026_transitions_round_trips() -> None:
    for start in (datetime(2026, 3, 8, 8, 0, tzinfo=UTC), datetime(2026, 11, 1, 7, 0, tzinfo=UTC)):
        for minute in range(0, 4 * 60, 7):
            moment = start + timedelta(minutes=minute)
            text = to_pacific_text(moment)
            # The repeated hour of November cannot round-trip its second pass (no offset is sent).
            if text.startswith("2026-11-01T01:") and moment >= datetime(2026, 11, 1, 9, 0, tzinfo=UTC):
                assert parse_pacific(text) == moment - timedelta(hours=1)
            else:
                assert parse_pacific(text) == moment


def test_the_repeated_fall_back_hour_is_read_as_its_first_pass() -> None:
    # 01:30 happens at 08:30 UTC (PDT) and again at 09:30 UTC (PST); the earlier instant is chosen.
    assert parse_pacific("2026-11-01T01:30:00.0000000") == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    assert to_pacific_text(datetime(2026, 11, 1, 9, 30, tzinfo=UTC)) == "2026-11-01T01:30:00.0000000"


def test_the_skipped_spring_forward_hour_is_read_with_the_standard_offset() -> None:
    # 02:30 on 8 March 2026 never happens in Los Angeles; read as PST it is 10:30 UTC (03:30 PDT).
    assert parse_pacific("2026-03-08T02:30:00.0000000") == datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    assert to_pacific_text(datetime(2026, 3, 8, 10, 30, tzinfo=UTC)) == "2026-03-08T03:30:00.0000000"


def test_an_explicit_offset_wins_and_a_date_means_pacific_midnight() -> None:
    assert parse_pacific("2026-07-01T05:00:00Z") == datetime(2026, 7, 1, 5, tzinfo=UTC)
    assert parse_pacific("2026-07-01T05:00:00-0400") == datetime(2026, 7, 1, 9, tzinfo=UTC)
    assert parse_pacific("2026-07-01") == datetime(2026, 7, 1, 7, tzinfo=UTC)
    assert is_date_only("2026-07-01")
    assert not is_date_only("2026-07-01T00:00:00")


def test_the_pacific_day_of_a_late_utc_evening_is_the_same_day_in_utc_morning() -> None:
    assert str(pacific_date(datetime(2026, 7, 2, 3, 0, tzinfo=UTC))) == "2026-07-01"
    assert (
        to_pacific_text(datetime(2026, 7, 2, 3, 0, tzinfo=timezone(timedelta(hours=2))))
        == "2026-07-01T18:00:00.0000000"
    )


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "2026-07-01T25:00:00", "07/01/2026"])
def test_unreadable_text_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_pacific(text)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_pacific_text(datetime(2026, 7, 1, 5, 0))


def test_a_window_starting_in_the_repeated_hour_starts_an_hour_earlier() -> None:
    second_pass = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # 01:30 PST, after 01:30 PDT
    assert is_ambiguous(second_pass)
    assert is_ambiguous(second_pass - timedelta(hours=1))
    assert safe_window_start(second_pass) == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    # Whichever pass ShipStation reads the text as, the window still covers the intended start.
    assert parse_pacific(to_pacific_text(safe_window_start(second_pass))) <= second_pass
    ordinary = datetime(2026, 11, 1, 11, 0, tzinfo=UTC)
    assert not is_ambiguous(ordinary)
    assert safe_window_start(ordinary) == ordinary
    assert not is_ambiguous(datetime(2026, 3, 8, 10, 30, tzinfo=UTC))
