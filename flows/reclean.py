"""One pass over a re-ingest batch of documents: clean, fingerprint, text record, index.

Each document's new state is written with one statement, in one transaction with its
search index entries (on object storage: the transaction that registers the text file
holding its records), so a batch costs the catalog a statement per document, not one
per step. A clean text equal to the live version's (or, in a resumed re-ingest, to what
this one stored before) keeps that version's fingerprint and text record; only changed
texts are signed and written again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from archive.catalog import LIVE, Catalog, id_chunks
from archive.documents import (
    DocumentStore,
    Recleaned,
    SiteRulesCache,
    StoredDocument,
    StoredFingerprint,
    TextRecordRef,
)
from archive.layout import ArchiveLayout
from archive.search import SearchIndex
from archive.shadow import SHADOW
from extractors.fingerprint import Fingerprinter
from extractors.language import weighted_length
from extractors.model import Document
from extractors.pipeline import Pipeline
from flows.process import conversion_headers, text_store


@dataclass(frozen=True)
class Reusable:
    """What a signed version of a document can lend a clean text equal to its own."""

    text: str
    fingerprint: StoredFingerprint
    text_record: TextRecordRef | None


def signed_versions(catalog: Catalog, table: str, key: str, keys: list[int]) -> dict[int, Reusable]:
    """`key` (a column) -> text, fingerprint and text record of the signed rows of `table`."""
    found: dict[int, Reusable] = {}
    for marks, chunk in id_chunks(keys):
        rows = catalog.conn.execute(
            f"SELECT {key}, text, content_key, signature, shingles, anchors, weighted_length,"
            f" text_warc_file, text_warc_offset, text_record_id FROM {table}"
            f" WHERE {key} IN {marks} AND signature IS NOT NULL",
            chunk,
        ).fetchall()
        for r in rows:
            record = TextRecordRef(r[7], r[8], r[9]) if r[9] is not None else None
            fingerprint = StoredFingerprint(r[2], bytes(r[3]), r[4], r[5] or "[]", r[6] or 0)
            found[r[0]] = Reusable(r[1] or "", fingerprint, record)
    return found


def reclean_batch(
    layout: ArchiveLayout, catalog: Catalog, pipeline: Pipeline, doc_ids: list[int]
) -> int:
    """Clean these shadow documents with their site's rules and store each one's whole
    new state; returns how many were cleaned. A retried batch skips the documents an
    earlier attempt finished (cleaned with the site's current rules)."""
    docs = DocumentStore(catalog, SHADOW)
    rules = SiteRulesCache(docs, pipeline.profile_config)
    todo: list[tuple[StoredDocument, Document, str]] = []
    for stored in docs.get_many(doc_ids):
        site_rules, digest = rules.get(stored.document.site)
        if stored.profile_digest == digest:
            continue
        doc = replace(stored.document, outcome="ok", reason=None)
        todo.append((stored, pipeline.finish(doc, site_rules), digest))
    # a resumed re-ingest cleans again what it had cleaned: those keep their own records
    own = signed_versions(catalog, SHADOW.documents, "id", [s.id for s, _, _ in todo])
    live = signed_versions(
        catalog, LIVE.documents, "capture_id", [s.capture_id for s, _, _ in todo]
    )
    fingerprinter = Fingerprinter()
    rows: list[Recleaned] = []
    unrecorded: list[tuple[int, str]] = []  # (index in `rows`, response record id)
    for stored, final, digest in todo:
        fingerprint, record = None, None
        if final.outcome == "ok" and final.text:
            same = [
                v
                for v in (own.get(stored.id), live.get(stored.capture_id))
                if v is not None and v.text == final.text
            ]
            if same:
                fingerprint, record = same[0].fingerprint, same[0].text_record
            else:
                fp = fingerprinter.fingerprint(final.text)
                fingerprint = StoredFingerprint.of(fp, weighted_length(final.text))
        if final.outcome == "ok" and record is None:
            unrecorded.append((len(rows), stored.warc_record_id or ""))
        rows.append(Recleaned(stored.id, final, digest, fingerprint, record))
    _store(layout, catalog, pipeline, docs, rows, unrecorded)
    return len(rows)


def _store(
    layout: ArchiveLayout,
    catalog: Catalog,
    pipeline: Pipeline,
    docs: DocumentStore,
    rows: list[Recleaned],
    unrecorded: list[tuple[int, str]],
) -> None:
    """Write the text records the rows lack, then the rows and their index entries in
    one transaction, once the records are durable (published, on object storage)."""

    def commit() -> None:
        docs.save_recleaned(rows)
        index = SearchIndex(catalog, SHADOW)
        index.remove_many([r.doc_id for r in rows if r.document.outcome != "ok"])
        index.add_many(
            [
                (r.doc_id, r.document.title, r.document.text)
                for r in rows
                if r.document.outcome == "ok"
            ]
        )

    if not unrecorded:
        with catalog.transaction():
            commit()
        return
    store = text_store(layout, catalog, pipeline)
    store.recover()
    writer = store.writer()
    for i, response_id in unrecorded:
        doc = rows[i].document
        rec = writer.write_conversion(
            doc.url,
            response_id,
            doc.text,
            doc.fetched_at or datetime.now(UTC),
            conversion_headers(doc),
        )
        rows[i] = replace(
            rows[i], text_record=TextRecordRef(rec.warc_file, rec.offset, rec.record_id)
        )
    if store.remote:
        store.publish(lambda _: commit())
    else:
        name, size = store.committed(records=len(unrecorded))
        with catalog.transaction():
            commit()
            catalog.commit_warc_size(name, size, records=len(unrecorded))
    store.close()
