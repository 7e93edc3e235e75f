"""The composer's character budget follows the conversation's channel: 4096 on WhatsApp and Telegram, 2000 on
Messenger, 1000 on Instagram, 280 for a public X reply, none of its own for email (the counter hides)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ui.composer import Composer
from workstation.protocol import MAX_REPLY_CHARS


@pytest.fixture
def composer(qtbot):
    widget = Composer()
    qtbot.addWidget(widget)
    widget.show()
    return widget


@pytest.mark.parametrize("channel, public, limit", [
    ("telegram", False, 4096),
    ("whatsapp", False, 4096),
    ("messenger", False, 2000),
    ("instagram", False, 1000),
    ("x", True, 280),
    # An X direct message may be 10,000 characters, but the agent API takes at most MAX_REPLY_CHARS.
    ("x", False, min(10000, MAX_REPLY_CHARS)),
    ("email", False, MAX_REPLY_CHARS),
    ("pigeon", False, MAX_REPLY_CHARS),
    (None, False, MAX_REPLY_CHARS),
])
def test_each_channel_sets_its_budget(composer, channel, public, limit):
    composer.set_channel(channel, public=public)
    assert composer.limit == limit and composer.channel == channel
    composer.edit.setPlainText("hola")
    assert composer.counter.text() == f"4 / {limit}"


def test_a_public_x_reply_over_280_cannot_be_sent_and_shows_red(composer, qtbot):
    composer.set_channel("x", public=True)
    composer.setEnabled(True)
    composer.edit.setPlainText("a" * 281)
    assert not composer.send_button.isEnabled() and "#C62828" in composer.counter.styleSheet()
    with qtbot.assertNotEmitted(composer.reply_submitted):
        composer.on_edit_submitted()
    composer.edit.setPlainText("a" * 280)
    assert composer.send_button.isEnabled() and composer.counter.styleSheet() == ""
    with qtbot.waitSignal(composer.reply_submitted) as sent:
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent.args == ["a" * 280]


def test_switching_channel_recounts_the_text_already_typed(composer):
    composer.set_channel("telegram")
    composer.edit.setPlainText("b" * 1500)
    assert composer.send_button.isEnabled()
    composer.set_channel("instagram")  # the agent opened an Instagram conversation with this draft
    assert composer.counter.text() == "1500 / 1000" and not composer.send_button.isEnabled()
    composer.set_channel("messenger")
    assert composer.counter.text() == "1500 / 2000" and composer.send_button.isEnabled()


def test_email_hides_the_counter_until_the_text_is_over_what_the_server_takes(composer):
    composer.set_channel("telegram")
    assert composer.counter.isVisible()
    composer.set_channel("email")
    composer.edit.setPlainText("c" * 100)
    assert not composer.counter.isVisible() and composer.send_button.isEnabled()
    composer.edit.setPlainText("c" * (MAX_REPLY_CHARS + 1))
    assert composer.counter.isVisible() and not composer.send_button.isEnabled()
    composer.set_channel("whatsapp")
    composer.edit.setPlainText("c")
    assert composer.counter.isVisible()
