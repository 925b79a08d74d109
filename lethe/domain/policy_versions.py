"""The use cases of a policy change: adopt a new version, and read those adopted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from lethe.domain.policy import Policy
from lethe.domain.policy_change import PolicyRecord, version_key


class PolicyVersions:
    """Mixed into `Lethe`: its `policies` and `policy_versions` follow adoptions."""

    policies: dict[str, Policy]
    policy_versions: dict[str, Policy]
    repository: Any
    save: Any  # the host's (an annotation only: a method here would shadow it)

    def adopt_policy(self, policy: Policy, text: str, by: str, at: datetime) -> bool:
        """Record `policy` as the version in force; False when adopted already.

        Recorded before any item moves: a crash after it leaves the version in
        force and the items to move, which a re-run of apply finishes.
        """
        record = self._policy_record(policy.id) or PolicyRecord(policy.id)
        adopted = record.adopt(policy, text, by, at)
        if adopted:
            self.save(record)
        self._in_force(policy)
        return adopted

    def adopted_text(self, policy: Policy) -> str | None:
        """The text this store adopted under `policy`'s version, if any."""
        record = self._policy_record(policy.id)
        return record.versions.get(policy.version) if record else None

    def load_adopted_policies(self) -> None:
        """Bring in every version adopted in this store; the newest is in force."""
        for policy_id in list(self.policies):
            record = self._policy_record(policy_id)
            for policy in record.policies() if record else ():
                self._in_force(policy)

    def _in_force(self, policy: Policy) -> None:
        self.policy_versions[policy.ref] = policy
        current = self.policies.get(policy.id)
        if current is None or version_key(policy.version) >= version_key(
            current.version
        ):
            self.policies[policy.id] = policy

    def _policy_record(self, policy_id: str) -> PolicyRecord | None:
        try:
            record = self.repository.get(PolicyRecord.create_id(policy_id))
        except AggregateNotFoundError:
            return None
        assert isinstance(record, PolicyRecord)
        return record
