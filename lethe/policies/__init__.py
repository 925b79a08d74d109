"""Retention policies as versioned data files, shipped in this package."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from lethe.domain.policy import (
    Policy,
    PolicyFileError,
    UnknownPolicyError,
    parse_policy,
)

_SUFFIX = ".toml"
# Versions no longer in force, `<id>@<version>.toml`: items they scheduled keep
# them, so they ship for as long as such an item may live.
PREVIOUS = "previous"


def shipped_ids() -> list[str]:
    """The ids of the policies shipped with Lethe, sorted."""
    names = (entry.name for entry in files(__name__).iterdir())
    return sorted(
        name.removesuffix(_SUFFIX) for name in names if name.endswith(_SUFFIX)
    )


@cache  # a Policy is immutable and the packaged files do not change at run time
def load_shipped(policy_id: str) -> Policy:
    """Read and check the shipped policy `policy_id` (the file `<policy_id>.toml`)."""
    known = shipped_ids()
    if policy_id not in known:
        raise UnknownPolicyError(
            f"no policy {policy_id!r} is shipped (shipped: {', '.join(known)})"
        )
    file_name = f"{policy_id}{_SUFFIX}"
    text = (files(__name__) / file_name).read_text(encoding="utf-8")
    policy = parse_policy(text, file_name)
    if policy.id != policy_id:
        # The file name is how operators and items name a policy: they must agree.
        raise PolicyFileError(
            f"{file_name}: policy: {policy.id!r} differs from the file name"
        )
    return policy


@cache
def load_previous() -> tuple[Policy, ...]:
    """Every earlier version shipped under previous/, each checked as it is read."""
    folder = files(__name__) / PREVIOUS
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(_SUFFIX):
            continue
        policy = parse_policy(entry.read_text(encoding="utf-8"), entry.name)
        if f"{policy.ref}{_SUFFIX}" != entry.name:
            raise PolicyFileError(
                f"{PREVIOUS}/{entry.name}: holds {policy.ref}; "
                f"name it {policy.ref}{_SUFFIX}"
            )
        found.append(policy)
    return tuple(found)
