"""Site profiles: what one site repeats across its different articles is boilerplate.

For each document of a site we collect candidates: whole paragraphs, and paragraph
prefixes/suffixes that end or start at a sentence boundary (a watermark like
`数字化转型网(www.szhzxw.cn)` appended to paragraphs, a `(Reuters) -` lead). A candidate
seen in at least `min_docs` different articles and `min_share` of the site's articles
is learned. Articles are counted by their identity (the hash of their longest
paragraph), so an article that appears twice on a site counts once: its own sentences
never become boilerplate. Counts are order-independent, so the learned rules are a
function of the set of articles, not of the order they arrived in.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from extractors.clean import SiteRules

# A suffix starts after a sentence end; a prefix ends at a lead-in mark (讯】, Reuters -, 本报讯：).
_SUFFIX_START = re.compile(r"[。！？!?；;…]|(?<=[.])\s+|\s[|｜/]\s")
_PREFIX_END = re.compile(r"[】\]）)｜|:：]|\s[-–—]\s|讯\s")
_SENTENCE_END = re.compile(r"[.。!?！？]$")


@dataclass(frozen=True)
class ProfileConfig:
    min_docs: int = 3
    min_share: float = 0.3
    max_edge_chars: int = 60
    min_edge_chars: int = 4
    max_line_chars: int = 400
    min_line_chars: int = 4

    def __str__(self) -> str:
        return f"profile(docs>={self.min_docs},share>={self.min_share},edge<={self.max_edge_chars})"


DEFAULT_PROFILE = ProfileConfig()
Candidate = tuple[str, str]  # (kind, text): kind is line, prefix or suffix


def article_key(paragraphs: list[str]) -> str:
    """The identity of an article: its longest paragraph, whitespace-folded."""
    if not paragraphs:
        return ""
    longest = max(paragraphs, key=lambda p: (len(p), p))
    return hashlib.sha1(re.sub(r"\s+", "", longest).encode("utf-8")).hexdigest()[:16]


def copy_key(paragraphs: list[str]) -> str:
    """The identity of one copy of an article (its whole text)."""
    return hashlib.sha1("\n".join(paragraphs).encode("utf-8")).hexdigest()[:16]


def candidates(paragraphs: list[str], config: ProfileConfig = DEFAULT_PROFILE) -> set[Candidate]:
    found: set[Candidate] = set()
    for para in paragraphs:
        if config.min_line_chars <= len(para) <= config.max_line_chars:
            found.add(("line", para))
        tail_start = max(0, len(para) - config.max_edge_chars - 1)
        for match in _SUFFIX_START.finditer(para, tail_start):
            suffix = para[match.end() :].strip()
            if (
                config.min_edge_chars <= len(suffix) <= config.max_edge_chars
                and suffix != para
                and not _SENTENCE_END.search(suffix)  # a sentence, not a watermark
            ):
                found.add(("suffix", suffix))
        for match in _PREFIX_END.finditer(para, 0, min(len(para), config.max_edge_chars + 1)):
            prefix = para[: match.end()].strip()
            if config.min_edge_chars <= len(prefix) <= config.max_edge_chars and prefix != para:
                found.add(("prefix", prefix))
    return found


@dataclass
class SiteProfile:
    """Counts for one site: in how many distinct articles each candidate appeared."""

    site: str
    articles: dict[str, tuple[str, frozenset[Candidate]]] = field(default_factory=dict)
    counts: dict[Candidate, int] = field(default_factory=dict)

    def observe(self, paragraphs: list[str], config: ProfileConfig = DEFAULT_PROFILE) -> bool:
        """Count one article from one copy of it (the copy with the smallest key, in any
        order of arrival); returns False if the counts did not change."""
        key = article_key(paragraphs)
        if not key:
            return False
        copy = copy_key(paragraphs)
        known = self.articles.get(key)
        if known is not None and known[0] <= copy:
            return False
        if known is not None:
            for cand in known[1]:
                self.counts[cand] -= 1
                if not self.counts[cand]:
                    del self.counts[cand]
        cands = frozenset(candidates(paragraphs, config))
        self.articles[key] = (copy, cands)
        for cand in cands:
            self.counts[cand] = self.counts.get(cand, 0) + 1
        return True

    def rules(self, config: ProfileConfig = DEFAULT_PROFILE) -> SiteRules:
        return learn(self.counts.items(), len(self.articles), config)


def threshold(articles: int, config: ProfileConfig) -> int:
    return max(config.min_docs, math.ceil(config.min_share * articles))


def learn(
    counts: Iterable[tuple[Candidate, int]], articles: int, config: ProfileConfig = DEFAULT_PROFILE
) -> SiteRules:
    need = threshold(articles, config)
    items = list(counts)
    lines = {text: n for (kind, text), n in items if kind == "line" and n >= need}
    prefixes, suffixes = set(), set()
    for (kind, text), n in items:
        if kind == "line" or n < need:
            continue
        # Occurrences inside learned lines are explained by them; what is left must still
        # reach the threshold for the piece to be boilerplate on its own.
        inside = sum(m for line, m in lines.items() if text in line)
        if n - inside >= need:
            (prefixes if kind == "prefix" else suffixes).add(text)
    # Longest first, so a watermark is cut whole before any shorter piece of it.
    order = lambda items: tuple(sorted(items, key=lambda s: (-len(s), s)))  # noqa: E731
    return SiteRules(frozenset(lines), order(prefixes), order(suffixes))
