"""The catalog: one database holding what the archive knows.

By default a SQLite file (WAL) in the archive folder; scaled out, a PostgreSQL database
(archive/pg.py translates the few SQLite idioms). `Catalog` owns the connection. Schema
changes are named migrations recorded in the `migrations` table and applied in order,
each in its own transaction. Every method takes and returns plain values or the
dataclasses below.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive.pg import PgConnection, pg_schema

MIGRATION_LOCK = 0x77617263  # "warc": the advisory lock held while migrating PostgreSQL

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_crawl",
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,            -- running, finished, abandoned
            settings TEXT NOT NULL,          -- JSON
            sources TEXT NOT NULL,           -- JSON
            report TEXT                      -- JSON, when finished
        );
        CREATE TABLE frontier (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            url TEXT NOT NULL,
            host TEXT NOT NULL,
            source TEXT NOT NULL,
            depth INTEGER NOT NULL,
            state TEXT NOT NULL,             -- queued, in_flight, done, failed, skipped
            outcome TEXT,                    -- archived, not_modified, robots, unsafe, ...
            reason TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at REAL NOT NULL DEFAULT 0,
            via TEXT,                        -- JSON list: redirect chain that led here
            discovered_from TEXT,
            UNIQUE (run_id, url)
        );
        CREATE INDEX frontier_ready ON frontier (run_id, state, host, depth, id);
        CREATE TABLE hosts (
            run_id INTEGER NOT NULL,
            host TEXT NOT NULL,
            robots_status INTEGER,
            robots_body BLOB,
            robots_fetched_at REAL,
            blocked_until REAL NOT NULL DEFAULT 0,
            next_fetch_at REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, host)
        );
        CREATE TABLE warc_files (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,              -- warc (raw captures) or text (conversions)
            created_at TEXT NOT NULL,
            state TEXT NOT NULL,             -- open, closed
            committed_size INTEGER NOT NULL DEFAULT 0,
            records INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE captures (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL,
            url TEXT NOT NULL,
            host TEXT NOT NULL,
            record_type TEXT NOT NULL,       -- response or revisit
            record_id TEXT NOT NULL UNIQUE,
            warc_file TEXT NOT NULL,
            warc_offset INTEGER NOT NULL,
            warc_length INTEGER NOT NULL,
            fetched_at TEXT NOT NULL,
            status INTEGER NOT NULL,
            mime TEXT NOT NULL,
            payload_digest TEXT NOT NULL,
            body_bytes INTEGER NOT NULL,
            etag TEXT,
            last_modified TEXT,
            ip TEXT,
            truncated TEXT,
            refers_to TEXT                   -- record id of the capture a revisit points to
        );
        CREATE INDEX captures_url ON captures (url, fetched_at);
        """,
    ),
    (
        "0002_documents",
        """
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            capture_id INTEGER NOT NULL UNIQUE REFERENCES captures(id),
            url TEXT NOT NULL,
            site TEXT NOT NULL,
            fetched_at TEXT,
            status INTEGER,
            title TEXT,
            author TEXT,
            published TEXT,
            sitename TEXT,
            lang TEXT,
            lang_confidence REAL,
            segments TEXT,                   -- JSON list of {start, end, lang, chars}
            text TEXT,
            extracted TEXT,                  -- before cleaning; `removed` spans refer to it
            removed TEXT,                    -- JSON list of {start, end, text, rule, family}
            meta TEXT,                       -- JSON: repost source, original title, ...
            charset TEXT,
            charset_source TEXT,
            outcome TEXT NOT NULL,           -- ok, not_html, empty, extract_timeout, ...
            reason TEXT,
            content_sha256 TEXT,
            cluster_id INTEGER,
            duplicate_of INTEGER,
            warc_file TEXT,
            warc_offset INTEGER,
            warc_record_id TEXT,
            text_warc_file TEXT,
            text_warc_offset INTEGER,
            text_record_id TEXT,
            extractor_version TEXT NOT NULL,
            profile_digest TEXT               -- the site rules the text was cleaned with
        );
        CREATE INDEX documents_url ON documents (url);
        CREATE INDEX documents_site ON documents (site);
        CREATE TABLE profile_articles (
            site TEXT NOT NULL,
            article TEXT NOT NULL,
            PRIMARY KEY (site, article)
        );
        CREATE TABLE profile_counts (
            site TEXT NOT NULL,
            kind TEXT NOT NULL,              -- line, prefix, suffix
            text TEXT NOT NULL,
            articles INTEGER NOT NULL,
            PRIMARY KEY (site, kind, text)
        );
        """,
    ),
    (
        "0003_clusters",
        """
        ALTER TABLE documents ADD COLUMN content_key TEXT;
        ALTER TABLE documents ADD COLUMN signature BLOB;
        ALTER TABLE documents ADD COLUMN shingles INTEGER;
        ALTER TABLE documents ADD COLUMN anchors TEXT;
        ALTER TABLE documents ADD COLUMN weighted_length INTEGER;
        ALTER TABLE documents ADD COLUMN translation_of INTEGER;
        CREATE INDEX documents_cluster ON documents (cluster_id);
        """,
    ),
    (
        "0004_search",
        """
        ALTER TABLE documents ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
        CREATE VIRTUAL TABLE search_index USING fts5(
            title, body, tokenize = 'unicode61 remove_diacritics 2'
        );
        """,
    ),
    (
        "0005_reingest",
        """
        CREATE TABLE reingests (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,            -- running, finished
            scope TEXT NOT NULL,             -- JSON: since, site, warc_files
            report TEXT                      -- JSON, when finished
        );
        """,
    ),
    (
        "0006_profile_copies",
        """
        ALTER TABLE profile_articles ADD COLUMN copy TEXT;
        ALTER TABLE profile_articles ADD COLUMN candidates TEXT;
        """,
    ),
    (
        "0007_profile_observations",
        """
        ALTER TABLE documents ADD COLUMN profile_observation TEXT;  -- JSON: ProfileObservation
        """,
    ),
]


@dataclass(frozen=True)
class Tables:
    """Names of the derived tables. Re-ingest builds a shadow set beside the live one and
    swaps them in one transaction, so readers see the old version until the new is whole."""

    documents: str = "documents"
    profile_articles: str = "profile_articles"
    profile_counts: str = "profile_counts"
    search: str = "search_index"

    @classmethod
    def shadow(cls) -> Tables:
        return cls(
            *(
                f"{name}_next"
                for name in ("documents", "profile_articles", "profile_counts", "search_index")
            )
        )

    def names(self) -> tuple[str, str, str, str]:
        return (self.documents, self.profile_articles, self.profile_counts, self.search)


LIVE = Tables()


@dataclass(frozen=True)
class FrontierEntry:
    id: int
    url: str
    host: str
    source: str
    depth: int
    attempts: int
    via: tuple[str, ...]


@dataclass(frozen=True, slots=True)  # a page may bring 100,000 of them
class NewURL:
    url: str
    host: str
    source: str
    depth: int
    via: tuple[str, ...] = ()
    discovered_from: str | None = None
    state: str = "queued"
    outcome: str | None = None
    reason: str | None = None

    def __reduce__(self) -> tuple[type[NewURL], tuple[object, ...]]:
        # Crawl workers send these to the crawl's process: pickled as the constructor's
        # arguments, 2x (loads) to 4x (dumps) faster than a slotted dataclass's state
        return NewURL, tuple(getattr(self, name) for name in NewURL.__slots__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Capture:
    run_id: int
    url: str
    host: str
    record_type: str
    record_id: str
    warc_file: str
    warc_offset: int
    warc_length: int
    fetched_at: datetime
    status: int
    mime: str
    payload_digest: str
    body_bytes: int
    etag: str | None = None
    last_modified: str | None = None
    ip: str | None = None
    truncated: str | None = None
    refers_to: str | None = None

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # Sent by crawl workers for every page: an aware datetime pickles 5x slower (10 us
        # the round trip) than its ISO text.
        values = [getattr(self, f.name) for f in fields(self)]
        values[_FETCHED_AT] = self.fetched_at.isoformat()
        return _capture_from, tuple(values)


_FETCHED_AT = [f.name for f in fields(Capture)].index("fetched_at")


def _capture_from(*values: Any) -> Capture:
    args = list(values)
    args[_FETCHED_AT] = datetime.fromisoformat(args[_FETCHED_AT])
    return Capture(*args)


@dataclass(frozen=True)
class StoredCapture:
    id: int
    url: str
    record_type: str
    record_id: str
    warc_file: str
    warc_offset: int
    fetched_at: datetime
    status: int
    mime: str
    payload_digest: str
    etag: str | None
    last_modified: str | None
    refers_to: str | None


@dataclass(frozen=True)
class WarcFile:
    name: str
    kind: str
    state: str
    committed_size: int
    records: int


@dataclass(frozen=True)
class Run:
    id: int
    started_at: str
    finished_at: str | None
    status: str
    settings: dict[str, object]
    sources: list[dict[str, object]]
    report: dict[str, object] | None


@dataclass(frozen=True)
class HostState:
    host: str
    robots_status: int | None
    robots_body: bytes | None
    robots_fetched_at: float | None
    blocked_until: float
    next_fetch_at: float


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into complete SQL statements."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")


ID_CHUNK = 500  # ids per `IN (...)` list, well under SQLite's limit on bound variables


def id_chunks(ids: Sequence[int], size: int = ID_CHUNK) -> Iterator[tuple[str, list[int]]]:
    """`ids` a chunk at a time, each with its placeholder list `(?,?,...)`: one statement
    per chunk rather than one per id."""
    for start in range(0, len(ids), size):
        part = list(ids[start : start + size])
        yield f"({','.join('?' * len(part))})", part


def _only_hosts(prefix: str, hosts: Sequence[str] | None) -> tuple[str, list[str]]:
    """SQL (starting with AND) limiting rows to these hosts, and its arguments."""
    if hosts is None:
        return "", []
    return f" AND {prefix}host IN ({','.join('?' * len(hosts)) or 'NULL'})", list(hosts)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Catalog:
    """The archive's database. Open with `Catalog.open(path)` or `Catalog.memory()`."""

    def __init__(self, conn: sqlite3.Connection | PgConnection) -> None:
        self.conn: Any = conn
        self.dialect = "postgresql" if isinstance(conn, PgConnection) else "sqlite"
        if isinstance(conn, sqlite3.Connection):
            conn.row_factory = sqlite3.Row

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    @classmethod
    def open(cls, path: Path, readonly: bool = False) -> Catalog:
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        else:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against process crashes; WARC data is fsynced separately.
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        catalog = cls(conn)
        if not readonly:
            catalog.migrate()
        return catalog

    @classmethod
    def connect(cls, url: str, readonly: bool = False) -> Catalog:
        """A catalog in PostgreSQL (`postgresql://user@host:port/db`)."""
        catalog = cls(PgConnection(url, readonly=readonly))
        if not readonly:
            catalog.migrate()
        return catalog

    @classmethod
    def memory(cls) -> Catalog:
        catalog = cls(sqlite3.connect(":memory:", isolation_level=None))
        catalog.migrate()
        return catalog

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # migrations -------------------------------------------------------------------
    def applied_migrations(self) -> list[str]:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
        )
        return [r[0] for r in self.conn.execute("SELECT name FROM migrations ORDER BY name")]

    def pending_migrations(self) -> list[str]:
        done = set(self.applied_migrations())
        return [name for name, _ in MIGRATIONS if name not in done]

    def migrate(self) -> list[str]:
        if self.postgres:  # workers may start at once: one migrates, the others wait
            self.conn.execute("SELECT pg_advisory_lock(?)", (MIGRATION_LOCK,))
        try:
            pending = self.pending_migrations()
            for name in pending:
                self._apply(name, dict(MIGRATIONS)[name])
        finally:
            if self.postgres:
                self.conn.execute("SELECT pg_advisory_unlock(?)", (MIGRATION_LOCK,))
        return pending

    def _apply(self, name: str, script: str) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            if self.postgres:
                self.conn.executescript(pg_schema(script))
            else:
                for statement in _statements(script):
                    self.conn.execute(statement)
            self.conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, _now_iso()))
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # runs ---------------------------------------------------------------------------
    def start_run(self, settings: dict[str, object], sources: list[dict[str, object]]) -> int:
        row = self.conn.execute(
            "INSERT INTO runs (started_at, status, settings, sources) VALUES (?, 'running', ?, ?)"
            " RETURNING id",
            (_now_iso(), json.dumps(settings), json.dumps(sources, ensure_ascii=False)),
        ).fetchone()
        return int(row[0])

    def unfinished_run(self) -> Run | None:
        row = self.conn.execute(
            "SELECT * FROM runs WHERE status = 'running' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return self._run(row) if row else None

    def get_run(self, run_id: int) -> Run | None:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return self._run(row) if row else None

    def last_run(self) -> Run | None:
        row = self.conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return self._run(row) if row else None

    @staticmethod
    def _run(row: sqlite3.Row) -> Run:
        return Run(
            id=row["id"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            status=row["status"],
            settings=json.loads(row["settings"]),
            sources=json.loads(row["sources"]),
            report=json.loads(row["report"]) if row["report"] else None,
        )

    def finish_run(self, run_id: int, report: dict[str, object], status: str = "finished") -> None:
        self.conn.execute(
            "UPDATE runs SET status = ?, finished_at = ?, report = ? WHERE id = ?",
            (status, _now_iso(), json.dumps(report, ensure_ascii=False), run_id),
        )

    # frontier -----------------------------------------------------------------------
    def add_urls(self, run_id: int, urls: Iterable[NewURL]) -> int:
        """Insert URLs not yet in this run's frontier; returns how many were new."""
        cur = self.conn.executemany(
            "INSERT OR IGNORE INTO frontier (run_id, url, host, source, depth, state, outcome,"
            " reason, via, discovered_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (  # a generator: a page's 100,000 links are not copied into a list of rows
                (
                    run_id,
                    u.url,
                    u.host,
                    u.source,
                    u.depth,
                    u.state,
                    u.outcome,
                    u.reason,
                    json.dumps(list(u.via)) if u.via else None,
                    u.discovered_from,
                )
                for u in urls
            ),
        )
        return max(0, int(cur.rowcount))

    def known_urls(self, run_id: int, urls: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(urls), 500):
            chunk = urls[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT url FROM frontier WHERE run_id = ? AND url IN ({marks})",
                    (run_id, *chunk),
                )
            )
        return found

    def requeue_in_flight(self, run_id: int, hosts: Sequence[str] | None = None) -> int:
        """After a crash: what was in flight is fetched again (its attempt did not count).
        With `hosts`, only theirs (a retried shard of a distributed crawl)."""
        only, args = _only_hosts("", hosts)
        cur = self.conn.execute(
            "UPDATE frontier SET state = 'queued' WHERE run_id = ? AND state = 'in_flight'" + only,
            (run_id, *args),
        )
        return cur.rowcount

    def ready_hosts(
        self,
        run_id: int,
        now: float,
        exclude: set[str],
        limit: int,
        hosts: Sequence[str] | None = None,
    ) -> list[str]:
        """Hosts with a URL ready to fetch, shallowest work first (among `hosts`, if given)."""
        only, args = _only_hosts("f.", hosts)
        rows = self.conn.execute(
            "SELECT f.host, MIN(f.depth) AS d, MIN(f.id) AS first FROM frontier f"
            " LEFT JOIN hosts h ON h.run_id = f.run_id AND h.host = f.host"
            " WHERE f.run_id = ? AND f.state = 'queued' AND f.next_at <= ?"
            f" AND COALESCE(h.blocked_until, 0) <= ?{only}"
            " GROUP BY f.host ORDER BY d, first LIMIT ?",
            (run_id, now, now, *args, limit + len(exclude)),
        ).fetchall()
        return [r["host"] for r in rows if r["host"] not in exclude][:limit]

    def queued_hosts(self, run_id: int) -> dict[str, int]:
        """Every host with queued URLs, and how many (to shard a distributed crawl)."""
        rows = self.conn.execute(
            "SELECT host, COUNT(*) FROM frontier WHERE run_id = ? AND state = 'queued'"
            " GROUP BY host ORDER BY host",
            (run_id,),
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def claim(self, run_id: int, host: str, now: float, limit: int) -> list[FrontierEntry]:
        """Up to `limit` of the host's due URLs, shallowest first, now in flight."""
        rows = self.conn.execute(
            "UPDATE frontier SET state = 'in_flight', attempts = attempts + 1 WHERE id IN ("
            " SELECT id FROM frontier WHERE run_id = ? AND host = ? AND state = 'queued'"
            " AND next_at <= ? ORDER BY depth, id LIMIT ?)"
            " RETURNING id, url, host, source, depth, attempts, via",
            (run_id, host, now, limit),
        ).fetchall()
        entries = [
            FrontierEntry(
                id=row["id"],
                url=row["url"],
                host=row["host"],
                source=row["source"],
                depth=row["depth"],
                attempts=row["attempts"],
                via=tuple(json.loads(row["via"])) if row["via"] else (),
            )
            for row in rows
        ]
        entries.sort(key=lambda e: (e.depth, e.id))  # RETURNING keeps no order
        return entries

    def unclaim(self, entry_ids: Sequence[int]) -> None:
        """Claimed URLs given back unfetched: queued again, the attempt not counted."""
        self.conn.executemany(
            "UPDATE frontier SET state = 'queued', attempts = attempts - 1"
            " WHERE id = ? AND state = 'in_flight'",
            [(i,) for i in entry_ids],
        )

    def next_ready_at(self, run_id: int, hosts: Sequence[str] | None = None) -> float | None:
        only, args = _only_hosts("f.", hosts)
        row = self.conn.execute(
            "SELECT MIN(CASE WHEN f.next_at > COALESCE(h.blocked_until, 0) THEN f.next_at"
            " ELSE COALESCE(h.blocked_until, 0) END) FROM frontier f"
            " LEFT JOIN hosts h ON h.run_id = f.run_id AND h.host = f.host"
            " WHERE f.run_id = ? AND f.state = 'queued'" + only,
            (run_id, *args),
        ).fetchone()
        return row[0]

    def finish_url(
        self, entry_id: int, state: str, outcome: str, reason: str | None = None
    ) -> None:
        self.conn.execute(
            "UPDATE frontier SET state = ?, outcome = ?, reason = ? WHERE id = ?",
            (state, outcome, reason, entry_id),
        )

    def retry_url(self, entry_id: int, at: float, reason: str) -> None:
        self.conn.execute(
            "UPDATE frontier SET state = 'queued', next_at = ?, reason = ? WHERE id = ?",
            (at, reason, entry_id),
        )

    def count_states(self, run_id: int) -> dict[str, int]:
        return {
            r[0]: r[1]
            for r in self.conn.execute(
                "SELECT state, COUNT(*) FROM frontier WHERE run_id = ? GROUP BY state", (run_id,)
            )
        }

    def count_outcomes(self, run_id: int) -> dict[str, int]:
        return {
            r[0]: r[1]
            for r in self.conn.execute(
                "SELECT outcome, COUNT(*) FROM frontier WHERE run_id = ? AND outcome IS NOT NULL"
                " GROUP BY outcome",
                (run_id,),
            )
        }

    def pages_started(self, run_id: int, source: str | None = None) -> int:
        """URLs fetched or being fetched (not skipped before fetching) in this run."""
        sql = (
            "SELECT COUNT(*) FROM frontier WHERE run_id = ? AND (state = 'in_flight'"
            " OR (state IN ('done', 'failed') AND outcome NOT IN ('robots', 'unsafe')))"
        )
        args: tuple[object, ...] = (run_id,)
        if source is not None:
            sql += " AND source = ?"
            args += (source,)
        return int(self.conn.execute(sql, args).fetchone()[0])

    def frontier_rows(self, run_id: int) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT url, depth, state, outcome, reason, attempts FROM frontier"
            " WHERE run_id = ? ORDER BY id",
            (run_id,),
        ).fetchall()

    # hosts ---------------------------------------------------------------------------
    def host_state(self, run_id: int, host: str) -> HostState | None:
        row = self.conn.execute(
            "SELECT * FROM hosts WHERE run_id = ? AND host = ?", (run_id, host)
        ).fetchone()
        if row is None:
            return None
        return HostState(
            host=row["host"],
            robots_status=row["robots_status"],
            robots_body=row["robots_body"],
            robots_fetched_at=row["robots_fetched_at"],
            blocked_until=row["blocked_until"],
            next_fetch_at=row["next_fetch_at"],
        )

    def save_robots(
        self, run_id: int, host: str, status: int | None, body: bytes, fetched_at: float
    ) -> None:
        self.conn.execute(
            "INSERT INTO hosts (run_id, host, robots_status, robots_body, robots_fetched_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, host) DO UPDATE SET"
            " robots_status = excluded.robots_status, robots_body = excluded.robots_body,"
            " robots_fetched_at = excluded.robots_fetched_at",
            (run_id, host, status, body, fetched_at),
        )

    def block_host(self, run_id: int, host: str, until: float) -> None:
        self.conn.execute(
            "INSERT INTO hosts (run_id, host, blocked_until) VALUES (?, ?, ?)"
            " ON CONFLICT (run_id, host) DO UPDATE SET blocked_until = excluded.blocked_until",
            (run_id, host, until),
        )

    def set_next_fetch(self, run_id: int, host: str, at: float) -> None:
        self.conn.execute(
            "INSERT INTO hosts (run_id, host, next_fetch_at) VALUES (?, ?, ?)"
            " ON CONFLICT (run_id, host) DO UPDATE SET next_fetch_at = excluded.next_fetch_at",
            (run_id, host, at),
        )

    # WARC files ------------------------------------------------------------------------
    def register_warc_file(self, name: str, kind: str) -> None:
        self.conn.execute(
            "INSERT INTO warc_files (name, kind, created_at, state) VALUES (?, ?, ?, 'open')",
            (name, kind, _now_iso()),
        )

    def open_warc_file(self, kind: str) -> WarcFile | None:
        row = self.conn.execute(
            "SELECT * FROM warc_files WHERE kind = ? AND state = 'open' ORDER BY id DESC LIMIT 1",
            (kind,),
        ).fetchone()
        return self._warc_file(row) if row else None

    def open_warc_files(self) -> list[WarcFile]:
        rows = self.conn.execute(
            "SELECT * FROM warc_files WHERE state = 'open' ORDER BY id"
        ).fetchall()
        return [self._warc_file(r) for r in rows]

    def warc_files(self, kind: str | None = None) -> list[WarcFile]:
        sql, args = "SELECT * FROM warc_files", ()
        if kind:
            sql, args = sql + " WHERE kind = ?", (kind,)
        return [self._warc_file(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def next_warc_serial(self) -> int:
        return int(
            self.conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM warc_files").fetchone()[0]
        )

    def commit_warc_size(self, name: str, size: int, records: int = 0) -> None:
        self.conn.execute(
            "UPDATE warc_files SET committed_size = ?, records = records + ? WHERE name = ?",
            (size, records, name),
        )

    def forget_warc_file(self, name: str) -> None:
        """Drop a file that holds nothing committed (nothing can point into it)."""
        self.conn.execute("DELETE FROM warc_files WHERE name = ? AND committed_size = 0", (name,))

    def close_warc_file(self, name: str) -> None:
        self.conn.execute("UPDATE warc_files SET state = 'closed' WHERE name = ?", (name,))

    @staticmethod
    def _warc_file(row: sqlite3.Row) -> WarcFile:
        return WarcFile(
            name=row["name"],
            kind=row["kind"],
            state=row["state"],
            committed_size=row["committed_size"],
            records=row["records"],
        )

    # captures ---------------------------------------------------------------------------
    def add_capture(self, capture: Capture) -> int:
        row = self.conn.execute(
            "INSERT INTO captures (run_id, url, host, record_type, record_id, warc_file,"
            " warc_offset, warc_length, fetched_at, status, mime, payload_digest, body_bytes,"
            " etag, last_modified, ip, truncated, refers_to)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                capture.run_id,
                capture.url,
                capture.host,
                capture.record_type,
                capture.record_id,
                capture.warc_file,
                capture.warc_offset,
                capture.warc_length,
                capture.fetched_at.isoformat(),
                capture.status,
                capture.mime,
                capture.payload_digest,
                capture.body_bytes,
                capture.etag,
                capture.last_modified,
                capture.ip,
                capture.truncated,
                capture.refers_to,
            ),
        ).fetchone()
        return int(row[0])

    def latest_capture(self, url: str, before_run: int) -> StoredCapture | None:
        """The newest successful response (not revisit) of `url` from an earlier run."""
        row = self.conn.execute(
            "SELECT * FROM captures WHERE url = ? AND run_id < ? AND record_type = 'response'"
            " AND status BETWEEN 200 AND 299 AND truncated IS NULL"
            " ORDER BY fetched_at DESC LIMIT 1",
            (url, before_run),
        ).fetchone()
        return self._capture(row) if row else None

    def captures(self, run_id: int | None = None) -> list[StoredCapture]:
        sql, args = "SELECT * FROM captures", ()
        if run_id is not None:
            sql, args = sql + " WHERE run_id = ?", (run_id,)
        return [self._capture(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def captures_of(self, url: str) -> list[StoredCapture]:
        rows = self.conn.execute(
            "SELECT * FROM captures WHERE url = ? ORDER BY fetched_at", (url,)
        ).fetchall()
        return [self._capture(r) for r in rows]

    def run_bytes(self, run_id: int) -> int:
        row = self.conn.execute(
            "SELECT COALESCE(SUM(body_bytes), 0) FROM captures WHERE run_id = ?", (run_id,)
        ).fetchone()
        return int(row[0])

    def run_warc_files(self, run_id: int) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT warc_file FROM captures WHERE run_id = ? ORDER BY warc_file",
                (run_id,),
            )
        ]

    @staticmethod
    def _capture(row: sqlite3.Row) -> StoredCapture:
        return StoredCapture(
            id=row["id"],
            url=row["url"],
            record_type=row["record_type"],
            record_id=row["record_id"],
            warc_file=row["warc_file"],
            warc_offset=row["warc_offset"],
            fetched_at=datetime.fromisoformat(row["fetched_at"]),
            status=row["status"],
            mime=row["mime"],
            payload_digest=row["payload_digest"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            refers_to=row["refers_to"],
        )


def wall_clock() -> float:
    return time.time()
