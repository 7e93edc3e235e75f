"""Property tests: the agent API's request models accept or refuse any input cleanly.

Every accepted model holds only what the server can store (text without NUL, encodable as UTF-8,
within its length limit; integers that fit a 64-bit column); everything else is a ValidationError,
which FastAPI answers with 422, whether the input comes as Python objects or as raw JSON bytes.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from tests.fuzzing import FUZZ, dumps, json_values, maybe, scalars, texts
from workstation.protocol import MAX_REPLY_CHARS, ConversationUpdate, NoteCreate, ReplyCreate, SessionCreate

MODELS = (ReplyCreate, NoteCreate, ConversationUpdate, SessionCreate)
INT64 = (-(2**63), 2**63 - 1)

shaped = st.one_of(
    st.fixed_dictionaries({"text": maybe(texts)}, optional={"extra": json_values(4)}),
    st.fixed_dictionaries({"email": maybe(texts), "password": maybe(texts)}),
    st.fixed_dictionaries(
        {"expected_version": maybe(st.integers(min_value=-(2**70), max_value=2**70))},
        optional={"status": maybe(st.sampled_from(["open", "pending", "snoozed", "resolved", "deleted"])),
                  "assignee_id": maybe(st.one_of(st.none(), st.integers(min_value=-(2**70), max_value=2**70))),
                  "set_assignee": scalars},
    ),
)


def _check(model: BaseModel) -> None:
    for name, value in model:
        if isinstance(value, str):
            value.encode("utf-8")
            # A password is only hashed, never stored: it is checked as typed.
            assert "\x00" not in value or name == "password", name
        if isinstance(value, int) and not isinstance(value, bool):
            assert INT64[0] <= value <= INT64[1], name
    if isinstance(model, (ReplyCreate, NoteCreate)):
        assert len(model.text) <= MAX_REPLY_CHARS
    model.model_dump_json()  # what the server hashes for Idempotency-Key and stores as the answer


def accept_or_refuse(cls: type[BaseModel], value) -> None:
    try:
        model = cls.model_validate(value)
    except ValidationError as exc:
        exc.errors()  # the 422 body is built from these
        return
    _check(model)


def accept_or_refuse_json(cls: type[BaseModel], raw: bytes) -> None:
    try:
        model = cls.model_validate_json(raw)
    except ValidationError:
        return
    _check(model)


@FUZZ
@given(st.sampled_from(MODELS), st.one_of(shaped, json_values()))
@example(ReplyCreate, {"text": "a\x00b"})
@example(ReplyCreate, {"text": "\x00"})
@example(NoteCreate, {"text": "\ud800"})
@example(ConversationUpdate, {"expected_version": 2**63})
@example(ConversationUpdate, {"expected_version": 1, "set_assignee": True, "assignee_id": 10**30})
@example(SessionCreate, {"email": "\udfff@x.y", "password": "p"})
def test_models_accept_or_refuse_python_values(cls, value):
    accept_or_refuse(cls, value)


@FUZZ
@given(st.sampled_from(MODELS), st.one_of(shaped.map(dumps), json_values().map(dumps), st.binary(max_size=256)))
@example(ReplyCreate, b'{"text": "a\\ud800"}')
@example(ReplyCreate, b'{"text": "\xff"}')
@example(ReplyCreate, b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}")
def test_models_accept_or_refuse_raw_json(cls, raw):
    accept_or_refuse_json(cls, raw)


def test_nul_is_dropped_and_big_ids_refused():
    assert ReplyCreate(text="a\x00b").text == "ab"
    assert NoteCreate(text="<b>\u202e</b>").text == "<b>\u202e</b>"
    for bad in ({"expected_version": 2**63}, {"expected_version": 1, "assignee_id": -(2**63) - 1}):
        try:
            ConversationUpdate.model_validate(bad)
        except ValidationError:
            continue
        raise AssertionError(f"accepted {bad}")
