"""Who may do what to which client: every role against own, sub-account, sibling and foreign clients."""

from __future__ import annotations

import pytest

from tradewire.errors import Unauthenticated
from tradewire.governance.api_keys import digest_of, generate_key, matches, split_key
from tradewire.governance.permissions import (
    ROLE_PERMISSIONS,
    ClientRef,
    Decision,
    Permission,
    Principal,
    Role,
    authorize,
    can_grant,
)

OWN = ClientRef("acme", "agency")
STORE = ClientRef("acme-eu", "agency", ("acme",))
SIBLING = ClientRef("globex", "agency")
FOREIGN = ClientRef("initech", "other-agency")


def principal(role: Role) -> Principal:
    return Principal("api_key", "k1", "test", "agency", role, None if role.partner_level else "acme")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_the_matrix(role: Role, permission: Permission) -> None:
    caller = principal(role)
    allowed = permission in ROLE_PERMISSIONS[role]
    expected_in_scope = Decision.ALLOWED if allowed else Decision.FORBIDDEN
    assert authorize(caller, permission, OWN) is expected_in_scope
    assert authorize(caller, permission, STORE) is expected_in_scope  # sub-accounts are in scope
    assert authorize(caller, permission, FOREIGN) is Decision.NOT_FOUND  # never 403 for another partner's
    sibling = authorize(caller, permission, SIBLING)
    assert sibling is (expected_in_scope if role.partner_level else Decision.NOT_FOUND)


def test_a_sub_account_key_does_not_reach_up_to_its_parent() -> None:
    store_admin = Principal("api_key", "k", "eu", "agency", Role.CLIENT_ADMIN, "acme-eu")
    assert authorize(store_admin, Permission.READ, STORE) is Decision.ALLOWED
    assert authorize(store_admin, Permission.READ, OWN) is Decision.NOT_FOUND


def test_nobody_grants_above_their_role_or_outside_their_scope() -> None:
    client_admin = principal(Role.CLIENT_ADMIN)
    assert can_grant(client_admin, Role.CLIENT_OPERATOR, OWN) is Decision.ALLOWED
    assert can_grant(client_admin, Role.CLIENT_ADMIN, STORE) is Decision.ALLOWED
    assert can_grant(client_admin, Role.PARTNER_OPERATOR, None) is Decision.FORBIDDEN
    assert can_grant(client_admin, Role.CLIENT_VIEWER, SIBLING) is Decision.NOT_FOUND
    operator = principal(Role.PARTNER_OPERATOR)
    assert can_grant(operator, Role.CLIENT_VIEWER, OWN) is Decision.FORBIDDEN  # operators do not manage access
    admin = principal(Role.PARTNER_ADMIN)
    assert can_grant(admin, Role.PARTNER_ADMIN, None) is Decision.ALLOWED
    assert can_grant(admin, Role.CLIENT_VIEWER, None) is Decision.FORBIDDEN  # a client role needs its client
    assert can_grant(admin, Role.PARTNER_OPERATOR, OWN) is Decision.FORBIDDEN  # a partner role takes none
    assert can_grant(admin, Role.CLIENT_VIEWER, FOREIGN) is Decision.NOT_FOUND


def test_keys_are_random_prefixed_and_only_their_hash_matches() -> None:
    keys = [generate_key() for _ in range(200)]
    assert len({k.secret for k in keys}) == len({k.prefix for k in keys}) == 200
    key = keys[0]
    assert key.secret.startswith(key.prefix + "_")
    assert split_key(key.secret) == key.prefix
    assert key.digest == digest_of(key.secret)
    assert key.secret not in key.digest
    assert matches(key.secret, key.digest)
    assert not matches(keys[1].secret, key.digest)
    assert not matches(key.secret[:-1] + ("A" if key.secret[-1] != "A" else "B"), key.digest)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "Bearer",
        "tw_",
        "tw_short_x",
        "sk_live_" + "a" * 40,
        "tw_" + "a" * 12 + "_" + "b" * 42,
        "tw_" + "é" * 12 + "_" + "b" * 43,
        "x" * 10_000,
    ],
)
def test_malformed_keys_are_refused_before_any_lookup(garbage: str) -> None:
    with pytest.raises(Unauthenticated, match="malformed"):
        split_key(garbage)
