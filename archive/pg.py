"""The catalog on PostgreSQL: a psycopg connection that speaks the catalog's SQL.

The catalog's statements are written once, in the SQL that SQLite and PostgreSQL share,
with `?` parameters. The few SQLite idioms they use are translated here, once per
statement text: `?` -> `%s`, `INSERT OR IGNORE` -> `ON CONFLICT DO NOTHING`,
`a IS b` / `a IS NOT b` between values -> `IS [NOT] DISTINCT FROM`, `BEGIN IMMEDIATE`
-> `BEGIN`. Schema differences (identity columns, BYTEA, the full-text index) live in
`pg_schema`. Rows answer both `row[0]` and `row["name"]`, as `sqlite3.Row` does.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

_QUOTED = re.compile(r"('(?:[^']|'')*')")
_IS_NOT = re.compile(r"\bIS NOT (?!NULL\b)", re.IGNORECASE)
_IS = re.compile(r"\bIS (?!NOT\b|NULL\b|DISTINCT\b)", re.IGNORECASE)
_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.IGNORECASE)
_RETURNING = re.compile(r"\sRETURNING\s", re.IGNORECASE)


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """One catalog statement in PostgreSQL's dialect (string literals left alone)."""
    if sql.strip().upper() == "BEGIN IMMEDIATE":
        return "BEGIN"
    parts = _QUOTED.split(sql.replace("%", "%%"))
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        code = parts[i].replace("?", "%s")
        code = _IS_NOT.sub("IS DISTINCT FROM ", code)
        parts[i] = _IS.sub("IS NOT DISTINCT FROM ", code)
    out = "".join(parts)
    if _INSERT_OR_IGNORE.match(out):
        out = _INSERT_OR_IGNORE.sub("INSERT INTO", out, count=1)
        returning = _RETURNING.search(out)
        if returning:
            out = f"{out[: returning.start()]} ON CONFLICT DO NOTHING{out[returning.start() :]}"
        else:
            out += " ON CONFLICT DO NOTHING"
    return out


class Row(tuple):  # type: ignore[type-arg]
    """A result row readable by position and by column name."""

    names: dict[str, int]

    def __getitem__(self, key):  # type: ignore[no-untyped-def,override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor: Any):  # type: ignore[no-untyped-def]
    names = {col.name: i for i, col in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row.names = names
        return row

    return make


class PgCursor:
    """The part of sqlite3.Cursor the catalog uses."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def fetchone(self) -> Row | None:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Row]:
        return self._cursor.fetchall() if self._cursor.description else []

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


class PgConnection:
    """A PostgreSQL connection with the interface the catalog uses of sqlite3's.

    It runs in autocommit mode: like the SQLite catalog (isolation_level=None), a
    statement outside `Catalog.transaction()` commits on its own."""

    dialect = "postgresql"

    def __init__(self, url: str, readonly: bool = False) -> None:
        import psycopg

        # Client-side binding, as SQLite binds: `? IS NULL` needs no declared type.
        self.raw = psycopg.connect(
            url,
            autocommit=True,
            row_factory=_row_factory,
            cursor_factory=psycopg.ClientCursor,
            application_name="warcflow",
        )
        if readonly:
            self.raw.execute("SET default_transaction_read_only = on")
        else:
            # Documents carry long texts: lz4 compresses them in about 60 % of pglz's CPU
            # (PostgreSQL 14+ built with lz4; elsewhere the server's default stays).
            with contextlib.suppress(psycopg.Error):
                self.raw.execute("SET default_toast_compression = 'lz4'")

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        cursor = self.raw.cursor()
        cursor.execute(translate(sql), _adapt(params or ()))
        return PgCursor(cursor)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        cursor = self.raw.cursor()
        rows = [_adapt(r) for r in rows]
        if rows:
            cursor.executemany(translate(sql), rows)
        return PgCursor(cursor)

    def executescript(self, script: str) -> None:
        self.raw.execute(script)

    def close(self) -> None:
        self.raw.close()


def _adapt(params: Sequence[Any]) -> tuple[Any, ...]:
    # SQLite stores booleans as integers; so does the catalog's schema on PostgreSQL.
    return tuple(int(p) if isinstance(p, bool) else p for p in params)


_SQLITE_TYPES = [
    (re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
]
_FTS5 = re.compile(r"CREATE VIRTUAL TABLE (\w+) USING fts5\([^;]*\);", re.DOTALL)


def search_table_ddl(table: str) -> str:
    """The full-text index on PostgreSQL: the analysed terms as a tsvector, GIN-indexed."""
    return (
        f"CREATE TABLE {table} (rowid BIGINT PRIMARY KEY, terms TSVECTOR NOT NULL);"
        f" CREATE INDEX {table}_terms ON {table} USING GIN (terms);"
    )


def pg_schema(script: str) -> str:
    """A catalog migration written for SQLite, in PostgreSQL's types."""
    for pattern, replacement in _SQLITE_TYPES:
        script = pattern.sub(replacement, script)
    return _FTS5.sub(lambda m: search_table_ddl(m.group(1)), script)
