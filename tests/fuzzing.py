"""Hypothesis settings and strategies shared by the parser fuzz tests (tests/unit/*/test_fuzz_*.py)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Fast enough for every run of the suite; raise max_examples locally to fuzz harder.
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that hurts: markup, FTS and SQL syntax, bidi controls, combining marks, emoji, NUL, unpaired
# surrogates (legal in JSON strings as escapes), and plain random text.
NASTY_STRINGS = [
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\ufeff", "\u202eevil\u202c", "\u200f\u0627\u0644",
    "e\u0301\u0301\u0301", "Z\u0336\u0335\u0334\u0321\u0322", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0001f1ea\U0001f1f8", "<script>alert(1)</script>", '"', '""', "*", "NEAR(a b)", "a OR b", "-x", "col:val",
    "^start", "'; DROP TABLE message;--", "\\", "\u2028\u2029", "\r\n\t", "٠١٢٣٤٥٦", "1_700_000_000",
    " 1700000000 ", "1e9", "-1", "99999999999999999999", "NaN",
]

texts = st.one_of(st.sampled_from(NASTY_STRINGS), st.text(max_size=40))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), texts,
)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Arbitrary JSON documents (objects, arrays, scalars) with hostile strings for keys and values."""
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(texts, children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def dumps(value: Any) -> bytes:
    """As Meta sends JSON: non-ASCII escaped, so unpaired surrogates survive as `\\udXXX` escapes."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")


def depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (a scalar is 0)."""
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the well-formed value, sometimes anything at all (so fuzzing gets past the outer checks)."""
    return st.one_of(strategy, strategy, strategy, json_values(6))
