"""Documents (clean text and facts derived from captures) and site profiles in the catalog."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from archive.catalog import LIVE, Catalog, Tables, id_chunks
from extractors.clean import SiteRules
from extractors.model import Document, Removal, Segment
from extractors.profiles import (
    Candidate,
    ProfileConfig,
    article_key,
    candidates,
    copy_key,
    learn,
)

if TYPE_CHECKING:  # numpy (0.1 s) only where fingerprints are computed
    from extractors.fingerprint import Fingerprint


@dataclass(frozen=True)
class PendingCapture:
    """A stored response that has no document yet."""

    capture_id: int
    url: str
    warc_file: str
    warc_offset: int
    record_id: str
    status: int
    fetched_at: datetime
    warc_length: int = 0  # the record's bytes in the file; 0 when not known


@dataclass(frozen=True)
class StoredDocument:
    id: int
    capture_id: int
    document: Document
    warc_file: str | None
    warc_offset: int | None
    warc_record_id: str | None
    text_warc_file: str | None
    text_record_id: str | None
    profile_digest: str | None
    cluster_id: int | None = None
    duplicate_of: int | None = None
    translation_of: int | None = None


@dataclass(frozen=True)
class StoredFingerprint:
    """A document's fingerprint columns, as stored (what clustering reads back)."""

    content_key: str
    signature: bytes
    shingles: int
    anchors: str  # JSON list
    weighted_length: int

    @classmethod
    def of(cls, fp: Fingerprint, weighted_length: int) -> StoredFingerprint:
        anchors = json.dumps(list(fp.anchors), ensure_ascii=False)
        return cls(fp.content_key, fp.signature_bytes(), fp.shingles, anchors, weighted_length)


@dataclass(frozen=True)
class TextRecordRef:
    """Where a document's clean text is, as a WARC conversion record in text/."""

    warc_file: str
    offset: int
    record_id: str


@dataclass(frozen=True)
class Recleaned:
    """A document's whole new state after cleaning: written with one statement."""

    doc_id: int
    document: Document
    profile_digest: str
    fingerprint: StoredFingerprint | None
    text_record: TextRecordRef | None


@dataclass(frozen=True)
class NewDocument:
    """A document as extracted, to be saved under an id it already has (re-ingest)."""

    doc_id: int
    capture: PendingCapture
    document: Document
    observation: ProfileObservation | None


@dataclass(frozen=True)
class ProfileObservation:
    """What one copy of an article tells its site's profile: the article's identity, the
    copy's, and its candidates. Computed where the page is extracted (in parallel batch
    tasks), counted for the site in one step."""

    article: str
    copy: str
    candidates: tuple[Candidate, ...]

    @classmethod
    def of(cls, paragraphs: list[str], config: ProfileConfig) -> ProfileObservation:
        found = sorted(candidates(paragraphs, config))
        return cls(article_key(paragraphs), copy_key(paragraphs), tuple(found))

    def to_json(self) -> str:
        return json.dumps([self.article, self.copy, self.candidates], ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ProfileObservation:
        article, copy, found = json.loads(text)
        return cls(article, copy, tuple((kind, value) for kind, value in found))


def rules_digest(rules: SiteRules) -> str:
    payload = json.dumps(
        [sorted(rules.lines), list(rules.prefixes), list(rules.suffixes)], ensure_ascii=False
    )
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:12]


class SiteRulesCache:
    """Each site's cleaning rules and their digest, read from its profile once (per batch:
    a profile may learn more between batches)."""

    def __init__(self, docs: DocumentStore, config: ProfileConfig) -> None:
        self._docs = docs
        self._config = config
        self._known: dict[str, tuple[SiteRules, str]] = {}

    def get(self, site: str) -> tuple[SiteRules, str]:
        if site not in self._known:
            rules = self._docs.site_rules(site, self._config)
            self._known[site] = (rules, rules_digest(rules))
        return self._known[site]


class DocumentStore:
    def __init__(self, catalog: Catalog, tables: Tables = LIVE) -> None:
        self.catalog = catalog
        self.conn = catalog.conn
        self.t = tables

    # -- what needs processing -------------------------------------------------------
    def pending_captures(
        self, limit: int, run_id: int | None = None, hosts: Sequence[str] | None = None
    ) -> list[PendingCapture]:
        """Archived responses with no document yet (of this run, of these hosts)."""
        sql = (
            "SELECT c.id, c.url, c.warc_file, c.warc_offset, c.record_id, c.status, c.fetched_at,"
            f" c.warc_length FROM captures c LEFT JOIN {self.t.documents} d ON d.capture_id = c.id"
            " WHERE d.id IS NULL AND c.record_type = 'response' AND c.status BETWEEN 200 AND 299"
            " AND c.url NOT LIKE '%/robots.txt'"
        )
        args: tuple[object, ...] = ()
        if run_id is not None:
            sql += " AND c.run_id = ?"
            args = (run_id,)
        if hosts is not None:
            sql += f" AND c.host IN ({','.join('?' * len(hosts)) or 'NULL'})"
            args += tuple(hosts)
        rows = self.conn.execute(sql + " ORDER BY c.id LIMIT ?", (*args, limit)).fetchall()
        return [
            PendingCapture(r[0], r[1], r[2], r[3], r[4], r[5], datetime.fromisoformat(r[6]), r[7])
            for r in rows
        ]

    # -- documents -------------------------------------------------------------------
    def save(
        self,
        capture: PendingCapture,
        doc: Document,
        profile_digest: str | None,
        doc_id: int | None = None,
        observation: ProfileObservation | None = None,
    ) -> int:
        """Insert (or replace) the document of `capture`; returns its id. The id is given
        only when re-ingest keeps one; otherwise the database numbers it."""
        values = _document_values(capture, doc, profile_digest, observation)
        if doc_id is not None:
            values = (doc_id, *values)
        row = self.conn.execute(
            self._insert_sql(with_id=doc_id is not None) + " RETURNING id", values
        ).fetchone()
        return int(row[0])

    def save_many(self, rows: Sequence[NewDocument]) -> None:
        """Insert (or replace) documents whose ids are known: one batch of statements,
        with no result to wait for after each."""
        self.conn.executemany(
            self._insert_sql(with_id=True),
            [
                (r.doc_id, *_document_values(r.capture, r.document, None, r.observation))
                for r in rows
            ],
        )

    def _insert_sql(self, with_id: bool) -> str:
        id_column, id_mark = ("id, ", "?, ") if with_id else ("", "")
        return (
            f"INSERT INTO {self.t.documents} ({id_column}capture_id, url, site, fetched_at, status,"
            " title, author, published, sitename, lang, lang_confidence, segments, text, extracted,"
            " removed, meta, charset, charset_source, outcome, reason, content_sha256, warc_file,"
            " warc_offset, warc_record_id, extractor_version, profile_digest, profile_observation)"
            f" VALUES ({id_mark}?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (capture_id) DO UPDATE SET title = excluded.title,"
            " author = excluded.author, published = excluded.published,"
            " sitename = excluded.sitename, lang = excluded.lang,"
            " lang_confidence = excluded.lang_confidence, segments = excluded.segments,"
            " text = excluded.text, extracted = excluded.extracted, removed = excluded.removed,"
            " meta = excluded.meta, charset = excluded.charset,"
            " charset_source = excluded.charset_source, outcome = excluded.outcome,"
            " reason = excluded.reason, content_sha256 = excluded.content_sha256,"
            " extractor_version = excluded.extractor_version,"
            " profile_digest = excluded.profile_digest,"
            " profile_observation = excluded.profile_observation, indexed = 0"
        )

    def update_clean_many(self, cleaned: Sequence[tuple[int, Document, str]]) -> None:
        """New clean text (and what follows from it) for (id, document, rules digest)s."""
        self.conn.executemany(
            f"UPDATE {self.t.documents} SET text = ?, removed = ?, meta = ?, lang = ?, lang_confidence = ?,"
            " segments = ?, content_sha256 = ?, outcome = ?, reason = ?, profile_digest = ?,"
            " indexed = 0 WHERE id = ?",
            [(*_clean_values(doc, digest), doc_id) for doc_id, doc, digest in cleaned],
        )

    def save_recleaned(self, rows: Sequence[Recleaned]) -> None:
        """Clean text, fingerprint, text record and index flag of each document at once,
        its clusters left to be computed anew (the caller indexes the `ok` ones)."""
        self.conn.executemany(
            f"UPDATE {self.t.documents} SET text = ?, removed = ?, meta = ?, lang = ?,"
            " lang_confidence = ?, segments = ?, content_sha256 = ?, outcome = ?, reason = ?,"
            " profile_digest = ?, content_key = ?, signature = ?, shingles = ?, anchors = ?,"
            " weighted_length = ?, text_warc_file = ?, text_warc_offset = ?,"
            " text_record_id = ?, indexed = ?, cluster_id = NULL, duplicate_of = NULL,"
            " translation_of = NULL WHERE id = ?",
            [_recleaned_values(row) for row in rows],
        )

    def set_text_records(self, placed: Sequence[tuple[int, str, int, str]]) -> None:
        """(document id, text WARC file, offset, record id) for each document written."""
        self.conn.executemany(
            f"UPDATE {self.t.documents} SET text_warc_file = ?, text_warc_offset = ?, text_record_id = ?"
            " WHERE id = ?",
            [
                (warc_file, offset, record_id, doc_id)
                for doc_id, warc_file, offset, record_id in placed
            ],
        )

    def get(self, doc_id: int) -> StoredDocument | None:
        row = self.conn.execute(
            f"SELECT * FROM {self.t.documents} WHERE id = ?", (doc_id,)
        ).fetchone()
        return _stored(row) if row else None

    def find(self, key: str) -> StoredDocument | None:
        """A document by id, or the newest document of a URL."""
        if key.isdigit():
            return self.get(int(key))
        row = self.conn.execute(
            f"SELECT * FROM {self.t.documents} WHERE url = ? ORDER BY fetched_at DESC, id DESC LIMIT 1",
            (key,),
        ).fetchone()
        return _stored(row) if row else None

    def iter_documents(
        self, outcome: str | None = "ok", site: str | None = None, after_id: int = 0
    ) -> list[StoredDocument]:
        sql, args = f"SELECT * FROM {self.t.documents} WHERE id > ?", [after_id]
        if outcome:
            sql += " AND outcome = ?"
            args.append(outcome)
        if site:
            sql += " AND site = ?"
            args.append(site)
        return [_stored(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def iter_matching(
        self,
        outcome: str | None = "ok",
        lang: str | None = None,
        site: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Iterator[StoredDocument]:
        """Documents in id order, streamed, with the filters of `search`."""
        from archive.search import SearchFilters

        where, args = SearchFilters(lang, site, since, until).where()
        sql = f"SELECT * FROM {self.t.documents} WHERE 1 = 1{where}"
        if outcome:
            sql += " AND outcome = ?"
            args.append(outcome)
        for row in self.conn.execute(sql + " ORDER BY id", args):
            yield _stored(row)

    def documents_needing_text_record(
        self, limit: int, among: Sequence[int] | None = None
    ) -> list[StoredDocument]:
        """Documents with clean text and no text record yet (of the ids `among`)."""
        sql, args = "", []
        if among is not None:
            sql, args = f" AND id IN ({','.join('?' * len(among)) or 'NULL'})", list(among)
        rows = self.conn.execute(
            f"SELECT * FROM {self.t.documents} WHERE outcome = 'ok' AND text_record_id IS NULL"
            f"{sql} ORDER BY id LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [_stored(r) for r in rows]

    def sites(self) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute(
                f"SELECT DISTINCT site FROM {self.t.documents} ORDER BY site"
            )
        ]

    def stale_ids(self, site: str, digest: str) -> list[int]:
        """Documents of `site` cleaned with other rules than `digest` (or not yet cleaned)."""
        rows = self.conn.execute(
            f"SELECT id FROM {self.t.documents} WHERE site = ? AND outcome IN ('ok', 'empty')"
            " AND extracted != '' AND COALESCE(profile_digest, '') != ? ORDER BY id",
            (site, digest),
        ).fetchall()
        return [r[0] for r in rows]

    def get_many(self, ids: list[int]) -> list[StoredDocument]:
        found: list[StoredDocument] = []
        for marks, chunk in id_chunks(ids):
            rows = self.conn.execute(
                f"SELECT * FROM {self.t.documents} WHERE id IN {marks} ORDER BY id", chunk
            ).fetchall()
            found += [_stored(r) for r in rows]
        return found

    def count_by(self, column: str, run_id: int | None = None) -> dict[str, int]:
        assert column in ("lang", "outcome", "site")
        sql = f"SELECT d.{column}, COUNT(*) FROM {self.t.documents} d"
        args: tuple[object, ...] = ()
        if run_id is not None:
            sql += " JOIN captures c ON c.id = d.capture_id WHERE c.run_id = ?"
            args = (run_id,)
            if column == "lang":
                sql += " AND d.outcome = 'ok'"
        elif column == "lang":
            sql += " WHERE d.outcome = 'ok'"
        return {str(r[0]): r[1] for r in self.conn.execute(sql + f" GROUP BY d.{column}", args)}

    def removed_by_family(self, run_id: int | None = None) -> dict[str, int]:
        """Characters removed per rule family."""
        sql, args = f"SELECT d.removed FROM {self.t.documents} d", ()
        if run_id is not None:
            sql += " JOIN captures c ON c.id = d.capture_id WHERE c.run_id = ?"
            args = (run_id,)
        totals: dict[str, int] = {}
        for (removed,) in self.conn.execute(sql, args):
            for item in json.loads(removed or "[]"):
                totals[item["family"]] = totals.get(item["family"], 0) + len(item["text"])
        return totals

    # -- site profiles ------------------------------------------------------------------
    def observe_article(self, site: str, obs: ProfileObservation) -> bool:
        """Count an article's candidates once, from one copy of it: the copy with the
        smallest key, whatever order copies arrive in (so counts depend on the set of
        pages only). Returns whether the counts changed."""
        row = self.conn.execute(
            f"SELECT copy, candidates FROM {self.t.profile_articles} WHERE site = ? AND article = ?",
            (site, obs.article),
        ).fetchone()
        if row is not None and (row[0] is None or row[0] <= obs.copy):
            return False  # counted already (rows from before copies were recorded stay)
        if row is not None:
            old = [tuple(c) for c in json.loads(row[1] or "[]")]
            self.conn.executemany(
                f"UPDATE {self.t.profile_counts} SET articles = articles - 1"
                " WHERE site = ? AND kind = ? AND text = ?",
                [(site, kind, text) for kind, text in old],
            )
            self.conn.execute(
                f"DELETE FROM {self.t.profile_counts} WHERE site = ? AND articles <= 0", (site,)
            )
        self.conn.execute(
            f"INSERT INTO {self.t.profile_articles} (site, article, copy, candidates)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (site, article) DO UPDATE SET copy = excluded.copy,"
            " candidates = excluded.candidates",
            (site, obs.article, obs.copy, json.dumps(obs.candidates, ensure_ascii=False)),
        )
        self.conn.executemany(
            f"INSERT INTO {self.t.profile_counts} (site, kind, text, articles) VALUES (?, ?, ?, 1)"
            f" ON CONFLICT (site, kind, text) DO UPDATE SET articles = {self.t.profile_counts}.articles + 1",
            [(site, kind, text) for kind, text in obs.candidates],
        )
        return True

    def observations(self, site: str) -> Iterator[tuple[int, ProfileObservation | None]]:
        """(document id, its stored observation if any) of the site's extracted articles."""
        rows = self.conn.execute(
            f"SELECT id, profile_observation FROM {self.t.documents}"
            " WHERE site = ? AND outcome = 'ok' ORDER BY id",
            (site,),
        )
        for doc_id, text in rows:
            yield doc_id, ProfileObservation.from_json(text) if text else None

    def count_articles(self, site: str, observations: Iterator[ProfileObservation]) -> None:
        """Replace the site's profile counts with those of these observations, in bulk:
        each article counted once, from its copy with the smallest key (the rows
        `observe_article` leaves after seeing the same pages in any order)."""
        chosen: dict[str, ProfileObservation] = {}
        for obs in observations:
            best = chosen.get(obs.article)
            if best is None or obs.copy < best.copy:
                chosen[obs.article] = obs
        counts = Counter(c for obs in chosen.values() for c in obs.candidates)
        self.clear_profiles(site)
        self.conn.executemany(
            f"INSERT INTO {self.t.profile_articles} (site, article, copy, candidates)"
            " VALUES (?, ?, ?, ?)",
            [
                (site, obs.article, obs.copy, json.dumps(obs.candidates, ensure_ascii=False))
                for obs in chosen.values()
            ],
        )
        self.conn.executemany(
            f"INSERT INTO {self.t.profile_counts} (site, kind, text, articles) VALUES (?, ?, ?, ?)",
            [(site, kind, text, n) for (kind, text), n in counts.items()],
        )

    def site_rules(self, site: str, config: ProfileConfig) -> SiteRules:
        articles = self.conn.execute(
            f"SELECT COUNT(*) FROM {self.t.profile_articles} WHERE site = ?", (site,)
        ).fetchone()[0]
        if articles < config.min_docs:
            return SiteRules()
        rows = self.conn.execute(
            f"SELECT kind, text, articles FROM {self.t.profile_counts} WHERE site = ? AND articles >= ?",
            (site, config.min_docs),
        ).fetchall()
        return learn((((k, t), n) for k, t, n in rows), articles, config)

    def clear_profiles(self, site: str | None = None) -> None:
        if site is None:
            self.conn.execute(f"DELETE FROM {self.t.profile_articles}")
            self.conn.execute(f"DELETE FROM {self.t.profile_counts}")
        else:
            self.conn.execute(f"DELETE FROM {self.t.profile_articles} WHERE site = ?", (site,))
            self.conn.execute(f"DELETE FROM {self.t.profile_counts} WHERE site = ?", (site,))


def _document_values(
    capture: PendingCapture,
    doc: Document,
    profile_digest: str | None,
    observation: ProfileObservation | None,
) -> tuple[object, ...]:
    return (
        capture.capture_id,
        capture.url,
        doc.site,
        capture.fetched_at.isoformat(),
        capture.status,
        doc.title,
        doc.author,
        doc.published,
        doc.sitename,
        doc.lang,
        doc.lang_confidence,
        json.dumps([s.__dict__ for s in doc.segments]),
        doc.text,
        doc.extracted,
        json.dumps([r.__dict__ for r in doc.removed], ensure_ascii=False),
        json.dumps(doc.meta, ensure_ascii=False),
        doc.charset,
        doc.charset_source,
        doc.outcome,
        doc.reason,
        doc.content_sha256,
        capture.warc_file,
        capture.warc_offset,
        capture.record_id,
        doc.extractor_version,
        profile_digest,
        observation.to_json() if observation else None,
    )


def _clean_values(doc: Document, profile_digest: str) -> tuple[object, ...]:
    """text, removed, meta, lang, lang_confidence, segments, content_sha256, outcome,
    reason, profile_digest: the columns cleaning decides."""
    return (
        doc.text,
        json.dumps([r.__dict__ for r in doc.removed], ensure_ascii=False),
        json.dumps(doc.meta, ensure_ascii=False),
        doc.lang,
        doc.lang_confidence,
        json.dumps([s.__dict__ for s in doc.segments]),
        doc.content_sha256,
        doc.outcome,
        doc.reason,
        profile_digest,
    )


def _recleaned_values(row: Recleaned) -> tuple[object, ...]:
    doc, fp, rec = row.document, row.fingerprint, row.text_record
    return (
        *_clean_values(doc, row.profile_digest),
        *(
            (fp.content_key, fp.signature, fp.shingles, fp.anchors, fp.weighted_length)
            if fp
            else (None,) * 5
        ),
        *((rec.warc_file, rec.offset, rec.record_id) if rec else (None,) * 3),
        int(doc.outcome == "ok"),
        row.doc_id,
    )


def _stored(row: sqlite3.Row) -> StoredDocument:
    doc = Document(
        url=row["url"],
        text=row["text"] or "",
        title=row["title"],
        author=row["author"],
        published=row["published"],
        sitename=row["sitename"],
        site=row["site"],
        lang=row["lang"] or "und",
        lang_confidence=row["lang_confidence"] or 0.0,
        segments=[Segment(**s) for s in json.loads(row["segments"] or "[]")],
        removed=[Removal(**r) for r in json.loads(row["removed"] or "[]")],
        meta=json.loads(row["meta"] or "{}"),
        extracted=row["extracted"] or "",
        charset=row["charset"],
        charset_source=row["charset_source"],
        outcome=row["outcome"],
        reason=row["reason"],
        content_sha256=row["content_sha256"],
        status=row["status"] or 0,
        fetched_at=datetime.fromisoformat(row["fetched_at"]) if row["fetched_at"] else None,
        extractor_version=row["extractor_version"],
    )
    return StoredDocument(
        id=row["id"],
        capture_id=row["capture_id"],
        document=doc,
        warc_file=row["warc_file"],
        warc_offset=row["warc_offset"],
        warc_record_id=row["warc_record_id"],
        text_warc_file=row["text_warc_file"],
        text_record_id=row["text_record_id"],
        profile_digest=row["profile_digest"],
        cluster_id=row["cluster_id"],
        duplicate_of=row["duplicate_of"],
        translation_of=row["translation_of"],
    )
