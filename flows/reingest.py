"""Re-ingest: rebuild documents, site profiles, clusters and the search index from the
WARC files with the current extractors, fetching nothing.

The new version is built in shadow tables while search keeps serving the live ones, and
swapped in at once when complete. A killed re-ingest resumes where it stopped; running
it twice changes nothing the second time. It reports the documents whose text, language
or cluster changed.

The work is a map, a reduce and a map again, so that the expensive parts run in
parallel when a Dask cluster is given (`--dask`), and one after another otherwise:
1. extract: batches of captures, each read from the WARC by offset and extracted
   (parallel; a failed batch is retried, not the run);
2. profiles: each site's profile learned from all its documents (one step);
3. clean: batches of documents cleaned with their site's rules and fingerprinted
   (parallel);
4. finish: text records, clusters (one step that sees every signature), the search
   index, the comparison with the live version, and the swap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from archive.catalog import LIVE, Catalog, id_chunks
from archive.documents import DocumentStore, PendingCapture, ProfileObservation
from archive.layout import ArchiveLayout, ArchiveLock, as_layout
from archive.shadow import SHADOW, Scope, finish, start_or_resume, swap_in
from extractors.fingerprint import Fingerprinter
from extractors.pipeline import Pipeline
from flows.cluster import cluster_and_index
from flows.process import RECLEAN_BATCH, extract_and_store, stale_document_ids, write_text_records
from flows.reclean import reclean_batch
from flows.runner import SEQUENTIAL, BatchRunner, batch_runner, even_batches

# Captures per extract task: 5-10 s of work, so that a task's ~150 ms of Prefect cost on
# Dask and its extraction child's start (~80 ms) stay near 3 % (flows/runner.py).
REINGEST_BATCH = 500


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


_PENDING_COLUMNS = (
    "c.id, c.url, c.warc_file, c.warc_offset, c.record_id, c.status, c.fetched_at, c.warc_length"
)


def _pending(row: Any) -> PendingCapture:
    return PendingCapture(
        row[0], row[1], row[2], row[3], row[4], row[5], datetime.fromisoformat(row[6]), row[7]
    )


def pending_in_scope(catalog: Catalog, scope: Scope) -> list[tuple[int, int]]:
    """(capture id, document id) of every capture in scope not re-extracted yet.

    Document ids survive a re-ingest: a capture keeps its document's id, and a capture
    without one gets a fresh id here, once, so that batches can run in any order."""
    where, args = scope.where()
    rows = catalog.conn.execute(
        f"SELECT c.id, l.id FROM captures c LEFT JOIN {SHADOW.documents} d"
        f" ON d.capture_id = c.id LEFT JOIN {LIVE.documents} l ON l.capture_id = c.id"
        " WHERE d.id IS NULL AND c.record_type = 'response' AND c.status BETWEEN 200 AND 299"
        f" AND c.url NOT LIKE '%/robots.txt'{where} ORDER BY c.id",
        args,
    ).fetchall()
    top = (
        catalog.conn.execute(
            f"SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM {LIVE.documents}"
            f" UNION ALL SELECT MAX(id) FROM {SHADOW.documents}) AS ids"
        ).fetchone()[0]
        or 0
    )
    pairs = []
    for capture_id, doc_id in rows:
        if doc_id is None:
            top += 1
            doc_id = top
        pairs.append((capture_id, doc_id))
    return pairs


def captures_by_id(catalog: Catalog, ids: list[int]) -> list[PendingCapture]:
    rows = catalog.conn.execute(
        f"SELECT {_PENDING_COLUMNS} FROM captures c WHERE c.id IN ({','.join('?' * len(ids))})"
        " ORDER BY c.id",
        ids,
    ).fetchall()
    return [_pending(r) for r in rows]


def reingest_batch_fn(
    archive: ArchiveLayout | str, reingest_id: int, batch: list[tuple[int, int]]
) -> int:
    """Re-extract these (capture id, document id) pairs into the shadow documents; they
    are cleaned later, once every site profile is complete."""
    layout = as_layout(archive)
    catalog = layout.open_catalog()
    try:
        doc_ids = dict(batch)
        done = _in_shadow(catalog, list(doc_ids))  # a retried batch skips what it did
        pending = [p for p in captures_by_id(catalog, list(doc_ids)) if p.capture_id not in done]
        if pending:
            extract_and_store(layout, catalog, pending, SHADOW, doc_ids=doc_ids, learn=False)
        return len(pending)
    finally:
        catalog.close()


def _in_shadow(catalog: Catalog, capture_ids: list[int]) -> set[int]:
    """Those of these captures that have a shadow document already."""
    found: set[int] = set()
    for marks, chunk in id_chunks(capture_ids):
        rows = catalog.conn.execute(
            f"SELECT capture_id FROM {SHADOW.documents} WHERE capture_id IN {marks}", chunk
        ).fetchall()
        found.update(r[0] for r in rows)
    return found


def rebuild_profiles(catalog: Catalog, pipeline: Pipeline, scope: Scope) -> None:
    """Site profiles of the sites in scope, counted again from every document of the site."""
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
        for table in (SHADOW.profile_articles, SHADOW.profile_counts):
            catalog.conn.execute(f"DELETE FROM {table}")  # a resumed re-ingest starts over
        catalog.conn.execute(
            f"INSERT INTO {SHADOW.profile_articles} SELECT * FROM {LIVE.profile_articles}{others}",
            sites,
        )
        catalog.conn.execute(
            f"INSERT INTO {SHADOW.profile_counts} SELECT * FROM {LIVE.profile_counts}{others}",
            sites,
        )
        for site in sites:
            docs.count_articles(site, _observations(docs, pipeline, site))
            catalog.conn.execute(
                f"UPDATE {SHADOW.documents} SET profile_digest = NULL WHERE site = ?", (site,)
            )


def _observations(
    docs: DocumentStore, pipeline: Pipeline, site: str
) -> Iterator[ProfileObservation]:
    """The observations the extract batches stored; computed here for documents that
    have none (extracted by a version that did not store them)."""
    missing = []
    for doc_id, obs in docs.observations(site):
        if obs is None:
            missing.append(doc_id)
        else:
            yield obs
    for stored in docs.get_many(missing):
        paragraphs = pipeline.profile_paragraphs(stored.document)
        yield ProfileObservation.of(paragraphs, pipeline.profile_config)


def carry_over(catalog: Catalog) -> None:
    """What does not change need not be redone: unsigned documents whose clean text is
    the same as before keep their text records and fingerprints (the clean batches do
    this for theirs; this is for what they did not cover, such as a resumed run's)."""
    s, live = SHADOW.documents, LIVE.documents
    with catalog.transaction():
        catalog.conn.execute(
            f"UPDATE {s} SET (text_warc_file, text_warc_offset, text_record_id, content_key,"
            " signature, shingles, anchors, weighted_length) = (SELECT l.text_warc_file,"
            " l.text_warc_offset, l.text_record_id, l.content_key, l.signature, l.shingles,"
            f" l.anchors, l.weighted_length FROM {live} l WHERE l.capture_id = {s}.capture_id)"
            f" WHERE EXISTS (SELECT 1 FROM {live} l WHERE l.capture_id = {s}.capture_id"
            f" AND l.text IS {s}.text AND l.signature IS NOT NULL) AND {s}.signature IS NULL"
        )


def reset_clusters(catalog: Catalog) -> None:
    """Clusters are computed afresh for every document."""
    with catalog.transaction():
        catalog.conn.execute(
            f"UPDATE {SHADOW.documents} SET cluster_id = NULL, duplicate_of = NULL,"
            " translation_of = NULL WHERE cluster_id IS NOT NULL OR duplicate_of IS NOT NULL"
            " OR translation_of IS NOT NULL"
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


def _scope(catalog: Catalog, reingest_id: int) -> Scope:
    (scope_json,) = catalog.conn.execute(
        "SELECT scope FROM reingests WHERE id = ?", (reingest_id,)
    ).fetchone()
    return Scope.from_json(scope_json)


def reingest_plan_fn(
    archive: ArchiveLayout | str, reingest_id: int, slots: int = 1
) -> list[list[tuple[int, int]]]:
    """The extraction batches still to do (plain data, for the tasks), shared evenly
    among `slots` workers."""
    layout = as_layout(archive)
    catalog = layout.open_catalog()
    try:
        pairs = pending_in_scope(catalog, _scope(catalog, reingest_id))
    finally:
        catalog.close()
    return even_batches(pairs, REINGEST_BATCH, slots)


def reingest_profiles_fn(
    archive: ArchiveLayout | str, reingest_id: int, slots: int = 1
) -> list[list[int]]:
    """Learn the site profiles again; returns the batches of documents to clean."""
    layout = as_layout(archive)
    catalog = layout.open_catalog()
    try:
        pipeline = Pipeline()
        rebuild_profiles(catalog, pipeline, _scope(catalog, reingest_id))
        ids = stale_document_ids(catalog, pipeline, SHADOW)
    finally:
        catalog.close()
    return even_batches(ids, RECLEAN_BATCH, slots)


def reingest_clean_fn(archive: ArchiveLayout | str, doc_ids: list[int]) -> int:
    """Clean and fingerprint a batch of shadow documents with their site's rules, give
    them their text records (kept where the text is unchanged, else written to the task's
    own file) and their search index entries: `flows.reclean.reclean_batch`."""
    layout = as_layout(archive)
    catalog = layout.open_catalog()
    try:
        return reclean_batch(layout, catalog, Pipeline(), doc_ids)
    finally:
        catalog.close()


def reingest_finish_fn(
    archive: ArchiveLayout | str, reingest_id: int, resumed: bool
) -> dict[str, object]:
    """Text records, clusters and index in the shadow; the comparison; then the swap."""
    layout = as_layout(archive)
    catalog = layout.open_catalog()
    started = time.monotonic()
    try:
        scope = _scope(catalog, reingest_id)
        pipeline = Pipeline()
        carry_over(catalog)  # what no clean batch covered (a resumed run's documents)
        write_text_records(layout, catalog, pipeline, SHADOW)
        reset_clusters(catalog)
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


@dataclass(frozen=True)
class ReingestSteps:
    """The steps of a re-ingest: plain functions by default; the flow passes its tasks."""

    plan: Callable[..., list[list[tuple[int, int]]]] = reingest_plan_fn
    extract: Callable[..., int] = reingest_batch_fn
    profiles: Callable[..., list[list[int]]] = reingest_profiles_fn
    clean: Callable[..., int] = reingest_clean_fn
    finish: Callable[..., dict[str, object]] = reingest_finish_fn


reingest_plan = task(name="reingest-plan", cache_policy=NO_CACHE)(reingest_plan_fn)
reingest_batch = task(name="reingest-batch", cache_policy=NO_CACHE, retries=2)(reingest_batch_fn)
reingest_profiles = task(name="reingest-profiles", cache_policy=NO_CACHE)(reingest_profiles_fn)
reingest_clean = task(name="reingest-clean", cache_policy=NO_CACHE, retries=2)(reingest_clean_fn)
reingest_finish = task(name="reingest-finish", cache_policy=NO_CACHE)(reingest_finish_fn)
TASKS = ReingestSteps(
    reingest_plan, reingest_batch, reingest_profiles, reingest_clean, reingest_finish
)


def run_reingest(
    archive: ArchiveLayout | str,
    scope: Scope,
    steps: ReingestSteps | None = None,
    runner: BatchRunner = SEQUENTIAL,
) -> dict[str, object]:
    """The whole re-ingest; the runner runs the batches in order, or at once on Dask."""
    steps = steps or ReingestSteps()
    layout = as_layout(archive)
    catalog = layout.open_catalog()
    try:
        reingest_id, scope, resumed = start_or_resume(catalog, scope)
    finally:
        catalog.close()
    batches = steps.plan(layout, reingest_id, runner.slots)
    runner.run_all(steps.extract, [(layout, reingest_id, b) for b in batches])
    to_clean = steps.profiles(layout, reingest_id, runner.slots)
    runner.run_all(steps.clean, [(layout, ids) for ids in to_clean])
    return steps.finish(layout, reingest_id, resumed)


@flow(name="reingest", log_prints=True)
def reingest_flow(
    archive: str = "archive",
    since: str | None = None,
    site: str | None = None,
    warc_files: list[str] | None = None,
    dask: str | None = None,
) -> dict[str, object]:
    """Rebuild what is derived from WARC with the current extractors (nothing is fetched).

    With `dask` (a scheduler address), the batches run at once on its workers; the
    archive's catalog and storage must then be shared (PostgreSQL, object storage)."""
    layout = as_layout(archive)
    with ArchiveLock(layout), batch_runner(dask) as runner:
        result = run_reingest(layout, Scope(since, site, tuple(warc_files or ())), TASKS, runner)
    report = ReingestReport(**{k: v for k, v in result.items()})  # type: ignore[arg-type]
    create_markdown_artifact(key="reingest-report", markdown=report.to_markdown())
    return result
