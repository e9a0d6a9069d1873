"""Search latency and index size: warcflow's FTS5 index vs a plain LIKE scan.

    .venv/bin/python bench/search.py [--docs 100000] [--queries 200]

Builds a catalog of synthetic documents (half Chinese, half pseudo-English, ~1,000-1,500
characters each, words drawn with Zipf weights from fixed vocabularies with a seed), indexes them with
`archive.search.SearchIndex`, then times the same queries (two-character Chinese words,
English words, two-word English queries) through `SearchIndex.search` and through
`SELECT ... WHERE text LIKE '%q%'` on the same table. Prints p50/p95 latency, the ratio,
index size and build rate. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from archive.catalog import Catalog
from archive.search import SearchIndex

SYLLABLES = "ka ri to mo na le si vu po de ran tel mis cor ban fen gal hur lin"


def vocabularies(seed: int) -> tuple[list[str], list[str]]:
    """20,000 pseudo-English words and 3,000 Chinese characters, used with Zipf weights."""
    rng = random.Random(seed)
    syllables = SYLLABLES.split()
    words = {
        "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(40_000)
    }
    english = sorted(words)
    rng.shuffle(english)
    chinese = [chr(0x4E00 + i * 7) for i in range(3000)]
    rng.shuffle(chinese)
    return english[:20_000], chinese


def zipf_weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) for rank in range(n)]


Vocab = tuple[list[str], list[str]]


def make_doc(
    rng: random.Random, i: int, vocab: Vocab, weights: tuple[list[float], list[float]]
) -> tuple[str, str, str]:
    english, chinese = vocab
    if i % 2:
        words = rng.choices(english, weights[0], k=220)
        return f"Report {i}: {' '.join(words[:6])}", " ".join(words), "en"
    chars = rng.choices(chinese, weights[1], k=900)
    text = "，".join("".join(chars[k : k + 12]) for k in range(0, 900, 12))
    return f"报道{i}：{''.join(chars[:10])}", text, "zh-cn"


def build(path: Path, n: int, seed: int) -> tuple[Catalog, float]:
    catalog = Catalog.open(path)
    rng = random.Random(seed)
    vocab = vocabularies(seed)
    weights = (zipf_weights(len(vocab[0])), zipf_weights(len(vocab[1])))
    conn = catalog.conn
    started = time.perf_counter()
    with catalog.transaction():
        conn.execute(
            "INSERT INTO runs (id, started_at, status, settings, sources) VALUES (1, '', 'x', '{}', '[]')"
        )
        for i in range(1, n + 1):
            title, text, lang = make_doc(rng, i, vocab, weights)
            conn.execute(
                "INSERT INTO captures (id, run_id, url, host, record_type, record_id, warc_file,"
                " warc_offset, warc_length, fetched_at, status, mime, payload_digest, body_bytes)"
                " VALUES (?, 1, ?, 'bench', 'response', ?, 'x', 0, 0, '2026-01-01', 200,"
                " 'text/html', '', 0)",
                (i, f"http://bench/{i}", f"<urn:{i}>"),
            )
            conn.execute(
                "INSERT INTO documents (id, capture_id, url, site, title, lang, text, outcome,"
                " extractor_version, cluster_id, fetched_at) VALUES (?, ?, ?, 'bench', ?, ?, ?,"
                " 'ok', 'bench', ?, '2026-01-01')",
                (i, i, f"http://bench/{i}", title, lang, text, i),
            )
    inserted = time.perf_counter()
    with catalog.transaction():
        SearchIndex(catalog).populate()
    return catalog, (time.perf_counter() - inserted, inserted - started)[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed + 1)
    english, chinese = vocabularies(args.seed)
    # Queries from the middle of the frequency range, as people search for topics.
    mid_en, mid_zh = english[50:2000], chinese[30:600]
    kinds = [
        lambda: rng.choice(mid_zh) + rng.choice(mid_zh[:100]),
        lambda: rng.choice(mid_en),
        lambda: f"{rng.choice(mid_en)} {rng.choice(mid_en)}",
    ]
    queries = [rng.choice(kinds)() for _ in range(args.queries)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.sqlite"
        catalog, index_seconds = build(path, args.docs, args.seed)
        index = SearchIndex(catalog)
        fts, like = [], []
        for q in queries:
            t0 = time.perf_counter()
            index.search(q, limit=10)
            fts.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            terms = q.split()
            sql = "SELECT id FROM documents WHERE " + " AND ".join("text LIKE ?" for _ in terms)
            # the baseline must see every match too, to rank them (here: newest first)
            catalog.conn.execute(
                sql + " ORDER BY id DESC LIMIT 10", [f"%{t}%" for t in terms]
            ).fetchall()
            like.append((time.perf_counter() - t0) * 1000)
        pages = (
            catalog.conn.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'search_index%'"
            ).fetchone()[0]
            if _has_dbstat(catalog)
            else None
        )
        catalog.close()
        db_size = path.stat().st_size
    result = {
        "docs": args.docs,
        "queries": args.queries,
        "index_build_seconds": round(index_seconds, 1),
        "index_docs_per_second": round(args.docs / index_seconds),
        "fts_p50_ms": round(statistics.median(fts), 2),
        "fts_p95_ms": round(percentile(fts, 0.95), 2),
        "like_p50_ms": round(statistics.median(like), 2),
        "like_p95_ms": round(percentile(like, 0.95), 2),
        "index_bytes": pages,
        "catalog_bytes": db_size,
    }
    print(f"documents: {args.docs:,}  queries: {args.queries} (zh 2-char, en word, en 2 words)")
    print(f"index build: {index_seconds:.1f} s ({result['index_docs_per_second']:,} docs/s)")
    if pages:
        print(f"index size: {pages / 1e6:.1f} MB (catalog {db_size / 1e6:.1f} MB)")
    print(f"{'':22}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'warcflow (FTS5+BM25)':22}{result['fts_p50_ms']:>10}{result['fts_p95_ms']:>10}")
    print(f"{'baseline LIKE scan':22}{result['like_p50_ms']:>10}{result['like_p95_ms']:>10}")
    print(f"p95 ratio LIKE/warcflow: {result['like_p95_ms'] / result['fts_p95_ms']:.1f}x")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "search.json").write_text(json.dumps(result, indent=2))


def _has_dbstat(catalog: Catalog) -> bool:
    try:
        catalog.conn.execute("SELECT 1 FROM dbstat LIMIT 1").fetchall()
        return True
    except Exception:
        return False


if __name__ == "__main__":
    main()
