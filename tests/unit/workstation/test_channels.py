"""The reply window per channel, as the desktop shows it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workstation.channels import reply_window

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("channel, ago, state, left", [
    ("whatsapp", timedelta(hours=1), "open", 23 * 3600),
    ("whatsapp", timedelta(hours=23, minutes=30), "open", 1800),
    ("whatsapp", timedelta(hours=24), "closed", 0),
    ("whatsapp", timedelta(days=3), "closed", 0),
    ("messenger", timedelta(hours=2), "open", 22 * 3600),
    ("messenger", timedelta(hours=25), "human_agent", 6 * 86400 - 3600),
    ("instagram", timedelta(days=6, hours=23), "human_agent", 3600),
    ("instagram", timedelta(days=7), "closed", 0),
])
def test_window_states(channel, ago, state, left):
    window = reply_window(channel, NOW - ago, now=NOW)
    assert (window.state, window.seconds_left) == (state, left)
    assert window.closes_at == (None if state == "closed" else NOW + timedelta(seconds=left))


def test_no_window_on_other_channels_or_public_conversations_and_closed_without_a_customer_message():
    assert reply_window("telegram", NOW - timedelta(days=30), now=NOW) is None
    assert reply_window("x", NOW - timedelta(days=30), now=NOW) is None
    assert reply_window("messenger", NOW - timedelta(days=30), public=True, now=NOW) is None
    assert reply_window("whatsapp", None, now=NOW).state == "closed"


def test_closing_soon_is_the_last_two_hours():
    assert not reply_window("whatsapp", NOW - timedelta(hours=21, minutes=59), now=NOW).closing_soon
    assert reply_window("whatsapp", NOW - timedelta(hours=22), now=NOW).closing_soon
    assert not reply_window("whatsapp", NOW - timedelta(days=2), now=NOW).closing_soon
