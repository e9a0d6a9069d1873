"""Full-text search over documents, one hit per cluster: SQLite FTS5 ranked by BM25, or
PostgreSQL's full-text search (a GIN-indexed tsvector) ranked by ts_rank.

Chinese and Japanese have no spaces between words, so CJK runs are indexed and queried
as overlapping character bigrams (as Lucene's CJK analyzer does), after folding
traditional characters to simplified: a two-character query like 融资 or 融資 finds its
articles. Other scripts are split into words with case and diacritics folded (yatırım,
yatirim): by FTS5's unicode61 tokenizer, or on PostgreSQL by `terms()` here, which
hands the database finished lexemes (its own parser depends on the server's locale).
Both engines match the same documents; only the order of equally good hits may differ.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from archive.catalog import LIVE, Catalog, Tables, id_chunks

CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_RUN = re.compile(f"[{CJK}]+")
_TERM = re.compile(r"\S+")
SNIPPET_CHARS = 160


@cache
def _t2s():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def fold_chinese(text: str) -> str:
    return _t2s().convert(text) if _CJK_RUN.search(text) else text


def bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def analyse(text: str) -> str:
    """Text as FTS5 should see it: NFKC, simplified Chinese, CJK runs as bigram tokens."""
    text = fold_chinese(unicodedata.normalize("NFKC", text)).replace("ı", "i").replace("İ", "I")
    return _CJK_RUN.sub(lambda m: " " + " ".join(bigrams(m.group(0))) + " ", text)


def fts_query(query: str) -> str:
    """A user query as an FTS5 expression: every term required, CJK terms as phrases."""
    parts = []
    for term in _TERM.findall(unicodedata.normalize("NFKC", query)):
        tokens = [t for t in re.split(r"[^\w]+", analyse(term)) if t]
        if tokens:
            parts.append('"' + " ".join(tokens) + '"')
    return " AND ".join(parts)


_WORD = re.compile(r"[^\W_]+")
PG_WEIGHTS = "{0.5, 0.5, 0.5, 1.0}"  # D (body) .. A (title): a title match counts double


def terms(text: str) -> list[str]:
    """Lexemes as unicode61 with remove_diacritics makes them: words, CJK bigrams, folded.

    Folding maps each character to one character of the same class (word or not: checked
    over all of Unicode by tests/test_search.py), so the text is folded once, then split,
    with the same result as folding word by word."""
    return _WORD.findall(fold_case(analyse(text)))


def fold_case(text: str) -> str:
    """Case and diacritics folded, one character to one character."""
    return text.lower() if text.isascii() else text.translate(_fold_table())


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_text(title: str | None, body: str) -> str:
    """Title (weight A) and body lexemes with their positions, as tsvector input; a gap
    between them keeps a phrase from spanning title and body, as FTS5 columns do.

    Lexemes are word characters only, so they need no escaping; PostgreSQL itself sets
    positions above its maximum (16383) to the maximum."""
    title_terms = terms(title or "")
    parts = [f"'{w}':{i}A" for i, w in enumerate(title_terms, 1)]
    start = len(title_terms) + 2
    parts += [f"'{w}':{i}" for i, w in enumerate(terms(body), start)]
    return " ".join(parts)


def tsquery_text(query: str) -> str:
    """A user query as tsquery input: every term required, CJK terms as phrases."""
    parts = []
    for term in _TERM.findall(unicodedata.normalize("NFKC", query)):
        words = terms(term)
        if words:
            parts.append("(" + " <-> ".join(_lexeme(w) for w in words) + ")")
    return " & ".join(parts)


@dataclass(frozen=True)
class SearchHit:
    id: int
    url: str
    title: str | None
    lang: str
    site: str
    published: str | None
    cluster_id: int | None
    copies: int  # other documents in the same cluster
    score: float  # BM25 on SQLite, ts_rank on PostgreSQL (higher is better)
    snippet: str  # HTML-escaped, matches in <mark>

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "lang": self.lang,
            "site": self.site,
            "published": self.published,
            "cluster_id": self.cluster_id,
            "copies": self.copies,
            "score": round(self.score, 4),
            "snippet": self.snippet,
        }


@dataclass(frozen=True)
class SearchFilters:
    lang: str | None = None
    site: str | None = None
    since: str | None = None  # ISO date, compared with published (else fetched_at)
    until: str | None = None

    def where(self, prefix: str = "") -> tuple[str, list[object]]:
        """SQL conditions (each starting with AND) and their arguments; `site` is a host
        (any port) or host:port."""
        sql, args = "", []  # type: ignore[var-annotated]
        if self.lang:
            sql += f" AND {prefix}lang = ?"
            args.append(self.lang)
        if self.site:
            sql += f" AND ({prefix}site = ? OR {prefix}site LIKE ?)"
            args += [self.site, f"{self.site}:%"]
        if self.since:
            sql += f" AND COALESCE({prefix}published, {prefix}fetched_at) >= ?"
            args.append(self.since)
        if self.until:
            sql += f" AND COALESCE({prefix}published, {prefix}fetched_at) <= ?"
            args.append(self.until + "T99")
        return sql, args


class SearchIndex:
    """The table `search_index` (rowid = document id) and its verbs: an FTS5 table on
    SQLite, a table of tsvectors on PostgreSQL."""

    def __init__(self, catalog: Catalog, tables: Tables = LIVE) -> None:
        self.conn = catalog.conn
        self.postgres = catalog.postgres
        self.table = tables.search
        self.documents = tables.documents

    def add(self, doc_id: int, title: str | None, text: str) -> None:
        self.add_many([(doc_id, title, text)])

    def add_many(self, docs: Sequence[tuple[int, str | None, str]]) -> None:
        """Index (id, title, text)s, replacing what was indexed for those ids."""
        self.remove_many([doc_id for doc_id, _, _ in docs])
        if self.postgres:
            self.conn.executemany(
                f"INSERT INTO {self.table} (rowid, terms) VALUES (?, CAST(? AS tsvector))",
                [(doc_id, tsvector_text(title, text)) for doc_id, title, text in docs],
            )
            return
        self.conn.executemany(
            f"INSERT INTO {self.table} (rowid, title, body) VALUES (?, ?, ?)",
            [(doc_id, analyse(title or ""), analyse(text)) for doc_id, title, text in docs],
        )

    def remove(self, doc_id: int) -> None:
        self.remove_many([doc_id])

    def remove_many(self, doc_ids: Sequence[int]) -> None:
        for marks, chunk in id_chunks(list(doc_ids)):
            self.conn.execute(f"DELETE FROM {self.table} WHERE rowid IN {marks}", chunk)

    def populate(self, among: Sequence[int] | None = None) -> int:
        """Index every document (of the ids `among`) whose text is not indexed yet (or
        changed since)."""
        documents = self.documents
        sql, args = "", []
        if among is not None:
            sql, args = f" AND id IN ({','.join('?' * len(among)) or 'NULL'})", list(among)
        rows = self.conn.execute(
            f"SELECT id, title, text FROM {documents} WHERE outcome = 'ok' AND indexed = 0{sql}",
            args,
        ).fetchall()
        self.add_many([(doc_id, title, text or "") for doc_id, title, text in rows])
        for marks, chunk in id_chunks([r[0] for r in rows]):
            self.conn.execute(f"UPDATE {documents} SET indexed = 1 WHERE id IN {marks}", chunk)
        return len(rows)

    def rebuild(self) -> int:
        self.conn.execute(f"DELETE FROM {self.table}")
        self.conn.execute(f"UPDATE {self.documents} SET indexed = 0")
        return self.populate()

    def _match_sql(self) -> str:
        """Matching documents with their score as `rank` (lower is better)."""
        columns = "d.id, d.url, d.title, d.lang, d.site, d.published, d.cluster_id, d.text"
        if self.postgres:
            return (
                f"SELECT {columns}, -ts_rank('{PG_WEIGHTS}', s.terms, q, 1) AS rank"
                f" FROM {self.table} s JOIN {self.documents} d ON d.id = s.rowid,"
                " CAST(? AS tsquery) q WHERE s.terms @@ q AND d.outcome = 'ok'"
            )
        return (
            f"SELECT {columns}, bm25({self.table}, 2.0, 1.0) AS rank FROM {self.table}"
            f" JOIN {self.documents} d ON d.id = {self.table}.rowid"
            f" WHERE {self.table} MATCH ? AND d.outcome = 'ok'"
        )

    def search(
        self, query: str, filters: SearchFilters | None = None, limit: int = 10
    ) -> list[SearchHit]:
        expression = tsquery_text(query) if self.postgres else fts_query(query)
        if not expression:
            return []
        filters = filters or SearchFilters()
        where, where_args = filters.where("d.")
        sql = self._match_sql() + where + " ORDER BY rank, d.id LIMIT ?"
        args: list[object] = [expression, *where_args, max(limit * 10, 50)]
        hits: list[SearchHit] = []
        seen_clusters: set[int] = set()
        for row in self.conn.execute(sql, args).fetchall():
            cluster = row[6] if row[6] is not None else -row[0]
            if cluster in seen_clusters:
                continue
            seen_clusters.add(cluster)
            if row[6] is not None and row[6] != row[0] and filters == SearchFilters():
                # a cluster is shown as its canonical document (unless filters chose a copy)
                row = self._canonical(row)
            hits.append(
                SearchHit(
                    id=row[0],
                    url=row[1],
                    title=row[2],
                    lang=row[3] or "und",
                    site=row[4],
                    published=row[5],
                    cluster_id=row[6],
                    copies=self._copies(row[6]) if row[6] is not None else 0,
                    score=-float(row[8]),
                    snippet=snippet(row[7] or "", query, title=row[2]),
                )
            )
            if len(hits) >= limit:
                break
        return hits

    def _canonical(self, row: tuple) -> tuple:  # type: ignore[type-arg]
        canon = self.conn.execute(
            f"SELECT id, url, title, lang, site, published, cluster_id, text FROM {self.documents}"
            " WHERE id = ? AND outcome = 'ok'",
            (row[6],),
        ).fetchone()
        return (*canon, row[8]) if canon else row

    def _copies(self, cluster_id: int) -> int:
        n = self.conn.execute(
            f"SELECT COUNT(*) FROM {self.documents} WHERE cluster_id = ? AND outcome = 'ok'",
            (cluster_id,),
        ).fetchone()[0]
        return max(0, int(n) - 1)


class _FoldTable(dict[int, str]):
    """str.translate table folding case and diacritics, one character to one character."""

    def __missing__(self, code: int) -> str:
        c = chr(code)
        base = "".join(
            ch for ch in unicodedata.normalize("NFD", c) if not unicodedata.combining(ch)
        )
        folded = (base.lower() or c.lower())[:1] or c
        if folded == "ı":
            folded = "i"
        self[code] = folded
        return folded


@cache
def _fold_table() -> _FoldTable:
    return _FoldTable()


def _fold(text: str) -> str:
    """Length-preserving fold (case, diacritics, dotless i, traditional to simplified)."""
    folded = fold_case(text)
    converted = fold_chinese(folded)
    return converted if len(converted) == len(folded) else folded


def _matches(text: str, query: str) -> list[tuple[int, int]]:
    folded = _fold(text)
    spans: list[tuple[int, int]] = []
    for term in (_fold(t) for t in _TERM.findall(unicodedata.normalize("NFKC", query))):
        start = folded.find(term)
        while start != -1 and term:
            spans.append((start, start + len(term)))
            start = folded.find(term, start + len(term))
    return spans


def snippet(text: str, query: str, width: int = SNIPPET_CHARS, title: str | None = None) -> str:
    """A window of `text` around the first match, matches wrapped in <mark> (HTML-escaped);
    the title, highlighted, when only the title matched."""
    spans = _matches(text, query)
    if not spans and title and _matches(title, query):
        text, spans = title, _matches(title, query)
    if not spans:
        window_start = 0
    else:
        first = min(s for s, _ in spans)
        window_start = max(0, first - width // 3)
    window_end = min(len(text), window_start + width)
    out, pos = [], window_start
    for s, e in sorted(spans):
        if s < pos or e > window_end:
            continue
        out.append(html.escape(text[pos:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        pos = e
    out.append(html.escape(text[pos:window_end]))
    prefix = "…" if window_start > 0 else ""
    suffix = "…" if window_end < len(text) else ""
    return prefix + "".join(out).replace("\n", " ") + suffix
