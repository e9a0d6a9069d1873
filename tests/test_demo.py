"""The bundled demo sites, crawled end to end: cleaning, languages, reposts, translations."""

from __future__ import annotations

from pathlib import Path

from crawling import warcio_check

from archive.catalog import Catalog
from archive.documents import DocumentStore
from archive.layout import ArchiveLayout

ORIGINAL = "/news/2026/0310-linjiang-yungu-financing.html"
REPOSTS = (
    "/thread-1024-1-1.html",
    "/print/tid-1024.html",
    "/news/20260311/linjiang-yungu-datacenter.html",
    "/a/2026/03/linjiang-yungu-data-center-bilingual.html",
)
TRANSLATION = "/ekonomi/2026/03/linjiang-veri-merkezi-4-8-milyar-yuan-finansman.html"
NOT_REPOSTS = (
    "/news/2026/0312-yungu-phase2-cost-analysis.html",
    "/news/20260312/linjiang-datacenter-water-grid.html",
)


def documents(root: Path) -> dict[str, object]:
    catalog = Catalog.open(ArchiveLayout(root).catalog, readonly=True)
    docs = DocumentStore(catalog).iter_documents()
    return {"/" + d.document.url.split("/", 3)[3]: d for d in docs}


def test_demo_warc_is_valid_and_languages_are_right(demo_archive: Path) -> None:
    files = sorted((demo_archive / "warc").glob("*.warc.gz")) + sorted(
        (demo_archive / "text").glob("*.warc.gz")
    )
    assert warcio_check(files).returncode == 0
    docs = documents(demo_archive)
    langs = {d.document.lang for d in docs.values()}  # type: ignore[attr-defined]
    assert {"zh-cn", "zh-tw", "en", "tr", "id"} <= langs


def test_repost_set_is_one_cluster_and_translation_is_linked(demo_archive: Path) -> None:
    docs = documents(demo_archive)
    original = docs[ORIGINAL]
    cluster = original.cluster_id  # type: ignore[attr-defined]
    assert cluster is not None
    for path in REPOSTS:
        assert docs[path].cluster_id == cluster, path  # type: ignore[attr-defined]
    for path in NOT_REPOSTS:
        assert docs[path].cluster_id != cluster, path  # type: ignore[attr-defined]
    translation = docs[TRANSLATION]
    assert translation.cluster_id != cluster  # type: ignore[attr-defined]
    # linked, not clustered: the more reposted Chinese article is the original
    assert translation.translation_of == cluster  # type: ignore[attr-defined]


def test_site_watermark_is_learned_and_removed(demo_archive: Path) -> None:
    docs = documents(demo_archive)
    text = docs[ORIGINAL].document.text  # type: ignore[attr-defined]
    assert "智造观察网(www.zhizaogc.cn)" not in text
    assert "本轮融资由Lanstream Compute牵头" in text
    rules = {r.rule for r in docs[ORIGINAL].document.removed}  # type: ignore[attr-defined]
    assert "profile.suffix" in rules
