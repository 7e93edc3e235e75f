"""One customer across channels on a real team database (SQLite and PostgreSQL): merging moves everything and
records it for sync, splitting moves one identity back out, and ingest links a new identity only on exact
evidence naming exactly one customer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from services.channels.base import InboundMessage, WebhookBatch
from services.teamserver import identities
from services.teamserver.db import init_db, make_engine
from services.teamserver.ingest import ingest_batches
from services.teamserver.models import (Agent, Change, Conversation, CsatSurvey, Customer, FollowUp, Identity,
                                        Note, utcnow)
from tests.support import DATABASES, team_database

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(params=DATABASES)
def engine(request, tmp_path):
    with team_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        init_db(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def ana(engine) -> Agent:
    with Session(engine) as s:
        agent = Agent(email="ana@example.test", name="Ana", password_hash="x")
        s.add(agent)
        s.commit()
        s.refresh(agent)
        s.expunge(agent)
        return agent


def write(engine, channel: str, handle: str, name: str = "", text: str = "hola",
          key: str | None = None) -> Conversation:
    """A customer message on a channel; returns its conversation."""
    message = InboundMessage(channel=channel, account_id="1", provider_message_id=key or f"{channel}-{handle}-{text}",
                             sender_handle=handle, sender_name=name, kind="text", text=text, sent_at=NOW)
    with Session(engine) as s:
        ingest_batches(s, [WebhookBatch(messages=[message])])
        s.commit()
        conv = s.exec(select(Conversation).join(Identity, Identity.id == Conversation.identity_id)
                      .where(Identity.channel == channel, Identity.handle == handle)
                      .order_by(Conversation.id.desc())).first()
        s.expunge(conv)
        return conv


def customer(engine, customer_id: int) -> Customer:
    with Session(engine) as s:
        row = s.get(Customer, customer_id)
        s.expunge(row)
        return row


def set_profile(engine, customer_id: int, **values) -> None:
    with Session(engine) as s:
        row = s.get(Customer, customer_id)
        for name, value in values.items():
            setattr(row, name, json.dumps(value) if name in ("tags", "fields") else value)
        s.add(row)
        s.commit()


def latest_seq(engine) -> int:
    with Session(engine) as s:
        return max([c.seq for c in s.exec(select(Change)).all()] or [0])


def changed_since(engine, seq: int) -> set[tuple[str, int]]:
    with Session(engine) as s:
        return {(c.entity, c.entity_id) for c in s.exec(select(Change).where(Change.seq > seq)).all()}


def identities_of(engine, customer_id: int) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return sorted((i.channel, i.handle) for i in
                      s.exec(select(Identity).where(Identity.customer_id == customer_id)).all())


def conversations_of(engine, customer_id: int) -> set[int]:
    with Session(engine) as s:
        return set(s.exec(select(Conversation.id).where(Conversation.customer_id == customer_id)).all())


# -- merge ----------------------------------------------------------------------------------------------------
def test_merge_moves_identities_conversations_follow_ups_and_surveys_and_records_every_row(engine, ana):
    lucia = write(engine, "whatsapp", "34600100200", "Lucía")
    lu = write(engine, "telegram", "777", "Lu")
    keep, other = lucia.customer_id, lu.customer_id
    set_profile(engine, keep, tags=["VIP", "loyal"], fields={"plan": "Gold", "city": "Sevilla"},
                notes="Prefers mornings", language=None)
    set_profile(engine, other, tags=["vip", "press"], fields={"plan": "Basic", "phone": "+34 600 100 200"},
                notes="Wrote about a refund", language="es")
    with Session(engine) as s:
        follow_up = FollowUp(conversation_id=lu.id, customer_id=other, due_at=utcnow() + timedelta(days=2))
        survey = CsatSurvey(conversation_id=lu.id, customer_id=other, channel="telegram", sent_at=utcnow())
        s.add(follow_up)
        s.add(survey)
        s.commit()
        follow_up_id, survey_id = follow_up.id, survey.id
    before = latest_seq(engine)
    with Session(engine) as s:
        merged = identities.merge(s, customer_id=keep, other_customer_id=other, agent=ana)
        s.commit()
        assert merged.id == keep
    assert identities_of(engine, keep) == [("telegram", "777"), ("whatsapp", "34600100200")]
    assert identities_of(engine, other) == []
    assert conversations_of(engine, keep) == {lucia.id, lu.id} and conversations_of(engine, other) == set()
    with Session(engine) as s:
        assert s.get(FollowUp, follow_up_id).customer_id == keep
        assert s.get(CsatSurvey, survey_id).customer_id == keep
        notes = s.exec(select(Note).where(Note.conversation_id == lu.id)).all()
        lu_identity = s.exec(select(Identity).where(Identity.handle == "777")).one().id
    # Who did it, in the moved conversation's history.
    assert [(n.author_agent_id, n.text) for n in notes] == [
        (ana.id, f"Merged with Lucía (#{keep}) by Ana: was customer Lu (#{other}).")]
    kept = customer(engine, keep)
    assert json.loads(kept.tags) == ["VIP", "loyal", "press"]  # united, VIP once whatever its case
    # This customer's values win; the other's new fields join; its differing value is kept in the notes.
    assert json.loads(kept.fields) == {"city": "Sevilla", "phone": "+34 600 100 200", "plan": "Gold"}
    assert kept.notes == (f"Prefers mornings\n\nWrote about a refund\n\nMerged from Lu (#{other}), data that "
                          "differed: plan: Basic")
    assert kept.language == "es"
    shell = customer(engine, other)
    assert (shell.display_name, json.loads(shell.fields), json.loads(shell.tags), shell.notes) == (
        "Lu", {"merged_into": str(keep)}, [], "")
    # Every moved row is in the change log, so desktops see the move through sync.
    assert {("customer", keep), ("customer", other), ("identity", lu_identity), ("conversation", lu.id),
            ("follow_up", follow_up_id), ("note", notes[0].id)} <= changed_since(engine, before)
    # The same merge again changes nothing; the shell cannot be merged again elsewhere, nor into.
    third = write(engine, "x", "999", "Third").customer_id
    before = latest_seq(engine)
    with Session(engine) as s:
        assert identities.merge(s, customer_id=keep, other_customer_id=other, agent=ana).id == keep
        s.commit()
    assert latest_seq(engine) == before
    for this, that in ((third, other), (other, third), (keep, keep), (keep, 10**9)):
        with Session(engine) as s, pytest.raises(identities.IdentityError) as refused:
            identities.merge(s, customer_id=this, other_customer_id=that, agent=ana)
        assert refused.value.status == {(keep, keep): 422, (keep, 10**9): 404}.get((this, that), 409)


# -- split ----------------------------------------------------------------------------------------------------
def test_split_moves_one_identity_and_its_conversations_to_a_new_customer(engine, ana):
    lucia = write(engine, "whatsapp", "34600100200", "Lucía")
    lu = write(engine, "telegram", "777", "Lu T.")
    lu_again = write(engine, "telegram", "777", "Lu T.", text="again")  # same identity, same conversation
    assert lu_again.id == lu.id
    with Session(engine) as s:
        identities.merge(s, customer_id=lucia.customer_id, other_customer_id=lu.customer_id, agent=ana)
        s.add(FollowUp(conversation_id=lu.id, customer_id=lucia.customer_id, due_at=utcnow()))
        s.add(FollowUp(conversation_id=lucia.id, customer_id=lucia.customer_id, due_at=utcnow()))
        s.commit()
        telegram = s.exec(select(Identity).where(Identity.channel == "telegram")).one()
    before = latest_seq(engine)
    with Session(engine) as s:
        new = identities.split(s, identity_id=telegram.id, agent=ana)
        s.commit()
        new_id = new.id
    assert new_id not in (lucia.customer_id, lu.customer_id)
    assert customer(engine, new_id).display_name == "Lu T."
    assert identities_of(engine, new_id) == [("telegram", "777")]
    assert identities_of(engine, lucia.customer_id) == [("whatsapp", "34600100200")]
    assert conversations_of(engine, new_id) == {lu.id} and conversations_of(engine, lucia.customer_id) == {lucia.id}
    with Session(engine) as s:
        follow_ups = {f.conversation_id: f.customer_id for f in s.exec(select(FollowUp)).all()}
        last_note = s.exec(select(Note).where(Note.conversation_id == lu.id).order_by(Note.id.desc())).first()
    assert follow_ups == {lu.id: new_id, lucia.id: lucia.customer_id}
    assert last_note.text == f"Split from Lucía (#{lucia.customer_id}) into a separate customer by Ana."
    assert {("customer", new_id), ("customer", lucia.customer_id), ("identity", telegram.id),
            ("conversation", lu.id), ("note", last_note.id)} <= changed_since(engine, before)
    assert ("conversation", lucia.id) not in changed_since(engine, before)


def test_the_only_identity_of_a_customer_is_not_split(engine, ana):
    alone = write(engine, "whatsapp", "34600999000", "Sola")
    with Session(engine) as s:
        identity_id = s.exec(select(Identity.id).where(Identity.handle == "34600999000")).one()
    before = latest_seq(engine)
    with Session(engine) as s, pytest.raises(identities.IdentityError) as refused:
        identities.split(s, identity_id=identity_id, agent=ana)
    assert refused.value.status == 409 and "only" in refused.value.detail
    assert identities_of(engine, alone.customer_id) == [("whatsapp", "34600999000")]
    assert latest_seq(engine) == before
    with Session(engine) as s, pytest.raises(identities.IdentityError) as missing:
        identities.split(s, identity_id=10**9, agent=ana)
    assert missing.value.status == 404


# -- automatic link at ingest ---------------------------------------------------------------------------------
def test_a_new_whatsapp_number_joins_the_customer_with_that_phone(engine):
    known = write(engine, "telegram", "4242", "Marta")
    set_profile(engine, known.customer_id, fields={"Phone": " +34 (600) 100-200 ", "plan": "Gold"})
    customers_before = count_customers(engine)
    whatsapp = write(engine, "whatsapp", "34600100200", "Marta G.")
    assert whatsapp.customer_id == known.customer_id
    assert count_customers(engine) == customers_before  # no new customer
    assert identities_of(engine, known.customer_id) == [("telegram", "4242"), ("whatsapp", "34600100200")]
    # Written with no-break spaces (JSON keeps them escaped) and slashes: the same number.
    other = write(engine, "x", "4343", "Iker")
    set_profile(engine, other.customer_id, fields={"phone": "+34\u00a0611/222\u00a0333"})
    assert write(engine, "whatsapp", "34611222333", "Iker").customer_id == other.customer_id


def test_a_new_email_address_joins_the_customer_with_that_email_or_that_email_identity(engine):
    crm = write(engine, "telegram", "5151", "Pablo")
    set_profile(engine, crm.customer_id, fields={"email": "Pablo.Ruiz@Example.com"})
    by_field = write(engine, "email", "pablo.ruiz@example.com", "Pablo Ruiz")
    assert by_field.customer_id == crm.customer_id
    under = write(engine, "telegram", "5252", "Ana B.")
    set_profile(engine, under.customer_id, fields={"email": "ana_b-r@shop.example.com"})
    assert write(engine, "email", "ana_b-r@shop.example.com", "Ana").customer_id == under.customer_id
    # An address another email identity already has (in another case): the same person.
    first = write(engine, "email", "eva@example.org", "Eva")
    again = write(engine, "email", "EVA@example.org", "Eva")
    assert again.customer_id == first.customer_id and again.id != first.id


def test_no_link_on_near_matches_on_two_candidates_or_without_evidence(engine):
    near = write(engine, "telegram", "1001", "Near")
    set_profile(engine, near.customer_id, fields={"phone": "+34 600 100 200"})
    assert write(engine, "whatsapp", "34600100201", "Other").customer_id != near.customer_id
    # A national number without its country code is no evidence; nor is a phone under another field name.
    national = write(engine, "telegram", "1002", "National")
    set_profile(engine, national.customer_id, fields={"phone": "600 300 400", "mobile": "+34600300401"})
    assert write(engine, "whatsapp", "34600300400", "N").customer_id != national.customer_id
    assert write(engine, "whatsapp", "34600300401", "M").customer_id != national.customer_id
    # Two customers with the same phone: which one is unknowable, so neither.
    twin_a, twin_b = write(engine, "telegram", "2001", "Twin A"), write(engine, "x", "2002", "Twin B")
    set_profile(engine, twin_a.customer_id, fields={"phone": "+44 20 7946 0000"})
    set_profile(engine, twin_b.customer_id, fields={"phone": "+442079460000"})
    twin = write(engine, "whatsapp", "442079460000", "Twin")
    assert twin.customer_id not in (twin_a.customer_id, twin_b.customer_id)
    assert identities_of(engine, twin.customer_id) == [("whatsapp", "442079460000")]
    # A shared email domain, or an address inside a longer one, is not the address.
    office = write(engine, "telegram", "3001", "Office")
    set_profile(engine, office.customer_id, fields={"email": "info@shop.example.com"})
    assert write(engine, "email", "info@shop.example", "Info").customer_id != office.customer_id
    assert write(engine, "email", "sales@shop.example.com", "Sales").customer_id != office.customer_id
    # A merged customer's record is no evidence (it keeps no fields but "merged_into").
    assert identities.field_evidence(json.dumps({"merged_into": "7", "phone": "+34600100200"})) == set()


def test_a_group_links_only_the_evidenced_identities(engine):
    known = write(engine, "telegram", "6060", "Rosa")
    set_profile(engine, known.customer_id, fields={"phone": "+34611222333"})
    messages = [InboundMessage(channel="whatsapp", account_id="1", provider_message_id=f"g-{handle}",
                               sender_handle=handle, sender_name=name, kind="text", text="hola", sent_at=NOW)
                for handle, name in (("34611222333", "Rosa"), ("34699888777", "Nuevo"))]
    with Session(engine) as s:
        ingest_batches(s, [WebhookBatch(messages=messages)])
        s.commit()
        owners = {i.handle: i.customer_id for i in s.exec(select(Identity).where(Identity.channel == "whatsapp"))}
    assert owners["34611222333"] == known.customer_id
    assert owners["34699888777"] != known.customer_id
    assert customer(engine, owners["34699888777"]).display_name == "Nuevo"


def count_customers(engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(Customer.id)).all())


@pytest.mark.parametrize("value, expected", [
    ("+34 600 100 200", "+34600100200"), ("+34-600.100/200", "+34600100200"), ("+34 (600) 100 200", "+34600100200"),
    ("600100200", None), ("0034600100200", None), ("+34 600 100 20x", None), ("+0 600 100 200", None), ("", None),
])
def test_phone_numbers_as_e164(value, expected):
    assert identities.e164(value) == expected
