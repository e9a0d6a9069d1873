"""robots.txt: from a fetch outcome to rules, as RFC 9309 says.

- 2xx: parse the body (protego); an undecodable body is treated as empty (allow all).
- 4xx (including 404): no restrictions.
- 5xx, or the fetch failed: the host is unreachable for crawling now; disallow all and
  ask again after `retry_after` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protego import Protego

MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309: parse at least 500 KiB


@dataclass(frozen=True)
class RobotsRules:
    policy: str  # "parsed", "allow_all" (4xx), "disallow_all" (5xx / unreachable)
    parser: Protego | None = None
    sitemaps: tuple[str, ...] = field(default=())
    reason: str = ""

    def can_fetch(self, url: str, user_agent: str) -> bool:
        if self.policy == "allow_all":
            return True
        if self.policy == "disallow_all" or self.parser is None:
            return False
        if url.rstrip("/").endswith("/robots.txt"):
            return True
        return bool(self.parser.can_fetch(url, user_agent))

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


def rules_from_response(status: int | None, body: bytes) -> RobotsRules:
    """Rules for a robots.txt fetch; `status` None means the fetch failed outright."""
    if status is None or status >= 500:
        why = "robots.txt unreachable" if status is None else f"robots.txt answered {status}"
        return RobotsRules(policy="disallow_all", reason=why)
    if status >= 400:
        return RobotsRules(policy="allow_all", reason=f"robots.txt answered {status}")
    if status >= 300:
        # Redirects are followed by the caller; one that was not is treated as absent.
        return RobotsRules(policy="allow_all", reason=f"robots.txt redirect {status}")
    text = body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
    try:
        parser = Protego.parse(text)
    except Exception as exc:  # protego is lenient; a crash here must not stop a crawl
        return RobotsRules(policy="allow_all", reason=f"robots.txt unparsable: {exc}")
    return RobotsRules(policy="parsed", parser=parser, sitemaps=tuple(parser.sitemaps))
