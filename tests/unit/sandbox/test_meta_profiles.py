"""Customer names from the User Profile API: `MetaConnector.profile()` run for real over HTTP against the Meta
emulator's `GET /{version}/{PSID or IGSID}`. Names come back cleaned as plain text; a profile Meta will not show
(privacy, an unknown id, Instagram's consent rule) is None; the token, Graph's limits and outages raise
ChannelError; the token never reaches a log line, an exception or the emulator's records."""

from __future__ import annotations

import asyncio
import logging
import socket
import traceback
from typing import Any, Callable

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind
from services.channels.meta import (
    INSTAGRAM,
    MAX_PROFILE_NAME_CHARS,
    MESSENGER,
    CustomerProfile,
    MetaConnector,
    clean_display_name,
)
from services.sandbox.meta_api import MetaSandbox, MetaSandboxConfig, create_app

SECRET = "meta-profile-secret"
PAGE, PAGE_TOKEN = "370873143344730", "EAAGpagePROFILEtoken-4f1c9e0123"
IG, IG_TOKEN = "17841403506636395", "IGAAigPROFILEtoken-77aa01abcd"
PSID, IGSID = "6024875123456789", "1092310252982105"
WRONG = "EAAthis-is-not-the-PROFILE-token-000"
TOKENS = (PAGE_TOKEN, IG_TOKEN, WRONG)


@pytest.fixture(autouse=True)
def _logs_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    # httpx logs every request's URL at INFO: captured, so a token that leaked there would show.
    caplog.set_level(logging.DEBUG)


@pytest.fixture
def meta(serve) -> Callable[..., str]:
    """Starts the emulator (no webhooks); returns its root URL (the Graph API is under /meta)."""
    def start(**options: Any) -> str:
        config = MetaSandboxConfig(app_secret=SECRET, page_id=PAGE, page_token=PAGE_TOKEN, instagram_id=IG,
                                   instagram_token=IG_TOKEN, webhook_url=None, **options)
        return serve(create_app(config))
    return start


def inbound(root: str, **body: Any) -> str:
    body = {"sender": PSID, "text": "hola", **body}
    r = httpx.post(f"{root}/_sandbox/meta/inbound", json=body)
    assert r.status_code == 200, r.text
    return r.json()["id"]


def control(root: str, path: str, **body: Any) -> Any:
    r = httpx.post(f"{root}/_sandbox/meta/{path}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def profile(root: str, user_id: str, *, channel: str = MESSENGER, token: str | None = None,
            api_base: str | None = None) -> CustomerProfile | None:
    token = token or (PAGE_TOKEN if channel == MESSENGER else IG_TOKEN)

    async def scenario() -> CustomerProfile | None:
        async with MetaConnector(channel=channel, app_secret=SECRET, access_token=token,
                                 account_id=PAGE if channel == MESSENGER else IG,
                                 api_base=api_base or f"{root}/meta", timeout=5.0) as connector:
            return await connector.profile(user_id)

    return asyncio.run(scenario())


def profile_error(root: str, user_id: str, **kw: Any) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        profile(root, user_id, **kw)
    return caught.value


def graph_get(root: str, node: str, token: str = PAGE_TOKEN, **params: str) -> httpx.Response:
    return httpx.get(f"{root}/meta/v21.0/{node}", params=params, headers={"Authorization": f"Bearer {token}"})


def assert_no_token(caplog: pytest.LogCaptureFixture, root: str | None = None,
                    exc: BaseException | None = None) -> None:
    texts = [caplog.text]
    if exc is not None:
        texts += [str(exc), repr(exc), getattr(exc, "title", ""), getattr(exc, "details", ""),
                  "".join(traceback.format_exception(exc))]
        assert exc.__cause__ is None and exc.__context__ is None
    if root is not None:
        texts += [httpx.get(f"{root}/_sandbox/meta/reads").text, httpx.get(f"{root}/_sandbox/meta/state").text]
    for token in TOKENS:
        assert all(token not in text for text in texts), "a token leaked"
    assert "access_token" not in caplog.text


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- names come back --------------------------------------------------------------------------------------------

def test_messenger_profile_names_the_customer(meta, caplog):
    root = meta()
    inbound(root, name="Lucía Peña García")
    found = profile(root, PSID)
    assert found is not None and (found.name, found.username) == ("Lucía Peña García", "")
    assert found.picture_url.startswith("https://platform-lookaside.fbsbx.com/") and PSID in found.picture_url
    # The wire: Graph's fields, the name split at its first space, the token in the header only.
    [read] = httpx.get(f"{root}/_sandbox/meta/reads").json()
    assert read["path"] == f"/meta/v21.0/{PSID}" and read["params"] == {"fields": "first_name,last_name,profile_pic"}
    assert read["status_code"] == 200
    raw = graph_get(root, PSID, fields="first_name,last_name,profile_pic").json()
    assert raw["first_name"] == "Lucía" and raw["last_name"] == "Peña García" and raw["id"] == PSID
    assert set(raw) == {"first_name", "last_name", "profile_pic", "id"}
    assert httpx.get(f"{root}/_sandbox/meta/sent").json() == []  # reads are not sends
    assert_no_token(caplog, root)


def test_a_single_name_and_no_name(meta):
    root = meta()
    inbound(root, name="Cher")
    assert profile(root, PSID).name == "Cher"
    inbound(root, sender="1000000000077")  # the sandbox was told no name: Graph's answer has none
    assert profile(root, "1000000000077") is None


def test_instagram_profile_has_name_and_username(meta, caplog):
    root = meta()
    inbound(root, channel="instagram", sender=IGSID, name="lu.pena", profile_name="Lu Peña")
    assert profile(root, IGSID, channel=INSTAGRAM) == CustomerProfile(
        name="Lu Peña", username="lu.pena",
        picture_url=f"https://scontent.cdninstagram.com/v/t51.2885-19/{IGSID}_n.jpg")
    [read] = httpx.get(f"{root}/_sandbox/meta/reads").json()
    assert read["params"] == {"fields": "name,username,profile_pic"}
    # No display name set: "@username", as the connector names Instagram commenters.
    inbound(root, channel="instagram", sender="1092310252900001", name="sin.nombre")
    assert profile(root, "1092310252900001", channel=INSTAGRAM) == CustomerProfile(
        name="@sin.nombre", username="sin.nombre",
        picture_url="https://scontent.cdninstagram.com/v/t51.2885-19/1092310252900001_n.jpg")
    raw = graph_get(root, "1092310252900001", IG_TOKEN, fields="name,username").json()
    assert raw == {"username": "sin.nombre", "id": "1092310252900001"}  # an unset name is left out
    assert_no_token(caplog, root)


def test_the_demo_personas_have_names():
    # send_inbound is how the traffic generator's customers write (no webhook URL here: nothing is posted).
    sandbox = MetaSandbox(MetaSandboxConfig(app_secret=SECRET, page_id=PAGE, page_token=PAGE_TOKEN,
                                            instagram_id=IG, instagram_token=IG_TOKEN))

    async def write() -> None:
        await sandbox.send_inbound("instagram", False, IGSID, "Marta Gómez", "hola")
        await sandbox.send_inbound("messenger", True, PSID, "Iker Etxeberria Arana", "kaixo")

    asyncio.run(write())
    assert sandbox.read(IGSID, {"fields": "name,username"}, IG_TOKEN) == \
        {"name": "Marta Gómez", "username": "marta.gomez", "id": IGSID}
    assert sandbox.read(PSID, {"fields": "first_name,last_name"}, PAGE_TOKEN) == \
        {"first_name": "Iker", "last_name": "Etxeberria Arana", "id": PSID}


# -- profiles Meta will not show: None ----------------------------------------------------------------------

def test_a_hidden_profile_is_none_then_shown_again(meta, caplog):
    root = meta()
    inbound(root, name="Privada Total", profile_hidden=True)
    r = graph_get(root, PSID, fields="first_name,last_name,profile_pic")
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 2018218)
    assert error["message"] == "(#100) No profile available for this user"
    assert profile(root, PSID) is None
    inbound(root, text="otra vez")  # no flag: unchanged
    assert profile(root, PSID) is None
    inbound(root, profile_hidden=False)
    assert profile(root, PSID).name == "Privada Total"
    inbound(root, channel="instagram", sender=IGSID, name="oculta", profile_hidden=True)
    assert profile(root, IGSID, channel=INSTAGRAM) is None
    assert_no_token(caplog, root)


def test_unknown_ids_are_none(meta, caplog):
    root = meta()
    inbound(root, name="Ana Ruiz")
    r = graph_get(root, "1234567890123456")
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 33)
    assert error["message"].startswith("(#100) Unsupported get request.")
    assert profile(root, "1234567890123456") is None
    # A Messenger customer is not the Instagram account's to read (and the other way round).
    assert profile(root, PSID, channel=INSTAGRAM) is None
    # Not a page-scoped id at all: no request is made.
    before = len(httpx.get(f"{root}/_sandbox/meta/reads").json())
    for bad in ("", "me", "123/messages", "123?fields=x", "../debug_token", "1" * 40):
        assert profile(root, bad) is None
    assert len(httpx.get(f"{root}/_sandbox/meta/reads").json()) == before
    assert_no_token(caplog, root)


def test_instagram_commenters_need_to_message_first(meta):
    root = meta()
    inbound(root, channel="instagram", kind="comment", sender=IGSID, name="solo.comenta", text="precio?")
    r = graph_get(root, IGSID, IG_TOKEN, fields="name,username,profile_pic")
    assert r.status_code == 400 and r.json()["error"]["code"] == 230
    assert "User consent is required" in r.json()["error"]["message"]
    assert profile(root, IGSID, channel=INSTAGRAM) is None
    inbound(root, channel="instagram", sender=IGSID, text="te escribo por privado")
    assert profile(root, IGSID, channel=INSTAGRAM).name == "@solo.comenta"


def test_a_customer_who_blocked_the_page_is_none(meta):
    root = meta()
    inbound(root, name="Ana Ruiz")
    control(root, "block", sender=PSID)
    assert profile(root, PSID) is None


# -- failures that are not about the customer: ChannelError ---------------------------------------------------

def test_a_bad_token_is_auth_expired(meta, caplog):
    root = meta()
    inbound(root, name="Ana Ruiz")
    exc = profile_error(root, PSID, token=WRONG)
    assert exc.kind == ErrorKind.AUTH_EXPIRED and exc.code == 190
    assert_no_token(caplog, root, exc)


def test_an_expired_token_is_auth_expired(meta, caplog):
    root = meta()
    inbound(root, name="Ana Ruiz")
    control(root, "token", channel="messenger", expires_at=1_600_000_000)
    exc = profile_error(root, PSID)
    assert exc.kind == ErrorKind.AUTH_EXPIRED and "Session has expired" in exc.title
    assert_no_token(caplog, root, exc)


@pytest.mark.parametrize("fault, kind", [
    ({"code": 2}, ErrorKind.RETRYABLE),  # 503 service unavailable
    ({"code": 1, "http_status": 500}, ErrorKind.RETRYABLE),
    ({"code": 2, "raw": True}, ErrorKind.RETRYABLE),  # the load balancer's bare 503
    ({"code": 4}, ErrorKind.RETRYABLE),  # rate limited, HTTP 400: still not about the customer
    ({"code": 10}, ErrorKind.PERMISSION),  # the token lacks the right: the server should say so
])
def test_graph_failures_raise(meta, caplog, fault, kind):
    root = meta()
    inbound(root, name="Ana Ruiz")
    control(root, "faults", edge="profile", **fault)
    exc = profile_error(root, PSID)
    assert exc.kind == kind
    assert_no_token(caplog, root, exc)
    assert profile(root, PSID).name == "Ana Ruiz"  # the fault is spent


def test_graph_unreachable_is_retryable(caplog):
    exc = profile_error("", PSID, api_base=f"http://127.0.0.1:{closed_port()}")
    assert exc.kind == ErrorKind.RETRYABLE
    assert_no_token(caplog, None, exc)


def test_the_connectors_timeout_is_used(caplog):
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        assert "access_token" not in str(request.url) and request.headers["authorization"] == f"Bearer {PAGE_TOKEN}"
        raise httpx.ReadTimeout("slow", request=request)

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            connector = MetaConnector(channel=MESSENGER, app_secret=SECRET, access_token=PAGE_TOKEN,
                                      account_id=PAGE, api_base="https://graph.test", client=client, timeout=2.5)
            await connector.profile(PSID)

    with pytest.raises(ChannelError) as caught:
        asyncio.run(scenario())
    assert caught.value.kind == ErrorKind.RETRYABLE and caught.value.title == "timeout"
    assert seen and all(value == 2.5 for value in seen[0].values())
    assert_no_token(caplog, None, caught.value)


# -- hostile names ----------------------------------------------------------------------------------------------

HOSTILE = [
    ("\u202eevil\u202c Ruiz", "evil Ruiz"),  # a right-to-left override
    ("\u2066Ana\u2069 \u200fRuiz\u200e", "Ana Ruiz"),  # isolates and marks
    ("Ana\nRuiz\r\n\tGómez", "Ana Ruiz Gómez"),  # new lines and tabs
    ("Ana\x1b[31m Ruiz\x00\x07", "Ana [31m Ruiz"),  # an escape sequence loses its ESC, NUL and BEL go
    ("Ana\u2028Ruiz", "Ana Ruiz"),  # a line separator
    ("  <b>x</b>  <script>alert(1)</script>", "<b>x</b> <script>alert(1)</script>"),  # markup stays text
    ("👩\u200d💻 Dev ñandú", "👩\u200d💻 Dev ñandú"),  # emoji joiners and accents survive
    ("محمد علي", "محمد علي"),  # right-to-left script itself is fine
]


@pytest.mark.parametrize("channel", [MESSENGER, INSTAGRAM])
@pytest.mark.parametrize("raw, shown", HOSTILE)
def test_hostile_names_come_back_as_clean_plain_text(meta, channel, raw, shown):
    root = meta()
    sender = PSID if channel == MESSENGER else IGSID
    inbound(root, channel=channel, sender=sender, profile_name=raw)
    found = profile(root, sender, channel=channel)
    assert found is not None and found.name == shown
    assert found.name.isprintable() or "\u200d" in found.name


@pytest.mark.parametrize("channel", [MESSENGER, INSTAGRAM])
def test_a_500_character_name_is_cut(meta, channel):
    root = meta()
    sender = PSID if channel == MESSENGER else IGSID
    inbound(root, channel=channel, sender=sender, profile_name="Ana " + "x" * 496)
    found = profile(root, sender, channel=channel)
    assert found.name == ("Ana " + "x" * 496)[:MAX_PROFILE_NAME_CHARS] and len(found.name) == 100


def test_a_hostile_instagram_username_is_cleaned_too(meta):
    root = meta()
    inbound(root, channel="instagram", sender=IGSID, name="\u202eevil\nname" + "z" * 200)
    found = profile(root, IGSID, channel=INSTAGRAM)
    assert found.username == ("evil name" + "z" * 200)[:100]
    assert found.name == "@" + found.username[:99]


def test_clean_display_name():
    assert clean_display_name(None) == "" and clean_display_name(42) == ""
    assert clean_display_name("\ud800Ana") == "\ufffdAna"  # an unpaired surrogate, as clean_text does
    assert clean_display_name(" \u202e \n ") == ""
    assert clean_display_name("a" * 99 + " b", limit=100) == "a" * 99  # no trailing space after the cut
    assert clean_display_name("&lt;b&gt;") == "&lt;b&gt;"  # nothing is unescaped either


# -- the GET route still serves the account node and debug_token ------------------------------------------------

def test_account_node_and_debug_token_are_not_shadowed(meta):
    root = meta()
    inbound(root, name="Ana Ruiz")
    inbound(root, channel="instagram", sender=IGSID, name="ana.ruiz")
    page = graph_get(root, PAGE, fields="id,name")
    assert page.status_code == 200 and page.json() == {"id": PAGE, "name": "Workstation Demo"}
    account = graph_get(root, IG, IG_TOKEN, fields="id,username")
    assert account.json() == {"id": IG, "username": "workstation_demo"}
    debug = graph_get(root, "debug_token", input_token=PAGE_TOKEN)
    assert debug.status_code == 200 and debug.json()["data"]["is_valid"] is True
    assert graph_get(root, PSID, fields="id,password").json()["error"]["message"] == \
        "(#100) Tried accessing nonexisting field (password) on node type (User)"
    # debug_token's input_token is a token too: not kept.
    assert all("input_token" not in read["params"] for read in httpx.get(f"{root}/_sandbox/meta/reads").json())
    # A node fault does not hit profiles, nor a profile fault the node.
    control(root, "faults", edge="node", code=2)
    assert profile(root, PSID).name == "Ana Ruiz"
    assert graph_get(root, PAGE).status_code == 503
