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


class NotConfirmedError(LetheError):
    """A replay names an order its store never confirmed erased."""

    def __init__(self, item_ref: str, order_id: str, store: str) -> None:
        super().__init__(
            f"item {item_ref}: store {store} never confirmed order {order_id}"
            " erased; only a confirmed erasure is replayed"
        )


class UnknownRecallError(LetheError):
    def __init__(self, item_ref: str, order_id: str) -> None:
        super().__init__(
            f"item {item_ref} has no recall out for order {order_id}: "
            "RECALLED and TOO_LATE answer a recall"
        )


class OrderRecalledError(LetheError):
    def __init__(self, item_ref: str, order_id: str) -> None:
        super().__init__(
            f"item {item_ref}: order {order_id} was recalled; it is not re-sent"
        )


class NotKnownError(LetheError):
    """What the command names is not known: a typo, or the wrong controller.

    Its own kind (and exit code), so that a script can tell "no such customer"
    from "refused".
    """


CHECK = "check the id and controller"


class ItemNotFoundError(NotKnownError):
    def __init__(self, item_ref: str, controller: str | None = None) -> None:
        if controller is None:
            super().__init__(f"no item {item_ref!r} is known to Lethe")
        else:
            super().__init__(
                f"no item {item_ref!r} is known to Lethe for controller"
                f" {controller!r}; {CHECK}"
            )


class SubjectNotFoundError(NotKnownError):
    def __init__(self, controller: str | None = None) -> None:
        # Never echo the subject id: it is personal data and errors end up in logs.
        if controller is None:
            super().__init__(
                "no subject with that id is known to Lethe for this controller"
            )
        else:  # raised only when it has no record and no item
            super().__init__(
                "no subject with that id is known to Lethe for controller"
                f" {controller!r} (no items, no records); {CHECK}"
            )


class NoSuchRequestError(NotKnownError):
    def __init__(self, request_id: str) -> None:
        super().__init__(
            f"the subject has no request {request_id!r}; {CHECK}, and the request"
            " id that `lethe erase subject` printed"
        )


class ExtensionTooLateError(LetheError):
    def __init__(self, told_on: object, first_month_ended: object) -> None:
        super().__init__(
            f"too late to extend: the first month ended with {first_month_ended}"
            f" and the subject was told on {told_on}; GDPR art. 12(3) allows the"
            " extension only if the subject is told within the first month"
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


class EndsBeforeItBeganError(LetheError):
    """A release or lift dated before the hold or restriction it ends."""

    def __init__(self, what: str, handle: str, began: object, at: object) -> None:
        super().__init__(
            f"{what} {handle} was placed at {began}; it cannot end before that "
            f"(given: {at})"
        )


class PoliceExtensionNotApplicableError(LetheError):
    def __init__(self, item_ref: str, kind: str) -> None:
        super().__init__(
            f"item {item_ref} is not a verification image ({kind}): the police "
            "extension applies to images only; to keep it, place a legal hold"
        )
