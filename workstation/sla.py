"""The response clock as the desktop shows it: green, amber or red, and the time left.

The team server starts a clock when a customer starts waiting (first response, or next response) and gives
its due time and target; it marks the conversation breached once the due time passes (`sla_breached_at`).
The desktop colours the clock the way the server's `businesshours.clock_state` does: red when due (or marked
breached), amber when a quarter of the target or less is left, green otherwise. The desktop counts the time
left on the wall clock: for a target counted in business hours the server has already placed the due time
past the closed hours, so only the amber threshold can come a little early overnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

AMBER_SHARE = 0.25

ClockColour = Literal["green", "amber", "red"]


@dataclass(frozen=True)
class Clock:
    kind: str  # "first" or "next" response
    colour: ClockColour
    seconds_left: float  # negative once overdue


def clock(kind: str | None, due_at: datetime | None, target_seconds: int | None, breached_at: datetime | None,
          now: datetime | None = None) -> Clock | None:
    """The running clock of a conversation, or None when the customer is not waiting against a target."""
    if not kind or due_at is None:
        return None
    now = now or datetime.now(timezone.utc)
    left = (due_at - now).total_seconds()
    if breached_at is not None or left <= 0:
        colour: ClockColour = "red"
    elif target_seconds and left <= target_seconds * AMBER_SHARE:
        colour = "amber"
    else:
        colour = "green"
    return Clock(kind, colour, left)


def of(row, now: datetime | None = None) -> Clock | None:
    """The clock of anything with sla_kind / sla_due_at / sla_target_seconds / sla_breached_at (a feed row,
    a cached conversation); only open conversations have one running."""
    if getattr(row, "status", "open") not in ("open", "pending"):
        return None
    return clock(row.sla_kind, row.sla_due_at, row.sla_target_seconds, row.sla_breached_at, now)


def compact(seconds: float) -> str:
    """A duration in a few characters for the feed's chip: 45s, 12m, 3h, 2d (the sign is left to the caller).
    Language-neutral on purpose: the units are read the same in Spanish and English."""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 48 * 3600:
        hours, rest = divmod(int(seconds), 3600)
        return f"{hours}h{rest // 60:02d}" if hours < 10 and rest >= 60 else f"{hours}h"
    return f"{int(seconds // 86400)}d"
