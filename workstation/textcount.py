"""Counting a reply's characters as the channel counts them (no Qt, imports nothing else of the project).

One implementation for both sides: the desktop composer's live budget and the X connector's check before it posts
(services/channels/x.py imports it from here), so an agent sees the budget the server enforces.

X counts a post as twitter-text v3 does: the text NFC-normalized; code points in U+0000-U+10FF, U+2000-U+200D,
U+2010-U+201F and U+2032-U+2037 weigh 1, all others 2 (CJK among them); an emoji sequence (modifiers, ZWJ
sequences, flags, keycaps) weighs 2 as a whole; a URL with a scheme weighs 23 whatever its length. Bare domains are
not recognised as URLs here, so such a post may count shorter than X counts it (X then refuses it).

Every other reply (an X direct message included: the connector checks it with len()) counts its code points.
"""

from __future__ import annotations

import re
import unicodedata

X_CHANNEL = "x"
X_MAX_POST_CHARS = 280

# How long a reply may be on each channel, as the provider allows it (None: no limit of its own): a private
# message, and a public answer (an X post; a reply to a Facebook or Instagram comment). The composer's budget and
# the connectors' checks both read these.
PRIVATE_REPLY_LIMITS: dict[str, int | None] = {
    "whatsapp": 4096, "telegram": 4096, "messenger": 2000, "instagram": 1000, "x": 10_000, "email": None,
}
PUBLIC_REPLY_LIMITS: dict[str, int] = {"x": X_MAX_POST_CHARS, "messenger": 8000, "instagram": 2200}


def reply_limit(channel: str | None, public: bool = False) -> int | None:
    """The most a reply on this channel may hold, counted as `reply_length` counts (None: no limit)."""
    if public and channel in PUBLIC_REPLY_LIMITS:
        return PUBLIC_REPLY_LIMITS[channel]
    return PRIVATE_REPLY_LIMITS.get(channel or "")

_WEIGHT_ONE = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_URL = re.compile(r"(?i)\bhttps?://[^\s<>\"]+")
_URL_TRAILING = ".,:;!?'\")]}"
_URL_WEIGHT = 23
_ZWJ = 0x200D
_KEYCAP = 0x20E3
_VARIATION = (0xFE0E, 0xFE0F)
# Characters that are emoji only when followed by the emoji presentation selector (U+FE0F).
_TEXT_DEFAULT_EMOJI = frozenset({0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D, 0x3297, 0x3299})


def _weight_of(cp: int) -> int:
    return 1 if any(lo <= cp <= hi for lo, hi in _WEIGHT_ONE) else 2


def _emoji_base(cp: int) -> bool:
    return (0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x2B00 <= cp <= 0x2BFF
            or 0x2190 <= cp <= 0x21FF or 0x2300 <= cp <= 0x23FF or 0x1FC00 <= cp <= 0x1FFFD)


def _emoji_continuation(cp: int) -> bool:
    return cp in _VARIATION or cp == _KEYCAP or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F


def _regional(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _weigh_plain(text: str) -> int:
    cps = [ord(c) for c in text]
    total, i, n = 0, 0, len(cps)
    while i < n:
        cp = cps[i]
        nxt = cps[i + 1] if i + 1 < n else None
        emoji = False
        if _regional(cp) and nxt is not None and _regional(nxt):
            i, emoji = i + 2, True  # a flag: two regional indicators
        elif cp in (0x23, 0x2A) or 0x30 <= cp <= 0x39:
            # A keycap: the digit, an optional U+FE0F, then U+20E3.
            j = i + 1 + (1 if nxt == 0xFE0F else 0)
            if j < n and cps[j] == _KEYCAP:
                i, emoji = j + 1, True
        elif cp in _TEXT_DEFAULT_EMOJI and nxt == 0xFE0F:
            i, emoji = i + 1, True
        elif _emoji_base(cp):
            i, emoji = i + 1, True
        if not emoji:
            total += _weight_of(cp)
            i += 1
            continue
        total += 2
        # The rest of the sequence: modifiers, and further emoji joined by ZWJ, weigh nothing more.
        while i < n:
            if _emoji_continuation(cps[i]):
                i += 1
            elif cps[i] == _ZWJ and i + 1 < n and (_emoji_base(cps[i + 1]) or cps[i + 1] in _TEXT_DEFAULT_EMOJI):
                i += 2
            else:
                break
    return total


def x_post_length(text: str) -> int:
    """A post's length as X counts it (see the module docstring); at most X_MAX_POST_CHARS are allowed."""
    text = unicodedata.normalize("NFC", text)
    total, last = 0, 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING)
        total += _weigh_plain(text[last:match.start()]) + _URL_WEIGHT
        last = match.start() + len(url)
    return total + _weigh_plain(text[last:])


def reply_length(channel: str | None, public: bool, text: str) -> int:
    """A reply's length as its channel counts it: X's weighted count for a public X reply (a post), the number of
    code points otherwise (an X direct message included, as the connector checks it)."""
    if channel == X_CHANNEL and public:
        return x_post_length(text)
    return len(text)
