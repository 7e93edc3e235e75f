"""HTTP client of the team server's agent API (/v1), on httpx."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import AsyncIterator

import httpx

from workstation import protocol
from workstation.errors import (
    AuthError, ChannelRefused, ConflictError, NetworkError, RateLimitedError, ServerError, SessionExpiredError,
)

log = logging.getLogger(__name__)

USER_AGENT = "Workstation-desktop"


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else json.dumps(detail)[:300]


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the delay form; an HTTP date is not worth parsing here)."""
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=5.0),
            headers={"User-Agent": USER_AGENT},
        )

    def __repr__(self) -> str:  # never show the token
        return f"ApiClient({self.base_url!r})"

    @property
    def token(self) -> str | None:
        return self._token

    async def aclose(self) -> None:
        await self._http.aclose()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    async def _request(self, method: str, url: str, **kw) -> httpx.Response:
        sent_token = self._token is not None
        try:
            response = await self._http.request(method, url, headers={**self._auth(), **kw.pop("headers", {})}, **kw)
        except httpx.TransportError as exc:
            raise NetworkError(f"{type(exc).__name__} talking to {self.base_url}") from None
        if response.status_code == 401:
            # With a token, a 401 means the session has ended; without one, the credentials were wrong.
            raise (SessionExpiredError if sent_token else AuthError)(_detail(response))
        if response.status_code == 429:
            raise RateLimitedError(_detail(response), _retry_after(response))
        if response.status_code == 409:
            try:
                conflict = protocol.Conflict.model_validate(response.json())
            except ValueError:
                raise ServerError(409, _detail(response)) from None
            raise ConflictError(conflict.detail, conflict.changed_by, conflict.conversation)
        if response.status_code >= 400:
            raise ServerError(response.status_code, _detail(response))
        return response

    async def sign_in(self, email: str, password: str) -> protocol.SessionPublic:
        body = protocol.SessionCreate(email=email, password=password).model_dump()
        self._token = None  # a sign-in carries no old token, and its 401 means wrong credentials
        response = await self._request("POST", "/v1/session", json=body)
        session = protocol.SessionPublic.model_validate(response.json())
        self._token = session.token
        return session

    async def me(self) -> protocol.AgentPublic:
        return protocol.AgentPublic.model_validate((await self._request("GET", "/v1/me")).json())

    async def sign_out(self) -> None:
        await self._request("DELETE", "/v1/session")
        self._token = None

    async def sync(self, after: int, limit: int = 500) -> protocol.SyncPage:
        response = await self._request("GET", "/v1/sync", params={"after": after, "limit": limit})
        return protocol.SyncPage.model_validate(response.json())

    async def post_reply(self, conversation_id: int, text: str, op_id: str) -> protocol.MessagePublic:
        response = await self._request(
            "POST", f"/v1/conversations/{conversation_id}/messages",
            json=protocol.ReplyCreate(text=text).model_dump(),
            headers={protocol.IDEMPOTENCY_HEADER: op_id},
        )
        return protocol.MessagePublic.model_validate(response.json())

    async def post_template(self, conversation_id: int, body: protocol.TemplateSend, op_id: str
                            ) -> protocol.MessagePublic:
        response = await self._request(
            "POST", f"/v1/conversations/{conversation_id}/template", json=body.model_dump(),
            headers={protocol.IDEMPOTENCY_HEADER: op_id},
        )
        return protocol.MessagePublic.model_validate(response.json())

    async def post_private_reply(self, conversation_id: int, text: str, op_id: str) -> protocol.MessagePublic:
        """The one private message a public Messenger/Instagram comment allows; the answer is the message, in
        the customer's private conversation (its `conversation_id`)."""
        response = await self._request(
            "POST", f"/v1/conversations/{conversation_id}/private-reply",
            json=protocol.ReplyCreate(text=text).model_dump(),
            headers={protocol.IDEMPOTENCY_HEADER: op_id},
        )
        return protocol.MessagePublic.model_validate(response.json())

    async def post_note(self, conversation_id: int, text: str, op_id: str) -> protocol.NotePublic:
        response = await self._request(
            "POST", f"/v1/conversations/{conversation_id}/notes",
            json=protocol.NoteCreate(text=text).model_dump(),
            headers={protocol.IDEMPOTENCY_HEADER: op_id},
        )
        return protocol.NotePublic.model_validate(response.json())

    async def update_conversation(self, conversation_id: int, update: protocol.ConversationUpdate,
                                  op_id: str) -> protocol.ConversationPublic:
        response = await self._request(
            "PATCH", f"/v1/conversations/{conversation_id}", json=update.model_dump(mode="json"),
            headers={protocol.IDEMPOTENCY_HEADER: op_id},
        )
        return protocol.ConversationPublic.model_validate(response.json())

    async def set_agent_status(self, agent_id: int, status: str) -> protocol.AgentPublic:
        response = await self._request("PUT", f"/v1/agents/{agent_id}/status",
                                       json=protocol.AgentStatusUpdate(status=status).model_dump())
        return protocol.AgentPublic.model_validate(response.json())

    async def update_agent(self, agent_id: int, update: protocol.AgentUpdate) -> protocol.AgentPublic:
        response = await self._request("PATCH", f"/v1/agents/{agent_id}",
                                       json=update.model_dump(mode="json", exclude_unset=True))
        return protocol.AgentPublic.model_validate(response.json())

    async def create_agent(self, body: protocol.AgentCreate) -> protocol.AgentPublic:
        response = await self._request("POST", "/v1/agents", json=body.model_dump(mode="json"))
        return protocol.AgentPublic.model_validate(response.json())

    async def handoff(self, agent_id: int, body: protocol.Handoff) -> protocol.HandoffResult:
        response = await self._request("POST", f"/v1/agents/{agent_id}/handoff", json=body.model_dump(mode="json"))
        return protocol.HandoffResult.model_validate(response.json())

    async def routing(self) -> protocol.RoutingSettings:
        return protocol.RoutingSettings.model_validate((await self._request("GET", "/v1/routing")).json())

    async def set_routing(self, body: protocol.RoutingSettings) -> protocol.RoutingSettings:
        response = await self._request("PUT", "/v1/routing", json=body.model_dump(mode="json"))
        return protocol.RoutingSettings.model_validate(response.json())

    async def channels(self) -> list[protocol.ChannelPublic]:
        response = await self._request("GET", "/v1/channels")
        return [protocol.ChannelPublic.model_validate(c) for c in response.json()]

    async def _channel_request(self, method: str, url: str, **kw) -> httpx.Response:
        """A channel setup request; a 422 becomes ChannelRefused with the server's kind, reason and field."""
        try:
            return await self._request(method, url, **kw)
        except ServerError as exc:
            if exc.status_code != 422:
                raise
            try:
                detail = json.loads(exc.detail)
            except ValueError:
                detail = None
            if not isinstance(detail, dict):
                raise ChannelRefused("bad_request", exc.detail) from None
            raise ChannelRefused(str(detail.get("kind") or "bad_request"), str(detail.get("message") or ""),
                                 detail.get("field") if isinstance(detail.get("field"), str) else None) from None

    async def connect_channel(self, channel: str, body: protocol.ChannelConnect) -> protocol.ChannelPublic:
        response = await self._channel_request("PUT", f"/v1/channels/{channel}", json=body.model_dump(mode="json"))
        return protocol.ChannelPublic.model_validate(response.json())

    async def check_channel(self, channel: str) -> protocol.ChannelPublic:
        response = await self._channel_request("POST", f"/v1/channels/{channel}/check")
        return protocol.ChannelPublic.model_validate(response.json())

    async def disconnect_channel(self, channel: str) -> None:
        await self._request("DELETE", f"/v1/channels/{channel}")

    async def send_presence(self, conversation_id: int, state: str, *, timeout: float | None = None) -> None:
        """`timeout`: give up after this many seconds (a NetworkError), as presence is repeated anyway. (A
        timeout here, not a cancellation from outside: a request cancelled halfway leaks its connection.)"""
        extra = {"timeout": httpx.Timeout(timeout)} if timeout is not None else {}
        await self._request("POST", f"/v1/conversations/{conversation_id}/presence",
                            json=protocol.PresenceUpdate(state=state).model_dump(), **extra)

    async def update_customer(self, customer_id: int, update: protocol.CustomerUpdate) -> protocol.CustomerPublic:
        response = await self._request("PATCH", f"/v1/customers/{customer_id}",
                                       json=update.model_dump(mode="json", exclude_unset=True))
        return protocol.CustomerPublic.model_validate(response.json())

    async def set_follow_up_done(self, follow_up_id: int, done: bool = True) -> protocol.FollowUpPublic:
        response = await self._request("PATCH", f"/v1/follow_ups/{follow_up_id}",
                                       json=protocol.FollowUpUpdate(done=done).model_dump())
        return protocol.FollowUpPublic.model_validate(response.json())

    async def create_canned(self, body: protocol.CannedWrite) -> protocol.CannedPublic:
        response = await self._request("POST", "/v1/canned", json=body.model_dump(mode="json"))
        return protocol.CannedPublic.model_validate(response.json())

    async def update_canned(self, canned_id: int, body: protocol.CannedWrite) -> protocol.CannedPublic:
        response = await self._request("PUT", f"/v1/canned/{canned_id}", json=body.model_dump(mode="json"))
        return protocol.CannedPublic.model_validate(response.json())

    async def delete_canned(self, canned_id: int) -> None:
        await self._request("DELETE", f"/v1/canned/{canned_id}")

    async def count_canned_use(self, canned_id: int) -> None:
        await self._request("POST", f"/v1/canned/{canned_id}/uses")

    async def care(self, lang: str = "en") -> protocol.CarePublic:
        response = await self._request("GET", "/v1/care", params={"lang": lang})
        return protocol.CarePublic.model_validate(response.json())

    async def set_care(self, body: protocol.CareSettings, lang: str = "en") -> protocol.CarePublic:
        response = await self._request("PUT", "/v1/care", params={"lang": lang}, json=body.model_dump(mode="json"))
        return protocol.CarePublic.model_validate(response.json())

    async def kpis(self, start: datetime, end: datetime, *, tz: str = "UTC", channel: str | None = None,
                   agent_id: int | None = None) -> protocol.KpiReport:
        """The KPI report for [start, end) (aware datetimes); an agent gets only their own figures."""
        params: dict[str, str | int] = {"start": start.isoformat(), "end": end.isoformat(), "tz": tz}
        if channel is not None:
            params["channel"] = channel
        if agent_id is not None:
            params["agent_id"] = agent_id
        response = await self._request("GET", "/v1/kpis", params=params)
        return protocol.KpiReport.model_validate(response.json())

    async def cost_settings(self) -> protocol.CostSettings:
        return protocol.CostSettings.model_validate((await self._request("GET", "/v1/kpis/cost")).json())

    async def set_cost_settings(self, body: protocol.CostSettings) -> protocol.CostSettings:
        response = await self._request("PUT", "/v1/kpis/cost", json=body.model_dump(mode="json"))
        return protocol.CostSettings.model_validate(response.json())

    async def crisis(self, lang: str = "en") -> protocol.CrisisPublic:
        """The crisis alerts, crisis mode, the playbook (in `lang`) and the canned responses to pin."""
        response = await self._request("GET", "/v1/crisis", params={"lang": lang})
        return protocol.CrisisPublic.model_validate(response.json())

    async def set_crisis_settings(self, body: protocol.CrisisSettings, lang: str = "en") -> protocol.CrisisPublic:
        response = await self._request("PUT", "/v1/crisis/settings", params={"lang": lang},
                                       json=body.model_dump(mode="json"))
        return protocol.CrisisPublic.model_validate(response.json())

    async def set_crisis_mode(self, active: bool, lang: str = "en") -> protocol.CrisisPublic:
        response = await self._request("POST", "/v1/crisis/mode", params={"lang": lang},
                                       json=protocol.CrisisModeUpdate(active=active).model_dump())
        return protocol.CrisisPublic.model_validate(response.json())

    async def ack_crisis_alert(self, alert_id: int) -> protocol.CrisisAlertPublic:
        response = await self._request("POST", f"/v1/crisis/alerts/{alert_id}/ack")
        return protocol.CrisisAlertPublic.model_validate(response.json())

    async def merge_customers(self, customer_id: int, other_customer_id: int) -> protocol.CustomerPublic:
        """The other customer's identities and conversations join this customer (any agent); answers this one.
        Merging again what is merged already changes nothing."""
        response = await self._request("POST", f"/v1/customers/{customer_id}/merge",
                                       json={"other_customer_id": other_customer_id})
        return protocol.CustomerPublic.model_validate(response.json())

    async def split_identity(self, identity_id: int) -> protocol.CustomerPublic:
        """The identity and its conversations move to a new customer (answered); a customer's only identity is
        refused (a ServerError with status 409)."""
        response = await self._request("POST", f"/v1/identities/{identity_id}/split")
        return protocol.CustomerPublic.model_validate(response.json())

    async def events(self) -> AsyncIterator[protocol.EventPoke | protocol.PresenceEvent]:
        """Yields each `change` event (newest sequence and database epoch) as an EventPoke and each `presence`
        event (a colleague viewing or typing in a conversation) as a PresenceEvent, until the stream ends.
        Other event types are skipped; so is a malformed presence event (presence is a hint, a lost one
        costs nothing), while a malformed change event is an error."""
        try:
            async with self._http.stream(
                "GET", "/v1/events", headers={**self._auth(), "Accept": "text/event-stream"},
                timeout=httpx.Timeout(5.0, read=60.0),
            ) as response:
                if response.status_code == 401:
                    await response.aread()
                    raise SessionExpiredError(_detail(response))
                if response.status_code >= 400:
                    raise ServerError(response.status_code, "event stream refused")
                event, data = "message", ""
                async for line in response.aiter_lines():
                    if line == "":
                        if event == "change" and data:
                            try:
                                poke = protocol.EventPoke.model_validate_json(data)
                            except ValueError:
                                raise ServerError(502, "malformed event") from None
                            yield poke
                        elif event == "presence" and data:
                            try:
                                presence = protocol.PresenceEvent.model_validate_json(data)
                            except ValueError:
                                log.debug("malformed presence event skipped")
                            else:
                                yield presence
                        event, data = "message", ""
                    elif line.startswith(":"):
                        continue
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data += line[5:].strip()
        except httpx.TransportError as exc:
            raise NetworkError(f"{type(exc).__name__} on the event stream") from None
