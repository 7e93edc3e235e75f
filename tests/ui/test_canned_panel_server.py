"""The canned panel on a real workspace against the real team server: the seeded library arrives by sync, a lead
adds a team response through the editor, inserting it counts a use on the server (and the count syncs back), a
colleague sees it, and the server's refusal of an agent's edit shows in the editor."""

from __future__ import annotations

import asyncio
import gc
import uuid

import httpx
from PySide6.QtWidgets import QMessageBox

from tests.integration.helpers import sign_in
from ui.canned_editor import CannedEditor
from ui.canned_panel import HEADER, CannedPanel, KindRole, ResponseRole, UsageRole
from workstation import protocol
from workstation.api import ApiClient
from workstation.library import CannedStore
from workstation.workspace import Workspace

AGENT_EMAIL = "ana@demo.workstation.test"


def server_canned(stack, token: str) -> dict[str, dict]:
    """Every canned response on the server by key, as the sync sends them."""
    after, found = 0, {}
    while True:
        page = httpx.get(f"{stack.server_url}/v1/sync", params={"after": after, "limit": 500},
                         headers={"Authorization": f"Bearer {token}"}).json()
        found.update({c["key"]: c for c in page["canned"]})
        after = page["next_after"]
        if not page["has_more"]:
            return found


def open_panel(stack, tmp_path, email: str | None = None) -> tuple[CannedPanel, Workspace]:
    token, agent = sign_in(stack, email)
    holder: dict[str, CannedPanel] = {}
    workspace = Workspace(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(agent),
                          cache_path=tmp_path / f"cache-{agent['id']}.sqlite",
                          on_change=lambda cs: holder["panel"].apply_changes(cs) if "panel" in holder else None)
    panel = CannedPanel(workspace.canned, "en")
    holder["panel"] = panel
    panel.attach(CannedStore.from_workspace(workspace))
    workspace.start()
    return panel, workspace


def usage_of(panel: CannedPanel, key: str) -> str | None:
    for i in range(panel.list.count()):
        item = panel.list.item(i)
        if item.data(KindRole) != HEADER and item.data(ResponseRole).id == key:
            return item.data(UsageRole)
    return None


def test_team_library_round_trip_with_the_real_server(stack, qloop, qtbot, tmp_path):
    panel, workspace = open_panel(stack, tmp_path)
    agent_panel = agent_workspace = None
    qtbot.addWidget(panel)
    panel.show()
    try:
        qtbot.waitUntil(lambda: not panel.library.fallback and panel.library.server_id("es-greeting") is not None,
                        timeout=20000)
        panel.set_context("Me habéis cobrado dos veces el mismo pedido", "es", "whatsapp")
        assert panel.suggestions()[0].id == "es-charge"

        # A lead adds a team response.
        title = f"Talla {uuid.uuid4().hex[:6]}"
        shortcut = "talla" + uuid.uuid4().hex[:6]
        panel.new_button.click()
        editor = panel.editor
        assert editor.team_box.isEnabled()
        editor.title_edit.setText(title)
        editor.shortcut_edit.setText(shortcut)
        editor.body_edit.setPlainText("Hola {{customer.first_name}}, cambiamos la talla de [[número de pedido]].")
        editor.variant_edits["x"].setPlainText("Cambiamos la talla: escríbenos por DM.")
        editor.team_box.setChecked(True)
        with qtbot.waitSignal(panel.library_edited, timeout=10000):
            editor.save_button.click()
        key = panel.current_response().id
        token, _ = sign_in(stack)
        stored = server_canned(stack, token)[key]
        assert (stored["title"], stored["owner_agent_id"], stored["variants"]) == (
            title, None, {"x": "Cambiamos la talla: escríbenos por DM."})

        # Inserting it counts a use on the server, and the count comes back by sync.
        with qtbot.waitSignal(panel.insert_rendered):
            panel.insert_button.click()
        qtbot.waitUntil(lambda: server_canned(stack, token)[key]["usage_count"] == 1, timeout=10000)
        qtbot.waitUntil(lambda: usage_of(panel, key) == "1×", timeout=10000)

        # A colleague gets it by sync, may not edit it, and the server says why if they try.
        agent_panel, agent_workspace = open_panel(stack, tmp_path, AGENT_EMAIL)
        qtbot.addWidget(agent_panel)
        qtbot.waitUntil(lambda: agent_panel.library.server_id(key) is not None, timeout=20000)
        entry = agent_panel.library.entry(key)
        assert entry.team and not agent_panel.store.can_edit(entry)
        agent_store = agent_panel.store

        async def save(body):
            return await agent_store.save(body, entry.server_id)

        refused = CannedEditor(save, response=entry.response, team=True, can_edit_team=False)
        qtbot.addWidget(refused)
        refused.open()
        refused.title_edit.setText("Cambiada por Ana")
        refused.save_button.click()
        qtbot.waitUntil(lambda: refused.message.text() ==
                        "Not allowed: only a lead can change the team's canned responses", timeout=10000)
        refused.reject()

        # The lead deletes it: gone on the server and, by sync, for the colleague.
        panel.delete_button.click()
        box = panel.delete_box
        next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole).click()
        qtbot.waitUntil(lambda: server_canned(stack, token)[key]["deleted"], timeout=10000)
        qtbot.waitUntil(lambda: agent_panel.library.entry(key) is None, timeout=10000)
    finally:
        for ws in (workspace, agent_workspace):
            if ws is not None:
                stopping = asyncio.ensure_future(ws.stop())
                qtbot.waitUntil(stopping.done, timeout=10000)
        gc.collect()
        qtbot.wait(20)
