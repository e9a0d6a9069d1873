"""Shadow tables for re-ingest: built beside the live derived tables, swapped in at once.

Readers keep the live tables (and, with WAL or PostgreSQL's MVCC, a consistent
snapshot) until the swap, a single transaction that drops each live table and renames
its shadow into place.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from archive.catalog import LIVE, Catalog, Tables
from archive.pg import search_table_ddl

SHADOW = Tables.shadow()


@dataclass(frozen=True)
class Scope:
    """Which captures a re-ingest re-extracts (everything when all are None)."""

    since: str | None = None  # fetched on or after this ISO date
    site: str | None = None  # host or host:port
    warc_files: tuple[str, ...] = ()

    def where(self) -> tuple[str, list[object]]:
        sql, args = "", []
        if self.since:
            sql += " AND c.fetched_at >= ?"
            args.append(self.since)
        if self.site:
            sql += " AND (c.host = ? OR c.host LIKE ?)"
            args += [self.site, f"{self.site}:%"]
        if self.warc_files:
            sql += f" AND c.warc_file IN ({','.join('?' * len(self.warc_files))})"
            args += list(self.warc_files)
        return sql, args

    def to_json(self) -> str:
        return json.dumps(
            {"since": self.since, "site": self.site, "warc_files": list(self.warc_files)}
        )

    @classmethod
    def from_json(cls, text: str) -> Scope:
        data = json.loads(text)
        return cls(data.get("since"), data.get("site"), tuple(data.get("warc_files") or ()))


def _index_sql(catalog: Catalog, table: str) -> list[tuple[str, str]]:
    return [
        (name, sql)
        for name, sql in catalog.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
            " AND sql IS NOT NULL",
            (table,),
        )
    ]


def _rename(sql: str, old: str, new: str) -> str:
    return re.sub(rf"\b{old}\b", new, sql)


def _create_sqlite_shadow(catalog: Catalog) -> None:
    conn = catalog.conn
    for live, shadow in zip(LIVE.names()[:3], SHADOW.names()[:3], strict=True):
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (live,)
        ).fetchone()
        conn.execute(_rename(sql, live, shadow))
        for name, index_sql in _index_sql(catalog, live):
            conn.execute(_rename(_rename(index_sql, live, shadow), name, f"{name}_next"))
    conn.execute(
        f"CREATE VIRTUAL TABLE {SHADOW.search} USING fts5("
        "title, body, tokenize = 'unicode61 remove_diacritics 2')"
    )


def _create_pg_shadow(catalog: Catalog) -> None:
    for live, shadow in zip(LIVE.names()[:3], SHADOW.names()[:3], strict=True):
        catalog.conn.execute(f"CREATE TABLE {shadow} (LIKE {live} INCLUDING ALL)")
    catalog.conn.executescript(search_table_ddl(SHADOW.search))


def create_shadow(catalog: Catalog, scope: Scope) -> None:
    """Empty shadow tables, then everything the scope does not re-extract copied over."""
    conn = catalog.conn
    for shadow in SHADOW.names():
        conn.execute(f"DROP TABLE IF EXISTS {shadow}")
    if catalog.postgres:
        _create_pg_shadow(catalog)
    else:
        _create_sqlite_shadow(catalog)
    where, args = scope.where()
    conn.execute(
        f"INSERT INTO {SHADOW.documents} SELECT * FROM {LIVE.documents} d WHERE d.capture_id"
        f" NOT IN (SELECT c.id FROM captures c WHERE 1 = 1{where})",
        args,
    )
    conn.execute(f"UPDATE {SHADOW.documents} SET indexed = 0")  # the shadow index is empty


def swap_in(catalog: Catalog) -> None:
    """Replace the live derived tables by their shadows (call inside a transaction)."""
    if catalog.postgres:
        _swap_in_pg(catalog)
        return
    conn = catalog.conn
    indexes = {live: _index_sql(catalog, live) for live in LIVE.names()[:3]}
    for live, shadow in zip(LIVE.names(), SHADOW.names(), strict=True):
        conn.execute(f"DROP TABLE {live}")
        conn.execute(f"ALTER TABLE {shadow} RENAME TO {live}")
    for index_list in indexes.values():
        for name, sql in index_list:
            conn.execute(f"DROP INDEX IF EXISTS {name}_next")
            conn.execute(sql)


def _swap_in_pg(catalog: Catalog) -> None:
    conn = catalog.conn
    for live, shadow in zip(LIVE.names(), SHADOW.names(), strict=True):
        conn.execute(f"DROP TABLE {live}")
        conn.execute(f"ALTER TABLE {shadow} RENAME TO {live}")
    conn.execute(f"ALTER INDEX {SHADOW.search}_terms RENAME TO {LIVE.search}_terms")
    # the shadow kept document ids explicitly: new documents must be numbered after them
    conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{LIVE.documents}', 'id'),"
        f" COALESCE((SELECT MAX(id) FROM {LIVE.documents}), 0) + 1, false)"
    )


def start_or_resume(catalog: Catalog, scope: Scope) -> tuple[int, Scope, bool]:
    """(reingest id, scope, resumed): an interrupted re-ingest is resumed with its scope."""
    row = catalog.conn.execute(
        "SELECT id, scope FROM reingests WHERE status = 'running' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is not None:
        return row[0], Scope.from_json(row[1]), True
    with catalog.transaction():
        create_shadow(catalog, scope)
        (reingest_id,) = catalog.conn.execute(
            "INSERT INTO reingests (started_at, status, scope) VALUES (?, 'running', ?)"
            " RETURNING id",
            (datetime.now(UTC).isoformat(), scope.to_json()),
        ).fetchone()
    return int(reingest_id), scope, False


def finish(catalog: Catalog, reingest_id: int, report: dict[str, object]) -> None:
    catalog.conn.execute(
        "UPDATE reingests SET status = 'finished', finished_at = ?, report = ? WHERE id = ?",
        (datetime.now(UTC).isoformat(), json.dumps(report, ensure_ascii=False), reingest_id),
    )
