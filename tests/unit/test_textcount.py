"""workstation.textcount: a reply counted as its channel counts it (X: twitter-text v3 weighting for a public reply),
one implementation for the desktop composer and the X connector."""

from __future__ import annotations

import pytest

from workstation.textcount import X_MAX_POST_CHARS, reply_length, x_post_length

URL = "https://example.com/orders/12345?ref=care&lang=es"


def test_the_x_post_limit_is_280():
    assert X_MAX_POST_CHARS == 280


@pytest.mark.parametrize("text, length", [
    (URL, 23),
    ("http://a.io", 23),  # a short URL weighs 23 too
    ("HTTPS://EXAMPLE.COM/" + "x" * 500, 23),  # however long
    (f"see {URL} and {URL}", 4 + 23 + 5 + 23),
    (f"({URL}).", 1 + 23 + 2),  # trailing punctuation is text, not URL
    ("example.com", 11),  # a bare domain is not recognised as a URL
    ("xhttps://a.io", 13),  # nor a scheme glued to a word
])
def test_a_url_weighs_23(text, length):
    assert x_post_length(text) == length


@pytest.mark.parametrize("text, length", [
    ("😀", 2),
    ("😀😀😀", 6),
    ("👍🏽", 2),  # with a skin tone modifier
    ("👨‍👩‍👧‍👦", 2),  # a ZWJ family is one emoji
    ("🇪🇸", 2),  # a flag: two regional indicators
    ("1️⃣", 2),  # a keycap
    ("❤️", 2),  # with the emoji presentation selector
    ("© ©️", 1 + 1 + 2),  # text-style © weighs 1, emoji-style 2
])
def test_an_emoji_weighs_2(text, length):
    assert x_post_length(text) == length


@pytest.mark.parametrize("text, length", [
    ("漢字", 4),
    ("かなカナ", 8),
    ("한국어", 6),
    ("注文 12345", 4 + 6),  # mixed with Latin
])
def test_cjk_weighs_2(text, length):
    assert x_post_length(text) == length


@pytest.mark.parametrize("text, length", [
    ("ñandú café", 10),  # Latin-1 and Latin Extended weigh 1
    ("“quoted” — dash", 15),  # U+2010-U+201F weigh 1
    ("…", 2),  # U+2026 is outside every weight-1 range
])
def test_ranges_that_weigh_1_and_those_that_do_not(text, length):
    assert x_post_length(text) == length


def test_text_is_nfc_normalized_first():
    decomposed = "cafe\u0301"  # e + combining acute: NFC makes it one é
    assert len(decomposed) == 5 and x_post_length(decomposed) == 4 == x_post_length("caf\u00e9")
    # Hangul jamo (U+1100-U+11FF, 2 each) compose into one syllable: 2, not 6.
    assert x_post_length("\u1100\u1161\u11a8") == x_post_length("\uac01") == 2
    # A combining mark with no precomposed form stays a character of its own.
    assert x_post_length("q\u0301") == 2


@pytest.mark.parametrize("text, length", [
    ("a" * 280, 280),
    ("a" * 281, 281),
    ("漢" * 140, 280),
    ("漢" * 140 + "a", 281),
    ("😀" * 140, 280),
    ("a" * 256 + " " + URL, 280),
    ("a" * 257 + " " + URL, 281),
])
def test_the_280_boundary(text, length):
    assert x_post_length(text) == length
    assert (x_post_length(text) <= X_MAX_POST_CHARS) == (length == 280)


@pytest.mark.parametrize("channel, public, text, length", [
    ("x", True, "漢字", 4),  # a public X reply is a post: weighted
    ("x", True, URL, 23),
    ("x", False, "漢字", 2),  # an X DM: the connector checks len()
    ("x", False, URL, len(URL)),
    ("whatsapp", False, "漢字😀", 3),  # code points elsewhere
    ("telegram", True, URL, len(URL)),  # only X weighs a public reply
    ("email", False, "cafe\u0301", 5),  # no normalization outside X
    (None, False, "hola", 4),
])
def test_reply_length_follows_the_channel(channel, public, text, length):
    assert reply_length(channel, public, text) == length


def test_the_x_connector_counts_with_this_implementation():
    from services.channels import x

    assert x.post_length is x_post_length
    assert x.MAX_POST_CHARS == X_MAX_POST_CHARS


def test_reply_limits_are_the_providers_and_shared_by_the_connectors():
    from services.channels import meta, telegram, whatsapp, x
    from workstation.textcount import reply_limit

    assert reply_limit("whatsapp") == whatsapp.MAX_TEXT_CHARS == 4096
    assert reply_limit("telegram") == telegram.MAX_TEXT_CHARS == 4096
    assert reply_limit("messenger") == meta.MAX_TEXT_CHARS["messenger"] == 2000
    assert reply_limit("instagram") == meta.MAX_TEXT_CHARS["instagram"] == 1000
    # A public answer to a comment is a comment: Facebook allows 8,000 characters, Instagram 2,200.
    assert reply_limit("messenger", public=True) == meta.MAX_COMMENT_CHARS["messenger"] == 8000
    assert reply_limit("instagram", public=True) == meta.MAX_COMMENT_CHARS["instagram"] == 2200
    assert reply_limit("x", public=True) == x.MAX_POST_CHARS == 280 and reply_limit("x") == x.MAX_DM_CHARS
    assert reply_limit("email") is None and reply_limit("whatsapp", public=True) == 4096
