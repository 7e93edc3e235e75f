"""One customer across channels, read from a real cache fed with sync pages: profile, identities, every
conversation newest first with its notes, open follow-ups; and the checks edits go through."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from workstation import history, protocol
from workstation.cache import Cache

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LUCIA, ANA = 1, 2
LU, OTHER = 10, 11  # customers
WA_OLD, IG_NEW, WA_OPEN, OTHERS = 100, 101, 102, 200  # conversations


def conversation(id_, customer, channel, *, status="open", at, preview="", case_type=None, priority="normal",
                 public=False, resolved_at=None):
    return protocol.ConversationPublic(
        id=id_, customer_id=customer, channel=channel, status=status, assignee_id=None, last_message_at=at,
        last_inbound_at=at, last_message_preview=preview, last_message_direction="in", version=1,
        case_type=case_type, priority=priority, public=public, resolved_at=resolved_at)


def message(id_, conversation_id, text, *, at, direction="in"):
    return protocol.MessagePublic(
        id=id_, conversation_id=conversation_id, direction=direction, author_agent_id=ANA if direction == "out" else None,
        text=text, kind="text", provider_id=None, delivery_state="delivered", error_kind=None, error_code=None,
        error_title=None, created_at=at, client_op_id=None)


def note(id_, conversation_id, text, *, at, author=ANA):
    return protocol.NotePublic(id=id_, conversation_id=conversation_id, author_agent_id=author, text=text,
                               created_at=at, client_op_id=None)


def follow_up(id_, conversation_id, *, due, note="", done_at=None, agent=ANA, customer=LU):
    return protocol.FollowUpPublic(id=id_, conversation_id=conversation_id, customer_id=customer, agent_id=agent,
                                   due_at=due, note=note, done_at=done_at)


def first_page() -> protocol.SyncPage:
    return protocol.SyncPage(
        next_after=10, has_more=False, epoch="e",
        agents=[protocol.AgentPublic(id=LUCIA, email="l@x.test", name="Lucía", role="lead"),
                protocol.AgentPublic(id=ANA, email="a@x.test", name="Ana", role="agent")],
        customers=[
            protocol.CustomerPublic(id=LU, display_name="Lu <b>Díaz</b>", tags=["VIP", "loyal"],
                                    fields={"plan": "Gold", "city": "Sevilla"}, notes="Prefers mornings.",
                                    language="es"),
            protocol.CustomerPublic(id=OTHER, display_name="Someone else"),
        ],
        identities=[
            protocol.IdentityPublic(id=1, customer_id=LU, channel="whatsapp", handle="34600111222", display_name="Lu"),
            protocol.IdentityPublic(id=2, customer_id=LU, channel="instagram", handle="lu.diaz",
                                    display_name="Lu D."),
            protocol.IdentityPublic(id=3, customer_id=OTHER, channel="whatsapp", handle="34600999888",
                                    display_name="Someone"),
        ],
        conversations=[
            conversation(WA_OLD, LU, "whatsapp", status="resolved", at=T0, preview="My blender broke",
                         case_type="postsale.warranty", resolved_at=T0 + timedelta(hours=2)),
            conversation(IG_NEW, LU, "instagram", status="resolved", at=T0 + timedelta(days=3),
                         preview="Terrible service!", case_type="incident.complaint", priority="high", public=True,
                         resolved_at=T0 + timedelta(days=3, hours=1)),
            conversation(OTHERS, OTHER, "whatsapp", at=T0 + timedelta(days=4), preview="hola"),
        ],
        messages=[
            message(1, WA_OLD, "My blender broke", at=T0),
            message(2, WA_OLD, "Send it to us, it's under warranty", at=T0 + timedelta(minutes=5), direction="out"),
            message(3, WA_OLD, "Thanks", at=T0 + timedelta(minutes=9)),
            message(4, IG_NEW, "Terrible service!", at=T0 + timedelta(days=3)),
            message(5, OTHERS, "hola", at=T0 + timedelta(days=4)),
        ],
        notes=[
            note(1, WA_OLD, "Replacement sent, tracking 123", at=T0 + timedelta(hours=1)),
            note(2, IG_NEW, "Moved to DM as per protocol", at=T0 + timedelta(days=3, minutes=2), author=LUCIA),
            note(3, IG_NEW, "Customer calmed down", at=T0 + timedelta(days=3, minutes=30)),
            note(4, OTHERS, "not Lu's", at=T0 + timedelta(days=4)),
        ],
        follow_ups=[
            follow_up(1, IG_NEW, due=T0 + timedelta(days=10), note="Check the complaint is settled"),
            follow_up(2, WA_OLD, due=T0 + timedelta(days=7), note="Did the replacement arrive?"),
            follow_up(3, WA_OLD, due=T0 + timedelta(days=1), note="already done", done_at=T0 + timedelta(days=1)),
            follow_up(4, OTHERS, due=T0 + timedelta(days=5), customer=OTHER),
        ],
    )


@pytest.fixture
def cache(tmp_path):
    c = Cache(tmp_path / "cache.sqlite")
    c.apply_page(first_page())
    yield c
    c.close()


def test_history_gathers_the_customer_across_channels(cache):
    h = history.customer_history(cache, LU)
    assert h.display_name == "Lu <b>Díaz</b>"
    assert h.tags == ("VIP", "loyal") and h.vip
    assert h.fields == {"plan": "Gold", "city": "Sevilla"}
    assert h.notes == "Prefers mornings." and h.language == "es"
    assert [(i.channel, i.handle, i.display_name) for i in h.identities] == [
        ("whatsapp", "34600111222", "Lu"), ("instagram", "lu.diaz", "Lu D.")]
    # Every conversation of the customer on both channels, newest first; nobody else's.
    assert [c.conversation_id for c in h.conversations] == [IG_NEW, WA_OLD]
    ig, wa = h.conversations
    assert (ig.channel, ig.status, ig.case_type, ig.priority, ig.public, ig.message_count) == (
        "instagram", "resolved", "incident.complaint", "high", True, 1)
    assert (wa.channel, wa.status, wa.case_type, wa.priority, wa.public, wa.message_count) == (
        "whatsapp", "resolved", "postsale.warranty", "normal", False, 3)
    assert ig.preview == "Terrible service!" and ig.last_message_at == T0 + timedelta(days=3)
    assert wa.resolved_at == T0 + timedelta(hours=2)
    # Internal notes with author and time, oldest first within each conversation.
    assert [(n.author, n.text) for n in ig.notes] == [("Lucía", "Moved to DM as per protocol"),
                                                       ("Ana", "Customer calmed down")]
    assert [(n.author, n.created_at, n.pending) for n in wa.notes] == [("Ana", T0 + timedelta(hours=1), False)]
    # Open follow-ups only, soonest first, with their channel and agent.
    assert [(f.follow_up_id, f.note, f.channel, f.agent) for f in h.follow_ups] == [
        (2, "Did the replacement arrive?", "whatsapp", "Ana"), (1, "Check the complaint is settled", "instagram", "Ana")]
    assert h.follow_ups[0].due_at == T0 + timedelta(days=7)


def test_a_customer_without_anything_and_an_unknown_one(cache):
    h = history.customer_history(cache, OTHER)
    assert h.tags == () and not h.vip and h.fields == {} and h.notes == ""
    assert [c.conversation_id for c in h.conversations] == [OTHERS]
    assert [n.text for n in h.conversations[0].notes] == ["not Lu's"]
    assert history.customer_history(cache, 999) is None
    assert history.history_for_conversation(cache, WA_OLD).customer_id == LU
    assert history.history_for_conversation(cache, 999) is None


def test_later_pages_update_the_history(cache):
    before = history.customer_history(cache, LU)
    later = T0 + timedelta(days=20)
    cs = cache.apply_page(protocol.SyncPage(
        next_after=20, has_more=False, epoch="e",
        customers=[protocol.CustomerPublic(id=LU, display_name="Lu Díaz", tags=["loyal"], fields={"plan": "Gold"})],
        conversations=[conversation(WA_OPEN, LU, "whatsapp", at=later, preview="Hi again")],
        messages=[message(6, WA_OPEN, "Hi again", at=later)],
        follow_ups=[follow_up(2, WA_OLD, due=T0 + timedelta(days=7), done_at=later)],
    ))
    # The change concerns Lu (a new conversation of hers, her profile, a follow-up) but not the other customer.
    parts = dict(customer_ids=cs.customer_ids, conversation_ids=cs.conversation_ids,
                 follow_ups_changed=cs.follow_ups_changed)
    assert history.concerns(cache, before, **parts)
    other = history.customer_history(cache, OTHER)
    assert not history.concerns(cache, other, customer_ids=set(), conversation_ids={WA_OPEN},
                                follow_ups_changed=False)
    assert history.concerns(cache, before, customer_ids=set(), conversation_ids={WA_OPEN}, follow_ups_changed=False)
    h = history.customer_history(cache, LU)
    assert h.tags == ("loyal",) and not h.vip and h.notes == ""
    assert [c.conversation_id for c in h.conversations] == [WA_OPEN, IG_NEW, WA_OLD]
    assert [f.follow_up_id for f in h.follow_ups] == [1]


def test_a_pending_note_written_here_is_in_the_history(cache):
    cache.enqueue_note(WA_OLD, "written offline", ANA)
    notes = history.customer_history(cache, LU).conversations[1].notes
    assert [(n.text, n.pending) for n in notes] == [("Replacement sent, tracking 123", False),
                                                    ("written offline", True)]


def test_profile_override_and_follow_up_removal(cache):
    h = history.customer_history(cache, LU)
    saved = protocol.CustomerPublic(id=LU, display_name="Lu", tags=["VIP"], fields={}, notes="new", language="en")
    shown = h.with_profile(saved)
    assert (shown.tags, shown.fields, shown.notes, shown.language) == (("VIP",), {}, "new", "en")
    assert shown.conversations == h.conversations and shown.identities == h.identities
    assert [f.follow_up_id for f in h.without_follow_up(2).follow_ups] == [1]


def test_tag_and_field_rules():
    assert history.with_tag(["VIP"], "  vip ") == ["VIP"]
    assert history.with_tag(["VIP"], "  very   loyal ") == ["VIP", "very loyal"]
    assert history.with_tag([], "   ") == []
    assert history.without_tag(["VIP", "loyal"], "vip") == ["loyal"]
    assert history.is_vip(["Vip"]) and not history.is_vip(["VIPs"])
    assert history.check_tags(["x"] * 31).code == "too_many_tags"
    assert history.check_tags(["x" * 41]) == history.Problem("tag_too_long", "x" * 41, 40)
    assert history.check_tags(["VIP"]) is None
    assert history.clean_fields({" plan ": "Gold", "  ": "dropped"}) == {"plan": "Gold"}
    assert history.check_fields([("plan", "Gold"), (" plan", "Silver")]).code == "duplicate_field"
    assert history.check_fields([("p" * 61, "x")]).code == "field_name_too_long"
    assert history.check_fields([("plan", "x" * 501)]) == history.Problem("field_value_too_long", "plan", 500)
    assert history.check_fields([(f"f{i}", "") for i in range(51)]).code == "too_many_fields"
    assert history.check_fields([("", "ignored"), ("plan", "Gold")]) is None
    assert history.check_notes("x" * protocol.MAX_REPLY_CHARS) is None
    assert history.check_notes("x" * (protocol.MAX_REPLY_CHARS + 1)).code == "notes_too_long"
    # The checks keep to the wire contract: what passes them, CustomerUpdate accepts.
    protocol.CustomerUpdate(tags=["x" * 40] * 30, fields={"p" * 60: "v" * 500},
                            notes="n" * protocol.MAX_REPLY_CHARS)


def test_reads_go_through_the_workspace_database_thread(cache):
    from workstation.sync import DbWorker

    class FakeWorkspace:
        def __init__(self) -> None:
            self.cache = cache
            self.db = DbWorker(cache)

    workspace = FakeWorkspace()
    try:
        h = asyncio.run(history.load_history(workspace, LU))
        assert h == history.customer_history(cache, LU)
        assert asyncio.run(history.load_history_for_conversation(workspace, IG_NEW)).customer_id == LU
        assert asyncio.run(history.history_if_changed(workspace, h, customer_ids=set(), conversation_ids={OTHERS},
                                                      follow_ups_changed=False)) is None
        assert asyncio.run(history.history_if_changed(workspace, h, customer_ids={LU}, conversation_ids=set(),
                                                      follow_ups_changed=False)) == h
    finally:
        workspace.db._pool.shutdown(wait=True)
