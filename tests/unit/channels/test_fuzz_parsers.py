"""Property tests: the WhatsApp webhook parser and signature check never fail in any unplanned way.

Whatever arrives (random bytes, random JSON, webhooks with random values in every field), parsing
either returns a batch or raises WebhookError, and everything in a batch is safe to store: strings
without NUL or unpaired surrogates, ids short enough for a database index, error codes that fit an
integer column.
"""

from __future__ import annotations

from datetime import datetime

from hypothesis import example, given
from hypothesis import strategies as st

from services.channels.base import WebhookBatch, WebhookError
from services.channels.whatsapp import MAX_ID_CHARS, parse_webhook_payload, sign, verify_signature
from tests.fuzzing import FUZZ, dumps, json_values, maybe, scalars, texts

SECRET = "fuzz-secret"

digits = st.from_regex(r"[0-9]{5,15}", fullmatch=True)
timestamps = st.one_of(st.integers(min_value=0, max_value=2_000_000_000).map(str), scalars)
kinds = st.sampled_from(["text", "image", "document", "reaction", "location", "contacts", "interactive",
                         "button", "system", "unsupported", "hologram"])
kind_bodies = st.fixed_dictionaries({}, optional={
    k: maybe(st.dictionaries(st.sampled_from(["body", "caption", "filename", "emoji", "message_id", "name",
                                              "address", "latitude", "longitude", "text", "payload"]),
                             scalars, max_size=3))
    for k in ("text", "image", "document", "reaction", "location", "interactive", "button", "system")
})


@st.composite
def messages(draw):
    message = draw(st.fixed_dictionaries(
        {"id": maybe(texts), "timestamp": maybe(timestamps), "type": maybe(kinds)},
        optional={"from": maybe(digits), "from_user_id": maybe(texts), "context": maybe(
            st.fixed_dictionaries({"id": maybe(texts)})), "contacts": json_values(6)},
    ))
    message.update(draw(kind_bodies))
    return message


statuses = st.fixed_dictionaries(
    {"id": maybe(texts), "status": maybe(st.sampled_from(["sent", "delivered", "read", "failed", "played"])),
     "timestamp": maybe(timestamps)},
    optional={"recipient_id": maybe(digits), "errors": maybe(st.lists(st.fixed_dictionaries(
        {"code": maybe(st.integers(min_value=-(2**70), max_value=2**70))},
        optional={"title": maybe(texts), "error_data": maybe(st.fixed_dictionaries({"details": maybe(texts)}))},
    ), max_size=2))},
)
values = st.fixed_dictionaries({}, optional={
    "metadata": maybe(st.fixed_dictionaries({"phone_number_id": maybe(digits)})),
    "contacts": maybe(st.lists(maybe(st.fixed_dictionaries(
        {"wa_id": maybe(digits), "profile": maybe(st.fixed_dictionaries({"name": maybe(texts)}))})), max_size=2)),
    "messages": maybe(st.lists(maybe(messages()), max_size=3)),
    "statuses": maybe(st.lists(maybe(statuses), max_size=3)),
})
webhooks = st.fixed_dictionaries({
    "object": maybe(st.just("whatsapp_business_account")),
    "entry": maybe(st.lists(maybe(st.fixed_dictionaries({
        "id": maybe(digits),
        "changes": maybe(st.lists(maybe(st.fixed_dictionaries(
            {"field": maybe(st.just("messages")), "value": maybe(values)})), max_size=2)),
    })), max_size=2)),
})


def _storable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def parse_or_refuse(raw: bytes) -> WebhookBatch | None:
    try:
        batch = parse_webhook_payload(raw)
    except WebhookError as exc:
        assert exc.status_code == 400
        return None
    assert isinstance(batch, WebhookBatch)
    for m in batch.messages:
        for field in (m.account_id, m.provider_message_id, m.sender_handle, m.sender_name, m.kind, m.text):
            assert isinstance(field, str) and _storable(field)
        assert 0 < len(m.provider_message_id) <= MAX_ID_CHARS and 0 < len(m.sender_handle) <= MAX_ID_CHARS
        assert m.reply_to_provider_id is None or _storable(m.reply_to_provider_id)
        assert isinstance(m.sent_at, datetime)
    for s in batch.statuses:
        assert _storable(s.provider_message_id) and _storable(s.status) and _storable(s.recipient_handle)
        if s.error is not None:
            assert s.error.code is None or 0 <= s.error.code < 2**31
            assert _storable(s.error.title) and _storable(s.error.details)
    return batch


@FUZZ
@given(st.binary(max_size=2048))
@example(b"\xff\xfe")
@example(b'{"object":"whatsapp_business_account","entry":' + b"[" * 5000 + b"]" * 5000 + b"}")
@example(b'{"object":"whatsapp_business_account","entry":[' + b"9" * 5000 + b"]}")
@example(b'\xef\xbb\xbf{"object":"whatsapp_business_account"}')
def test_any_bytes_parse_or_refuse(raw):
    parse_or_refuse(raw)


@FUZZ
@given(json_values())
def test_any_json_parses_or_is_refused(value):
    parse_or_refuse(dumps(value))


@FUZZ
@given(webhooks)
def test_webhook_shaped_json_parses_or_is_refused(payload):
    parse_or_refuse(dumps(payload))


@FUZZ
@given(webhooks, st.integers(min_value=1, max_value=64))
def test_nesting_anywhere_past_the_limit_is_refused(payload, extra):
    # However the rest looks, a branch nested past the limit is a clean 400.
    payload["padding"] = nested = []
    for _ in range(31 + extra):
        nested.append([])
        nested = nested[0]
    try:
        parse_webhook_payload(dumps(payload))
    except WebhookError as exc:
        assert exc.status_code == 400 and "nested deeper" in exc.reason
    else:
        raise AssertionError("accepted a body nested deeper than the limit")


@FUZZ
@given(st.text(max_size=40), st.binary(max_size=512), st.one_of(st.none(), texts, st.text(max_size=80)))
@example("s", b"{}", "sha256=" + "0" * 64)
@example("s", b"{}", "sha256=" + "\u0661" * 64)
@example("", b"{}", "sha256=" + "0" * 64)
def test_verify_signature_never_raises(secret, raw, header):
    assert verify_signature(secret, raw, header) in (True, False)


@FUZZ
@given(st.text(min_size=1, max_size=40), st.binary(max_size=512))
def test_own_signature_verifies_and_a_flipped_byte_does_not(secret, raw):
    header = sign(secret, raw)
    assert verify_signature(secret, raw, header)
    assert verify_signature(secret, raw, header.upper().replace("SHA256=", "sha256="))
    assert not verify_signature(secret, raw + b"x", header)
