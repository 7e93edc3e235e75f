"""Delivery statuses arrive in any order and may repeat or skip: the message keeps the furthest one."""

from __future__ import annotations

import itertools

import pytest

from services.teamserver.ingest import merged_state, preview
from services.teamserver.security import hash_password, verify_password


@pytest.mark.parametrize("order", list(itertools.permutations(["sent", "delivered", "read"])))
def test_any_order_ends_read(order):
    state = "accepted"
    for status in order:
        state = merged_state(state, status)
    assert state == "read"


def test_skipped_delivered_and_played():
    assert merged_state("accepted", "read") == "read"
    assert merged_state("sent", "played") == "read"


def test_failure_counts_only_before_delivery():
    assert merged_state("sent", "failed") == "failed"
    assert merged_state("delivered", "failed") == "delivered"
    assert merged_state("failed", "sent") == "failed"
    assert merged_state("failed", "read") == "read"


def test_preview_flattens_and_cuts():
    assert preview("a\n\n b\tc") == "a b c"
    long = "x" * 500
    assert len(preview(long)) == 140 and preview(long).endswith("…")


def test_password_hash_round_trip():
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)
    assert not verify_password("x", "garbage")
    assert hash_password("same") != hash_password("same")  # salted
