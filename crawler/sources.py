"""What to crawl: sources from the command line or a sources.toml file.

[[source]]
name = "zhizao"
seeds = ["https://www.example.cn/"]
sitemaps = ["https://www.example.cn/sitemap.xml"]
include = ['^https://www\\.example\\.cn/news/']   # regexes; default: the seeds' hosts
exclude = ['\\?replytocom=']
max_depth = 3
max_pages = 500
delay = 2.0                                        # seconds between requests to a host
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crawler.scope import Scope
from crawler.urls import canonicalize


class SourcesError(ValueError):
    """sources.toml is missing, malformed or names an invalid URL."""


@dataclass(frozen=True)
class Source:
    name: str
    seeds: tuple[str, ...]
    sitemaps: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_depth: int | None = None
    max_pages: int | None = None
    delay: float | None = None
    any_host: bool = False  # scope: follow links to any host (include/exclude still apply)
    scope: Scope = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        hosts = [] if self.any_host else [*self.seeds, *self.sitemaps]
        object.__setattr__(
            self, "scope", Scope.for_seeds(hosts, list(self.include), list(self.exclude))
        )

    def describe(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("scope", None)
        return data


def _canonical_all(urls: list[str], where: str) -> tuple[str, ...]:
    out = []
    for raw in urls:
        url = canonicalize(raw)
        if url is None:
            raise SourcesError(f"{where}: {raw!r} is not an http(s) URL")
        out.append(url)
    return tuple(out)


def sources_from_urls(urls: list[str], **overrides: object) -> list[Source]:
    return [Source(name="cli", seeds=_canonical_all(urls, "command line"), **overrides)]  # type: ignore[arg-type]


def load_sources(path: Path) -> list[Source]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SourcesError(f"{path}: not valid TOML: {exc}") from None
    entries = data.get("source")
    if not isinstance(entries, list) or not entries:
        raise SourcesError(f"{path}: expected one or more [[source]] tables")
    sources = []
    known = {
        "name",
        "seeds",
        "sitemaps",
        "include",
        "exclude",
        "max_depth",
        "max_pages",
        "delay",
        "any_host",
    }
    for i, entry in enumerate(entries, 1):
        where = f"{path} source #{i}"
        unknown = set(entry) - known
        if unknown:
            raise SourcesError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        if not entry.get("seeds") and not entry.get("sitemaps"):
            raise SourcesError(f"{where}: give seeds or sitemaps")
        sources.append(
            Source(
                name=str(entry.get("name") or f"source{i}"),
                seeds=_canonical_all(list(entry.get("seeds", [])), where),
                sitemaps=_canonical_all(list(entry.get("sitemaps", [])), where),
                include=tuple(entry.get("include", [])),
                exclude=tuple(entry.get("exclude", [])),
                max_depth=entry.get("max_depth"),
                max_pages=entry.get("max_pages"),
                delay=entry.get("delay"),
                any_host=bool(entry.get("any_host", False)),
            )
        )
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise SourcesError(f"{path}: source names must be unique")
    return sources
