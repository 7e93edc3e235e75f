"""Typed errors of the desktop core; the UI turns each into a translated sentence."""

from __future__ import annotations


class WorkstationError(Exception):
    pass


class NetworkError(WorkstationError):
    """The server could not be reached (offline, refused, timed out)."""


class AuthError(WorkstationError):
    """The server refused the credentials or the session token."""


class SessionExpiredError(AuthError):
    """The session token no longer works (expired, revoked by an admin, or signed out): sign in again."""


class ServerError(WorkstationError):
    """The server answered with an error."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"HTTP {status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail

    @property
    def retryable(self) -> bool:
        return self.status_code >= 500 or self.status_code in (408, 425, 429)


class ConflictError(ServerError):
    """A status or assignment write was refused: someone changed the conversation first."""

    def __init__(self, detail: str, changed_by: str | None, conversation=None) -> None:
        super().__init__(409, detail)
        self.changed_by = changed_by
        self.conversation = conversation  # protocol.ConversationPublic as the server has it now


class RateLimitedError(ServerError):
    """429: too many attempts (say, failed sign-ins); `retry_after` is in seconds when the server said."""

    def __init__(self, detail: str, retry_after: float | None) -> None:
        super().__init__(429, detail)
        self.retry_after = retry_after


class ChannelRefused(ServerError):
    """The server would not connect a channel: its settings are incomplete, or the provider refused them on the
    live check. `kind` is an ErrorKind value (auth_expired, permission, retryable, bad_request, ...);
    `message` the reason in English as the provider or server gave it; `field` the setting at fault, if known."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(422, message)
        self.kind = kind
        self.message = message
        self.field = field
