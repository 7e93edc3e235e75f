"""The lead board on a real workspace and cache (no server: the writes stay in the outbox, where the test
reads them): drag and drop through the views' own drop handling, the context menu, an agent's read-only
board, refreshing with the main window, and the routing and agent dialogs."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDialog, QTableView

from ui.lead_board import (
    BoardAgentsModel, BoardConversationsModel, ConversationIdRole, LeadBoard, encode_ids, open_lead_board, wait_text,
)
from ui.style import FAILED
from ui.team_dialogs import EditAgentDialog, RoutingDialog
from workstation import protocol
from workstation.api import ApiClient
from workstation.board import BoardAgent
from workstation.cache import COutbox
from workstation.errors import ServerError
from workstation.settings import Settings
from workstation.workspace import Workspace

LEA, ANA, BEN = 1, 2, 3


def dead_url() -> str:
    """A loopback address nothing listens on: every request fails at once, as offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def team_page(now: datetime) -> protocol.SyncPage:
    def conv(id_, customer, *, assignee=None, waited_min=None, channel="whatsapp", preview="hola"):
        since = now - timedelta(minutes=waited_min) if waited_min is not None else None
        return protocol.ConversationPublic(
            id=id_, customer_id=customer, channel=channel, status="open", assignee_id=assignee,
            last_message_at=since or now, last_inbound_at=since or now, last_message_preview=preview,
            last_message_direction="in", version=1, waiting_since=since)

    return protocol.SyncPage(
        next_after=10, has_more=False, epoch="db-1",
        agents=[
            protocol.AgentPublic(id=LEA, email="lea@t.test", name="Lea", role="lead", status="available"),
            protocol.AgentPublic(id=ANA, email="ana@t.test", name="Ana", role="agent", status="available",
                                 shifts=[protocol.Shift(weekday=d, start="00:00", end="24:00") for d in range(7)]),
            protocol.AgentPublic(id=BEN, email="ben@t.test", name="Ben", role="agent", status="away",
                                 timezone="Europe/Madrid", capacity={"whatsapp": 1, "*": 2}),
        ],
        customers=[protocol.CustomerPublic(id=i, display_name=n)
                   for i, n in enumerate(["Lu", "Mo", "<b>Zoe</b>", "Oz"], start=1)],
        conversations=[
            conv(10, 1, waited_min=30), conv(11, 2, waited_min=5, channel="email"),
            conv(12, 3, waited_min=12, preview="<i>urgente</i>"), conv(20, 4, assignee=ANA, waited_min=8),
        ],
    )


@pytest.fixture
def make_board(qloop, qtbot, tmp_path):
    workspaces = []

    def make(role: str = "lead") -> LeadBoard:
        me = protocol.AgentPublic(id=LEA, email="lea@t.test", name="Lea", role=role, status="available")
        workspace = Workspace(ApiClient(dead_url(), "token"), me, cache_path=tmp_path / f"cache-{role}.sqlite")
        workspaces.append(workspace)
        page = team_page(datetime.now(timezone.utc))
        if role != "lead":  # the synced row says so too
            page.agents[0] = page.agents[0].model_copy(update={"role": role})
        workspace.cache.apply_page(page)
        board = LeadBoard(workspace)
        qtbot.addWidget(board)
        board.show()
        qtbot.waitExposed(board)
        board.start()
        qtbot.waitUntil(lambda: board.snapshot is not None and board.agents_model.rowCount() == 3)
        return board

    yield make
    for workspace in workspaces:
        stopping = asyncio.ensure_future(workspace.stop())
        qtbot.waitUntil(stopping.done, timeout=10000)
    gc.collect()
    qtbot.wait(20)


def outbox(board: LeadBoard) -> list[tuple[int, dict]]:
    with board.workspace.cache.engine.connect() as c:
        rows = c.execute(sa.select(COutbox.conversation_id, COutbox.payload).order_by(COutbox.seq)).all()
    return [(cid, json.loads(payload)) for cid, payload in rows]


def row_of(model, key: int) -> int:
    row = model.row_of(key)
    assert row >= 0, f"{key} not shown"
    return row


def select_rows(view: QTableView, rows: list[int]) -> None:
    view.clearSelection()
    for row in rows:
        view.selectionModel().select(view.model().index(row, 0),
                                     view.selectionModel().SelectionFlag.Select
                                     | view.selectionModel().SelectionFlag.Rows)


def drag_data(view: QTableView):
    """What QAbstractItemView.startDrag hands to the drag: the model's mime data for the selected indexes
    the model lets be dragged (None: nothing may be dragged)."""
    model = view.model()
    draggable = [i for i in view.selectedIndexes() if model.flags(i) & Qt.ItemFlag.ItemIsDragEnabled]
    return model.mimeData(draggable) if draggable else None


def drop(view: QTableView, mime, point: QPoint) -> bool:
    """Delivers a drag's enter, move and drop to the view at `point` (viewport coordinates) the way the
    window system does; the view's own drop handling decides. True when the drop was accepted."""
    actions, buttons, mods = Qt.DropAction.MoveAction, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    viewport = view.viewport()
    enter = QDragEnterEvent(point, actions, mime, buttons, mods)
    QApplication.sendEvent(viewport, enter)
    if not enter.isAccepted():
        return False
    move = QDragMoveEvent(point, actions, mime, buttons, mods)
    QApplication.sendEvent(viewport, move)
    if not move.isAccepted():
        return False
    event = QDropEvent(QPointF(point), actions, mime, buttons, mods)
    QApplication.sendEvent(viewport, event)
    return event.isAccepted()


def center_of_row(view: QTableView, row: int) -> QPoint:
    return view.visualRect(view.model().index(row, 0)).center()


def agent_cells(board: LeadBoard, agent_id: int) -> list[str]:
    model = board.agents_model
    row = row_of(model, agent_id)
    return [model.index(row, c).data() for c in range(model.columnCount())]


def test_dragging_selected_queue_conversations_onto_an_agent_queues_assignments_with_the_reason(make_board, qtbot):
    board = make_board()
    queue = board.queue_model
    # Longest wait first.
    assert [queue.index(r, 0).data(ConversationIdRole) for r in range(queue.rowCount())] == [10, 12, 11]
    assert agent_cells(board, ANA)[0] == "Ana" and agent_cells(board, ANA)[3] == "1/5"
    assert agent_cells(board, ANA)[4] == "8 min"
    select_rows(board.queue_view, [row_of(queue, 10), row_of(queue, 11)])
    board.reason_edit.setText("Ana knows these customers")
    mime = drag_data(board.queue_view)
    assert drop(board.agents_view, mime, center_of_row(board.agents_view, row_of(board.agents_model, ANA)))

    qtbot.waitUntil(lambda: len(outbox(board)) == 2)
    assert [(cid, p["set_assignee"], p["assignee_id"], p["reason"]) for cid, p in outbox(board)] == [
        (10, True, ANA, "Ana knows these customers"), (11, True, ANA, "Ana knows these customers")]
    # Shown at once: out of the queue, onto Ana's load; the reason is used up.
    qtbot.waitUntil(lambda: queue.rowCount() == 1)
    assert queue.index(0, 0).data(ConversationIdRole) == 12
    assert agent_cells(board, ANA)[3] == "3/5"
    assert board.reason_edit.text() == ""
    assert "Moved 2 conversations to Ana." in board.message.text()
    assert "2 moves waiting to be sent." in board.notice.text()


def test_dropping_an_agents_conversation_onto_the_queue_unassigns_it(make_board, qtbot):
    board = make_board()
    board.agents_view.setCurrentIndex(board.agents_model.index(row_of(board.agents_model, ANA), 0))
    mine = board.agent_conversations_model
    qtbot.waitUntil(lambda: mine.rowCount() == 1)
    assert board.agent_conversations_title.text() == "Conversations of Ana"
    select_rows(board.agent_conversations_view, [0])
    mime = drag_data(board.agent_conversations_view)
    # Anywhere on the queue, even below its rows.
    below = QPoint(20, board.queue_view.viewport().height() - 5)
    assert drop(board.queue_view, mime, below)
    qtbot.waitUntil(lambda: len(outbox(board)) == 1)
    [(cid, payload)] = outbox(board)
    assert (cid, payload["set_assignee"], payload["assignee_id"], "reason" in payload) == (20, True, None, False)
    qtbot.waitUntil(lambda: mine.rowCount() == 0 and board.queue_model.rowCount() == 4)


def test_a_drop_between_or_beside_agents_or_onto_the_same_agent_moves_nothing(make_board, qtbot):
    board = make_board()
    select_rows(board.queue_view, [0])
    mime = drag_data(board.queue_view)
    empty_area = QPoint(10, board.agents_view.viewport().height() - 3)
    assert not drop(board.agents_view, mime, empty_area)
    # Ana's own conversation dropped onto Ana: accepted by the view, but nothing to move.
    board.agents_view.setCurrentIndex(board.agents_model.index(row_of(board.agents_model, ANA), 0))
    qtbot.waitUntil(lambda: board.agent_conversations_model.rowCount() == 1)
    select_rows(board.agent_conversations_view, [0])
    own = drag_data(board.agent_conversations_view)
    drop(board.agents_view, own, center_of_row(board.agents_view, row_of(board.agents_model, ANA)))
    qtbot.wait(100)
    assert outbox(board) == []
    assert board.message.text() == "Already there: nothing to move."


def test_an_agents_board_is_read_only(make_board, qtbot):
    board = make_board(role="agent")
    assert not board.editable
    assert board.read_only_label.isVisible() and not board.reason_edit.isVisible()
    assert not board.routing_button.isVisible() and not board.edit_agent_button.isVisible()
    for view in (board.queue_view, board.agent_conversations_view, board.agents_view):
        assert not view.dragEnabled() and not view.acceptDrops()
    select_rows(board.queue_view, [0, 1])
    assert drag_data(board.queue_view) is None  # nothing may be dragged out
    # Even a drop delivered anyway (from elsewhere) is refused by the views and the models.
    foreign = encode_ids([10, 11])
    assert not drop(board.agents_view, foreign, center_of_row(board.agents_view, row_of(board.agents_model, ANA)))
    assert not drop(board.queue_view, foreign, center_of_row(board.queue_view, 0))
    assert not board.agents_model.dropMimeData(foreign, Qt.DropAction.MoveAction, -1, -1,
                                               board.agents_model.index(0, 0))
    assert board.show_conversation_menu(board.queue_view, center_of_row(board.queue_view, 0)) is None
    assert board.agent_menu(center_of_row(board.agents_view, 0)) is None
    assert board.move_conversations([10], ANA) == 0
    qtbot.wait(50)
    assert outbox(board) == []
    # It still shows the team: loads, the queue.
    assert agent_cells(board, ANA)[3] == "1/5" and board.queue_model.rowCount() == 3


def test_context_menu_assigns_the_selection_to_an_agent_or_back_to_the_queue(make_board, qtbot):
    board = make_board()
    queue = board.queue_model
    select_rows(board.queue_view, [row_of(queue, 10), row_of(queue, 12)])
    board.reason_edit.setText("Ben covers WhatsApp")
    menu = board.show_conversation_menu(board.queue_view, center_of_row(board.queue_view, row_of(queue, 12)))
    assert menu is not None and menu.isVisible()
    to_queue = menu.findChild(QAction, "assignToQueue")
    assert not to_queue.isEnabled()  # they are in the queue already
    ben = menu.findChild(QAction, f"assignTo{BEN}")
    assert ben.text() == "Ben · 0/3"
    ben.trigger()
    menu.close()
    qtbot.waitUntil(lambda: len(outbox(board)) == 2)
    assert [(cid, p["assignee_id"], p["reason"]) for cid, p in outbox(board)] == [
        (10, BEN, "Ben covers WhatsApp"), (12, BEN, "Ben covers WhatsApp")]
    qtbot.waitUntil(lambda: agent_cells(board, BEN)[3] == "2/3")

    # Right-clicking a row outside the selection acts on that row alone; Ana's conversation goes back.
    board.agents_view.setCurrentIndex(board.agents_model.index(row_of(board.agents_model, ANA), 0))
    qtbot.waitUntil(lambda: board.agent_conversations_model.rowCount() == 1)
    menu = board.show_conversation_menu(board.agent_conversations_view,
                                        center_of_row(board.agent_conversations_view, 0))
    assert not menu.findChild(QAction, f"assignTo{ANA}").isEnabled()
    menu.findChild(QAction, "assignToQueue").trigger()
    menu.close()
    qtbot.waitUntil(lambda: len(outbox(board)) == 3)
    assert outbox(board)[2][0] == 20 and outbox(board)[2][1]["assignee_id"] is None


def test_customer_text_is_plain_and_refused_moves_show_in_red(make_board, qtbot):
    board = make_board()
    queue = board.queue_model
    row = row_of(queue, 12)
    assert queue.index(row, BoardConversationsModel.CUSTOMER).data() == "<b>Zoe</b>"
    assert queue.index(row, BoardConversationsModel.MESSAGE).data() == "<i>urgente</i>"
    tooltip = queue.index(row, BoardConversationsModel.CUSTOMER).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;Zoe&lt;/b&gt;" in tooltip and "<b>" not in tooltip

    cache = board.workspace.cache
    op, _ = cache.enqueue_update(12, assignee=(True, BEN))
    cache.op_failed(op, "only a lead can assign a conversation to someone else")
    board.refresh()
    qtbot.waitUntil(lambda: board.notice.isVisible())
    assert "1 move was refused" in board.notice.text()
    row = row_of(queue, 12)  # back in the queue, in red, with the server's reason
    assert queue.index(row, 0).data(Qt.ItemDataRole.ForegroundRole).color() == FAILED
    assert "only a lead can assign" in queue.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_agents_table_shows_status_shift_load_and_longest_wait(make_board, qtbot):
    board = make_board()
    ana, ben, lea = agent_cells(board, ANA), agent_cells(board, BEN), agent_cells(board, LEA)
    assert ana[:3] == ["Ana", "Available", "00:00–24:00"]
    assert ben[:4] == ["Ben", "Away", "Any time", "0/3"]
    assert lea[4] == ""  # nobody waiting on Lea
    load_tip = board.agents_model.index(row_of(board.agents_model, BEN), BoardAgentsModel.LOAD).data(
        Qt.ItemDataRole.ToolTipRole)
    assert "WhatsApp 0/1" in load_tip and "Other channels 0/2" in load_tip
    assert board.agents_model.index(0, 0).data(Qt.ItemDataRole.DecorationRole) is not None
    # The times are read again every 30 s.
    assert board._tick.isActive() and board._tick.interval() == 30_000


def test_wait_text():
    now = datetime(2026, 11, 16, 12, 0, tzinfo=timezone.utc)
    assert wait_text(None, now) == ""
    assert wait_text(now - timedelta(seconds=40), now) == "<1 min"
    assert wait_text(now + timedelta(minutes=2), now) == "<1 min"  # a clock ahead of ours
    assert wait_text(now - timedelta(minutes=12), now) == "12 min"
    assert wait_text(now - timedelta(minutes=60), now) == "1 h"
    assert wait_text(now - timedelta(minutes=65), now) == "1 h 5 min"
    assert wait_text(now - timedelta(hours=51), now) == "2 d 3 h"
    assert wait_text(now - timedelta(days=3), now) == "3 d"


def test_board_selection_survives_a_refresh(make_board, qtbot):
    board = make_board()
    queue = board.queue_model
    select_rows(board.queue_view, [row_of(queue, 11), row_of(queue, 12)])
    # A new conversation arrives and waits longest: the rows move, the selection stays on its conversations.
    now = datetime.now(timezone.utc)
    board.workspace.cache.apply_page(protocol.SyncPage(
        next_after=11, has_more=False, epoch="db-1",
        conversations=[protocol.ConversationPublic(
            id=13, customer_id=1, channel="whatsapp", status="open", assignee_id=None, last_message_at=now,
            last_inbound_at=now, last_message_preview="?", last_message_direction="in", version=1,
            waiting_since=now - timedelta(hours=1))]))
    board.refresh()
    qtbot.waitUntil(lambda: queue.rowCount() == 4)
    assert queue.index(0, 0).data(ConversationIdRole) == 13
    assert sorted(board.selected_ids(board.queue_view)) == [11, 12]


# -- with the main window ----------------------------------------------------------------------------------
def test_open_lead_board_follows_the_main_windows_changes_and_closes_with_it(qloop, qtbot, tmp_path):
    from ui.app import open_window

    me = protocol.AgentPublic(id=LEA, email="lea@t.test", name="Lea", role="lead", status="available")
    win, workspace = open_window(ApiClient(dead_url(), "token"), me, language="en",
                                 cache_path=tmp_path / "cache.sqlite", settings=Settings(tmp_path / "settings.json"))
    qtbot.addWidget(win)
    win.show()
    try:
        board = open_lead_board(win)
        assert open_lead_board(win) is board  # one board per window
        qtbot.waitUntil(lambda: board.snapshot is not None)
        assert board.queue_model.rowCount() == 0
        # A sync page arrives: the core tells the window, the window reloads its feed, the board follows.
        cs = workspace.cache.apply_page(team_page(datetime.now(timezone.utc)))
        win.on_workspace_changed(cs)
        qtbot.waitUntil(lambda: board.queue_model.rowCount() == 3 and board.agents_model.rowCount() == 3)
        # Double-clicking a conversation opens it in the main window.
        index = board.queue_model.index(row_of(board.queue_model, 11), 0)
        board.on_conversation_double_clicked(index)
        qtbot.waitUntil(lambda: win.current_conversation == 11)
        win.close()
        qtbot.waitUntil(lambda: board.closing)
    finally:
        if win.isVisible():
            win.close()
        stopping = asyncio.ensure_future(workspace.stop())
        qtbot.waitUntil(stopping.done, timeout=10000)
        gc.collect()
        qtbot.wait(20)


# -- the dialogs ---------------------------------------------------------------------------------------------
def _agent(**kw) -> BoardAgent:
    values = dict(agent_id=ANA, name="Ana", role="agent", status="available", status_changed_at=None,
                  timezone="Europe/Madrid", shifts=(protocol.Shift(weekday=0, start="08:00", end="12:00"),
                                                    protocol.Shift(weekday=0, start="13:00", end="17:00")),
                  on_shift=True, today=(), load=0, capacity=5, own_capacity={"email": 2})
    values.update(kw)
    return BoardAgent(**values)


def test_routing_dialog_loads_and_saves_the_rules(qloop, qtbot):
    saved = []

    async def load():
        return protocol.RoutingSettings(auto_assign=True, default_capacity=5, reclaim_minutes=15,
                                        offline_grace_seconds=120)

    async def save(settings):
        saved.append(settings)
        return settings

    dialog = RoutingDialog(load, save)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitUntil(lambda: dialog.save_button.isEnabled())
    assert (dialog.auto_assign.isChecked(), dialog.default_capacity.value(), dialog.reclaim.value(),
            dialog.grace.value()) == (True, 5, 15, 120)
    dialog.auto_assign.setChecked(False)
    dialog.default_capacity.setValue(8)
    dialog.reclaim.setValue(0)
    assert dialog.reclaim.text() == "Never"
    dialog.grace.setValue(300)
    with qtbot.waitSignal(dialog.saved, timeout=5000) as signal:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert saved == [protocol.RoutingSettings(auto_assign=False, default_capacity=8, reclaim_minutes=0,
                                              offline_grace_seconds=300)]
    assert signal.args[0].default_capacity == 8
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_routing_dialog_shows_a_refusal_and_stays_open(qloop, qtbot):
    async def load():
        return protocol.RoutingSettings()

    async def save(settings):
        raise ServerError(403, "only a lead can change the routing rules")

    dialog = RoutingDialog(load, save)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitUntil(lambda: dialog.save_button.isEnabled())
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Not allowed" in dialog.message.text())
    assert dialog.message.text() == "Not allowed: only a lead can change the routing rules"
    assert dialog.isVisible() and dialog.save_button.isEnabled()


def test_routing_dialog_offline(qloop, qtbot):
    api = ApiClient(dead_url(), "token")
    dialog = RoutingDialog(api.routing, api.set_routing)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitUntil(lambda: "offline" in dialog.message.text(), timeout=10000)
    assert not dialog.save_button.isEnabled() and not dialog.default_capacity.isEnabled()
    closing = asyncio.ensure_future(api.aclose())
    qtbot.waitUntil(closing.done)


def test_edit_agent_dialog_sends_zone_shifts_and_capacity(qloop, qtbot):
    sent = []

    async def update(agent_id, body):
        sent.append((agent_id, body))
        return protocol.AgentPublic(id=agent_id, email="ana@t.test", name="Ana", role="agent",
                                    timezone=body.timezone, shifts=body.shifts, capacity=body.capacity)

    dialog = EditAgentDialog(_agent(), update, default_capacity=5)
    qtbot.addWidget(dialog)
    dialog.open()
    assert dialog.day_edits[0].text() == "08:00–12:00, 13:00–17:00"  # a split shift, as it is
    assert dialog.day_edits[1].text() == "" and dialog.timezone.currentText() == "Europe/Madrid"
    assert dialog.capacity_keys() == ["email"]
    dialog.day_edits[0].setText("9:00-17:00")
    qtbot.mouseClick(dialog.copy_monday, Qt.MouseButton.LeftButton)
    dialog.day_edits[5].setText("22:00 – 06:00")  # Saturday night into Sunday
    dialog.timezone.setCurrentText("America/New_York")
    dialog.add_capacity_row("*", 4)
    dialog.capacity.cellWidget(0, 1).setValue(3)
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    [(agent_id, body)] = sent
    assert agent_id == ANA and body.timezone == "America/New_York"
    assert [(s.weekday, s.start, s.end) for s in body.shifts] == [
        (0, "09:00", "17:00"), (1, "09:00", "17:00"), (2, "09:00", "17:00"), (3, "09:00", "17:00"),
        (4, "09:00", "17:00"), (5, "22:00", "06:00")]
    assert body.capacity == {"email": 3, "*": 4}
    assert dialog.result() == QDialog.DialogCode.Accepted


@pytest.mark.parametrize("field,text,expected", [
    ("shift", "9 to 5", "“9 to 5” is not a shift: write it as 09:00–17:00."),
    ("shift", "25:00-26:00", "“25:00-26:00” is not a time of day (00:00 to 24:00)."),
    ("zone", "Mars/Olympus", "“Mars/Olympus” is not a time zone (for example Europe/Madrid)."),
    ("capacity", "email", "Email is listed twice under capacity."),
])
def test_edit_agent_dialog_refuses_bad_input_without_sending(qloop, qtbot, field, text, expected):
    sent = []

    async def update(agent_id, body):
        sent.append(body)

    dialog = EditAgentDialog(_agent(), update)
    qtbot.addWidget(dialog)
    dialog.open()
    if field == "shift":
        dialog.day_edits[2].setText(text)
    elif field == "zone":
        dialog.timezone.setCurrentText(text)
    else:
        dialog.add_capacity_row(text, 1)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == expected
    qtbot.wait(50)
    assert sent == [] and dialog.isVisible()


def test_edit_agent_dialog_shows_the_servers_refusal(qloop, qtbot):
    async def update(agent_id, body):
        raise ServerError(403, "only a lead can change schedules and capacity")

    dialog = EditAgentDialog(_agent(), update)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.text().startswith("Not allowed"))
    assert dialog.isVisible() and dialog.save_button.isEnabled()


def test_board_opens_the_dialogs_from_the_agent_row_menu_and_the_buttons(make_board, qtbot):
    board = make_board()
    menu = board.agent_menu(center_of_row(board.agents_view, row_of(board.agents_model, BEN)))
    menu.findChild(QAction, "editAgent").trigger()
    dialog = board.edit_agent_dialog
    assert dialog is not None and dialog.agent.agent_id == BEN and dialog.isVisible()
    assert dialog.timezone.currentText() == "Europe/Madrid"
    assert sorted(dialog.capacity_keys()) == ["*", "whatsapp"]
    dialog.reject()
    qtbot.mouseClick(board.routing_button, Qt.MouseButton.LeftButton)
    routing = board.routing_dialog
    assert routing is not None and routing.isVisible()
    qtbot.waitUntil(lambda: "offline" in routing.message.text(), timeout=10000)  # no server in this test
    routing.reject()


# -- against the real team server ------------------------------------------------------------------------------
def test_a_move_on_the_board_reaches_the_server_with_its_reason(stack, qloop, qtbot, tmp_path):
    import uuid

    from tests.integration.helpers import inbound, sign_in
    from ui.app import open_window

    token, lead = sign_in(stack)
    win, workspace = open_window(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(lead),
                                 language="en", cache_path=tmp_path / "cache.sqlite",
                                 settings=Settings(tmp_path / "settings.json"))
    qtbot.addWidget(win)
    win.show()
    try:
        board = open_lead_board(win)
        name = f"Board {uuid.uuid4().hex[:6]}"
        inbound(stack, wa_id="3462" + str(uuid.uuid4().int)[:7], name=name, text="¿Me ayudáis?")

        def queued_names():
            model = board.queue_model
            return [model.index(r, 0).data() for r in range(model.rowCount())]

        qtbot.waitUntil(lambda: name in queued_names(), timeout=15000)
        ana = next(a for a in board.snapshot.agents if a.name == "Ana Gómez")
        before = ana.load
        select_rows(board.queue_view, [queued_names().index(name)])
        conversation_id = board.selected_ids(board.queue_view)[0]
        board.reason_edit.setText("Ana speaks with this customer every week")
        assert drop(board.agents_view, drag_data(board.queue_view),
                    center_of_row(board.agents_view, row_of(board.agents_model, ana.agent_id)))

        # The server took it (the outbox is empty again) and the trail came back with the reason.
        def trail():
            rows = workspace.cache.thread(conversation_id)
            return [r.event for r in rows if r.direction == "assignment"]

        qtbot.waitUntil(lambda: workspace.cache.pending_ops() == 0 and bool(trail()), timeout=30000)
        [entry] = trail()
        assert (entry["kind"], entry["to_id"], entry["actor_id"], entry["reason"]) == (
            "manual", ana.agent_id, lead["id"], "Ana speaks with this customer every week")
        assert workspace.cache.conversation(conversation_id).assignee_id == ana.agent_id
        # The board follows: Ana's load, the queue, and no move left waiting to be sent.
        qtbot.waitUntil(lambda: board.snapshot.agent(ana.agent_id).load == before + 1 and name not in queued_names()
                        and board.snapshot.queued_moves == 0 and not board.notice.isVisible(), timeout=10000)
    finally:
        win.close()
        stopping = asyncio.ensure_future(workspace.stop())
        qtbot.waitUntil(stopping.done, timeout=10000)
        gc.collect()
        qtbot.wait(20)
