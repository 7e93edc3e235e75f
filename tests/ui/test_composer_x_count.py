"""A public X reply's budget is counted as X counts it (workstation.textcount: URLs 23, emoji and CJK 2, NFC), so the
composer agrees with what the server accepts; an X direct message and other channels count code points."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ui.composer import Composer
from workstation.protocol import MAX_REPLY_CHARS
from workstation.textcount import x_post_length

URL_A = "https://shop.example.com/orders/4815162342/tracking?carrier=correos&lang=es-ES&utm_source=x"
URL_B = "https://help.example.com/articles/returns-and-refunds-within-thirty-days-of-delivery"


@pytest.fixture
def composer(qtbot):
    widget = Composer()
    qtbot.addWidget(widget)
    widget.show()
    widget.setEnabled(True)
    return widget


def with_two_urls(weighted: int) -> str:
    """A reply with two long URLs, padded to `weighted` as X counts it."""
    words = f"Hola Lucía, your order ships today: {URL_A} and returns are explained here: {URL_B} "
    return words + "z" * (weighted - x_post_length(words))


def test_two_urls_in_a_270_reply_are_within_a_public_x_budget_where_len_would_be_over(composer, qtbot):
    text = with_two_urls(270)
    assert x_post_length(text) == 270 and len(text) > 280  # each URL weighs 23 however long it is
    composer.set_channel("x", public=True)
    composer.edit.setPlainText(text)
    assert composer.counter.text() == "270 / 280"
    assert composer.send_button.isEnabled() and composer.counter.styleSheet() == ""
    with qtbot.waitSignal(composer.reply_submitted) as sent:
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent.args == [text]


def test_the_counter_shows_x_s_count_not_code_points(composer):
    words = f"{URL_A} {URL_B} "
    text = words + "z" * (270 - len(words))  # 270 code points with two URLs: 23 + 1 + 23 + 1 + the rest
    composer.set_channel("x", public=True)
    composer.edit.setPlainText(text)
    assert composer.counter.text() == f"{48 + 270 - len(words)} / 280" and composer.send_button.isEnabled()


def test_the_boundary_as_x_counts_it(composer):
    composer.set_channel("x", public=True)
    composer.edit.setPlainText(with_two_urls(281))
    assert composer.counter.text() == "281 / 280" and not composer.send_button.isEnabled()
    composer.edit.setPlainText(with_two_urls(280))
    assert composer.counter.text() == "280 / 280" and composer.send_button.isEnabled()


def test_141_cjk_characters_are_over_a_public_x_budget(composer, qtbot):
    composer.set_channel("x", public=True)
    composer.edit.setPlainText("漢" * 140)
    assert composer.counter.text() == "280 / 280" and composer.send_button.isEnabled()
    composer.edit.setPlainText("漢" * 141)  # 141 code points, but 282 as X counts them
    assert composer.counter.text() == "282 / 280"
    assert not composer.send_button.isEnabled() and "#C62828" in composer.counter.styleSheet()
    with qtbot.assertNotEmitted(composer.reply_submitted):
        composer.on_edit_submitted()
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)


def test_emoji_and_combining_sequences_count_as_x_counts_them(composer):
    composer.set_channel("x", public=True)
    composer.edit.setPlainText("👨‍👩‍👧 cafe\u0301")  # a ZWJ family (2), a space, NFC café (4)
    assert composer.counter.text() == "7 / 280"


def test_an_x_dm_and_other_channels_count_code_points(composer):
    composer.set_channel("x", public=False)
    composer.edit.setPlainText("漢" * 141)
    assert composer.counter.text() == f"141 / {min(10000, MAX_REPLY_CHARS)}" and composer.send_button.isEnabled()
    composer.set_channel("whatsapp")
    composer.edit.setPlainText(URL_A)
    assert composer.counter.text() == f"{len(URL_A)} / 4096"


def test_switching_between_a_dm_and_a_public_x_reply_recounts(composer):
    composer.set_channel("x", public=False)
    composer.edit.setPlainText("漢" * 141)
    assert composer.send_button.isEnabled()
    composer.set_channel("x", public=True)
    assert composer.counter.text() == "282 / 280" and not composer.send_button.isEnabled()
    composer.set_channel("x", public=False)
    assert composer.counter.text() == f"141 / {min(10000, MAX_REPLY_CHARS)}" and composer.send_button.isEnabled()


def test_a_public_x_reply_is_still_capped_by_the_agent_api_in_code_points(composer):
    # URLs weigh 23 however long, but the agent API takes at most MAX_REPLY_CHARS code points.
    long_url = "https://example.com/" + "p" * MAX_REPLY_CHARS
    composer.set_channel("x", public=True)
    composer.edit.setPlainText(long_url)
    assert composer.counter.text() == "23 / 280"
    assert not composer.send_button.isEnabled() and "#C62828" in composer.counter.styleSheet()


def test_a_public_answer_to_an_instagram_comment_has_the_comment_budget(qtbot):
    composer = Composer()
    qtbot.addWidget(composer)
    composer.set_channel("instagram", public=False)
    assert composer.limit == 1000  # a direct message
    composer.set_channel("instagram", public=True)
    assert composer.limit == 2200  # a reply to a comment
    composer.edit.setPlainText("a" * 1500)
    assert not composer.over_budget("a" * 1500) and composer.over_budget("a" * 2201)
