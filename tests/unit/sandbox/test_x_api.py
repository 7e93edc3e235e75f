"""Tests for the X API v2 emulator over real HTTP, partly driven by the real X connector: the recorded answer shapes,
field selection, since_id and pagination, rate-limit windows and their headers on every answer, the 280-character
and DM checks, problem documents, faults, partial errors, mounting, and the traffic generator's X customers."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from services.channels.base import ChannelError, ErrorKind, OutboundText
from services.channels.x import Cursor, XConnector
from services.sandbox import x_api
from services.sandbox.traffic import PERSONAS, TrafficGenerator
from services.sandbox.x_api import DM_REFUSED, DUPLICATE, NOT_VISIBLE, TOO_LONG, XSandboxConfig

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "channel-samples"
TOKEN = "c2FuZGJveC14LXRva2VuLWZvci10ZXN0cw"
BRAND = "1580000000000000001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RATE_HEADERS = ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset")


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


@pytest.fixture
def base(serve) -> str:
    return serve(x_api.create_app(XSandboxConfig(token=TOKEN, user_id=BRAND)))


def control(base: str, what: str, **body: Any) -> Any:
    response = httpx.post(f"{base}/_sandbox/x/{what}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def mention(base: str, text: str, username: str = "luciafdez", name: str = "Lucía Fernández", **extra) -> dict:
    return control(base, "mention", username=username, name=name, text=text, **extra)


def dm(base: str, text: str, username: str = "luciafdez", name: str = "Lucía Fernández", **extra) -> dict:
    return control(base, "dm", username=username, name=name, text=text, **extra)


def get(base: str, path: str, headers: dict | None = None, **params: Any) -> httpx.Response:
    return httpx.get(f"{base}{path}", params=params, headers=AUTH if headers is None else headers)


def post(base: str, path: str, body: Any, headers: dict | None = None) -> httpx.Response:
    return httpx.post(f"{base}{path}", json=body, headers=AUTH if headers is None else headers)


def mentions(base: str, **params: Any) -> httpx.Response:
    return get(base, f"/2/users/{BRAND}/mentions", **params)


def connect(base: str, body: Callable[[XConnector], Awaitable[Any]], **options: Any) -> Any:
    options.setdefault("poll_interval", 0.0)

    async def scenario() -> Any:
        async with XConnector(token=options.pop("token", TOKEN), user_id=BRAND, api_base=base, **options) as c:
            return await body(c)

    return asyncio.run(scenario())


# -- shapes ---------------------------------------------------------------------------------------------------------

def test_empty_timelines_answer_exactly_like_the_recording(base):
    assert mentions(base).json() == sample("x-dm-events-empty.json")
    assert get(base, "/2/dm_events").json() == sample("x-dm-events-empty.json")


def test_a_mention_has_xs_default_fields_and_only_the_fields_asked_for(base):
    posted = mention(base, "my order <#A1> & the box 📦")
    assert posted["text"] == "@workstation_demo my order <#A1> & the box 📦"  # the brand's handle put first
    plain = mentions(base).json()
    assert plain == {"data": [{"id": posted["id"], "text": "@workstation_demo my order &lt;#A1&gt; &amp; the box 📦",
                               "edit_history_tweet_ids": [posted["id"]]}],
                     "meta": {"result_count": 1, "newest_id": posted["id"], "oldest_id": posted["id"]}}
    full = mentions(base, **{"tweet.fields": "created_at,author_id,conversation_id", "expansions": "author_id",
                             "user.fields": "username,name"}).json()
    [item] = full["data"]
    assert set(item) == {"id", "text", "edit_history_tweet_ids", "created_at", "author_id", "conversation_id"}
    assert item["author_id"] == posted["author_id"] and item["conversation_id"] == posted["id"]
    assert item["created_at"].endswith("Z") and len(item["created_at"]) == len("2022-10-27T19:44:05.000Z")
    assert full["includes"] == {"users": [{"id": posted["author_id"], "name": "Lucía Fernández",
                                           "username": "luciafdez"}]}


def test_non_bmp_characters_travel_as_utf16_surrogate_escapes_json_reads(base):
    mention(base, "😡 otra vez")
    raw = mentions(base).content
    assert "😡".encode() in raw or b"\\ud83d\\ude21" in raw
    assert "😡 otra vez" in mentions(base).json()["data"][0]["text"]


def test_dm_events_answer_the_recorded_shape_newest_first_with_one_to_one_conversation_ids(base):
    first, second = dm(base, "Testing 1"), dm(base, "Testing 2")
    page = get(base, "/2/dm_events").json()
    # No fields asked: exactly the recording's keys.
    recorded = sample("x-dm-events-page.json")
    assert [set(e) for e in page["data"]] == [set(e) for e in recorded["data"]]
    assert [e["text"] for e in page["data"]] == ["Testing 2", "Testing 1"]
    assert page["meta"]["result_count"] == 2 and "previous_token" in page["meta"]
    full = get(base, "/2/dm_events", **{"dm_event.fields": "id,text,event_type,dm_conversation_id,created_at,sender_id",
                                        "expansions": "sender_id", "user.fields": "username,name",
                                        "event_types": "MessageCreate"}).json()
    event = full["data"][1]
    sender = first["sender_id"]
    assert event["sender_id"] == sender and event["id"] == first["dm_event_id"]
    low, high = sorted((sender, BRAND), key=int)
    assert event["dm_conversation_id"] == f"{low}-{high}" == second["dm_conversation_id"]
    assert full["includes"]["users"] == [{"id": sender, "name": "Lucía Fernández", "username": "luciafdez"}]


def test_a_reply_and_a_dm_answer_the_recorded_shapes(base):
    target = mention(base, "ayuda")
    sent = post(base, "/2/tweets", {"text": "Test Tweet", "reply": {"in_reply_to_tweet_id": target["id"]}})
    assert sent.status_code == 201
    assert set(sent.json()["data"]) == set(sample("x-tweet-create-201.json")["data"])
    assert sent.json()["data"]["text"] == "Test Tweet"
    customer = dm(base, "hola")["sender_id"]
    answered = post(base, f"/2/dm_conversations/with/{customer}/messages", {"text": "¡Hola!"})
    assert answered.status_code == 201
    assert set(answered.json()["data"]) == set(sample("x-dm-send-201.json")["data"])
    # The brand's DM is an event of the conversation too, sent by the brand.
    newest = get(base, "/2/dm_events", **{"dm_event.fields": "sender_id,text"}).json()["data"][0]
    assert newest == {"id": answered.json()["data"]["dm_event_id"], "event_type": "MessageCreate",
                      "text": "¡Hola!", "sender_id": BRAND}


# -- since_id and pages ----------------------------------------------------------------------------------------------

def test_since_id_returns_only_newer_mentions_and_pages_walk_older_without_gaps(base):
    ids = [mention(base, f"n{i}")["id"] for i in range(12)]
    assert mentions(base, since_id=ids[-1]).json() == {"meta": {"result_count": 0}}
    assert [p["id"] for p in mentions(base, since_id=ids[8]).json()["data"]] == ids[:8:-1]
    seen, token, pages = [], None, 0
    while True:
        params = {"since_id": ids[1], "max_results": 5} | ({"pagination_token": token} if token else {})
        body = mentions(base, **params).json()
        seen += [p["id"] for p in body["data"]]
        pages += 1
        token = body["meta"].get("next_token")
        if not token:
            break
    assert pages == 2 and seen == ids[:1:-1]  # ten newer than ids[1], newest first, none twice


def test_dm_pages_follow_next_token_newest_first(base):
    ids = [dm(base, f"d{i}")["dm_event_id"] for i in range(5)]
    first = get(base, "/2/dm_events", max_results=2).json()
    second = get(base, "/2/dm_events", max_results=2, pagination_token=first["meta"]["next_token"]).json()
    third = get(base, "/2/dm_events", max_results=2, pagination_token=second["meta"]["next_token"]).json()
    assert [e["id"] for page in (first, second, third) for e in page["data"]] == ids[::-1]
    assert "next_token" not in third["meta"]


@pytest.mark.parametrize("path, params, parameter", [
    ("mentions", {"max_results": 3}, "max_results"),
    ("mentions", {"max_results": 101}, "max_results"),
    ("mentions", {"since_id": "12a"}, "since_id"),
    ("mentions", {"pagination_token": "nope!"}, "pagination_token"),
    ("mentions", {"tweet.fields": "created_at,mood"}, "tweet.fields"),
    ("dm_events", {"max_results": 0}, "max_results"),
    ("dm_events", {"event_types": "MessageDelete"}, "event_types"),
])
def test_bad_parameters_are_refused_as_x_does(base, path, params, parameter):
    url = f"/2/users/{BRAND}/mentions" if path == "mentions" else "/2/dm_events"
    response = get(base, url, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Invalid Request" and body["type"].endswith("/2/problems/invalid-request")
    assert list(body["errors"][0]["parameters"]) == [parameter]


def test_an_unknown_user_is_a_200_with_only_errors_and_a_suspended_author_a_partial_error(base):
    body = get(base, "/2/users/42/mentions").json()
    assert "data" not in body and body["errors"][0]["resource_id"] == "42"
    assert body["errors"][0]["type"].endswith("/2/problems/resource-not-found")
    gone = mention(base, "spam", username="gone_account", name="Gone", suspended=True)
    mention(base, "hola", username="still_here", name="Still Here")
    page = mentions(base, expansions="author_id").json()
    assert len(page["data"]) == 2 and [u["username"] for u in page["includes"]["users"]] == ["still_here"]
    assert [(e["resource_id"], e["parameter"]) for e in page["errors"]] == [(gone["author_id"], "author_id")]


# -- rate limits ----------------------------------------------------------------------------------------------------

def test_every_answer_carries_its_endpoints_window_and_the_window_is_enforced(base):
    control(base, "limits", endpoint="mentions", limit=3, window_seconds=2)
    answers = [mentions(base) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-rate-limit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert {a.headers["x-rate-limit-limit"] for a in answers} == {"3"}
    reset = int(answers[0].headers["x-rate-limit-reset"])
    assert time.time() < reset <= time.time() + 3 and {a.headers["x-rate-limit-reset"] for a in answers} == {str(reset)}
    assert answers[3].json() == {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                                 "status": 429}
    # Other endpoints have windows of their own (X's defaults).
    assert get(base, "/2/dm_events").headers["x-rate-limit-limit"] == "300"
    assert post(base, "/2/tweets", {"text": "x"}).headers["x-rate-limit-limit"] == "100"
    while time.time() < reset:
        time.sleep(0.05)
    again = mentions(base)
    assert again.status_code == 200 and again.headers["x-rate-limit-remaining"] == "2"


def test_refusals_carry_the_headers_too(base):
    for response in (mentions(base, headers={}), mentions(base, max_results=1),
                     post(base, "/2/dm_conversations/with/123/messages", {"text": "x"})):
        assert response.status_code in (400, 401, 403)
        assert all(h in response.headers for h in RATE_HEADERS)


def test_a_missing_or_wrong_token_is_401_and_never_recorded(base):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = mentions(base, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"title": "Unauthorized", "detail": "Unauthorized", "type": "about:blank",
                                   "status": 401}
    post(base, "/2/tweets", {"text": "hola"})
    recorded = httpx.get(f"{base}/_sandbox/x/requests").text + httpx.get(f"{base}/_sandbox/x/sent").text
    assert TOKEN not in recorded and '"token_ok":false' in recorded.replace(" ", "")


# -- posting and DMs -------------------------------------------------------------------------------------------------

def test_posts_are_limited_to_280_characters_as_x_counts_them(base):
    target = mention(base, "hola")["id"]
    reply = {"in_reply_to_tweet_id": target}
    too_long = post(base, "/2/tweets", {"text": "x" * 281, "reply": reply})
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["message"] == TOO_LONG
    assert too_long.json()["title"] == "Invalid Request"
    assert post(base, "/2/tweets", {"text": "😀" * 141, "reply": reply}).status_code == 400
    assert post(base, "/2/tweets", {"text": "😀" * 140, "reply": reply}).status_code == 201
    assert post(base, "/2/tweets", {"text": "y" * 280, "reply": reply}).status_code == 201


def test_duplicates_replies_to_unknown_posts_and_bad_bodies_are_refused(base):
    first, second = mention(base, "uno", username="uno")["id"], mention(base, "dos", username="dos")["id"]
    assert post(base, "/2/tweets", {"text": "Gracias", "reply": {"in_reply_to_tweet_id": first}}).status_code == 201
    again = post(base, "/2/tweets", {"text": "Gracias", "reply": {"in_reply_to_tweet_id": first}})
    assert again.status_code == 403 and again.json() == {"title": "Forbidden", "detail": DUPLICATE,
                                                         "type": "about:blank", "status": 403}
    # The same words to another customer are another text on X ("@dos Gracias").
    assert post(base, "/2/tweets", {"text": "Gracias", "reply": {"in_reply_to_tweet_id": second}}).status_code == 201
    gone = post(base, "/2/tweets", {"text": "hola", "reply": {"in_reply_to_tweet_id": "999"}})
    assert gone.status_code == 403 and gone.json()["detail"] == NOT_VISIBLE
    assert post(base, "/2/tweets", {"text": "hola", "reply": {"in_reply_to_tweet_id": "x"}}).status_code == 400
    assert post(base, "/2/tweets", {"text": "  "}).status_code == 400
    assert post(base, "/2/tweets", ["not", "an", "object"]).status_code == 400


def test_dms_go_only_to_customers_who_wrote_and_did_not_close_their_dms(base):
    stranger = x_api.user_id_for("stranger")
    refused = post(base, f"/2/dm_conversations/with/{stranger}/messages", {"text": "hola"})
    assert refused.status_code == 403 and refused.json()["detail"] == DM_REFUSED
    customer = dm(base, "hola")["sender_id"]
    assert post(base, f"/2/dm_conversations/with/{customer}/messages", {"text": "x" * 10_000}).status_code == 201
    assert post(base, f"/2/dm_conversations/with/{customer}/messages", {"text": "x" * 10_001}).status_code == 400
    control(base, "dm_closed", user_id=customer)
    assert post(base, f"/2/dm_conversations/with/{customer}/messages", {"text": "hola"}).status_code == 403
    assert post(base, "/2/dm_conversations/with/abc/messages", {"text": "hola"}).status_code == 400


# -- faults ------------------------------------------------------------------------------------------------------------

def test_faults_fail_the_next_requests_with_problem_documents_or_raw_text(base):
    control(base, "faults", endpoint="mentions", status=500, count=2)
    control(base, "faults", endpoint="dm_events", status=503, raw=True)
    assert [mentions(base).status_code for _ in range(3)] == [500, 500, 200]
    assert mentions(base).status_code == 200
    raw = get(base, "/2/dm_events")
    assert raw.status_code == 503 and raw.headers["content-type"].startswith("text/plain")
    control(base, "faults", endpoint="posts", status=403, detail="You are not permitted to perform this action.")
    forbidden = post(base, "/2/tweets", {"text": "hola"})
    assert forbidden.json() == {"title": "Forbidden", "detail": "You are not permitted to perform this action.",
                                "type": "about:blank", "status": 403}


def test_a_429_fault_uses_up_the_window_until_reset_in(base):
    control(base, "faults", endpoint="dm_events", status=429, reset_in=1.5)
    before = time.time()
    refused = get(base, "/2/dm_events")
    assert refused.status_code == 429 and refused.headers["x-rate-limit-remaining"] == "0"
    reset = int(refused.headers["x-rate-limit-reset"])
    assert before + 1.5 <= reset <= before + 3
    assert get(base, "/2/dm_events").status_code == 429  # still before the reset: refused, as X does
    assert mentions(base).status_code == 200  # another endpoint, another window
    while time.time() < reset:
        time.sleep(0.05)
    assert get(base, "/2/dm_events").status_code == 200
    httpx.delete(f"{base}/_sandbox/x/faults").raise_for_status()


# -- with the real connector -------------------------------------------------------------------------------------------

def test_the_connector_reads_mentions_and_dms_answers_both_and_skips_its_own(base):
    public = mention(base, "@workstation_demo my order never came & I'm 😡")
    private = dm(base, "order #B12345 🙏")
    cursors = []

    async def scenario(c: XConnector):
        first = await c.poll(None)
        cursors.append(first.cursor)
        by_id = {m.provider_message_id: m for m in first.batch.messages}
        reply = await c.send(OutboundText(public["author_id"], "On it!", reply_to_provider_id=public["id"],
                                          public=True))
        answer = await c.send(OutboundText(private["sender_id"], "Checking #B12345"))
        for window in c.windows.values():
            window.not_before = 0  # no pacing in this test: ask again at once
        second = await c.poll(first.cursor)
        cursors.append(second.cursor)
        return by_id, reply, answer, second

    by_id, reply, answer, second = connect(base, scenario)
    assert by_id[public["id"]].text == "@workstation_demo my order never came & I'm 😡"
    assert by_id[public["id"]].public and by_id[public["id"]].sender_name == "Lucía Fernández (@luciafdez)"
    assert by_id["dm:" + private["dm_event_id"]].text == "order #B12345 🙏"
    assert not by_id["dm:" + private["dm_event_id"]].public
    assert second.batch.messages == []  # our own reply and DM are not customers' messages
    assert Cursor.load(cursors[1]).dm_since == answer.provider_message_id.removeprefix("dm:")
    sent = httpx.get(f"{base}/_sandbox/x/sent").json()
    assert [(s["endpoint"], s["json"], s["status_code"]) for s in sent] == [
        ("posts", {"text": "On it!", "reply": {"in_reply_to_tweet_id": public["id"]}}, 201),
        ("dm_send", {"text": "Checking #B12345"}, 201)]
    assert reply.provider_message_id == sent[0]["response"]["data"]["id"]


def test_the_connector_maps_the_emulators_refusals(base):
    customer = x_api.user_id_for("never_wrote")

    async def scenario(c: XConnector) -> list[ChannelError]:
        errors = []
        for out in (OutboundText(customer, "hola"),
                    OutboundText(customer, "hola", reply_to_provider_id="1", public=True)):
            try:
                await c.send(out)
            except ChannelError as exc:
                errors.append(exc)
        return errors

    undeliverable, not_visible = connect(base, scenario)
    assert undeliverable.kind == ErrorKind.UNDELIVERABLE and not_visible.kind == ErrorKind.UNDELIVERABLE
    [refused] = connect(base, lambda c: _collect(c.send(OutboundText(customer, "hola"))), token="wrong")
    assert refused.kind == ErrorKind.AUTH_EXPIRED


async def _collect(coro: Awaitable[Any]) -> list[ChannelError]:
    try:
        await coro
    except ChannelError as exc:
        return [exc]
    return []


def test_the_connector_waits_out_a_429_and_does_not_ask_before_its_reset(base):
    mention(base, "hola")
    control(base, "faults", endpoint="mentions", status=429, reset_in=1.0)

    async def scenario(c: XConnector) -> Any:
        try:
            await c.poll(Cursor(dm_since="1").dump())
        except ChannelError as exc:
            error = exc
        else:
            raise AssertionError("the 429 did not surface")
        deadline = time.monotonic() + 6
        found = []
        while not found and time.monotonic() < deadline:
            result = await c.poll(Cursor(dm_since="1").dump())
            found = result.batch.messages
            await asyncio.sleep(min(result.wait, 0.1))
        return error, found

    error, found = connect(base, scenario, poll_interval=0.05)
    assert error.kind == ErrorKind.RETRYABLE and error.http_status == 429
    assert [m.text for m in found] == ["@workstation_demo hola"]
    asked = [r for r in httpx.get(f"{base}/_sandbox/x/requests").json() if r["endpoint"] == "mentions"]
    assert [r["status_code"] for r in asked] == [429, 200]  # nothing in between, though it polled many times
    assert asked[1]["at"] >= asked[0]["reset"]


# -- mounting and traffic ----------------------------------------------------------------------------------------------

def test_mount_serves_the_api_under_a_prefix_and_wires_the_whatsapp_sandboxs_traffic(serve):
    app = FastAPI()

    class WhatsApp:
        x_mention = x_dm = None

    app.state.sandbox = WhatsApp()
    sandbox = x_api.mount(app, XSandboxConfig(token=TOKEN, user_id=BRAND))
    assert app.state.sandbox.x_mention == sandbox.send_mention and app.state.sandbox.x_dm == sandbox.send_dm
    root = serve(app)
    mention(root, "hola")
    assert mentions(root + "/x").json()["meta"]["result_count"] == 1
    assert get(root + "/x", "/2/dm_events").status_code == 200
    assert get(root, "/2/dm_events").status_code == 404  # the API lives under the prefix only


def test_the_traffic_generators_x_customers_mention_the_brand_or_write_dms():
    mentions_made, dms_made, whatsapp = [], [], []

    def recorder(into: list) -> Callable[..., Awaitable[dict]]:
        async def send(handle: str, name: str, text: str) -> dict:
            into.append((handle, name, text))
            return {}
        return send

    generator = TrafficGenerator(recorder(whatsapp), seed=7, initial_conversations=len(PERSONAS), burst_gap=(0, 0),
                                 send_x_mention=recorder(mentions_made), send_x_dm=recorder(dms_made))
    for _ in range(6):
        asyncio.run(generator.initial_burst())
    on_x = {p.x_username: p.name for p in PERSONAS if p.x_username}
    assert len(on_x) >= 3 and mentions_made and dms_made
    assert {h for h, _, _ in mentions_made + dms_made} <= set(on_x)
    assert all(on_x[h] == name for h, name, _ in mentions_made + dms_made)
    assert not {h for h, _, _ in whatsapp} & set(on_x)  # an X customer writes on X only
    # Without Telegram, everyone else writes on WhatsApp.
    assert {p.wa_id for p in PERSONAS if not p.x_username} == {h for h, _, _ in whatsapp}


def test_the_traffic_generators_x_customers_reach_the_emulator(base):
    sandbox = x_api.XSandbox(XSandboxConfig(token=TOKEN, user_id=BRAND))
    asyncio.run(sandbox.send_mention("zoelambert", "Zoë Lambert", "Hello?"))
    asyncio.run(sandbox.send_dm("zoelambert", "Zoë Lambert", "Order #A12345"))
    [post_id] = sandbox.mentions
    assert sandbox.posts[post_id]["text"] == "@workstation_demo Hello?"
    assert sandbox.dm_events[0]["sender_id"] == sandbox.posts[post_id]["author_id"] == x_api.user_id_for("zoelambert")
