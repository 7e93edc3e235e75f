"""One customer across channels in the customer pane, against the real team server: merging from the pane shows
both customers' conversations in one history, splitting a channel off moves its conversation back out, and a
customer's only channel cannot be split."""

from __future__ import annotations

import asyncio
import gc
import uuid

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.integration.helpers import inbound, sign_in, sync_all
from ui.customer_pane import ConversationRole, CustomerPane
from workstation import protocol
from workstation.api import ApiClient
from workstation.workspace import Workspace

ANA = "ana@demo.workstation.test"


@pytest.fixture
def pane(stack, qloop, qtbot, tmp_path):
    """Ana's workspace (syncing with the server) and a customer pane that follows its changes."""
    token, agent = sign_in(stack, ANA)
    holder: dict[str, CustomerPane] = {}
    workspace = Workspace(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(agent),
                          cache_path=tmp_path / "ana.sqlite",
                          on_change=lambda cs: "pane" in holder and holder["pane"].on_workspace_changed(cs))
    pane = CustomerPane(workspace=workspace)
    holder["pane"] = pane
    qtbot.addWidget(pane)
    pane.resize(380, 1000)
    pane.show()
    workspace.start()
    yield pane
    stopping = asyncio.ensure_future(workspace.stop())
    qtbot.waitUntil(stopping.done, timeout=10000)
    gc.collect()
    qtbot.wait(20)


def new_customer(stack, pane, qtbot, name: str, wa_id: str) -> tuple[int, int]:
    """A customer writes on WhatsApp; returns (customer id, conversation id) once Ana's cache has them."""
    inbound(stack, wa_id=wa_id, name=name, text=f"Hola, soy {name}")
    cache = pane.workspace.cache
    qtbot.waitUntil(lambda: any(r.customer_name == name for r in cache.feed()), timeout=10000)
    conversation_id = next(r.conversation_id for r in cache.feed() if r.customer_name == name)
    return cache.conversation(conversation_id).customer_id, conversation_id


def history_ids(pane) -> set[int]:
    return {pane.history.topLevelItem(i).data(0, ConversationRole) for i in range(pane.history.topLevelItemCount())}


def on_server(stack) -> dict:
    token, _ = sign_in(stack)
    everything = sync_all(stack, token)
    return {"conversations": {c["id"]: c for c in everything["conversations"]},
            "identities": {i["handle"]: i for i in everything["identities"]}}


def test_merge_from_the_pane_then_split_one_channel_back_out(stack, pane, qtbot):
    tag = uuid.uuid4().hex[:8]
    first_number, second_number = "3461" + str(uuid.uuid4().int)[:8], "3462" + str(uuid.uuid4().int)[:8]
    keep, keep_conv = new_customer(stack, pane, qtbot, f"Lucía <b>Gómez</b> {tag}", first_number)
    other, other_conv = new_customer(stack, pane, qtbot, f"Lu {tag}", second_number)
    with qtbot.waitSignal(pane.history_shown, timeout=5000, check_params_cb=lambda cid: cid == keep):
        pane.show_customer(keep, keep_conv)
    assert history_ids(pane) == {keep_conv}
    assert pane.merge_button.isVisible() and not pane.split_button.isVisible()

    # Merge: find the other by a word of the name (this customer is not offered), confirm.
    pane.merge_button.click()
    dialog = pane.merge_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.merge_button.isEnabled()
    with qtbot.waitSignal(dialog.results_shown, timeout=5000):
        qtbot.keyClicks(dialog.search_edit, tag)
    qtbot.waitUntil(lambda: dialog.results.count() == 1, timeout=5000)  # the last keystroke's search
    assert dialog.chosen().customer_id == other
    assert dialog.results.item(0).text() == f"Lu {tag}\nWhatsApp · +{second_number}"
    assert dialog.merge_button.isEnabled() and f"“Lu {tag}” joins “Lucía <b>Gómez</b> {tag}”" in \
        dialog.confirm_label.text()
    with qtbot.waitSignal(pane.saved, timeout=10000, check_params_cb=lambda what: what == "merge"):
        dialog.merge_button.click()
    # The history shows both channels' conversations; the note says who merged.
    qtbot.waitUntil(lambda: history_ids(pane) == {keep_conv, other_conv}, timeout=10000)
    assert pane.customer_id == keep
    assert f"+{first_number}" in pane.identities_label.text() and f"+{second_number}" in pane.identities_label.text()
    other_item = pane.history_item(other_conv)
    assert other_item.childCount() == 1 and "Merged with" in other_item.child(0).text(0)
    assert pane.split_button.isVisible() and not pane.error_label.isVisible()
    server = on_server(stack)
    assert server["conversations"][other_conv]["customer_id"] == keep
    assert server["identities"][second_number]["customer_id"] == keep

    # Split the second number back out, after confirming.
    actions = pane.split_menu.actions()
    assert [a.text() for a in actions] == [f"WhatsApp · +{first_number}", f"WhatsApp · +{second_number}"]
    actions[1].trigger()
    box = pane.split_box
    assert box is not None and box.isVisible() and box.textFormat() == Qt.TextFormat.PlainText
    assert f"+{second_number}" in box.text() and f"“Lucía <b>Gómez</b> {tag}”" in box.text()
    split = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole)
    with qtbot.waitSignal(pane.saved, timeout=10000, check_params_cb=lambda what: what == "split"):
        split.click()
    qtbot.waitUntil(lambda: history_ids(pane) == {keep_conv}, timeout=10000)
    assert f"+{second_number}" not in pane.identities_label.text() and not pane.split_button.isVisible()
    server = on_server(stack)
    assert server["conversations"][other_conv]["customer_id"] not in (keep, other)
    assert server["identities"][second_number]["customer_id"] == server["conversations"][other_conv]["customer_id"]


def test_a_cancelled_split_changes_nothing_and_the_only_channel_is_refused(stack, pane, qtbot):
    tag = uuid.uuid4().hex[:8]
    first_number, second_number = "3463" + str(uuid.uuid4().int)[:8], "3464" + str(uuid.uuid4().int)[:8]
    keep, keep_conv = new_customer(stack, pane, qtbot, f"Sara {tag}", first_number)
    other, other_conv = new_customer(stack, pane, qtbot, f"Sara M. {tag}", second_number)
    with qtbot.waitSignal(pane.history_shown, timeout=5000, check_params_cb=lambda cid: cid == keep):
        pane.show_customer(keep, keep_conv)
    with qtbot.waitSignal(pane.saved, timeout=10000, check_params_cb=lambda what: what == "merge"):
        pane.merge_with(other)
    qtbot.waitUntil(lambda: history_ids(pane) == {keep_conv, other_conv}, timeout=10000)
    pane.split_menu.actions()[1].trigger()
    box = pane.split_box
    cancel = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.RejectRole)
    cancel.click()
    qtbot.wait(300)
    assert pane.split_box is None and history_ids(pane) == {keep_conv, other_conv}
    assert on_server(stack)["identities"][second_number]["customer_id"] == keep
    # The server refuses to split a customer's only channel: the pane says why.
    lone = [i for i in pane.shown_history.identities if i.handle == first_number][0]
    with qtbot.waitSignal(pane.saved, timeout=10000, check_params_cb=lambda what: what == "split"):
        pane.split_identity([i for i in pane.shown_history.identities if i.handle == second_number][0])
    qtbot.waitUntil(lambda: history_ids(pane) == {keep_conv}, timeout=10000)
    with qtbot.waitSignal(pane.save_failed, timeout=10000) as failed:
        pane.split_identity(lone)
    assert failed.args[0].startswith("Not done:") and "only" in failed.args[0]
    assert pane.error_label.isVisible() and pane.error_label.text() == failed.args[0]
    assert pane.merge_button.isEnabled()


def test_a_pane_showing_the_merged_away_customer_follows_the_open_conversation(stack, pane, qtbot):
    tag = uuid.uuid4().hex[:8]
    keep, keep_conv = new_customer(stack, pane, qtbot, f"Nora {tag}", "3465" + str(uuid.uuid4().int)[:8])
    other, other_conv = new_customer(stack, pane, qtbot, f"N. {tag}", "3466" + str(uuid.uuid4().int)[:8])
    with qtbot.waitSignal(pane.history_shown, timeout=5000, check_params_cb=lambda cid: cid == other):
        pane.show_customer(other, other_conv)
    # A colleague merges this customer into another one.
    token, _ = sign_in(stack)
    r = httpx.post(f"{stack.server_url}/v1/customers/{keep}/merge", json={"other_customer_id": other},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    qtbot.waitUntil(lambda: pane.customer_id == keep and history_ids(pane) == {keep_conv, other_conv},
                    timeout=10000)
    assert pane.name_label.text() == f"Nora {tag}"
