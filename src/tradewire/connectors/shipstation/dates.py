"""ShipStation V1 times: Pacific wall-clock text without an offset, both ways.

ShipStation V1 writes and reads times as ``2015-06-29T08:46:27.0000000`` in US Pacific time
(``America/Los_Angeles``, so PST or PDT by date) and never says which. Tradewire keeps aware
UTC times, so every time crosses this module. Two DST edges are resolved on purpose:

* a wall time that happens twice (the repeated hour of the November fall-back) is read as the
  first one (PDT, ``fold=0``): the earlier instant, so a poll's window only grows;
* a window that starts in the repeated hour starts an hour earlier (``safe_window_start``), and
  the poller sends no end bound, so an ambiguous time never shrinks what a poll reads;
* a wall time that never happens (the skipped hour of the March spring-forward) is read with the
  offset before the jump (PST), i.e. one hour later in PDT wall time.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")

_TEXT = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)


def to_pacific_text(moment: datetime) -> str:
    """ShipStation's text for an aware ``moment``: Pacific wall time, 7 fraction digits, no offset.

    Raises:
        ValueError: ``moment`` is naive (a naive time has no instant to convert).
    """
    if moment.tzinfo is None:
        raise ValueError("a naive datetime cannot be converted to Pacific time")
    local = moment.astimezone(PACIFIC)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0"


def parse_pacific(text: str) -> datetime:
    """The aware UTC instant of ShipStation's ``text`` (Pacific without offset; an explicit offset wins).

    A date alone means midnight Pacific of that day.

    Raises:
        ValueError: ``text`` is not a ShipStation date or date-time.
    """
    match = _TEXT.match(text.strip())
    if match is None:
        raise ValueError(f"not a ShipStation date-time: {text[:40]!r}")
    day = date.fromisoformat(match["date"])
    clock = time.fromisoformat(match["time"]) if match["time"] else time()
    fraction = match["fraction"] or "0"
    micro = int((fraction + "000000")[:6])
    naive = datetime.combine(day, clock).replace(microsecond=micro)
    zone = match["zone"]
    if zone:
        offset = "+00:00" if zone == "Z" else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
        return datetime.fromisoformat(naive.isoformat() + offset).astimezone(UTC)
    return naive.replace(tzinfo=PACIFIC, fold=0).astimezone(UTC)


def is_ambiguous(moment: datetime) -> bool:
    """True when ``moment``'s Pacific wall time happens twice (the repeated hour of the fall-back).

    Such a time cannot be told to ShipStation without losing an hour one way or the other.
    """
    local = moment.astimezone(PACIFIC).replace(tzinfo=None)
    first = local.replace(tzinfo=PACIFIC, fold=0).utcoffset()
    second = local.replace(tzinfo=PACIFIC, fold=1).utcoffset()
    return first != second


def safe_window_start(moment: datetime) -> datetime:
    """A window start ShipStation cannot read as later than ``moment``.

    In the repeated hour the wall time is ambiguous; starting an hour earlier keeps the window
    whole whichever pass ShipStation picks (re-read records are deduplicated).
    """
    return moment - timedelta(hours=1) if is_ambiguous(moment) else moment


def is_date_only(text: str) -> bool:
    """True when ``text`` is a bare ``YYYY-MM-DD`` (ShipStation's ``shipDate``)."""
    match = _TEXT.match(text.strip())
    return match is not None and match["time"] is None


def pacific_date(moment: datetime) -> date:
    """The Pacific calendar day of an aware ``moment``."""
    return moment.astimezone(PACIFIC).date()
