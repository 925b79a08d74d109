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
