"""Loading definitions: the example loads; every mistake is reported with its YAML path and line."""

from __future__ import annotations

import textwrap

import pytest
from http_support import EXAMPLE

from tradewire.connectors.http.definition import CursorToken, OAuth2ClientCredentials
from tradewire.connectors.http.loader import DefinitionError, Problem, load_definition, parse_definition
from tradewire.errors import ConfigError

MINIMAL = """\
name: tiny
base_url: https://api.example.com
auth: {type: bearer, secret: token}
endpoints:
  list: {path: /things, records: items}
"""


def problems(text: str) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(textwrap.dedent(text), source="test.yaml")
    return caught.value.problems


def test_the_example_loads_with_everything_it_declares() -> None:
    definition = load_definition(EXAMPLE)
    assert definition.name == "loyalty-crm"
    assert isinstance(definition.endpoints["list_members"].pagination, CursorToken)
    assert definition.objects["member"].canonical == "customer"
    assert definition.objects["transaction"].canonical == "order"
    assert [p.name for p in definition.pollers] == ["members", "transactions"]
    assert definition.secret_names() == {"api_key", "webhook_secret"}
    assert definition.webhooks is not None
    assert definition.webhooks.signature.prefix == "sha256="


def test_a_minimal_definition_loads() -> None:
    definition = parse_definition(MINIMAL)
    assert definition.title == "tiny"
    assert definition.endpoints["list"].method == "GET"


def test_unknown_keys_are_refused_with_path_and_line() -> None:
    found = problems(MINIMAL + "colour: blue\n")
    assert found == [Problem("colour", "Extra inputs are not permitted", 6)]
    nested = problems(MINIMAL.replace("records: items}", "records: items, retries: 3}"))
    assert nested[0].path == "endpoints.list.retries"
    assert nested[0].line == 5


def test_yaml_syntax_errors_name_the_line() -> None:
    found = problems("name: x\nbase_url: [unclosed\nauth: {type: none}\n")
    assert found[0].line is not None
    assert found[0].line >= 2
    assert "not valid YAML" in found[0].message


def test_a_definition_must_be_a_mapping() -> None:
    assert "YAML mapping" in problems("- just\n- a list\n")[0].message


def test_every_problem_is_reported_at_once() -> None:
    text = """\
    name: Bad Name
    base_url: http://user:pw@example.com/
    auth:
      type: api_key
      name: X-Key
      secret: k
    endpoints:
      list:
        path: members
        records: "data[?"
        pagination: {type: cursor}
    """
    found = {p.path: p for p in problems(text)}
    assert set(found) == {
        "name",
        "base_url",
        "endpoints.list.path",
        "endpoints.list.records",
        "endpoints.list.pagination.next",
    }
    assert found["name"].line == 1
    assert "credentials in the URL" in found["base_url"].message
    assert found["endpoints.list.records"].line == 10
    assert "JMESPath" in found["endpoints.list.records"].message
    assert found["endpoints.list.pagination.next"].line == 11


def test_auth_variants_are_discriminated_by_type() -> None:
    text = MINIMAL.replace(
        "auth: {type: bearer, secret: token}",
        "auth: {type: oauth2_client_credentials, token_url: /oauth/token, scope: read}",
    )
    definition = parse_definition(text)
    assert isinstance(definition.auth, OAuth2ClientCredentials)
    assert definition.secret_names() == {"client_id", "client_secret"}
    found = problems(MINIMAL.replace("type: bearer", "type: kerberos"))
    assert found[0].path == "auth"
    assert "kerberos" in found[0].message


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("ftp://example.com", "scheme"),
        ("https://u:p@example.com", "credentials"),
        ("https://example.com/v1?key=1", "no query"),
        ("http://metadata.google.internal", "metadata"),
    ],
)
def test_base_url_is_checked_on_load(base_url: str, message: str) -> None:
    found = problems(MINIMAL.replace("https://api.example.com", base_url))
    assert found[0].path == "base_url"
    assert message in found[0].message


def test_credentials_may_not_hide_in_default_headers() -> None:
    found = problems(MINIMAL + "headers: {Authorization: Bearer abc}\n")
    assert found[0].path == "headers"
    assert "auth section" in found[0].message


def test_paths_stay_under_base_url() -> None:
    for path in ("https://evil.example.com/x", "//evil.example.com/x", "things"):
        found = problems(MINIMAL.replace("path: /things", f"path: '{path}'"))
        assert found[0].path == "endpoints.list.path"


def test_references_between_sections_are_checked() -> None:
    text = MINIMAL + textwrap.dedent(
        """\
        objects:
          thing:
            canonical: customer
            id: id
            list: nowhere
            get: list
        pollers:
          - name: things
            object: ghost
            cursor: {field: updated_at, param: since}
        """
    )
    message = problems(text)[0].message
    assert "no endpoint named 'nowhere'" in message
    assert "must take {id}" in message
    assert "no object named 'ghost'" in message


def test_mapping_fields_are_checked_against_the_canonical_model() -> None:
    text = MINIMAL + textwrap.dedent(
        """\
        objects:
          thing:
            canonical: customer
            id: id
            fields: {emial: email}
        """
    )
    found = problems(text)[0]
    assert found.path == "objects.thing"
    assert "emial" in found.message
    assert found.line == 7
    order = MINIMAL + "objects:\n  sale: {canonical: order, id: id, fields: {currency: cur}}\n"
    assert "lines" in problems(order)[0].message


def test_webhook_signature_rules() -> None:
    hook = MINIMAL + textwrap.dedent(
        """\
        objects:
          thing: {canonical: customer, id: id}
        webhooks:
          signature: {header: X-Sig, signed_payload: "{timestamp}.{body}"}
          event_type: type
          object_id: data.id
          events: {thing.updated: {object: thing, event: customer.updated}}
        """
    )
    assert "set timestamp_header" in problems(hook)[0].message
    fixed = hook.replace('signed_payload: "{timestamp}.{body}"', "timestamp_header: X-Time")
    assert "exactly one of event_id" in problems(fixed)[0].message
    assert "deprecated JMESPath literal" in problems(MINIMAL.replace("records: items", "records: '`items`'"))[0].message


def test_problem_text_and_error_type() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_definition("name: 1\n", source="x.yaml")
    assert str(caught.value).startswith("x.yaml: ")
    assert str(Problem("a.b", "broken", 3)) == "a.b (line 3): broken"


def test_unreadable_files_are_a_definition_error(tmp_path: object) -> None:
    with pytest.raises(DefinitionError, match="cannot read"):
        load_definition("/nonexistent/definition.yaml")
