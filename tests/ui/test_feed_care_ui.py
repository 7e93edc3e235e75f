"""The feed's care signals in the real widgets: the response clock and priority chips as painted, the
header's clock, ordering and filtering the feed against the real team server, breach and follow-up
notifications, and the check-in pinned first among the canned suggestions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import httpx
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QIcon, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem

from tests.integration.helpers import inbound, sign_in
from tests.ui.test_main_window import feed_names, select_customer, window  # noqa: F401
from ui.canned_panel import CannedPanel
from ui.feed_delegate import CLOCK_COLOURS, FeedDelegate, PRIORITY_COLOURS
from ui.feed_model import ClockRole, FeedModel, FollowUpDueRole, PriorityRole
from ui.notifier import Notifier
from workstation.cache import FeedRow
from workstation.library import bundled_library
from workstation.settings import Settings

NOW = datetime.now(timezone.utc)


def row(cid=1, **kw) -> FeedRow:
    base = dict(conversation_id=cid, channel="whatsapp", customer_name=f"Customer {cid}", preview="hola",
                last_message_at=NOW, last_direction="in", status="open", unread=False, assignee_id=None)
    base.update(kw)
    return FeedRow(**base)


def painted(model: FeedModel, r: int = 0, width: int = 360) -> QImage:
    delegate = FeedDelegate()
    option = QStyleOptionViewItem()
    index = model.index(r)
    option.rect = QRect(0, 0, width, delegate.sizeHint(option, index).height())
    image = QImage(option.rect.size(), QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    delegate.paint(painter, option, index)
    painter.end()
    return image


def has_colour(image: QImage, colour: QColor, x_from: int = 0) -> bool:
    target = colour.rgb()
    return any(image.pixel(x, y) == target for y in range(image.height()) for x in range(x_from, image.width()))


def test_clock_and_priority_chips_are_painted_in_their_colours(qapp):
    now = datetime.now(timezone.utc)  # the clocks are read against the wall clock: not the module's NOW
    model = FeedModel()
    model.set_rows([
        row(1, priority="urgent", sla_kind="first", sla_due_at=now - timedelta(minutes=3), sla_target_seconds=600),
        row(2, sla_kind="next", sla_due_at=now + timedelta(minutes=50), sla_target_seconds=3600),
        row(3, sla_kind="first", sla_due_at=now + timedelta(minutes=5), sla_target_seconds=3600, priority="high"),
        row(4),
    ])
    clocks = [model.index(i).data(ClockRole) for i in range(4)]
    assert [c.colour if c else None for c in clocks] == ["red", "green", "amber", None]
    assert [model.index(i).data(PriorityRole) for i in range(4)] == ["urgent", "normal", "high", "normal"]
    urgent, calm, high, plain = (painted(model, i) for i in range(4))
    assert has_colour(urgent, CLOCK_COLOURS["red"]) and has_colour(urgent, PRIORITY_COLOURS["urgent"])
    assert urgent.pixel(1, urgent.height() // 2) == PRIORITY_COLOURS["urgent"].rgb()  # the stripe on the left
    assert has_colour(calm, CLOCK_COLOURS["green"]) and not has_colour(calm, CLOCK_COLOURS["red"])
    assert has_colour(high, CLOCK_COLOURS["amber"]) and has_colour(high, PRIORITY_COLOURS["high"])
    assert not any(has_colour(plain, c) for c in (*CLOCK_COLOURS.values(), *PRIORITY_COLOURS.values()))


def test_a_public_conversation_is_marked_in_the_feed(qapp):
    from ui.feed_delegate import PUBLIC
    from ui.feed_model import PublicRole

    model = FeedModel()
    model.set_rows([row(1, channel="x", public=True), row(2, channel="x")])
    assert model.index(0).data(PublicRole) is True and model.index(1).data(PublicRole) is False
    assert has_colour(painted(model, 0), PUBLIC) and not has_colour(painted(model, 1), PUBLIC)


def test_a_due_follow_up_is_marked_in_the_feed(qapp):
    from ui.feed_delegate import FOLLOW_UP

    model = FeedModel()
    model.set_rows([row(1, status="resolved", follow_up_due_at=NOW - timedelta(hours=1)),
                    row(2, status="resolved", follow_up_due_at=NOW + timedelta(days=1))])
    assert model.index(0).data(FollowUpDueRole) is True and model.index(1).data(FollowUpDueRole) is False
    assert has_colour(painted(model, 0), FOLLOW_UP) and not has_colour(painted(model, 1), FOLLOW_UP)
    # A resolved conversation has no running clock even if one was left in the row.
    model.set_rows([row(3, status="resolved", sla_kind="first", sla_due_at=NOW, sla_target_seconds=60)])
    assert model.index(0).data(ClockRole) is None


def notifier(tmp_path, agent_id=1) -> tuple[Notifier, list]:
    settings = Settings(tmp_path / "settings.json")
    settings.set("notifications", True)
    n = Notifier(settings, agent_id, QIcon())
    told: list = []
    n.notified.connect(lambda title, body, cid: told.append((title, cid)))
    return n, told


def test_a_breach_is_told_once_to_the_assignee_and_a_lead_hears_of_the_teams(qapp, tmp_path):
    n, told = notifier(tmp_path, agent_id=1)
    calm = [row(1, assignee_id=1), row(2, assignee_id=2)]
    n.update_feed(calm, baseline=True)
    n.update_feed(calm)
    assert told == []
    breached = [row(1, assignee_id=1, sla_breached_at=NOW, sla_kind="first", sla_due_at=NOW),
                row(2, assignee_id=2, sla_breached_at=NOW, sla_kind="first", sla_due_at=NOW)]
    n.update_feed(breached)
    assert told == [("Response overdue: Customer 1", 1), ("Response overdue in the team: Customer 2", 2)]
    n.update_feed(breached)
    assert len(told) == 2  # once each
    # Breached again later (a new clock): told again.
    again = [row(1, assignee_id=1, sla_breached_at=NOW + timedelta(hours=1), sla_kind="next", sla_due_at=NOW)]
    n.update_feed(again)
    assert told[-1] == ("Response overdue: Customer 1", 1)


def test_breaches_and_due_follow_ups_already_there_at_start_are_not_news(qapp, tmp_path):
    n, told = notifier(tmp_path, agent_id=1)
    old = [row(1, assignee_id=1, sla_breached_at=NOW, sla_kind="first", sla_due_at=NOW),
           row(2, assignee_id=1, status="resolved", follow_up_due_at=NOW - timedelta(days=1))]
    n.update_feed(old, baseline=True)
    n.update_feed(old)
    assert told == []
    n.update_feed(old + [row(3, assignee_id=1, status="resolved", follow_up_due_at=NOW - timedelta(minutes=1)),
                         row(4, assignee_id=2, status="resolved", follow_up_due_at=NOW - timedelta(minutes=1)),
                         row(5, assignee_id=1, status="resolved", follow_up_due_at=NOW + timedelta(days=1))])
    assert [t for t in told if t[0].startswith("Follow-up")] == [("Follow-up due: Customer 3", 3)]


def test_a_due_check_in_is_pinned_first_in_the_customers_language(qapp):
    panel = CannedPanel(bundled_library(), "en")
    panel.set_context("the parcel arrived broken", "en", "whatsapp")
    before = [r.id for r in panel.suggestions()]
    assert before and before[0] != "en-followup"
    panel.set_pinned(["es-followup"])  # the follow-up was made in Spanish; the customer writes English
    after = [r.id for r in panel.suggestions()]
    assert after[0] == "en-followup" and after[1:] == [k for k in before if k != "en-followup"]
    assert panel.current_response().id == "en-followup"  # selected: Insert takes it
    panel.set_pinned([])
    assert [r.id for r in panel.suggestions()] == before


def test_the_header_shows_the_clock_and_the_feed_orders_by_priority(stack, window, qtbot):
    token, _agent = sign_in(stack)
    tag = uuid.uuid4().hex[:5]
    urgent, routine = f"Urgent {tag}", f"Routine {tag}"
    inbound(stack, wa_id="3471" + str(uuid.uuid4().int)[:7], name=urgent,
            text="Es urgente: me han cobrado dos veces, es un fraude")
    inbound(stack, wa_id="3472" + str(uuid.uuid4().int)[:7], name=routine, text="Hola, una pregunta sobre tallas")
    qtbot.waitUntil(lambda: {urgent, routine} <= set(feed_names(window)), timeout=10000)
    names = feed_names(window)
    assert names.index(routine) < names.index(urgent)  # newest first
    window.set_feed_order("priority")
    qtbot.waitUntil(lambda: feed_names(window).index(urgent) < feed_names(window).index(routine), timeout=5000)
    window.set_feed_order("sla")
    qtbot.waitUntil(lambda: window.feed_key[1] == "sla", timeout=2000)
    window.set_feed_order("recent")

    select_customer(window, qtbot, urgent)
    qtbot.waitUntil(lambda: window.sla_label.isVisible(), timeout=5000)
    # A WhatsApp conversation the customer just wrote in: private, with the 24-hour window open.
    assert window.public_label.text() == "Private"
    assert window.window_label.text() in ("Reply window: 23 h 59 min left", "Reply window: 24 h 0 min left")
    assert "#2E7D32" in window.window_label.styleSheet()
    assert window.sla_label.text().startswith("First response due in")
    assert "#2E7D32" in window.sla_label.styleSheet() or "#B26A00" in window.sla_label.styleSheet()
    assert window.priority_label.isVisible() and window.priority_label.text() == "Urgent"
    # The agent answers: the clock stops.
    window.composer.submit_now(f"Lo miramos ahora mismo {tag}")
    qtbot.waitUntil(lambda: not window.sla_label.isVisible(), timeout=15000)


def test_the_case_type_filter_and_the_business_hours_label(stack, window, qtbot):
    token, _agent = sign_in(stack)
    tag = uuid.uuid4().hex[:5]
    name = f"Returned {tag}"
    inbound(stack, wa_id="3473" + str(uuid.uuid4().int)[:7], name=name, text="Quiero devolver el abrigo")
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=10000)
    row_ = feed_names(window).index(name)
    cid = window.feed_model.conversation_at(row_).conversation_id
    headers = {"Authorization": f"Bearer {token}"}
    version = window.feed_model.conversation_at(row_) and window.workspace.cache.conversation(cid).version
    r = httpx.patch(f"{stack.server_url}/v1/conversations/{cid}", headers=headers,
                    json={"status": "resolved", "case_type": "postsale.return", "expected_version": version})
    assert r.status_code == 200, r.text
    window.set_feed_case_type("postsale.return")

    def only_returns():
        rows = [window.feed_model.conversation_at(i) for i in range(window.feed_model.rowCount())]
        return name in feed_names(window) and all(r.case_type == "postsale.return" for r in rows)

    qtbot.waitUntil(only_returns, timeout=10000)
    window.set_feed_case_type("incident.compliment")
    qtbot.waitUntil(lambda: name not in feed_names(window), timeout=5000)
    window.set_feed_case_type(None)
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=5000)
    # The team's hours, as the server describes them.
    qtbot.waitUntil(lambda: window.hours_label.isVisible(), timeout=10000)
    care = httpx.get(f"{stack.server_url}/v1/care", params={"lang": "en"}, headers=headers).json()
    team = care["hours_now"]["*"]
    assert window.hours_label.text().startswith("Open" if team["open"] else "Closed")
    assert team["description"] in window.hours_label.toolTip()


def test_a_lead_edits_the_hours_from_the_board_and_the_status_bar_follows(stack, window, qtbot):
    token, _agent = sign_in(stack)
    headers = {"Authorization": f"Bearer {token}"}
    before = httpx.get(f"{stack.server_url}/v1/care", headers=headers).json()["settings"]
    board = window.open_lead_board()
    qtbot.waitUntil(board.care_button.isVisible, timeout=5000)
    board.care_button.click()
    dialog = window.care_dialog
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=10000)
    team = dialog.hours.editor("*")
    team.always_open.setChecked(False)
    for day in range(7):
        team.set_day(day, "")  # never open
    try:
        with qtbot.waitSignal(dialog.saved, timeout=10000):
            dialog.save_button.click()
        assert window.hours_label.text() == "Closed"
    finally:
        httpx.put(f"{stack.server_url}/v1/care", headers=headers, json=before).raise_for_status()
    board.close()


def test_crisis_mode_shows_the_banner_and_pins_the_crisis_statement_first(stack, window, qtbot):
    token, _agent = sign_in(stack)
    headers = {"Authorization": f"Bearer {token}"}
    r = httpx.post(f"{stack.server_url}/v1/crisis/mode", headers=headers, json={"active": True})
    assert r.status_code == 200, r.text
    try:
        window.crisis_banner.refresh()
        qtbot.waitUntil(lambda: window.crisis_banner.isVisible() and bool(window.crisis_banner.pinned_canned_keys()),
                        timeout=10000)
        assert window.crisis_banner.end_button.isVisible()  # the lead can end it
        window.canned_panel.set_context("hola", "es", "whatsapp")
        qtbot.waitUntil(lambda: bool(window.canned_panel.suggestions())
                        and window.canned_panel.suggestions()[0].id == "es-crisis", timeout=5000)
    finally:
        httpx.post(f"{stack.server_url}/v1/crisis/mode", headers=headers, json={"active": False}).raise_for_status()
    window.crisis_banner.refresh()
    qtbot.waitUntil(lambda: not window.crisis_banner.isVisible(), timeout=10000)
    assert window.canned_panel.pinned_keys() == []


def test_after_the_window_closed_the_agent_sends_a_template_from_the_header(stack, window, qtbot):
    import time

    tag = uuid.uuid4().hex[:5]
    name = f"Olga {tag}"
    wa_id = "3474" + str(uuid.uuid4().int)[:7]
    inbound(stack, wa_id=wa_id, name=name, text="hola, sigo esperando", timestamp=int(time.time()) - 30 * 3600)
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=10000)
    select_customer(window, qtbot, name)
    qtbot.waitUntil(window.template_button.isVisible, timeout=5000)
    assert window.window_label.text() == "Reply window closed: templates only"
    window.template_button.click()
    dialog = window.template_dialog
    qtbot.waitUntil(lambda: bool(dialog.templates), timeout=10000)
    assert dialog.current().language == "es"  # the customer writes Spanish: Spanish templates first
    index = next(i for i, t in enumerate(dialog.templates) if t.name == "actualizacion_pedido")
    dialog.picker.setCurrentIndex(index)
    assert dialog.parameters[0].text() == "Olga" and not dialog.save_button.isEnabled()
    dialog.parameters[1].setText("B-12")
    assert dialog.preview.toPlainText() == \
        "Hola Olga, hay novedades sobre tu pedido B-12. Responde a este mensaje para verlas."
    with qtbot.waitSignal(dialog.sent, timeout=10000):
        dialog.save_button.click()
    qtbot.waitUntil(lambda: any(s["json"].get("to") == wa_id and s["json"].get("type") == "template"
                                for s in httpx.get(f"{stack.sandbox_url}/_sandbox/sent").json()), timeout=10000)


def test_a_public_comment_gets_the_one_private_reply_from_the_header(stack, window, qtbot):
    from tests.integration.test_meta_flow import customer_writes, graph_calls, new_id

    psid = new_id()
    name = f"Nico {psid[-5:]}"
    comment_id = customer_writes(stack, psid, "se me ha roto " + psid, kind="comment", name=name)
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=10000)
    row_ = feed_names(window).index(name)
    assert window.feed_model.conversation_at(row_).public
    select_customer(window, qtbot, name)
    qtbot.waitUntil(window.private_reply_button.isVisible, timeout=5000)
    assert window.public_label.text() == "Public" and not window.window_label.isVisible()
    window.private_reply_button.click()
    dialog = window.private_reply_dialog
    assert dialog.edit.toPlainText().startswith("Hi Nico, thanks for your comment.")
    text = f"Hi Nico, let's talk here {psid}"
    dialog.edit.setPlainText(text)
    with qtbot.waitSignal(dialog.sent, timeout=10000):
        dialog.save_button.click()
    qtbot.waitUntil(lambda: bool(graph_calls(stack, text)), timeout=10000)
    assert graph_calls(stack, text)[0]["json"]["recipient"] == {"comment_id": comment_id}
    # Over Messenger's 2,000 characters the dialog does not send.
    window.private_reply_button.click()
    again = window.private_reply_dialog
    again.edit.setPlainText("x" * 2001)
    assert not again.save_button.isEnabled() and again.counter.text() == "2001 / 2000"
    again.reject()
