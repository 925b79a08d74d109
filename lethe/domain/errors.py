"""Errors the domain raises: each message is a sentence a support person can act on."""

from __future__ import annotations


class LetheError(Exception):
    """Base of every refusal the domain makes."""


class ItemHeldError(LetheError):
    def __init__(self, item_ref: str, case_refs: list[str]) -> None:
        cases = ", ".join(case_refs)
        super().__init__(
            f"item {item_ref} is under legal hold ({cases}); "
            "release the hold before it can be erased"
        )


class ItemRestrictedError(LetheError):
    def __init__(self, item_ref: str, tickets: list[str]) -> None:
        super().__init__(
            f"processing of item {item_ref} is restricted (GDPR art. 18; "
            f"{', '.join(tickets)}); lift the restriction before it can be erased"
        )


class ErasureAlreadyOrderedError(LetheError):
    def __init__(self, item_ref: str, order_id: str) -> None:
        super().__init__(f"erasure of item {item_ref} was already ordered ({order_id})")


class NotDueError(LetheError):
    def __init__(self, item_ref: str, due_at: object, at: object) -> None:
        super().__init__(
            f"item {item_ref} is not due for erasure at {at} "
            f"(due: {due_at or 'not yet known'})"
        )


class DueBeforeCapturedError(LetheError):
    def __init__(self, item_ref: str, due_at: object, captured_at: object) -> None:
        super().__init__(
            f"item {item_ref} cannot be due at {due_at}, "
            f"before it was captured ({captured_at})"
        )


class UnknownOrderError(LetheError):
    def __init__(self, item_ref: str, order_id: str) -> None:
        super().__init__(f"item {item_ref} has no erasure order {order_id}")


class ItemNotFoundError(LetheError):
    def __init__(self, item_ref: str) -> None:
        super().__init__(f"no item {item_ref!r} is known to Lethe")


class SubjectNotFoundError(LetheError):
    def __init__(self) -> None:
        # Never echo the subject id: it is personal data and errors end up in logs.
        super().__init__(
            "no subject with that id is known to Lethe for this controller"
        )


class NoSuchHoldError(LetheError):
    def __init__(self, what: str, case_ref: str) -> None:
        super().__init__(f"{what} has no hold with case reference {case_ref!r}")


class NoSuchRestrictionError(LetheError):
    def __init__(self, what: str, ticket: str) -> None:
        super().__init__(f"{what} has no restriction with ticket {ticket!r}")


class ItemAlreadyErasedError(LetheError):
    def __init__(self, item_ref: str) -> None:
        super().__init__(f"item {item_ref} has already been erased")


class ConflictingRedeliveryError(LetheError):
    def __init__(self, item_ref: str) -> None:
        super().__init__(
            f"item id {item_ref} was already ingested with different content; "
            "the first record stands"
        )


class BadCommandError(LetheError):
    """A command that cannot be carried out as given (missing reason, both ids...)."""
