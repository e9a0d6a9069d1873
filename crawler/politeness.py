"""Per-host politeness: one request at a time per host and a delay between requests."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class HostSlot:
    host: str
    delay: float
    next_at: float = 0.0
    saved_at: float = 0.0  # next_at as the catalog has it (kept across restarts)

    def wait_time(self, now: float) -> float:
        return max(0.0, self.next_at - now)

    def fetched(self, now: float) -> None:
        self.next_at = now + self.delay

    def back_off(self, until: float) -> None:
        self.next_at = max(self.next_at, until)


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0.5, 1] x base * 2^(attempt-1)."""
    raw = min(cap, base * (2 ** max(0, attempt - 1)))
    return raw * (0.5 + rng.random() / 2)
