"""Repost clusters and translation links over every document in the archive.

Candidates come from LSH banding of MinHash signatures (no all-pairs work); each
candidate pair is then checked on its estimated Jaccard and containment, so a repost
that is a strict part of a longer page (a teaser, one half of a bilingual page) still
matches while two articles that only share a quote or some chrome do not. Accepted
pairs join clusters with union-find; a cluster's canonical document is its earliest
capture (ties: the most complete text, then the lowest id). Candidate pairs are
symmetric, so the clusters do not depend on the order documents arrive in.

Translations (an article and its rendering in another language) are linked, not
clustered: they share language-independent anchors (numbers, years, amounts,
Latin-script names) in much the same order, and their lengths agree once scripts are
weighted.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ClusterConfig:
    """Defaults chosen on the dev split of the repost benchmark (bench/dedup.py)."""

    bands: int = 42
    rows: int = 3
    min_containment: float = 0.5  # of the smaller document, found in the larger
    min_coverage: float = 0.15  # of the larger document, covered by the smaller (low: a
    # Chinese half covers few of the character shingles of its bilingual page)
    translation_min_shared: int = 6  # distinct anchors both documents contain
    translation_min_overlap: float = 0.5  # shared anchors / anchors of the smaller side
    translation_min_order: float = 0.5  # difflib ratio of the two anchor sequences
    translation_length_ratio: float = 2.5  # max ratio of script-weighted lengths

    def __str__(self) -> str:
        return (
            f"lsh({self.bands}x{self.rows}) contain>={self.min_containment}"
            f" cover>={self.min_coverage}"
        )


@dataclass
class Member:
    """What clustering knows about one document."""

    id: int
    content_key: str
    signature: np.ndarray
    shingles: int
    fetched_at: str
    text_length: int
    lang: str
    anchors: tuple[str, ...] = ()
    weighted_length: int = 0


def band_keys(signature: np.ndarray, config: ClusterConfig) -> list[bytes]:
    sig = signature.astype("<u8")
    return [
        hashlib.blake2b(
            sig[b * config.rows : (b + 1) * config.rows].tobytes(), digest_size=8
        ).digest()
        for b in range(config.bands)
    ]


def similarity(
    a: Member, b: Member, config: ClusterConfig | None = None
) -> tuple[float, float, float]:
    """(estimated Jaccard, containment of the smaller, coverage of the larger).

    A pair is a candidate because a band of its signatures matched, so those values
    overstate its similarity; the estimate uses the values no band was made of."""
    if a.content_key == b.content_key:
        return 1.0, 1.0, 1.0
    if not a.shingles or not b.shingles:
        return 0.0, 0.0, 0.0
    start = (config or ClusterConfig()).bands * (config or ClusterConfig()).rows
    sa, sb = a.signature[start:], b.signature[start:]
    if len(sa) < 32:  # not enough unbanded values: fall back to the whole signature
        sa, sb = a.signature, b.signature
    j = float(np.count_nonzero(sa == sb)) / len(sa)
    inter = j * (a.shingles + b.shingles) / (1.0 + j)
    small, large = sorted((a.shingles, b.shingles))
    return j, min(1.0, inter / small), min(1.0, inter / large)


def same_article(a: Member, b: Member, config: ClusterConfig) -> bool:
    _, containment, coverage = similarity(a, b, config)
    return containment >= config.min_containment and coverage >= config.min_coverage


def translation_score(a: Member, b: Member, config: ClusterConfig) -> float | None:
    """How strongly two documents in different languages look like translations (0..1),
    or None when they do not."""
    if _lang_family(a.lang) == _lang_family(b.lang) or not a.anchors or not b.anchors:
        return None
    sa, sb = set(a.anchors), set(b.anchors)
    shared = sa & sb
    if len(shared) < config.translation_min_shared:
        return None
    overlap = len(shared) / min(len(sa), len(sb))
    la, lb = max(1, a.weighted_length), max(1, b.weighted_length)
    if max(la, lb) / min(la, lb) > config.translation_length_ratio:
        return None
    if overlap < config.translation_min_overlap:
        return None  # decided before the costly order comparison
    seq_a = [x for x in a.anchors if x in shared]
    seq_b = [x for x in b.anchors if x in shared]
    order = difflib.SequenceMatcher(None, seq_a, seq_b, autojunk=False).ratio()
    if order < config.translation_min_order:
        return None
    return round((overlap + order) / 2, 4)


def _lang_family(lang: str) -> str:
    return lang.split("-")[0]


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent.setdefault(x, x)
        while parent != x:
            grand = self.parent.setdefault(parent, parent)
            self.parent[x] = grand
            x, parent = parent, grand
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class ClusterIndex:
    """All signatures in memory: LSH buckets, the union-find, translation anchors."""

    config: ClusterConfig = field(default_factory=ClusterConfig)
    members: dict[int, Member] = field(default_factory=dict)
    buckets: list[dict[bytes, list[int]]] = field(default_factory=list)
    anchor_docs: dict[str, list[int]] = field(default_factory=dict)
    union: UnionFind = field(default_factory=UnionFind)
    translations: dict[int, tuple[int, float]] = field(default_factory=dict)
    candidates_checked: int = 0

    def __post_init__(self) -> None:
        if not self.buckets:
            self.buckets = [{} for _ in range(self.config.bands)]

    def restore(self, member: Member, cluster_id: int | None) -> None:
        """Load a document clustered in an earlier run, without re-checking its pairs."""
        self._index(member)
        if cluster_id is not None and cluster_id != member.id:
            self.union.union(member.id, cluster_id)
        else:
            self.union.find(member.id)

    def add(self, member: Member) -> list[int]:
        """Index a new document and join it to the documents it is a repost of."""
        keys = band_keys(member.signature, self.config)
        joined = []
        for other_id in sorted(self.candidates(member, keys)):
            self.candidates_checked += 1
            if same_article(member, self.members[other_id], self.config):
                self.union.union(member.id, other_id)
                joined.append(other_id)
        self._index(member, keys)
        self.union.find(member.id)
        return joined

    def candidates(self, member: Member, keys: list[bytes] | None = None) -> set[int]:
        found: set[int] = set()
        for band, key in enumerate(keys or band_keys(member.signature, self.config)):
            found.update(self.buckets[band].get(key, ()))
        found.discard(member.id)
        return found

    def _index(self, member: Member, keys: list[bytes] | None = None) -> None:
        self.members[member.id] = member
        for band, key in enumerate(keys or band_keys(member.signature, self.config)):
            self.buckets[band].setdefault(key, []).append(member.id)
        for anchor in set(member.anchors):
            if len(anchor) >= 3 or not anchor.isdigit():
                self.anchor_docs.setdefault(anchor, []).append(member.id)

    def clusters(self) -> dict[int, list[int]]:
        groups: dict[int, list[int]] = {}
        for doc_id in sorted(self.members):
            groups.setdefault(self.union.find(doc_id), []).append(doc_id)
        return groups

    def canonical(self, ids: list[int]) -> int:
        return min(
            ids,
            key=lambda i: (self.members[i].fetched_at, -self.members[i].text_length, i),
        )

    def assignments(self) -> dict[int, tuple[int, int | None]]:
        """doc id -> (cluster_id, duplicate_of): the cluster is named by its canonical."""
        out: dict[int, tuple[int, int | None]] = {}
        for ids in self.clusters().values():
            canon = self.canonical(ids)
            for doc_id in ids:
                out[doc_id] = (canon, None if doc_id == canon else canon)
        return out

    def link_translations(self, new_ids: list[int]) -> dict[int, int]:
        """For new documents: the canonical of the cluster they translate, if any."""
        assignments = self.assignments()
        sizes = Counter(cluster for cluster, _ in assignments.values())
        links: dict[int, int] = {}
        for doc_id in sorted(new_ids):
            member = self.members[doc_id]
            counts = Counter(
                other
                for anchor in set(member.anchors)
                for other in self.anchor_docs.get(anchor, ())
                if other != doc_id
            )
            best: tuple[float, int] | None = None
            for other_id, shared in counts.most_common(50):
                if shared < self.config.translation_min_shared:
                    break
                other = self.members[other_id]
                if assignments[other_id][0] == assignments[doc_id][0]:
                    continue
                score = translation_score(member, other, self.config)
                if score is not None and (best is None or (score, -other_id) > (best[0], -best[1])):
                    best = (score, other_id)
            if best is not None:
                mine, theirs = assignments[doc_id][0], assignments[best[1]][0]
                # The original is the more reposted article; else the earlier capture.
                first, second = sorted(
                    (mine, theirs), key=lambda c: (-sizes[c], self.members[c].fetched_at, c)
                )
                links[second] = first
        return links
