"""Re-ingest: rebuild documents, site profiles, clusters and the search index from the
WARC files with the current extractors, fetching nothing.

The new version is built in shadow tables while search keeps serving the live ones, and
swapped in at once when complete. Batches of records are Prefect tasks (a failed batch
is retried, not the run); a killed re-ingest resumes where it stopped; running it twice
changes nothing the second time. It reports the documents whose text, language or
cluster changed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from archive.catalog import LIVE, Catalog
from archive.documents import DocumentStore, PendingCapture
from archive.layout import ArchiveLayout, ArchiveLock
from archive.shadow import SHADOW, Scope, finish, start_or_resume, swap_in
from extractors.fingerprint import Fingerprinter
from extractors.pipeline import Pipeline
from flows.cluster import cluster_and_index
from flows.process import extract_and_store, reclean_stale, write_text_records

REINGEST_BATCH = 200


@dataclass
class ReingestReport:
    reingest_id: int
    resumed: bool
    scope: dict[str, object]
    documents: int = 0
    text_changed: list[int] = field(default_factory=list)
    lang_changed: list[int] = field(default_factory=list)
    cluster_changed: list[int] = field(default_factory=list)
    new_documents: list[int] = field(default_factory=list)
    removed_documents: list[int] = field(default_factory=list)
    seconds: float = 0.0
    extractor_version: str = ""

    @property
    def changed(self) -> int:
        return len(
            set(self.text_changed)
            | set(self.lang_changed)
            | set(self.cluster_changed)
            | set(self.new_documents)
            | set(self.removed_documents)
        )

    def to_markdown(self) -> str:
        rows = [
            ("documents rebuilt", self.documents),
            ("text changed", len(self.text_changed)),
            ("language changed", len(self.lang_changed)),
            ("cluster changed", len(self.cluster_changed)),
            ("new documents", len(self.new_documents)),
            ("documents gone", len(self.removed_documents)),
        ]
        lines = [f"# Re-ingest {self.reingest_id}", "", "| | |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in rows]
        lines += ["", f"extractor: `{self.extractor_version}`, {self.seconds:.1f} s"]
        return "\n".join(lines) + "\n"


def pending_in_scope(catalog: Catalog, scope: Scope, limit: int) -> list[PendingCapture]:
    where, args = scope.where()
    rows = catalog.conn.execute(
        "SELECT c.id, c.url, c.warc_file, c.warc_offset, c.record_id, c.status, c.fetched_at"
        f" FROM captures c LEFT JOIN {SHADOW.documents} d ON d.capture_id = c.id"
        " WHERE d.id IS NULL AND c.record_type = 'response' AND c.status BETWEEN 200 AND 299"
        f" AND c.url NOT LIKE '%/robots.txt'{where} ORDER BY c.id LIMIT ?",
        (*args, limit),
    ).fetchall()
    from datetime import datetime

    return [
        PendingCapture(r[0], r[1], r[2], r[3], r[4], r[5], datetime.fromisoformat(r[6]))
        for r in rows
    ]


def keep_document_ids(catalog: Catalog, pending: list[PendingCapture]) -> dict[int, int]:
    """Document ids survive a re-ingest: a capture keeps its id, a new one gets a fresh id."""
    ids: dict[int, int] = {}
    top = (
        catalog.conn.execute(
            f"SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM {LIVE.documents}"
            f" UNION ALL SELECT MAX(id) FROM {SHADOW.documents}) AS ids"
        ).fetchone()[0]
        or 0
    )
    for item in pending:
        row = catalog.conn.execute(
            f"SELECT id FROM {LIVE.documents} WHERE capture_id = ?", (item.capture_id,)
        ).fetchone()
        if row is not None:
            ids[item.capture_id] = row[0]
        else:
            top += 1
            ids[item.capture_id] = top
    return ids


def reingest_batch_fn(archive: str, reingest_id: int, limit: int = REINGEST_BATCH) -> int:
    """Re-extract up to `limit` captures of the re-ingest into the shadow tables."""
    layout = ArchiveLayout(Path(archive))
    catalog = Catalog.open(layout.catalog)
    try:
        (scope_json,) = catalog.conn.execute(
            "SELECT scope FROM reingests WHERE id = ?", (reingest_id,)
        ).fetchone()
        pending = pending_in_scope(catalog, Scope.from_json(scope_json), limit)
        if pending:
            extract_and_store(
                layout, catalog, pending, SHADOW, doc_ids=keep_document_ids(catalog, pending)
            )
        return len(pending)
    finally:
        catalog.close()


def rebuild_profiles(catalog: Catalog, pipeline: Pipeline, scope: Scope) -> None:
    """Site profiles of the sites in scope, learned again from every document of the site."""
    from extractors.profiles import article_key, candidates, copy_key

    docs = DocumentStore(catalog, SHADOW)
    where, args = scope.where()
    sites = [
        r[0]
        for r in catalog.conn.execute(
            f"SELECT DISTINCT d.site FROM {SHADOW.documents} d JOIN captures c"
            f" ON c.id = d.capture_id WHERE 1 = 1{where}",
            args,
        )
    ]
    others = f" WHERE site NOT IN ({','.join('?' * len(sites))})" if sites else ""
    with catalog.transaction():
        catalog.conn.execute(
            f"INSERT INTO {SHADOW.profile_articles} SELECT * FROM {LIVE.profile_articles}{others}",
            sites,
        )
        catalog.conn.execute(
            f"INSERT INTO {SHADOW.profile_counts} SELECT * FROM {LIVE.profile_counts}{others}",
            sites,
        )
        for site in sites:
            docs.clear_profiles(site)
            for stored in docs.iter_documents(outcome="ok", site=site):
                paragraphs = pipeline.profile_paragraphs(stored.document)
                docs.observe_article(
                    site,
                    article_key(paragraphs),
                    copy_key(paragraphs),
                    candidates(paragraphs, pipeline.profile_config),
                )
            catalog.conn.execute(
                f"UPDATE {SHADOW.documents} SET profile_digest = NULL WHERE site = ?", (site,)
            )


def carry_over(catalog: Catalog) -> None:
    """What does not change need not be redone: text records and fingerprints of documents
    whose clean text is the same as before; clusters are computed afresh for all."""
    s, live = SHADOW.documents, LIVE.documents
    with catalog.transaction():
        catalog.conn.execute(
            f"UPDATE {s} SET (text_warc_file, text_warc_offset, text_record_id, content_key,"
            " signature, shingles, anchors, weighted_length) = (SELECT l.text_warc_file,"
            " l.text_warc_offset, l.text_record_id, l.content_key, l.signature, l.shingles,"
            f" l.anchors, l.weighted_length FROM {live} l WHERE l.capture_id = {s}.capture_id)"
            f" WHERE EXISTS (SELECT 1 FROM {live} l WHERE l.capture_id = {s}.capture_id"
            f" AND l.text IS {s}.text AND l.signature IS NOT NULL)"
        )
        catalog.conn.execute(
            f"UPDATE {s} SET cluster_id = NULL, duplicate_of = NULL, translation_of = NULL,"
            " indexed = 0"
        )


def compare(catalog: Catalog, report: ReingestReport) -> None:
    s, live = SHADOW.documents, LIVE.documents
    q = catalog.conn.execute
    report.documents = q(f"SELECT COUNT(*) FROM {s}").fetchone()[0]
    pairs = f"FROM {s} n JOIN {live} o ON o.capture_id = n.capture_id"
    report.text_changed = [r[0] for r in q(f"SELECT n.id {pairs} WHERE n.text IS NOT o.text")]
    report.lang_changed = [r[0] for r in q(f"SELECT n.id {pairs} WHERE n.lang IS NOT o.lang")]
    report.cluster_changed = [
        r[0]
        for r in q(
            f"SELECT n.id {pairs} WHERE n.cluster_id IS NOT o.cluster_id"
            " OR n.translation_of IS NOT o.translation_of"
        )
    ]
    report.new_documents = [
        r[0]
        for r in q(f"SELECT id FROM {s} WHERE capture_id NOT IN (SELECT capture_id FROM {live})")
    ]
    report.removed_documents = [
        r[0]
        for r in q(f"SELECT id FROM {live} WHERE capture_id NOT IN (SELECT capture_id FROM {s})")
    ]


def reingest_finish_fn(archive: str, reingest_id: int, resumed: bool) -> dict[str, object]:
    """Profiles, cleaning, text records, clusters and index in the shadow; then the swap."""
    layout = ArchiveLayout(Path(archive))
    catalog = Catalog.open(layout.catalog)
    started = time.monotonic()
    try:
        (scope_json,) = catalog.conn.execute(
            "SELECT scope FROM reingests WHERE id = ?", (reingest_id,)
        ).fetchone()
        scope = Scope.from_json(scope_json)
        pipeline = Pipeline()
        rebuild_profiles(catalog, pipeline, scope)
        reclean_stale(catalog, pipeline, SHADOW)
        carry_over(catalog)
        write_text_records(layout, catalog, pipeline, SHADOW)
        cluster_and_index(catalog, SHADOW)
        report = ReingestReport(
            reingest_id,
            resumed,
            {"since": scope.since, "site": scope.site, "warc_files": list(scope.warc_files)},
            extractor_version=f"{pipeline.version} {Fingerprinter().config}",
        )
        compare(catalog, report)
        report.seconds = time.monotonic() - started
        with catalog.transaction():
            swap_in(catalog)
            finish(catalog, reingest_id, asdict(report))
        return asdict(report)
    finally:
        catalog.close()


reingest_batch = task(name="reingest-batch", cache_policy=NO_CACHE, retries=2)(reingest_batch_fn)
reingest_finish = task(name="reingest-finish", cache_policy=NO_CACHE)(reingest_finish_fn)


def run_reingest(
    archive: str, scope: Scope, batch=reingest_batch_fn, finish_step=reingest_finish_fn
):  # type: ignore[no-untyped-def]
    """The whole re-ingest with plain functions (the flow passes its tasks)."""
    layout = ArchiveLayout(Path(archive))
    catalog = Catalog.open(layout.catalog)
    try:
        reingest_id, scope, resumed = start_or_resume(catalog, scope)
    finally:
        catalog.close()
    while batch(archive, reingest_id, REINGEST_BATCH) == REINGEST_BATCH:
        pass
    return finish_step(archive, reingest_id, resumed)


@flow(name="reingest", log_prints=True)
def reingest_flow(
    archive: str = "archive",
    since: str | None = None,
    site: str | None = None,
    warc_files: list[str] | None = None,
) -> dict[str, object]:
    """Rebuild what is derived from WARC with the current extractors (nothing is fetched)."""
    layout = ArchiveLayout(Path(archive))
    with ArchiveLock(layout):
        result = run_reingest(
            archive, Scope(since, site, tuple(warc_files or ())), reingest_batch, reingest_finish
        )
    report = ReingestReport(**{k: v for k, v in result.items()})  # type: ignore[arg-type]
    create_markdown_artifact(key="reingest-report", markdown=report.to_markdown())
    return result
