"""Which URLs a crawl may follow: the seeds' hosts plus include/exclude patterns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Scope:
    hosts: frozenset[str]  # host[:port] keys; empty means any host
    include: tuple[re.Pattern[str], ...] = field(default=())
    exclude: tuple[re.Pattern[str], ...] = field(default=())

    @classmethod
    def for_seeds(
        cls,
        seeds: list[str],
        include: list[str] = (),
        exclude: list[str] = (),  # type: ignore[assignment]
    ) -> Scope:
        return cls(
            hosts=frozenset(urlsplit(s).netloc for s in seeds),
            include=tuple(re.compile(p) for p in include),
            exclude=tuple(re.compile(p) for p in exclude),
        )

    def allows(self, url: str) -> bool:
        if self.hosts and urlsplit(url).netloc not in self.hosts:
            return False
        if any(p.search(url) for p in self.exclude):
            return False
        return not self.include or any(p.search(url) for p in self.include)
