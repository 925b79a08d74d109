"""Access settings, lifetimes and roles: pure parsing, refused with one clear line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lethe.domain.errors import BadCommandError
from lethe.ops.access.roles import (
    PERMISSIONS,
    Action,
    Principal,
    Role,
    RoleRequiredError,
)
from lethe.ops.access.settings import AccessSettings, parse_role_map
from lethe.ops.access.tokens import parse_lifetime
from lethe.ops.settings import SettingsError


@pytest.mark.parametrize(
    ("text", "lifetime"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
    ],
)
def test_a_lifetime_is_read_in_days_hours_or_minutes(
    text: str, lifetime: timedelta
) -> None:
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize("text", ["", "0d", "1y", "-3d", "3 days", "d"])
def test_a_lifetime_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(BadCommandError, match="is not a lifetime"):
        parse_lifetime(text)


def test_a_role_map_value_may_give_several_roles() -> None:
    assert parse_role_map("arc-dpo=auditor+legal, g1=support") == {
        "arc-dpo": frozenset({Role.AUDITOR, Role.LEGAL}),
        "g1": frozenset({Role.SUPPORT}),
    }


@pytest.mark.parametrize("text", ["nobody", "g=root", "=support"])
def test_a_bad_role_map_is_refused_naming_the_setting(text: str) -> None:
    with pytest.raises(SettingsError, match="LETHE_OIDC_ROLE_MAP"):
        parse_role_map(text)


def test_oidc_needs_all_three_of_issuer_audience_and_jwks() -> None:
    with pytest.raises(SettingsError, match="LETHE_OIDC_JWKS_URL"):
        AccessSettings.from_env(
            {"LETHE_OIDC_ISSUER": "https://id", "LETHE_OIDC_AUDIENCE": "lethe"}
        )
    assert AccessSettings.from_env({}).oidc is None


def test_four_eyes_names_only_what_can_need_a_second_person() -> None:
    assert AccessSettings.from_env({"LETHE_FOUR_EYES": "all"}).four_eyes == {
        "erase-subject",
        "release-hold",
    }
    with pytest.raises(SettingsError, match="sweep cannot need a second person"):
        AccessSettings.from_env({"LETHE_FOUR_EYES": "sweep"})


def test_every_action_needs_a_role_and_admin_is_not_a_superuser() -> None:
    assert set(PERMISSIONS) == set(Action)
    admin = Principal("token:root", frozenset({Role.ADMIN}))
    assert [a for a in Action if admin.may(a)] == [Action.MANAGE_TOKENS]


def test_a_refusal_names_the_role_the_action_needs() -> None:
    support = Principal("token:kari", frozenset({Role.SUPPORT}))
    with pytest.raises(RoleRequiredError) as refused:
        support.require(Action.HOLD)
    assert str(refused.value) == (
        "token:kari may not place or release a legal hold: that needs the role legal"
    )
