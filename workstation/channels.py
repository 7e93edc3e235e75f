"""What each channel allows an agent, as the desktop shows it: the reply window and the length of a reply.

- WhatsApp: free text only within 24 h of the customer's last message; after that only an approved template.
- Messenger and Instagram: 24 h for any reply; from 24 h to 7 days a human agent may still answer (the server
  sends it with the HUMAN_AGENT tag); after 7 days nothing.
- Public conversations (X mentions, comments) and the other channels have no window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
WINDOW_CHANNELS = ("whatsapp", "messenger", "instagram")
HUMAN_AGENT_CHANNELS = ("messenger", "instagram")
# Below this much time left the window shows amber.
CLOSING_SOON = timedelta(hours=2)

WindowState = Literal["open", "human_agent", "closed"]


@dataclass(frozen=True)
class ReplyWindow:
    state: WindowState
    closes_at: datetime | None  # when the current state ends (None: closed)
    seconds_left: float  # 0 when closed

    @property
    def closing_soon(self) -> bool:
        return self.state != "closed" and self.seconds_left <= CLOSING_SOON.total_seconds()


def reply_window(channel: str, last_inbound_at: datetime | None, *, public: bool = False,
                 now: datetime | None = None) -> ReplyWindow | None:
    """The reply window of a conversation, or None when its channel has none (or it is public). A conversation
    the customer never wrote in (last_inbound_at None) is closed."""
    if channel not in WINDOW_CHANNELS or public:
        return None
    now = now or datetime.now(timezone.utc)
    if last_inbound_at is None:
        return ReplyWindow("closed", None, 0.0)
    standard_end = last_inbound_at + STANDARD_WINDOW
    if now < standard_end:
        return ReplyWindow("open", standard_end, (standard_end - now).total_seconds())
    if channel in HUMAN_AGENT_CHANNELS:
        human_end = last_inbound_at + HUMAN_AGENT_WINDOW
        if now < human_end:
            return ReplyWindow("human_agent", human_end, (human_end - now).total_seconds())
    return ReplyWindow("closed", None, 0.0)
