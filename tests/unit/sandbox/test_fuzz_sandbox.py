"""Property tests: the WhatsApp emulator's send parsing answers every body with a result or a Graph error."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.sandbox.whatsapp_api import (
    FaultRequest,
    GraphError,
    InboundRequest,
    InjectedFault,
    SandboxConfig,
    WhatsAppSandbox,
)
from tests.fuzzing import FUZZ, json_values, maybe, scalars, texts

PHONE_NUMBER_ID = "106540352242922"
WA_ID = "34600000001"

send_bodies = st.fixed_dictionaries(
    {"messaging_product": maybe(st.just("whatsapp"))},
    optional={
        "recipient_type": maybe(st.just("individual")),
        "to": maybe(st.sampled_from([WA_ID, "+" + WA_ID, "٣٤٦٠٠٠٠٠٠٠١", "123", ""])),
        "type": maybe(st.sampled_from(["text", "template", "image"])),
        "text": maybe(st.fixed_dictionaries({"body": maybe(texts)}, optional={"preview_url": scalars})),
        "context": maybe(st.fixed_dictionaries({"message_id": maybe(texts)})),
        "template": maybe(st.fixed_dictionaries(
            {"name": maybe(texts), "language": maybe(st.fixed_dictionaries({"code": maybe(texts)}))})),
        "status": maybe(st.just("read")),
        "message_id": maybe(texts),
        "typing_indicator": maybe(st.fixed_dictionaries({"type": maybe(st.just("text"))})),
    },
)


def sandbox() -> WhatsAppSandbox:
    box = WhatsAppSandbox(SandboxConfig(app_secret="s", access_token="t", phone_number_id=PHONE_NUMBER_ID,
                                        webhook_url=None))
    box.last_inbound[WA_ID] = 2**40  # the customer wrote "now": the 24 h window is open
    return box


@FUZZ
@given(st.one_of(send_bodies, json_values()), st.booleans(), st.sampled_from([PHONE_NUMBER_ID, "1", ""]))
@example({"messaging_product": "whatsapp", "to": "٣٤٦٠٠٠٠٠٠٠١", "text": {"body": "x"}}, True, PHONE_NUMBER_ID)
def test_send_requests_get_a_result_or_a_graph_error(body, authorized, phone_number_id):
    try:
        answer = sandbox().handle_messages(phone_number_id, body, authorized)
    except (GraphError, InjectedFault) as exc:
        if isinstance(exc, GraphError):
            exc.body()
        return
    assert answer == {"success": True} or answer["messages"][0]["id"].startswith("wamid.")
    if "contacts" in answer:
        assert answer["contacts"][0]["wa_id"].isascii()


@FUZZ
@given(st.one_of(json_values(), st.fixed_dictionaries(
    {"from": maybe(st.sampled_from([WA_ID, "+" + WA_ID, "٣٤٦٠٠٠٠٠٠٠١", "12"])), "name": maybe(texts),
     "text": maybe(texts)}, optional={"timestamp": scalars, "omit_wa_id": scalars})))
def test_control_requests_validate_or_refuse(value):
    for cls in (InboundRequest, FaultRequest):
        try:
            model = cls.model_validate(value)
        except ValidationError:
            continue
        if isinstance(model, InboundRequest):
            assert model.sender.lstrip("+").isascii() and model.sender.lstrip("+").isdigit()
