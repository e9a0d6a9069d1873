"""Site-profile counts: counted in bulk from stored observations (re-ingest) they are the
same as counted one article at a time as pages arrive (crawl), in any order."""

from __future__ import annotations

import random

from archive.catalog import Catalog
from archive.documents import DocumentStore, ProfileObservation
from extractors.profiles import DEFAULT_PROFILE

WATERMARK = "数字化转型网(www.szhzxw.cn)"


def _article(n: int, variant: str = "") -> list[str]:
    return [
        f"第{n}篇文章的第一段讲述工厂的数字化改造。{WATERMARK}",
        f"第{n}篇文章的第二段，记者走访了{n}家企业，这一段比其他段落都要长一些{variant}。",
        "免责声明：本文仅代表作者观点。",
    ]


def _observations() -> list[ProfileObservation]:
    obs = [ProfileObservation.of(_article(n), DEFAULT_PROFILE) for n in range(8)]
    # a second copy of article 3 (same longest paragraph, other text): counted once
    obs.append(ProfileObservation.of([*_article(3), "转载请注明出处"], DEFAULT_PROFILE))
    return obs


def _tables(catalog: Catalog) -> tuple[list[tuple], list[tuple]]:
    q = catalog.conn.execute
    return (
        [tuple(r) for r in q("SELECT * FROM profile_articles ORDER BY site, article")],
        [tuple(r) for r in q("SELECT * FROM profile_counts ORDER BY site, kind, text")],
    )


def test_observation_round_trips_through_json() -> None:
    obs = _observations()[0]
    assert ProfileObservation.from_json(obs.to_json()) == obs
    assert ("suffix", WATERMARK) in obs.candidates


def test_bulk_counts_equal_incremental_counts_in_any_order(catalog: Catalog) -> None:
    docs = DocumentStore(catalog)
    observations = _observations()
    results = []
    for seed in range(3):
        shuffled = observations[:]
        random.Random(seed).shuffle(shuffled)
        with catalog.transaction():
            docs.clear_profiles()
            for obs in shuffled:
                docs.observe_article("news.example", obs)
        results.append(_tables(catalog))
    with catalog.transaction():
        docs.clear_profiles()
        docs.count_articles("news.example", iter(reversed(observations)))
    bulk = _tables(catalog)
    assert all(r == bulk for r in results)
    articles, counts = bulk
    assert len(articles) == 8  # the repost of article 3 is not a ninth article
    assert ("news.example", "suffix", WATERMARK, 8) in counts
    rules = docs.site_rules("news.example", DEFAULT_PROFILE)
    assert WATERMARK in rules.suffixes
