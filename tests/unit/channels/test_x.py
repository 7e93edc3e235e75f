"""Tests for the X API v2 connector: the recorded samples, mentions and DM pages (empty pages, partial errors,
surrogate-escaped emoji, the brand's own skipped), the cursor, walking pages to the last seen event, rate-limit
headers turned into waits, every error mapping, the 280-character count, and the token kept out of every exception
and log record."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind, OutboundText
from services.channels.x import (
    DM_EVENT_FIELDS,
    TWEET_FIELDS,
    Cursor,
    XConnector,
    error_for,
    from_env,
    parse_mentions,
    post_length,
)

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "channel-samples"
TOKEN = "U2FtcGxlVXNlclRva2VuLWZvci10ZXN0cy0xMjM0NTY3ODkw"
BRAND = "1580000000000000001"
BASE = "https://api.x.test"
NOW = 1_764_000_000.0
CUSTOMER = "1109018633261018"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def headers(remaining: int = 299, reset_in: float = 900, limit: int = 300, now: float = NOW) -> dict[str, str]:
    return {"x-rate-limit-limit": str(limit), "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(now + reset_in))}


def answer(status: int, body: Any = None, *, raw: bytes | None = None, **limits: Any) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers={"content-type": "application/json", **headers(**limits)})


def empty() -> httpx.Response:
    return answer(200, {"meta": {"result_count": 0}})


class XApi:
    """A MockTransport answering each endpoint from its own script (a response or a callable); records requests."""

    def __init__(self, *, mentions=(), dms=(), posts=(), dm_send=()) -> None:
        self.scripts = {"mentions": list(mentions), "dm_events": list(dms), "posts": list(posts),
                        "dm_send": list(dm_send)}
        self.requests: list[httpx.Request] = []

    @staticmethod
    def endpoint(request: httpx.Request) -> str:
        path = request.url.path
        if path.endswith("/mentions"):
            return "mentions"
        if path == "/2/dm_events":
            return "dm_events"
        if path == "/2/tweets":
            return "posts"
        return "dm_send"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        script = self.scripts[self.endpoint(request)]
        if not script:
            raise AssertionError(f"unexpected request {request.method} {request.url.path}")
        step = script.pop(0)
        return step(request) if callable(step) else step

    def of(self, endpoint: str) -> list[httpx.Request]:
        return [r for r in self.requests if self.endpoint(r) == endpoint]

    @staticmethod
    def query(request: httpx.Request) -> dict[str, str]:
        return dict(parse_qsl(request.url.query.decode()))


def run(api: Callable[[httpx.Request], httpx.Response], body: Callable[[XConnector], Any], *,
        connector: list | None = None, **options: Any) -> Any:
    options.setdefault("clock", Clock())
    options.setdefault("poll_interval", 15.0)

    async def scenario() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as client:
            c = XConnector(token=TOKEN, user_id=BRAND, api_base=BASE, client=client, **options)
            if connector is not None:
                connector.append(c)
            return await body(c)

    return asyncio.run(scenario())


async def polls(c: XConnector, clock: Clock, cursors: list[str | None], *steps: float) -> list:
    """Polls once per step, moving the clock by that many seconds before each; keeps the cursor going."""
    results = []
    cursor = cursors[-1]
    for step in steps:
        clock.now += step
        result = await c.poll(cursor)
        cursor = result.cursor
        cursors.append(cursor)
        results.append(result)
    return results


def created_for(item_id: str) -> str:
    """A creation time that grows with the id, as snowflakes do."""
    return datetime.fromtimestamp(NOW + int(item_id), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def mention(post_id: str, text: str, author: str = CUSTOMER, created: str | None = None) -> dict:
    created = created or created_for(post_id)
    return {"id": post_id, "text": text, "author_id": author, "conversation_id": post_id, "created_at": created,
            "edit_history_tweet_ids": [post_id]}


def dm(event_id: str, text: str, sender: str = CUSTOMER, created: str | None = None) -> dict:
    created = created or created_for(event_id)
    return {"id": event_id, "text": text, "event_type": "MessageCreate", "created_at": created, "sender_id": sender,
            "dm_conversation_id": f"{CUSTOMER}-{BRAND}"}


LUCIA = {"id": CUSTOMER, "name": "Lucía Fernández", "username": "luciafdez"}


def mentions_page(*posts: dict, users=(LUCIA,), next_token: str | None = None, errors=None) -> dict:
    body: dict[str, Any] = {"data": list(posts), "includes": {"users": list(users)},
                            "meta": {"result_count": len(posts), "newest_id": posts[0]["id"],
                                     "oldest_id": posts[-1]["id"]}}
    if next_token:
        body["meta"]["next_token"] = next_token
    if errors:
        body["errors"] = errors
    return body


def dm_page(*events: dict, users=(LUCIA,), next_token: str | None = None) -> dict:
    body: dict[str, Any] = {"data": list(events), "includes": {"users": list(users)},
                            "meta": {"result_count": len(events), "previous_token": "PREV"}}
    if next_token:
        body["meta"]["next_token"] = next_token
    return body


# -- counting as X does -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, length", [
    ("hola", 4),
    ("a" * 280, 280),
    ("ñandú café", 10),  # Latin-1 and Latin Extended weigh 1
    ("cafe\u0301", 4),  # NFC: e + combining acute is one character
    ("漢字かな", 8),  # CJK weighs 2
    ("😀", 2),
    ("👍🏽", 2),  # with a skin tone
    ("👨‍👩‍👧", 2),  # a ZWJ family
    ("🇪🇸", 2),  # a flag
    ("1️⃣", 2),  # a keycap
    ("© ©️", 4),  # text-style © weighs 1, emoji-style 2
    ("“quoted” — dash…", 17),  # U+2010-U+201F weigh 1; the ellipsis U+2026 is outside every range: 2
    ("see https://example.com/" + "x" * 100 + ".", 28),  # any URL is 23, its trailing dot is text
])
def test_post_length_counts_as_twitter_text_v3(text, length):
    assert post_length(text) == length


# -- the recorded samples ---------------------------------------------------------------------------------------

def test_the_recorded_dm_page_is_read_newest_page_only_and_its_events_without_sender_are_skipped(caplog):
    api = XApi(mentions=[empty()], dms=[answer(200, sample("x-dm-events-page.json"))])
    result = run(api, lambda c: c.poll(None))
    # The 2022 recording asked for no dm_event.fields: no sender, so nothing to thread; skipped, with a warning.
    assert result.batch.messages == []
    assert any("without sender_id" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    # First run: the newest page only, though the sample has a next_token.
    assert len(api.of("dm_events")) == 1
    assert Cursor.load(result.cursor).dm_since == "1585800613752881156"
    assert Cursor.load(result.cursor).dm_next is None


def test_the_recorded_dm_page_with_the_fields_we_ask_for_becomes_messages_oldest_first():
    page = sample("x-dm-events-page.json")
    for event, created in zip(page["data"], ("2022-10-28T00:00:02.000Z", "2022-10-28T00:00:01.000Z")):
        event.update(sender_id=CUSTOMER, created_at=created, dm_conversation_id=f"{CUSTOMER}-{BRAND}")
    page["includes"] = {"users": [LUCIA]}
    result = run(XApi(mentions=[empty()], dms=[answer(200, page)]), lambda c: c.poll(None))
    assert [(m.provider_message_id, m.text) for m in result.batch.messages] == [
        ("dm:1585800613253812228", "Testing 1"), ("dm:1585800613752881156", "Testing 2")]
    first = result.batch.messages[0]
    assert first.channel == "x" and first.account_id == BRAND and first.public is False and first.kind == "text"
    assert first.sender_handle == CUSTOMER and first.sender_name == "Lucía Fernández (@luciafdez)"
    assert first.sent_at == datetime(2022, 10, 28, 0, 0, 1, tzinfo=UTC)


def test_the_recorded_empty_dm_page_has_no_data_key():
    body = sample("x-dm-events-empty.json")
    assert "data" not in body
    result = run(XApi(mentions=[empty()], dms=[answer(200, body)]), lambda c: c.poll(None))
    assert result.batch.messages == []
    # No DM at all: every later one is new, whatever its id.
    assert Cursor.load(result.cursor).dm_since == "0"


def test_a_public_answer_posts_a_reply_to_the_customers_post_and_returns_the_recorded_id():
    api = XApi(posts=[answer(201, sample("x-tweet-create-201.json"), remaining=99, limit=100)])
    result = run(api, lambda c: c.send(OutboundText(CUSTOMER, "Test Tweet", reply_to_provider_id="1456012973835000000",
                                                    public=True)))
    [request] = api.requests
    assert request.method == "POST" and str(request.url) == f"{BASE}/2/tweets"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == {"text": "Test Tweet",
                                           "reply": {"in_reply_to_tweet_id": "1456012973835000000"}}
    assert result.provider_message_id == "1456012973835788293" and result.recipient_handle == CUSTOMER


def test_a_private_answer_is_a_dm_and_returns_the_recorded_event_id():
    api = XApi(dm_send=[answer(201, sample("x-dm-send-201.json"), remaining=199, limit=200)])
    result = run(api, lambda c: c.send(OutboundText("1072250532645998596", "Hola 👋")))
    [request] = api.requests
    assert str(request.url) == f"{BASE}/2/dm_conversations/with/1072250532645998596/messages"
    assert json.loads(request.content) == {"text": "Hola 👋"}
    assert result.provider_message_id == "dm:1585800613253812228"
    assert result.recipient_handle == "1072250532645998596"


# -- mentions -----------------------------------------------------------------------------------------------------

def test_the_first_poll_asks_for_the_newest_mentions_with_authors_and_does_not_backfill():
    page = mentions_page(mention("300", "@brand &lt;b&gt;broken&lt;/b&gt; &amp; late"), mention("200", "@brand hi"),
                         next_token="OLDER")
    api = XApi(mentions=[answer(200, page)], dms=[empty()])
    result = run(api, lambda c: c.poll(None))
    [request] = api.of("mentions")
    assert request.url.path == f"/2/users/{BRAND}/mentions"
    assert XApi.query(request) == {"max_results": "100", "tweet.fields": "created_at,author_id,conversation_id",
                                   "expansions": "author_id", "user.fields": "username,name"}
    assert TWEET_FIELDS == "created_at,author_id,conversation_id"
    assert [m.provider_message_id for m in result.batch.messages] == ["200", "300"]  # oldest first
    broken = next(m for m in result.batch.messages if m.provider_message_id == "300")
    assert broken.text == "@brand <b>broken</b> & late"  # X escapes exactly &, < and >
    assert broken.public is True and broken.kind == "mention" and broken.sender_handle == CUSTOMER
    state = Cursor.load(result.cursor)
    assert (state.mentions_since, state.mentions_next) == ("300", None)


def test_mention_parsing_skips_the_brands_own_posts_reads_surrogate_escaped_emoji_and_survives_partial_errors():
    raw = (b'{"data":[{"id":"12","text":"@brand ayuda \\ud83d\\ude21","author_id":"77",'
           b'"created_at":"2025-11-24T16:00:05.000Z"},'
           b'{"id":"11","text":"@brand thread of ours","author_id":"' + BRAND.encode() + b'",'
           b'"created_at":"2025-11-24T16:00:04.000Z"},'
           b'{"id":"10","text":"@brand hola","author_id":"' + CUSTOMER.encode() + b'",'
           b'"created_at":"2025-11-24T16:00:03.000Z"}],'
           b'"includes":{"users":[{"id":"' + CUSTOMER.encode() + b'","name":"Luc\\u00eda","username":"lu"}]},'
           b'"errors":[{"value":"77","detail":"Could not find user with author_id: [77].","title":"Not Found Error",'
           b'"resource_type":"user","parameter":"author_id","resource_id":"77",'
           b'"type":"https://api.twitter.com/2/problems/resource-not-found"}],'
           b'"meta":{"result_count":3,"newest_id":"12","oldest_id":"10"}}')
    messages = parse_mentions(json.loads(raw), account_id=BRAND)
    assert [(m.provider_message_id, m.text, m.sender_name) for m in messages] == [
        ("10", "@brand hola", "Lucía (@lu)"),
        ("12", "@brand ayuda 😡", "77"),  # X could not return the author: their id stands in for the name
    ]


def test_mention_pages_are_walked_with_the_same_since_id_before_it_moves():
    clock = Clock()
    page1 = mentions_page(mention("500", "new 3"), mention("400", "new 2"), next_token="TOKEN-1")
    page2 = mentions_page(mention("300", "new 1"))
    api = XApi(mentions=[answer(200, page1), answer(200, page2), empty()], dms=[empty(), empty(), empty()])
    cursors: list[str | None] = [Cursor(mentions_since="200", dm_since="9").dump()]
    results = run(api, lambda c: polls(c, clock, cursors, 0, 3.1, 100), clock=clock)
    asked = [XApi.query(r) for r in api.of("mentions")]
    assert asked[0]["since_id"] == "200" and "pagination_token" not in asked[0]
    assert asked[1]["since_id"] == "200" and asked[1]["pagination_token"] == "TOKEN-1"
    assert asked[2]["since_id"] == "500" and "pagination_token" not in asked[2]
    walking = Cursor.load(cursors[1])
    assert (walking.mentions_since, walking.mentions_next, walking.mentions_newest) == ("200", "TOKEN-1", "500")
    # More pages wait: not a whole poll interval, only the pacing of X's window (900 s / 299 requests left).
    assert results[0].wait == pytest.approx(901 / 299)
    done = Cursor.load(cursors[2])
    assert (done.mentions_since, done.mentions_next, done.mentions_newest) == ("500", None, None)
    assert [m.text for r in results for m in r.batch.messages] == ["new 2", "new 3", "new 1"]


def test_an_empty_mentions_page_keeps_the_cursor():
    cursor = Cursor(mentions_since="200", dm_since="9").dump()
    result = run(XApi(mentions=[empty()], dms=[empty()]), lambda c: c.poll(cursor))
    assert result.batch.messages == [] and result.cursor == cursor


def test_a_refused_pagination_token_walks_again_from_the_newest_page():
    clock = Clock()
    refused = answer(400, {"errors": [{"parameters": {"pagination_token": ["OLD"]},
                                       "message": "The `pagination_token` query parameter value [OLD] is not valid"}],
                           "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                           "type": "https://api.twitter.com/2/problems/invalid-request"})
    api = XApi(mentions=[refused, answer(200, mentions_page(mention("500", "x")))], dms=[empty(), empty()])
    cursors: list[str | None] = [Cursor(mentions_since="200", mentions_next="OLD", mentions_newest="450",
                                        dm_since="9").dump()]
    run(api, lambda c: polls(c, clock, cursors, 0, 20), clock=clock)
    assert Cursor.load(cursors[1]).mentions_next is None and Cursor.load(cursors[1]).mentions_since == "200"
    assert "pagination_token" not in XApi.query(api.of("mentions")[1])
    assert Cursor.load(cursors[2]).mentions_since == "500"


def test_an_unknown_brand_account_is_a_setup_error_not_an_empty_timeline():
    body = {"errors": [{"value": BRAND, "detail": f"Could not find user with id: [{BRAND}].",
                        "title": "Not Found Error", "resource_type": "user", "parameter": "id",
                        "resource_id": BRAND, "type": "https://api.twitter.com/2/problems/resource-not-found"}]}
    with pytest.raises(ChannelError) as caught:
        run(XApi(mentions=[answer(200, body)], dms=[empty()]), lambda c: c.poll(Cursor(dm_since="5").dump()))
    assert caught.value.kind == ErrorKind.PERMISSION
    assert caught.value.title == "X does not know the configured account"


# -- DMs ----------------------------------------------------------------------------------------------------------

def test_dm_pages_are_followed_until_an_event_already_seen_and_the_brands_own_are_skipped():
    clock = Clock()
    page1 = dm_page(dm("900", "tercero"), dm("850", "our answer", sender=BRAND), dm("800", "segundo"),
                    next_token="DM-2")
    page2 = dm_page(dm("700", "primero"), dm("600", "already stored"), dm("500", "older"), next_token="DM-3")
    api = XApi(mentions=[empty(), empty()], dms=[answer(200, page1), answer(200, page2)])
    cursors: list[str | None] = [Cursor(mentions_since="1", dm_since="600").dump()]
    results = run(api, lambda c: polls(c, clock, cursors, 0, 3.1), clock=clock)
    asked = [XApi.query(r) for r in api.of("dm_events")]
    assert asked[0] == {"dm_event.fields": DM_EVENT_FIELDS, "event_types": "MessageCreate",
                        "expansions": "sender_id", "user.fields": "username,name", "max_results": "100"}
    assert asked[1]["pagination_token"] == "DM-2"
    assert DM_EVENT_FIELDS == "id,text,event_type,dm_conversation_id,created_at,sender_id"
    assert Cursor.load(cursors[1]).dm_next == "DM-2" and Cursor.load(cursors[1]).dm_newest == "900"
    # The second page reached event 600, seen before: the walk ends there, though X offers DM-3.
    final = Cursor.load(cursors[2])
    assert (final.dm_since, final.dm_next, final.dm_newest) == ("900", None, None)
    ids = [m.provider_message_id for r in results for m in r.batch.messages]
    assert ids == ["dm:800", "dm:900", "dm:700"]  # the brand's own 850 skipped, 600 and older not again
    assert len(api.of("dm_events")) == 2


def test_a_quiet_dm_inbox_keeps_its_cursor_even_as_the_brands_own_events_come_in():
    cursor = Cursor(mentions_since="1", dm_since="600").dump()
    api = XApi(mentions=[empty()], dms=[answer(200, dm_page(dm("650", "our reply", sender=BRAND), dm("600", "old")))])
    result = run(api, lambda c: c.poll(cursor))
    assert result.batch.messages == []
    assert Cursor.load(result.cursor).dm_since == "650"  # seen (ours), so never read again


# -- the cursor ---------------------------------------------------------------------------------------------------

def test_the_cursor_is_json_that_round_trips():
    cursor = Cursor(mentions_since="123", mentions_next="tok en", mentions_newest="456", dm_since="789",
                    dm_next="N", dm_newest="999")
    text = cursor.dump()
    assert json.loads(text) == {"mentions_since": "123", "mentions_next": "tok en", "mentions_newest": "456",
                                "dm_since": "789", "dm_next": "N", "dm_newest": "999"}
    assert Cursor.load(text) == cursor
    assert Cursor.load(Cursor(dm_since="5").dump()) == Cursor(dm_since="5")
    assert json.loads(Cursor().dump()) == {}


def test_an_unreadable_cursor_starts_afresh_and_bad_ids_are_dropped(caplog):
    assert Cursor.load("not json") == Cursor()
    assert Cursor.load("[1, 2]") == Cursor()
    assert any("not this connector's JSON" in r.getMessage() for r in caplog.records)
    assert Cursor.load('{"mentions_since": "12a", "dm_since": 5, "dm_next": ""}') == Cursor()


# -- rate limits --------------------------------------------------------------------------------------------------

def test_a_used_up_window_waits_until_its_reset_and_asks_nothing_before():
    clock = Clock()
    api = XApi(mentions=[answer(200, {"meta": {"result_count": 0}}, remaining=0, reset_in=100), empty()],
               dms=[empty(), empty(), empty(), empty()])
    found: list[XConnector] = []
    cursors: list[str | None] = [Cursor(mentions_since="1", dm_since="1").dump()]
    results = run(api, lambda c: polls(c, clock, cursors, 0, 15, 15, 71.5), clock=clock, connector=found)
    # The poll reports the soonest endpoint: DMs after the 15 s interval; mentions not before their reset.
    assert results[0].wait == pytest.approx(15.0)
    assert found[0].windows["mentions"].not_before == pytest.approx(NOW + 101)  # the reset and a second
    # Mentions were asked at t=0 and again only at t=101.5, never at t=15 or t=30; DMs every time.
    assert len(api.of("mentions")) == 2
    assert len(api.of("dm_events")) == 4


def test_requests_are_paced_so_the_window_lasts_until_its_reset():
    clock = Clock()
    api = XApi(mentions=[answer(200, {"meta": {"result_count": 0}}, remaining=10, reset_in=199)],
               dms=[answer(200, {"meta": {"result_count": 0}}, remaining=200, reset_in=899)])
    result = run(api, lambda c: c.poll(Cursor(mentions_since="1", dm_since="1").dump()), clock=clock,
                 poll_interval=2.0)
    connector_wait = result.wait
    # DMs: 900 s / 200 left = 4.5 s (more than the 2 s interval); mentions: 200 s / 10 = 20 s.
    assert connector_wait == pytest.approx(4.5)


def test_a_429_is_waited_out_from_x_rate_limit_reset_without_asking_before():
    clock = Clock()
    too_many = answer(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                            "status": 429}, remaining=0, reset_in=40)
    api = XApi(mentions=[too_many, empty()], dms=[empty(), empty(), empty(), empty()])
    found: list[XConnector] = []

    async def scenario(c: XConnector) -> list:
        cursor = Cursor(mentions_since="1", dm_since="1").dump()
        outcomes = []
        for step in (0, 15, 15, 11.5):
            clock.now += step
            try:
                outcomes.append(await c.poll(cursor))
            except ChannelError as exc:
                outcomes.append(exc)
        return outcomes

    outcomes = run(api, scenario, clock=clock, connector=found)
    error = outcomes[0]
    # Nothing to store and one endpoint refused: the poller gets the error and the wait until the next due.
    assert isinstance(error, ChannelError) and error.kind == ErrorKind.RETRYABLE and error.http_status == 429
    assert error.retry_after == pytest.approx(15.0)  # DMs are due in 15 s; mentions only after t=41
    assert found[0].windows["mentions"].not_before == pytest.approx(NOW + 41)
    assert len(api.of("mentions")) == 2  # at t=0 and at t=41.5: never in between
    assert len(api.of("dm_events")) == 3  # t=0, 15, 30 (at 41.5 they are not due before 45)
    assert isinstance(outcomes[-1], type(outcomes[1])) and not isinstance(outcomes[-1], ChannelError)


def test_a_send_into_a_used_up_window_fails_retryable_without_reaching_x():
    clock = Clock()
    too_many = answer(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                            "status": 429}, remaining=0, reset_in=30, limit=100)
    api = XApi(posts=[too_many, answer(201, {"data": {"id": "77", "text": "ok"}}, remaining=98, limit=100)])
    out = OutboundText(CUSTOMER, "ok", reply_to_provider_id="55", public=True)

    async def scenario(c: XConnector) -> list:
        outcomes = []
        for step in (0, 10, 21):
            clock.now += step
            try:
                outcomes.append(await c.send(out))
            except ChannelError as exc:
                outcomes.append(exc)
        return outcomes

    first, second, third = run(api, scenario, clock=clock)
    assert first.kind == ErrorKind.RETRYABLE and first.retry_after == pytest.approx(31.0)
    assert second.kind == ErrorKind.RETRYABLE and second.retry_after == pytest.approx(21.0)
    assert third.provider_message_id == "77"
    assert len(api.requests) == 2  # the send at t=10 never left


def test_one_endpoint_failing_does_not_hold_back_the_others_news_and_backs_off():
    clock = Clock()
    api = XApi(mentions=[answer(500, {"title": "Internal Server Error", "detail": "Internal Server Error",
                                      "type": "about:blank", "status": 500})],
               dms=[answer(200, dm_page(dm("700", "hola"))), empty()])
    cursors: list[str | None] = [Cursor(mentions_since="1", dm_since="600").dump()]
    results = run(api, lambda c: polls(c, clock, cursors, 0, 7), clock=clock)
    # The DM that came is stored: the mentions' failure is only logged, and mentions are retried later.
    assert [m.text for m in results[0].batch.messages] == ["hola"]
    # Backed off 7.5-15 s (15 s, halved at most by jitter): at t=7 nothing is due and nothing is asked.
    assert len(api.of("mentions")) == 1 and len(api.of("dm_events")) == 1
    assert results[1].batch.messages == [] and 0.5 <= results[1].wait <= 8.0


# -- errors ---------------------------------------------------------------------------------------------------------

def problem(status: int, detail: str, title: str) -> dict:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status}


TOO_LONG = {"errors": [{"parameters": {}, "message": "Your Tweet text is too long. For more information on how "
                                                      "Twitter determines text length see "
                                                      "https://github.com/twitter/twitter-text."}],
            "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request"}


@pytest.mark.parametrize("endpoint, status, body, kind, title", [
    ("posts", 401, problem(401, "Unauthorized", "Unauthorized"), ErrorKind.AUTH_EXPIRED, "The X token was refused"),
    ("dm_send", 403, problem(403, "You are not allowed to send DMs to this user.", "Forbidden"),
     ErrorKind.UNDELIVERABLE, "The customer does not accept DMs from us"),
    ("dm_send", 403, {"errors": [{"code": 349, "message": "You cannot send messages to this user."}]},
     ErrorKind.UNDELIVERABLE, "The customer does not accept DMs from us"),
    ("posts", 403, problem(403, "You are not allowed to create a Tweet with duplicate content.", "Forbidden"),
     ErrorKind.BAD_REQUEST, "X refuses to post the same text twice"),
    ("posts", 403, problem(403, "You attempted to reply to a Tweet that is deleted or not visible to you.",
                           "Forbidden"), ErrorKind.UNDELIVERABLE, "The post to reply to was deleted or is not visible"),
    ("posts", 403, problem(403, "You are not permitted to perform this action.", "Forbidden"), ErrorKind.PERMISSION,
     "X refused: You are not permitted to perform this action."),
    ("posts", 400, TOO_LONG, ErrorKind.BAD_REQUEST, "Post too long"),
    ("posts", 400, {"errors": [{"message": "$.reply.in_reply_to_tweet_id: does not match"}], "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.twitter.com/2/problems/invalid-request"},
     ErrorKind.BAD_REQUEST, "$.reply.in_reply_to_tweet_id: does not match"),
    ("posts", 500, problem(500, "Internal Server Error", "Internal Server Error"), ErrorKind.RETRYABLE,
     "X server error"),
    ("dm_send", 503, None, ErrorKind.RETRYABLE, "X server error"),
    ("dm_send", 404, problem(404, "Could not find user", "Not Found Error"), ErrorKind.UNDELIVERABLE,
     "X does not know the recipient or the post"),
    ("posts", 418, problem(418, "I'm a teapot", "Teapot"), ErrorKind.UNKNOWN, "I'm a teapot"),
])
def test_x_refusals_map_to_our_kinds(endpoint, status, body, kind, title):
    raw = b"upstream connect error" if body is None else None
    response = answer(status, body, raw=raw)
    public = endpoint == "posts"
    api = XApi(**{endpoint: [response]})
    with pytest.raises(ChannelError) as caught:
        run(api, lambda c: c.send(OutboundText(CUSTOMER, "hola", reply_to_provider_id="55", public=public)))
    error = caught.value
    assert (error.kind, error.title) == (kind, title)
    assert error.http_status == status and error.code == status
    assert error.retry_after is None
    if body and body.get("detail") and status != 400:
        assert body["detail"] in error.details


def test_a_429_without_rate_limit_headers_still_is_retryable():
    error = error_for(429, {"title": "Too Many Requests"}, endpoint="posts")
    assert error.kind == ErrorKind.RETRYABLE and error.retry_after is None


def test_an_accepted_send_with_an_unreadable_answer_is_not_retryable():
    for body, raw in (({"data": {}}, None), (None, b"<html>ok</html>")):
        api = XApi(dm_send=[answer(201, body, raw=raw)])
        with pytest.raises(ChannelError) as caught:
            run(api, lambda c: c.send(OutboundText(CUSTOMER, "hola")))
        assert caught.value.kind == ErrorKind.UNKNOWN  # a retry could send it twice


# -- what is refused before reaching X ------------------------------------------------------------------------------

@pytest.mark.parametrize("outbound, title", [
    (OutboundText(CUSTOMER, "x" * 281, reply_to_provider_id="55", public=True), "Post too long"),
    (OutboundText(CUSTOMER, "😀" * 141, reply_to_provider_id="55", public=True), "Post too long"),
    (OutboundText(CUSTOMER, "hola", reply_to_provider_id=None, public=True), "nothing to reply to"),
    (OutboundText(CUSTOMER, "hola", reply_to_provider_id="dm:55", public=True), "nothing to reply to"),
    (OutboundText(CUSTOMER, " \n ", reply_to_provider_id="55", public=True), "Empty message"),
    (OutboundText(CUSTOMER, "x" * 10_001), "Message too long"),
    (OutboundText("@luciafdez", "hola"), "Not an X user id"),
    (OutboundText("١٢٣", "hola"), "Not an X user id"),  # Arabic-Indic digits are not an id
    (OutboundText(BRAND, "hola"), "The brand cannot DM itself"),
])
def test_sends_x_would_refuse_are_refused_without_a_request(outbound, title):
    api = XApi()
    with pytest.raises(ChannelError) as caught:
        run(api, lambda c: c.send(outbound))
    assert caught.value.kind == ErrorKind.BAD_REQUEST and caught.value.title == title
    assert api.requests == []


def test_exactly_280_as_x_counts_them_are_posted_and_10000_characters_are_a_dm():
    text = "😀" * 140  # 140 emoji weigh 280
    long_link = "mira " + "https://example.com/" + "a" * 300  # a URL weighs 23 whatever its length
    api = XApi(posts=[answer(201, {"data": {"id": "1", "text": text}}),
                      answer(201, {"data": {"id": "2", "text": long_link}})],
               dm_send=[answer(201, {"data": {"dm_conversation_id": "a-b", "dm_event_id": "3"}})])
    run(api, lambda c: c.send(OutboundText(CUSTOMER, text, reply_to_provider_id="55", public=True)))
    run(api, lambda c: c.send(OutboundText(CUSTOMER, long_link, reply_to_provider_id="55", public=True)))
    run(api, lambda c: c.send(OutboundText(CUSTOMER, "x" * 10_000)))
    assert [json.loads(r.content)["text"] for r in api.requests] == [text, long_link, "x" * 10_000]


# -- the token ----------------------------------------------------------------------------------------------------

def _everything_about(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), "".join(traceback.format_exception(error)), repr(vars(error))])


def raising(exc_type: type[Exception]) -> Callable[[httpx.Request], httpx.Response]:
    def fail(request: httpx.Request) -> httpx.Response:
        # httpx puts the request, and so its Authorization header, on its exceptions.
        raise exc_type(f"failed: {request.headers['authorization']}", request=request)

    return fail


@pytest.mark.parametrize("exc_type, title", [
    (httpx.ConnectError, "Connection to X failed"),
    (httpx.ReadError, "Connection to X failed"),
    (httpx.RemoteProtocolError, "Connection to X failed"),
    (httpx.ReadTimeout, "X did not answer in time"),
    (httpx.ConnectTimeout, "X did not answer in time"),
])
def test_network_failures_are_retryable_and_never_carry_the_token(exc_type, title, caplog):
    caplog.set_level(logging.DEBUG)
    sends = [lambda c: c.send(OutboundText(CUSTOMER, "hola")),
             lambda c: c.send(OutboundText(CUSTOMER, "hola", reply_to_provider_id="5", public=True))]
    for call, api in ((sends[0], XApi(dm_send=[raising(exc_type)])), (sends[1], XApi(posts=[raising(exc_type)])),
                      (lambda c: c.poll(None), XApi(mentions=[raising(exc_type)], dms=[raising(exc_type)]))):
        with pytest.raises(ChannelError) as caught:
            run(api, call)
        error = caught.value
        assert error.kind == ErrorKind.RETRYABLE and error.title == title
        assert error.__cause__ is None and error.__context__ is None
        assert TOKEN not in _everything_about(error)
    assert caplog.records and TOKEN not in caplog.text


def test_refusals_and_successes_log_without_the_token_even_when_x_echoes_it(caplog):
    caplog.set_level(logging.DEBUG)
    echo = answer(403, problem(403, f"Token {TOKEN} lacks dm.write", "Forbidden"))
    api = XApi(mentions=[answer(200, mentions_page(mention("9", "hola")))], dms=[empty()],
               posts=[answer(201, {"data": {"id": "1", "text": "a"}}), answer(401, problem(401, "Unauthorized",
                                                                                           "Unauthorized"))],
               dm_send=[echo])
    errors = []
    for call in (lambda c: c.poll(None), lambda c: c.send(OutboundText(CUSTOMER, "a", reply_to_provider_id="9",
                                                                       public=True)),
                 lambda c: c.send(OutboundText(CUSTOMER, "b", reply_to_provider_id="9", public=True)),
                 lambda c: c.send(OutboundText(CUSTOMER, "c"))):
        try:
            run(api, call)
        except ChannelError as exc:
            errors.append(exc)
    assert [e.kind for e in errors] == [ErrorKind.AUTH_EXPIRED, ErrorKind.PERMISSION]
    assert "[REDACTED]" in errors[1].title + errors[1].details
    assert all(TOKEN not in _everything_about(e) for e in errors)
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx's own lines were captured...
    assert any("X refused" in r.getMessage() for r in caplog.records)  # ...and ours
    for record in caplog.records:
        assert TOKEN not in record.getMessage() and TOKEN not in str(record.__dict__)
    found: list[XConnector] = []
    run(XApi(), lambda c: asyncio.sleep(0), connector=found)
    assert TOKEN not in repr(found[0])


# -- configuration --------------------------------------------------------------------------------------------------

def test_from_env_needs_a_token_and_the_brands_user_id():
    async def build(env: dict[str, str]):
        async with httpx.AsyncClient() as client:
            return from_env(env, client)

    assert asyncio.run(build({})) is None
    assert asyncio.run(build({"WORKSTATION_X_TOKEN": TOKEN})) is None
    assert asyncio.run(build({"WORKSTATION_X_USER_ID": BRAND})) is None
    connector = asyncio.run(build({"WORKSTATION_X_TOKEN": TOKEN, "WORKSTATION_X_USER_ID": BRAND}))
    assert connector.channel == "x" and connector.account_id == BRAND and connector.api_base == "https://api.x.com"
    assert connector.poll_interval == 15.0
    tuned = asyncio.run(build({"WORKSTATION_X_TOKEN": TOKEN, "WORKSTATION_X_USER_ID": BRAND,
                               "WORKSTATION_X_API_BASE": "http://127.0.0.1:9/x/", "WORKSTATION_X_POLL_INTERVAL": "2"}))
    assert tuned.api_base == "http://127.0.0.1:9/x" and tuned.poll_interval == 2.0
    with pytest.raises(ValueError):
        asyncio.run(build({"WORKSTATION_X_TOKEN": TOKEN, "WORKSTATION_X_USER_ID": "@brand"}))
    with pytest.raises(ValueError):
        asyncio.run(build({"WORKSTATION_X_TOKEN": TOKEN, "WORKSTATION_X_USER_ID": BRAND,
                           "WORKSTATION_X_POLL_INTERVAL": "soon"}))


def test_the_server_builds_the_x_connector():
    from services.teamserver.channel_setup import build_connector

    async def build():
        async with httpx.AsyncClient() as client:
            return build_connector("x", {"WORKSTATION_X_TOKEN": TOKEN, "WORKSTATION_X_USER_ID": BRAND}, client)

    assert asyncio.run(build()).channel == "x"
