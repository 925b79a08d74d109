"""Lethe's ids are uuid5s and HMACs: the fast construction must name exactly the
streams and orders the standard library's would (every stored history depends
on it), for any text."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from hypothesis import given
from hypothesis import strategies as st

from lethe.domain import identity

names = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
NAMESPACES = st.sampled_from(
    [
        identity.ITEMS_NAMESPACE,
        identity.SUBJECTS_NAMESPACE,
        identity.ORDERS_NAMESPACE,
        identity.REQUESTS_NAMESPACE,
        uuid.NAMESPACE_DNS,
    ]
)


@given(NAMESPACES, names)
def test_uuid5_is_the_standard_librarys(namespace: uuid.UUID, name: str) -> None:
    fast, standard = identity.uuid5(namespace, name), uuid.uuid5(namespace, name)
    assert fast == standard
    assert (fast.int, fast.version, fast.variant) == (
        standard.int,
        standard.version,
        standard.variant,
    )
    assert (str(fast), hash(fast), fast.bytes) == (
        str(standard),
        hash(standard),
        standard.bytes,
    )
    assert fast.is_safe == standard.is_safe


@given(names, st.sampled_from(["RETENTION_EXPIRED", "SUBJECT_ERASURE"]), names)
def test_an_order_id_is_the_keyed_uuid5_it_always_was(
    item_ref: str, cause: str, secret: str
) -> None:
    if not secret:
        return
    keyed = hmac.new(secret.encode(), f"{item_ref}/{cause}".encode(), hashlib.sha256)
    expected = str(uuid.uuid5(identity.ORDERS_NAMESPACE, keyed.hexdigest()))
    assert identity.order_id(item_ref, cause, secret) == expected


def test_an_item_id_is_pinned() -> None:
    # The stream of an item named in a store written before this code.
    assert str(identity.item_id("img-0001")) == str(
        uuid.uuid5(identity.ITEMS_NAMESPACE, "img-0001")
    )


def test_a_lone_surrogate_is_refused_as_the_standard_library_refuses_it() -> None:
    for make in (identity.uuid5, uuid.uuid5):
        try:
            make(identity.ITEMS_NAMESPACE, "\ud800")
        except UnicodeEncodeError:
            continue
        raise AssertionError(f"{make} took a lone surrogate")
