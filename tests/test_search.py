"""Search: CJK bigrams, traditional/simplified folding, diacritics, filters, clusters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archive.catalog import Catalog
from archive.layout import ArchiveLayout
from archive.search import (
    SearchFilters,
    SearchIndex,
    analyse,
    fold_case,
    fts_query,
    snippet,
    terms,
    tsvector_text,
)
from flows.cli import app


@pytest.fixture(scope="module")
def index(demo_archive: Path):  # type: ignore[no-untyped-def]
    catalog = Catalog.open(ArchiveLayout(demo_archive).catalog, readonly=True)
    yield SearchIndex(catalog)
    catalog.close()


def paths(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return ["/" + h.url.split("/", 3)[3] for h in hits]


def test_cjk_is_indexed_as_bigrams_and_folded_to_simplified() -> None:
    assert analyse("數據中心").split() == ["数据", "据中", "中心"]
    assert fts_query("融資 data") == '"融资" AND "data"'


def test_folding_keeps_every_character_one_character_of_its_class() -> None:
    # terms() folds a whole text before splitting it into words: the same words as
    # folding each word only if no character changes class or length when folded.
    word = re.compile(r"[^\W_]")
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        c = chr(code)
        folded = fold_case(c)
        assert len(folded) == 1 and bool(word.match(c)) == bool(word.match(folded)), hex(code)


def test_terms_fold_case_diacritics_and_dotless_i() -> None:
    assert terms("Yatırım İSTANBUL'da Ünïcødé, 融資!") == [
        "yatirim", "istanbul", "da", "unicøde", "融资",  # ø is a letter, not o + a mark
    ]  # fmt: skip
    assert tsvector_text("Başlık", "yatırım yatırım") == "'baslik':1A 'yatirim':3 'yatirim':4"


@pytest.mark.parametrize("query", ["融资", "融資"])
def test_two_character_chinese_query_finds_the_repost_cluster_once(index, query: str) -> None:  # type: ignore[no-untyped-def]
    hits = index.search(query, limit=20)
    found = paths(hits)
    cluster_hits = [h for h in hits if h.copies >= 3]
    assert len(cluster_hits) == 1  # the reposted article shows up once, with its copies
    assert any("linjiang" in p for p in found)
    assert all(h.snippet.count("<mark>") >= 1 for h in hits if h.lang.startswith("zh"))


def test_traditional_query_finds_simplified_text_and_back(index) -> None:  # type: ignore[no-untyped-def]
    simplified = {h.id for h in index.search("数据中心", limit=50)}
    traditional = {h.id for h in index.search("數據中心", limit=50)}
    assert simplified == traditional and simplified


def test_zh_tw_filter(index) -> None:  # type: ignore[no-untyped-def]
    hits = index.search("夜市", SearchFilters(lang="zh-tw"))
    assert hits and all(h.lang == "zh-tw" for h in hits)
    assert "/life/20260308/night-market-mobile-payment.html" in paths(hits)


@pytest.mark.parametrize("query", ["yatırım", "yatirim", "YATIRIM"])
def test_turkish_with_and_without_diacritics(index, query: str) -> None:  # type: ignore[no-untyped-def]
    hits = index.search(query)
    assert hits and all(h.lang == "tr" for h in hits)


def test_indonesian_and_english(index) -> None:  # type: ignore[no-untyped-def]
    assert any(h.lang == "id" for h in index.search("pendanaan"))
    english = index.search("liquid cooling", SearchFilters(lang="en"))
    assert english and english[0].lang == "en"


def test_site_and_date_filters(index) -> None:  # type: ignore[no-untyped-def]
    all_hits = index.search("融资", limit=50)
    site = all_hits[0].site
    assert all(h.site == site for h in index.search("融资", SearchFilters(site=site), limit=50))
    assert index.search("融资", SearchFilters(since="2999-01-01")) == []


def test_snippet_highlights_and_escapes() -> None:
    text = "The <b>council</b> approved the café budget."
    out = snippet(text, "cafe")
    assert "<mark>café</mark>" in out and "&lt;b&gt;" in out


def test_cli_json_lines(demo_archive: Path) -> None:
    result = CliRunner().invoke(app, ["search", "融资", "--json", "--archive", str(demo_archive)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert records
    assert set(records[0]) == {
        "id", "url", "title", "lang", "site", "published", "cluster_id", "copies", "score", "snippet",
    }  # fmt: skip
