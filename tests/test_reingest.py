"""Re-ingest: rebuilt from WARC, idempotent, resumable, atomic for readers, reports changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.catalog import Catalog
from archive.layout import ArchiveLayout
from archive.search import SearchIndex
from archive.shadow import Scope
from extractors.fingerprint import Fingerprint, Fingerprinter
from flows import reingest as reingest_module
from flows.reingest import ReingestSteps, reingest_batch_fn, reingest_clean_fn, run_reingest


@pytest.fixture
def archive(demo_archive: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "archive"
    shutil.copytree(demo_archive, copy)
    return copy


def query(archive: Path, sql: str, *args: object) -> list[tuple]:  # type: ignore[type-arg]
    catalog = Catalog.open(ArchiveLayout(archive).catalog, readonly=True)
    try:
        return [tuple(r) for r in catalog.conn.execute(sql, args).fetchall()]
    finally:
        catalog.close()


def make_stale(archive: Path, doc_id: int) -> None:
    """As if an older extractor had left another text for this document."""
    catalog = Catalog.open(ArchiveLayout(archive).catalog)
    catalog.conn.execute("UPDATE documents SET text = 'stale text' WHERE id = ?", (doc_id,))
    catalog.close()


def snapshot(archive: Path) -> list[tuple]:  # type: ignore[type-arg]
    return query(
        archive,
        "SELECT id, capture_id, text, lang, cluster_id, duplicate_of, translation_of, removed"
        " FROM documents ORDER BY id",
    )


def test_reingest_rebuilds_the_same_archive_and_twice_changes_nothing(archive: Path) -> None:
    before = snapshot(archive)
    first = run_reingest(str(archive), Scope())
    assert first["documents"] == len(before)
    assert snapshot(archive) == before  # same extractors, same WARC: same documents and ids
    second = run_reingest(str(archive), Scope())
    for key in ("text_changed", "lang_changed", "cluster_changed", "new_documents"):
        assert second[key] == [], key
    assert snapshot(archive) == before


def test_reingest_repairs_what_an_older_extractor_left(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc_id, text = query(archive, "SELECT id, text FROM documents WHERE lang = 'tr' LIMIT 1")[0]
    signatures = query(archive, "SELECT id, signature FROM documents ORDER BY id")
    catalog = Catalog.open(ArchiveLayout(archive).catalog)
    catalog.conn.execute(
        "UPDATE documents SET text = text || ' ESKİ ÇIKARICI', lang = 'en' WHERE id = ?", (doc_id,)
    )
    catalog.close()
    fingerprinted: list[str] = []
    original = Fingerprinter.fingerprint

    def counting(self: Fingerprinter, text: str) -> Fingerprint:
        fingerprinted.append(text)
        return original(self, text)

    monkeypatch.setattr(Fingerprinter, "fingerprint", counting)
    report = run_reingest(str(archive), Scope())
    assert doc_id in report["text_changed"] and doc_id in report["lang_changed"]
    assert query(archive, "SELECT text, lang FROM documents WHERE id = ?", doc_id) == [(text, "tr")]
    assert fingerprinted == [text]  # unchanged texts keep their fingerprints
    assert query(archive, "SELECT id, signature FROM documents ORDER BY id") == signatures


def test_killed_reingest_resumes_and_readers_keep_the_old_version(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_stale(archive, 1)
    monkeypatch.setattr(reingest_module, "REINGEST_BATCH", 5)
    calls = {"n": 0}

    def crashing_batch(layout: ArchiveLayout, reingest_id: int, batch: list) -> int:  # type: ignore[type-arg]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")  # as if the process died mid-run
        return reingest_batch_fn(layout, reingest_id, batch)

    with pytest.raises(KeyboardInterrupt):
        run_reingest(str(archive), Scope(), ReingestSteps(extract=crashing_batch))
    # readers still see the old version, search included
    assert query(archive, "SELECT text FROM documents WHERE id = 1") == [("stale text",)]
    assert query(archive, "SELECT COUNT(*) FROM documents_next")[0][0] == 10
    catalog = Catalog.open(ArchiveLayout(archive).catalog, readonly=True)
    assert SearchIndex(catalog).search("融资")
    catalog.close()
    report = run_reingest(str(archive), Scope())
    assert report["resumed"] is True
    assert 1 in report["text_changed"]
    assert query(archive, "SELECT text FROM documents WHERE id = 1")[0][0] != "stale text"
    assert query(archive, "SELECT name FROM sqlite_master WHERE name LIKE '%_next'") == []


def test_scope_limits_what_is_re_extracted(archive: Path) -> None:
    site = query(archive, "SELECT site FROM documents WHERE lang = 'id' LIMIT 1")[0][0]
    catalog = Catalog.open(ArchiveLayout(archive).catalog)
    catalog.conn.execute("UPDATE documents SET text = 'old' WHERE site != ?", (site,))
    catalog.close()
    report = run_reingest(str(archive), Scope(site=site))
    assert report["text_changed"] == []  # the other sites were copied, not re-extracted
    assert query(archive, "SELECT COUNT(*) FROM documents WHERE text = 'old'")[0][0] > 0


def conversion_records(archive: Path) -> int:
    count = 0
    for path in sorted((archive / "text").glob("*.warc.gz")):
        with path.open("rb") as f:
            count += sum(1 for r in ArchiveIterator(f) if r.rec_type == "conversion")
    return count


def test_a_clean_batch_run_again_after_it_committed_writes_nothing_twice(archive: Path) -> None:
    make_stale(archive, 1)
    records = conversion_records(archive)
    again: list[int] = []

    def clean_twice(layout: ArchiveLayout, doc_ids: list[int]) -> int:
        cleaned = reingest_clean_fn(layout, doc_ids)
        again.append(reingest_clean_fn(layout, doc_ids))  # a retry of a batch that finished
        return cleaned

    report = run_reingest(str(archive), Scope(), ReingestSteps(clean=clean_twice))
    assert again and set(again) == {0}
    assert report["text_changed"] == [1]
    assert conversion_records(archive) == records + 1  # only the changed text is written
    unrecorded = "SELECT COUNT(*) FROM documents WHERE outcome = 'ok' AND text_record_id IS NULL"
    assert query(archive, unrecorded) == [(0,)]
    assert (
        query(archive, "SELECT COUNT(*) FROM search_index")[0][0]
        == (query(archive, "SELECT COUNT(*) FROM documents WHERE outcome = 'ok'")[0][0])
    )


def test_a_reingest_killed_while_cleaning_resumes_without_writing_a_text_twice(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_stale(archive, 1)
    records = conversion_records(archive)
    monkeypatch.setattr(reingest_module, "RECLEAN_BATCH", 5)
    cleaned: list[int] = []

    def crashing_clean(layout: ArchiveLayout, doc_ids: list[int]) -> int:
        if 1 in cleaned:
            raise KeyboardInterrupt("killed")  # after the batch with document 1 committed
        cleaned.extend(doc_ids)
        return reingest_clean_fn(layout, doc_ids)

    with pytest.raises(KeyboardInterrupt):
        run_reingest(str(archive), Scope(), ReingestSteps(clean=crashing_clean))
    assert conversion_records(archive) == records + 1
    report = run_reingest(str(archive), Scope())
    assert report["resumed"] is True and report["text_changed"] == [1]
    assert conversion_records(archive) == records + 1  # the resumed run kept its record
    assert query(archive, "SELECT text FROM documents WHERE id = 1")[0][0] != "stale text"
