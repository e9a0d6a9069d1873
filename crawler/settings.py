"""All crawl defaults in one place, as frozen value objects.

A source in sources.toml may override any of them; the CLI builds them from flags.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_USER_AGENT = "warcflow/0.1 (+https://github.com/warcflow/warcflow; archiving bot)"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_AUTO_WORKERS = 4  # past this the crawl's own process (the catalog) becomes the limit


@dataclass(frozen=True)
class FetchLimits:
    """Limits on one HTTP exchange. Every limit has a setting name used in outcomes."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0  # wall time for one response, headers to last byte
    max_body_bytes: int = 20 * 1024 * 1024  # raw bytes kept; more is WARC-Truncated: length
    max_decoded_bytes: int = 50 * 1024 * 1024  # decompressed bytes when content is decoded
    max_redirects: int = 10
    allowed_networks: tuple[Network, ...] = ()  # private/loopback networks explicitly allowed

    @staticmethod
    def parse_networks(cidrs: list[str] | tuple[str, ...]) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for connect errors, 5xx and 429."""

    max_retries: int = 3
    base_delay: float = 2.0
    max_delay: float = 60.0
    max_retry_after: float = 300.0  # a Retry-After above this is capped


@dataclass(frozen=True)
class Politeness:
    delay: float = 1.0  # seconds between requests to one host (or its Crawl-delay)
    max_crawl_delay: float = 30.0  # a robots Crawl-delay above this is capped
    max_hosts: int = 16  # hosts fetched in parallel
    obey_robots: bool = True
    robots_retry_after: float = 600.0  # a 5xx robots.txt blocks the host this long
    # Requests in flight at once to one host. More than one only turns politeness off
    # where no delay applies: with a delay (or a robots Crawl-delay) it is always one.
    host_connections: int = 1

    def connections_for(self, delay: float) -> int:
        """Requests at once to a host whose delay between requests is `delay`."""
        return 1 if delay > 0 else max(1, self.host_connections)


@dataclass(frozen=True)
class CrawlLimits:
    max_pages: int = 1000
    max_depth: int = 5


@dataclass(frozen=True)
class WarcSettings:
    prefix: str = "warcflow"
    max_file_bytes: int = 1024 * 1024 * 1024


@dataclass(frozen=True)
class CrawlSettings:
    user_agent: str = DEFAULT_USER_AGENT
    fetch: FetchLimits = field(default_factory=FetchLimits)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    politeness: Politeness = field(default_factory=Politeness)
    limits: CrawlLimits = field(default_factory=CrawlLimits)
    warc: WarcSettings = field(default_factory=WarcSettings)
    # Pages per Prefect task: seconds of work, so each task's own cost and each batch's
    # start (worker processes, link memory, a drained pipeline at its end: ~0.2 s) stay
    # small against it. 2,000 pages of a local site without politeness take ~3 s; a
    # polite crawl (1 s per host, 16 hosts) ~2 min.
    batch_pages: int = 2000
    # Processes that fetch, parse and write WARC (each its own WARC file); None: one per
    # core, at most MAX_AUTO_WORKERS. 1 does everything in the crawl's own process.
    workers: int | None = None

    def worker_count(self) -> int:
        if self.workers is not None:
            return max(1, self.workers)
        return max(1, min(os.cpu_count() or 1, MAX_AUTO_WORKERS))

    def describe(self) -> dict[str, object]:
        """Flat, JSON-friendly description for the warcinfo record and the run row."""
        return {
            "user-agent": self.user_agent,
            "max-pages": self.limits.max_pages,
            "max-depth": self.limits.max_depth,
            "delay": self.politeness.delay,
            "max-hosts": self.politeness.max_hosts,
            "host-connections": self.politeness.host_connections,
            "obey-robots": self.politeness.obey_robots,
            "max-body-bytes": self.fetch.max_body_bytes,
            "max-redirects": self.fetch.max_redirects,
            "total-timeout": self.fetch.total_timeout,
            "allowed-networks": [str(n) for n in self.fetch.allowed_networks],
            "max-retries": self.retry.max_retries,
        }


def settings_to_dict(settings: CrawlSettings) -> dict[str, object]:
    """Plain data (for task arguments and the run row); inverse of `settings_from_dict`."""
    data = asdict(settings)
    data["fetch"]["allowed_networks"] = [str(n) for n in settings.fetch.allowed_networks]
    return data


def settings_from_dict(data: dict[str, Any]) -> CrawlSettings:
    fetch = dict(data.get("fetch", {}))
    fetch["allowed_networks"] = FetchLimits.parse_networks(fetch.get("allowed_networks", []))
    return CrawlSettings(
        user_agent=data.get("user_agent", DEFAULT_USER_AGENT),
        fetch=FetchLimits(**fetch),
        retry=RetryPolicy(**data.get("retry", {})),
        politeness=Politeness(**data.get("politeness", {})),
        limits=CrawlLimits(**data.get("limits", {})),
        warc=WarcSettings(**data.get("warc", {})),
        batch_pages=data.get("batch_pages", CrawlSettings.batch_pages),
        workers=data.get("workers"),
    )
