"""What the two Graph API connectors share (WhatsApp Cloud API; Messenger and Instagram): one authorised
request with Graph's failure rules, token redaction, and the token's end from debug_token."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx

from services.channels.base import ChannelError, ErrorKind

logger = logging.getLogger(__name__)


class GraphClient:
    """A mixin: the connector sets `_client`, `_owns_client`, `_access_token`, `_timeout`, `api_base`,
    `api_version`, `platform` and `account_id`, and maps Graph's error bodies in `_error_from(response)`."""

    _client: httpx.AsyncClient
    _owns_client: bool
    _access_token: str
    _timeout: float
    api_base: str
    api_version: str
    platform: str
    account_id: str

    def _error_from(self, response: httpx.Response) -> ChannelError:
        raise NotImplementedError

    def _redact(self, text: str) -> str:
        if self._access_token and self._access_token in text:
            return text.replace(self._access_token, "[redacted]")
        return text

    async def _get(self, url: str, params: dict[str, str], *, what: str) -> dict[str, Any]:
        return await self._request("GET", url, params=params, what=what)

    async def _request(self, method: str, url: str, *, json: dict[str, Any] | None = None,
                       params: dict[str, str] | None = None, what: str = "send") -> dict[str, Any]:
        failure: ChannelError | None = None
        response: httpx.Response | None = None
        # httpx's exceptions carry the request (its Authorization header, a debug_token URL): the error is
        # raised outside the handler, so it neither chains nor keeps them.
        try:
            response = await self._client.request(method, url, json=json, params=params, timeout=self._timeout,
                                                   headers={"Authorization": f"Bearer {self._access_token}"})
        except httpx.TimeoutException as exc:
            logger.warning("%s %s for %s timed out (%s)", self.platform, what, self.account_id, type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "timeout")
        except httpx.TransportError as exc:
            logger.warning("%s connection for %s failed (%s)", self.platform, self.account_id, type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "connection failed")
        if failure is not None:
            raise failure
        assert response is not None
        if response.is_success:
            try:
                data = response.json()
            except (ValueError, RecursionError):
                data = None
            if not isinstance(data, dict):
                raise ChannelError(ErrorKind.UNKNOWN, "unexpected response", http_status=response.status_code)
            return data
        raise self._error_from(response)

    async def _token_expiry(self) -> datetime | None:
        """The token's end from debug_token (asked with the token itself); None when it never ends or Graph
        will not say (graph.instagram.com has no debug_token): only a refused token is an error here, as the
        token did work a moment ago."""
        from services.channels.whatsapp import token_expiry

        try:
            answer = await self._get(f"{self.api_base}/{self.api_version}/debug_token",
                                     {"input_token": self._access_token}, what="debug_token")
        except ChannelError as exc:
            if exc.kind == ErrorKind.AUTH_EXPIRED:
                raise
            logger.info("%s debug_token for %s failed (%s); token expiry unknown", self.platform, self.account_id,
                        exc.kind)
            return None
        return token_expiry(answer, self._redact)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
