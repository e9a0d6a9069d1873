"""Processing: archived responses -> documents (one task per batch), then finalisation.

`process_batch_fn` extracts the captures that have no document yet, lets each site's
profile learn from them, and cleans them with what the profile knows so far.
`finalise_fn` re-cleans documents whose site profile has learned more since, and writes
the clean text as WARC conversion records (WARC-Refers-To the response) into text/.
The result depends on the set of archived pages, not on the order they arrived in.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from archive.catalog import LIVE, Catalog, Tables
from archive.clustering import ClusterStore
from archive.documents import DocumentStore, PendingCapture, rules_digest
from archive.layout import ArchiveLayout
from archive.warc import read_raw_payload_at
from archive.warcstore import WarcStore
from crawler.settings import settings_from_dict
from extractors.clean import SiteRules
from extractors.model import Capture, Document
from extractors.pipeline import MAX_DECODED_BYTES, Pipeline
from extractors.profiles import article_key, candidates, copy_key
from extractors.worker import BoundedExtractor
from flows.version import software_version

PROCESS_BATCH = 200


def load_capture(layout: ArchiveLayout, pending: PendingCapture) -> Capture:
    _, http_headers, body = read_raw_payload_at(
        layout.warc_dir / pending.warc_file, pending.warc_offset
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


def text_store(layout: ArchiveLayout, catalog: Catalog, pipeline: Pipeline) -> WarcStore:
    info: dict[str, object] = {
        "software": f"warcflow/{software_version()}",
        "description": "Clean article text derived from the raw captures in warc/",
        "warcflow-extractor-version": pipeline.version,
    }
    return WarcStore(layout, catalog, "text", "warcflow-text", 1024**3, info)


def process_batch_fn(
    archive: str, limit: int = PROCESS_BATCH, run_id: int | None = None
) -> dict[str, object]:
    """Extract up to `limit` unprocessed captures of a run; returns counts (plain data)."""
    layout = ArchiveLayout(Path(archive))
    catalog = Catalog.open(layout.catalog)
    try:
        pending = DocumentStore(catalog).pending_captures(limit, run_id)
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
) -> dict[str, int]:
    """Extract captures (time-bounded), let site profiles learn, clean, save documents.

    `doc_ids` maps capture ids to the document ids they must keep (re-ingest)."""
    pipeline = Pipeline(max_decoded_bytes=max_decoded_bytes)
    docs = DocumentStore(catalog, tables)
    extracted: list[tuple[PendingCapture, Document]] = []
    with BoundedExtractor(max_decoded_bytes=max_decoded_bytes) as extractor:
        for item in pending:
            try:
                capture = load_capture(layout, item)
            except Exception as exc:  # an unreadable record is an outcome, not a crash
                doc = Document(url=item.url, outcome="unreadable", reason=str(exc))
            else:
                doc = extractor.extract(capture)
            doc.extractor_version = pipeline.version
            extracted.append((item, doc))
    outcomes: dict[str, int] = {}
    with catalog.transaction():
        for _, doc in extracted:
            if doc.outcome == "ok":
                paragraphs = pipeline.profile_paragraphs(doc)
                docs.observe_article(
                    doc.site,
                    article_key(paragraphs),
                    copy_key(paragraphs),
                    candidates(paragraphs, pipeline.profile_config),
                )
        rules: dict[str, SiteRules] = {}
        for item, doc in extracted:
            if doc.site not in rules:
                rules[doc.site] = docs.site_rules(doc.site, pipeline.profile_config)
            site_rules = rules[doc.site]
            final = pipeline.finish(doc, site_rules)
            docs.save(item, final, rules_digest(site_rules), (doc_ids or {}).get(item.capture_id))
            outcomes[final.outcome] = outcomes.get(final.outcome, 0) + 1
    return outcomes


def finalise_fn(archive: str) -> dict[str, object]:
    """Re-clean documents whose site profile changed; write missing text records."""
    layout = ArchiveLayout(Path(archive))
    catalog = Catalog.open(layout.catalog)
    try:
        pipeline = Pipeline()
        recleaned = reclean_stale(catalog, pipeline, LIVE)
        written = write_text_records(layout, catalog, pipeline, LIVE)
        return {"recleaned": recleaned, "text_records": written}
    finally:
        catalog.close()


def reclean_stale(catalog: Catalog, pipeline: Pipeline, tables: Tables) -> int:
    """Clean again every document cleaned with rules its site profile has since outgrown."""
    docs = DocumentStore(catalog, tables)
    clusters = ClusterStore(catalog, tables)
    recleaned = 0
    for site in docs.sites():
        site_rules = docs.site_rules(site, pipeline.profile_config)
        digest = rules_digest(site_rules)
        stale = docs.stale_documents(site, digest)
        with catalog.transaction():
            for stored in stale:
                doc = replace(stored.document, outcome="ok", reason=None)
                final = pipeline.finish(doc, site_rules)
                docs.update_clean(stored.id, final, digest)
                if final.text != stored.document.text:
                    catalog.conn.execute(
                        f"UPDATE {tables.documents} SET text_record_id = NULL WHERE id = ?",
                        (stored.id,),
                    )
                    clusters.forget(stored.id)
                recleaned += 1
    return recleaned


def write_text_records(
    layout: ArchiveLayout, catalog: Catalog, pipeline: Pipeline, tables: Tables
) -> int:
    """Clean text as WARC conversion records for documents that have none yet."""
    docs = DocumentStore(catalog, tables)
    store = text_store(layout, catalog, pipeline)
    store.recover()
    written = 0
    while batch := docs.documents_needing_text_record(500):
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
        name, size = store.committed(records=len(placed))
        with catalog.transaction():
            for doc_id, rec in placed:
                docs.set_text_record(doc_id, rec.warc_file, rec.offset, rec.record_id)
            catalog.commit_warc_size(name, size, records=len(placed))
        written += len(placed)
        store.rotate_if_full()
    store.close()
    return written


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
