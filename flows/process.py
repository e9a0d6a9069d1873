"""Processing: archived responses -> documents (one task per batch), then finalisation.

`process_batch_fn` extracts the captures that have no document yet, lets each site's
profile learn from them, and cleans them with what the profile knows so far.
`finalise_fn` re-cleans documents whose site profile has learned more since, and writes
the clean text as WARC conversion records (WARC-Refers-To the response) into text/.
The result depends on the set of archived pages, not on the order they arrived in.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import BinaryIO

from archive.catalog import LIVE, Catalog, Tables
from archive.clustering import ClusterStore
from archive.documents import (
    DocumentStore,
    NewDocument,
    PendingCapture,
    ProfileObservation,
    SiteRulesCache,
    rules_digest,
)
from archive.layout import ArchiveLayout, as_layout
from archive.storage import Storage, spans_of
from archive.warc import WrittenRecord, read_raw_payload_at
from archive.warcstore import WarcStore
from crawler.settings import settings_from_dict
from extractors.fingerprint import Fingerprint, Fingerprinter
from extractors.language import weighted_length
from extractors.model import Capture, Document
from extractors.pipeline import MAX_DECODED_BYTES, Pipeline
from extractors.worker import BoundedExtractor
from flows.version import software_version

PROCESS_BATCH = 200


def load_capture(
    layout: ArchiveLayout, pending: PendingCapture, storage: Storage | None = None
) -> Capture:
    """The raw response at `warc_offset`, read from wherever the file is (object storage:
    this record only, by ranged reads). Pass `storage` to reuse one client for a batch."""
    with (storage or layout.storage()).open("warc", pending.warc_file) as f:
        return _capture_at(f, pending)


def _capture_at(f: BinaryIO, pending: PendingCapture, offset: int | None = None) -> Capture:
    """The capture whose record starts at `offset` of `f` (default: its file offset)."""
    _, http_headers, body = read_raw_payload_at(
        f, pending.warc_offset if offset is None else offset
    )
    headers = {k.lower(): v for k, v in http_headers}
    return Capture(
        url=pending.url,
        body=body,
        content_type=headers.get("content-type"),
        content_encoding=headers.get("content-encoding"),
        status=pending.status,
        fetched_at=pending.fetched_at,
        record_id=pending.record_id,
        warc_file=pending.warc_file,
        warc_offset=pending.warc_offset,
    )


Loaded = Iterator[tuple[int, Capture | Exception]]


def load_in_file_order(storage: Storage, pending: list[PendingCapture]) -> Loaded:
    """(index in `pending`, capture or why it could not be read), one WARC file at a time
    and each file's records in offset order. From object storage, records whose lengths
    are known are read a span of neighbours per ranged GET (a batch's records usually lie
    together); otherwise a file is opened once per batch."""
    by_file: dict[str, list[int]] = {}
    for index, item in enumerate(pending):
        by_file.setdefault(item.warc_file, []).append(index)
    for name, indexes in by_file.items():
        if storage.remote and all(pending[i].warc_length > 0 for i in indexes):
            yield from _load_spans(storage, name, [pending[i] for i in indexes], indexes)
        else:
            yield from _load_from_file(storage, name, pending, indexes)


def _load_from_file(
    storage: Storage, name: str, pending: list[PendingCapture], indexes: list[int]
) -> Loaded:
    indexes = sorted(indexes, key=lambda i: pending[i].warc_offset)
    try:
        f = storage.open("warc", name)
    except Exception as exc:  # an unreadable file is an outcome for each of its records
        for index in indexes:
            yield index, exc
        return
    with f:
        for index in indexes:
            try:
                yield index, _capture_at(f, pending[index])
            except Exception as exc:
                yield index, exc


def _load_spans(
    storage: Storage, name: str, items: list[PendingCapture], indexes: list[int]
) -> Loaded:
    for span in spans_of([(p.warc_offset, p.warc_length) for p in items]):
        try:
            data = io.BytesIO(storage.read_span("warc", name, span.start, span.end))
        except Exception as exc:  # an unreadable span is an outcome for each of its records
            for member in span.members:
                yield indexes[member], exc
            continue
        for member in span.members:
            item = items[member]
            try:
                yield indexes[member], _capture_at(data, item, item.warc_offset - span.start)
            except Exception as exc:
                yield indexes[member], exc


def text_store(layout: ArchiveLayout, catalog: Catalog, pipeline: Pipeline) -> WarcStore:
    info: dict[str, object] = {
        "software": f"warcflow/{software_version()}",
        "description": "Clean article text derived from the raw captures in warc/",
        "warcflow-extractor-version": pipeline.version,
    }
    return WarcStore(layout, catalog, "text", "warcflow-text", 1024**3, info)


def process_batch_fn(
    archive: ArchiveLayout | str,
    limit: int = PROCESS_BATCH,
    run_id: int | None = None,
    hosts: list[str] | None = None,
) -> dict[str, object]:
    """Extract up to `limit` unprocessed captures of a run (of these hosts: a shard of a
    distributed crawl, so that one site's profile learns in one task); returns counts."""
    layout = as_layout(archive)
    catalog = layout.open_catalog()
    try:
        pending = DocumentStore(catalog).pending_captures(limit, run_id, hosts)
        run = catalog.get_run(run_id) if run_id is not None else None
        max_decoded = (
            settings_from_dict(run.settings).fetch.max_decoded_bytes if run else MAX_DECODED_BYTES
        )
        outcomes = extract_and_store(layout, catalog, pending, LIVE, max_decoded)
        return {"captures": len(pending), "outcomes": outcomes}
    finally:
        catalog.close()


def extract_and_store(
    layout: ArchiveLayout,
    catalog: Catalog,
    pending: list[PendingCapture],
    tables: Tables,
    max_decoded_bytes: int = MAX_DECODED_BYTES,
    doc_ids: dict[int, int] | None = None,
    learn: bool = True,
) -> dict[str, int]:
    """Extract captures (time-bounded), let site profiles learn, clean, fingerprint, save.

    `doc_ids` maps capture ids to the document ids they must keep (re-ingest). Without
    `learn`, documents are saved as extracted, for `flows.reclean` to clean once the
    site profiles are complete (re-ingest learns them from every document at once)."""
    pipeline = Pipeline(max_decoded_bytes=max_decoded_bytes)
    docs = DocumentStore(catalog, tables)
    found: dict[int, Document] = {}
    with BoundedExtractor(max_decoded_bytes=max_decoded_bytes) as extractor:
        for index, capture in load_in_file_order(layout.storage(), pending):
            if isinstance(capture, Exception):  # an unreadable record is an outcome
                doc = Document(url=pending[index].url, outcome="unreadable", reason=str(capture))
            else:
                doc = extractor.extract(capture)
            doc.extractor_version = pipeline.version
            found[index] = doc
    extracted = [(item, found[index]) for index, item in enumerate(pending)]
    outcomes: dict[str, int] = {}
    observations = {
        index: ProfileObservation.of(pipeline.profile_paragraphs(doc), pipeline.profile_config)
        for index, (_, doc) in enumerate(extracted)
        if doc.outcome == "ok"
    }
    if not learn:  # re-ingest: every capture keeps a document id it already has
        if doc_ids is None:
            raise ValueError("saving without learning needs the documents' ids (doc_ids)")
        with catalog.transaction():
            docs.save_many(
                [
                    NewDocument(doc_ids[item.capture_id], item, doc, observations.get(index))
                    for index, (item, doc) in enumerate(extracted)
                ]
            )
        for _, doc in extracted:
            outcomes[doc.outcome] = outcomes.get(doc.outcome, 0) + 1
        return outcomes
    signer = Signer(catalog, tables)
    with catalog.transaction():
        for index, (_, doc) in enumerate(extracted):
            if index in observations:
                docs.observe_article(doc.site, observations[index])
        rules = SiteRulesCache(docs, pipeline.profile_config)  # after the observations
        for index, (item, doc) in enumerate(extracted):
            site_rules, digest = rules.get(doc.site)
            final = pipeline.finish(doc, site_rules)
            doc_id = docs.save(
                item,
                final,
                digest,
                (doc_ids or {}).get(item.capture_id),
                observations.get(index),
            )
            signer.sign(doc_id, final)
            outcomes[final.outcome] = outcomes.get(final.outcome, 0) + 1
    return outcomes


class Signer:
    """Fingerprints documents where they are cleaned (in the batch tasks, in parallel), so
    the one clustering step only compares signatures."""

    def __init__(self, catalog: Catalog, tables: Tables) -> None:
        self.clusters = ClusterStore(catalog, tables)
        self.fingerprinter = Fingerprinter()

    def sign(self, doc_id: int, doc: Document) -> None:
        if doc.outcome != "ok" or not doc.text:
            return
        fp = self.fingerprinter.fingerprint(doc.text)
        self.clusters.save_fingerprint(doc_id, fp, weighted_length(doc.text))


def finalise_fn(archive: ArchiveLayout | str) -> dict[str, object]:
    """Re-clean documents whose site profile changed; write missing text records."""
    layout = as_layout(archive)
    catalog = layout.open_catalog()
    try:
        pipeline = Pipeline()
        recleaned = reclean_stale(catalog, pipeline, LIVE)
        written = write_text_records(layout, catalog, pipeline, LIVE)
        return {"recleaned": recleaned, "text_records": written}
    finally:
        catalog.close()


RECLEAN_BATCH = 500


def stale_document_ids(catalog: Catalog, pipeline: Pipeline, tables: Tables) -> list[int]:
    """Documents cleaned with rules their site profile has since outgrown (or not yet)."""
    docs = DocumentStore(catalog, tables)
    ids: list[int] = []
    for site in docs.sites():
        ids += docs.stale_ids(site, rules_digest(docs.site_rules(site, pipeline.profile_config)))
    return ids


def reclean_stale(catalog: Catalog, pipeline: Pipeline, tables: Tables) -> int:
    """Clean again every document cleaned with rules its site profile has since outgrown."""
    ids = stale_document_ids(catalog, pipeline, tables)
    for start in range(0, len(ids), RECLEAN_BATCH):
        reclean_documents(catalog, pipeline, tables, ids[start : start + RECLEAN_BATCH])
    return len(ids)


def reclean_documents(
    catalog: Catalog, pipeline: Pipeline, tables: Tables, doc_ids: list[int]
) -> int:
    """Clean these documents with their site's current rules; fingerprint those whose
    text changed. Independent per document, so batches of ids can run in parallel."""
    docs = DocumentStore(catalog, tables)
    clusters = ClusterStore(catalog, tables)
    fingerprinter = Fingerprinter()
    rules = SiteRulesCache(docs, pipeline.profile_config)
    cleaned: list[tuple[int, Document, str]] = []
    changed: list[int] = []
    signed: list[tuple[int, Fingerprint, int]] = []
    for stored in docs.get_many(doc_ids):
        site_rules, digest = rules.get(stored.document.site)
        doc = replace(stored.document, outcome="ok", reason=None)
        final = pipeline.finish(doc, site_rules)
        cleaned.append((stored.id, final, digest))
        if final.text != stored.document.text:
            changed.append(stored.id)
            if final.outcome == "ok" and final.text:
                fp = fingerprinter.fingerprint(final.text)
                signed.append((stored.id, fp, weighted_length(final.text)))
    with catalog.transaction():  # in bulk: a round trip per statement, not per document
        docs.update_clean_many(cleaned)
        clusters.forget_many(changed)
        clusters.save_fingerprints(signed)
    return len(doc_ids)


def write_text_records(
    layout: ArchiveLayout,
    catalog: Catalog,
    pipeline: Pipeline,
    tables: Tables,
    among: list[int] | None = None,
) -> int:
    """Clean text as WARC conversion records for documents (of the ids `among`: a batch
    task's own) that have none yet."""
    docs = DocumentStore(catalog, tables)
    store = text_store(layout, catalog, pipeline)
    store.recover()
    written = 0
    while batch := docs.documents_needing_text_record(500, among):
        writer = store.writer()
        placed = []
        for stored in batch:
            doc = stored.document
            rec = writer.write_conversion(
                doc.url,
                stored.warc_record_id or "",
                doc.text,
                doc.fetched_at or datetime.now(UTC),
                conversion_headers(doc),
            )
            placed.append((stored.id, rec))
        if store.remote:  # a file per batch, published before the documents point into it
            store.publish(lambda _, placed=placed: _set_text_records(docs, placed))
            written += len(placed)
            continue
        name, size = store.committed(records=len(placed))
        with catalog.transaction():
            _set_text_records(docs, placed)
            catalog.commit_warc_size(name, size, records=len(placed))
        written += len(placed)
        store.rotate_if_full()
    store.close()
    return written


def _set_text_records(docs: DocumentStore, placed: list[tuple[int, WrittenRecord]]) -> None:
    docs.set_text_records([(i, rec.warc_file, rec.offset, rec.record_id) for i, rec in placed])


ISO_639_3 = {
    "zh-cn": "zho", "zh-tw": "zho", "en": "eng", "tr": "tur", "id": "ind", "ms": "msa",
    "ja": "jpn", "ko": "kor", "de": "deu", "es": "spa", "fr": "fra", "ru": "rus",
    "pt": "por", "it": "ita", "nl": "nld", "pl": "pol", "vi": "vie", "th": "tha",
    "ar": "ara", "hi": "hin",
}  # fmt: skip


def conversion_headers(doc: Document) -> dict[str, str]:
    headers = {
        "WARC-Refers-To-Target-URI": doc.url,
        "X-Warcflow-Language": doc.lang,
        "X-Warcflow-Extractor-Version": doc.extractor_version,
    }
    if doc.lang in ISO_639_3:
        headers["WARC-Identified-Content-Language"] = ISO_639_3[doc.lang]
    return headers
