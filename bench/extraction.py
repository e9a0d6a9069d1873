"""Extraction benchmark: warcflow's `extract()` against bare `trafilatura.extract()`, same run.

    .venv/bin/python bench/extraction.py              # all 181 pages
    .venv/bin/python bench/extraction.py --limit 20   # the first 20 pages (ids sorted)
    .venv/bin/python bench/extraction.py --profile    # also cProfile one warcflow pass

Corpus: /work/shared/benchmarks/article-extraction (scrapinghub's article-extraction
benchmark data: `html/<id>.html.gz`, UTF-8 pages, and `ground-truth.json` with the
reference `articleBody`). The sha256 of ground-truth.json is printed as the corpus digest.

Tools, on the same pages in the same process:
  warcflow     `extractors.extract(html_bytes, url)`: the page's bytes (gzip of the file
               undone, nothing else), so warcflow decodes them as it does an archived
               response; then main text, cleaning and language labelling. `Document.text`.
  trafilatura  bare `trafilatura.extract(html_str, include_comments=False)` on the page
               decoded as UTF-8 (the README says the pages are UTF-8).

Metric (the benchmark's shingle metric, set form): text -> tokens `\\w+` (case kept) ->
shingles of 4 consecutive tokens (a text shorter than 4 tokens is one shingle), as sets.
precision = |pred & gold| / |pred|, recall = |pred & gold| / |gold|, F1 their harmonic
mean, per document, then averaged over documents (macro). An empty output scores 0.
Pages whose ground truth is CJK (han + kana + hangul >= 30 % of letters) use character
4-gram shingles over the `\\w` characters instead, since words are not space-separated.

Speed: one warm-up call per tool on the first pages, then two timed passes over all
pages per tool (interleaved: warcflow, trafilatura, warcflow, trafilatura); the best
pass counts. Scores come from the first pass; the second must give identical texts.

Results are printed and written to bench/results/extraction.json.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import gzip
import hashlib
import json
import pstats
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = Path("/work/shared/benchmarks/article-extraction")
RESULTS = ROOT / "bench" / "results" / "extraction.json"
PROFILE_OUT = ROOT / "bench" / "results" / "extraction-warcflow.prof"
SHINGLE = 4
CJK_SHARE = 0.3
WARMUP_PAGES = 3
PASSES = 2
WORST = 10

_TOKEN = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Page:
    id: str
    url: str
    html: bytes
    gold: str
    cjk: bool  # character shingles
    lang: str  # langdetect on the ground truth, for the per-language table


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float


@dataclass
class Run:
    """One tool's outputs and timings."""

    name: str
    texts: list[str] = field(default_factory=list)
    pass_seconds: list[float] = field(default_factory=list)
    pass_cpu: list[float] = field(default_factory=list)  # process CPU time of each pass
    page_seconds: list[float] = field(default_factory=list)  # from the best pass
    identical: bool = True

    @property
    def best(self) -> float:
        return min(self.pass_seconds)


# -- corpus ------------------------------------------------------------------------
def corpus_digest(root: Path) -> str:
    return hashlib.sha256((root / "ground-truth.json").read_bytes()).hexdigest()


def is_cjk(text: str) -> bool:
    letters = len(_LETTER.findall(text))
    return letters > 0 and len(_CJK.findall(text)) >= CJK_SHARE * letters


def gold_language(text: str) -> str:
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return detect(text)
    except LangDetectException:
        return "und"


def load_corpus(root: Path, limit: int | None) -> list[Page]:
    truth: dict[str, dict[str, str]] = json.loads((root / "ground-truth.json").read_text("utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        html = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())
        gold = truth[key]["articleBody"]
        pages.append(Page(key, truth[key]["url"], html, gold, is_cjk(gold), gold_language(gold)))
    return pages


# -- metric ------------------------------------------------------------------------
def shingles(text: str, cjk: bool) -> set[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    if cjk:
        tokens = list("".join(tokens))
    if not tokens:
        return set()
    return {tuple(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}


def score(pred: str, gold: str, cjk: bool) -> Score:
    p, g = shingles(pred, cjk), shingles(gold, cjk)
    if not p or not g:
        return Score(0.0, 0.0, 0.0)
    hit = len(p & g)
    precision, recall = hit / len(p), hit / len(g)
    f1 = 2 * precision * recall / (precision + recall) if hit else 0.0
    return Score(precision, recall, f1)


def mean_score(scores: Sequence[Score]) -> Score:
    if not scores:
        return Score(0.0, 0.0, 0.0)
    return Score(
        statistics.fmean(s.precision for s in scores),
        statistics.fmean(s.recall for s in scores),
        statistics.fmean(s.f1 for s in scores),
    )


# -- the two tools -----------------------------------------------------------------
def warcflow_tool() -> Callable[[Page], str]:
    from extractors import extract

    return lambda page: extract(page.html, page.url).text


def trafilatura_tool() -> Callable[[Page], str]:
    import trafilatura

    def run(page: Page) -> str:
        return trafilatura.extract(page.html.decode("utf-8"), include_comments=False) or ""

    return run


def timed_pass(
    tool: Callable[[Page], str], pages: Sequence[Page]
) -> tuple[list[str], list[float], float]:
    gc.collect()
    texts, seconds = [], []
    cpu = time.process_time()
    for page in pages:
        start = time.perf_counter()
        texts.append(tool(page))
        seconds.append(time.perf_counter() - start)
    return texts, seconds, time.process_time() - cpu


def benchmark(tools: dict[str, Callable[[Page], str]], pages: Sequence[Page]) -> dict[str, Run]:
    runs = {name: Run(name) for name in tools}
    for tool in tools.values():  # warm-up: imports, models, caches
        for page in pages[:WARMUP_PAGES]:
            tool(page)
    for n in range(PASSES):
        for name, tool in tools.items():
            texts, seconds, cpu = timed_pass(tool, pages)
            run = runs[name]
            total = sum(seconds)
            if n == 0:
                run.texts = texts
            elif texts != run.texts:
                run.identical = False
            if not run.pass_seconds or total < run.best:
                run.page_seconds = seconds
            run.pass_seconds.append(total)
            run.pass_cpu.append(cpu)
            print(f"  pass {n + 1} {name:<12} {total:7.2f} s wall {cpu:7.2f} s CPU", flush=True)
    return runs


# -- diagnostics -------------------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def removal_audit(
    pages: Sequence[Page],
) -> tuple[dict[str, dict[str, int]], list[dict[str, object]], dict[str, float]]:
    """warcflow's cleaner per rule (spans, chars, spans >= 20 chars found verbatim in the
    gold), each page's pre-clean text, CPU seconds per stage, and how many times one
    extract() call runs the cleaner and the language step."""
    from extractors import extract
    from extractors.clean import normalise_unicode
    from extractors.decode import decode_html
    from extractors.pipeline import default_pipeline

    pipeline = default_pipeline()
    calls: Counter[str] = Counter()
    clean, analyse = pipeline.cleaner.clean, pipeline.language.analyse

    def counted_clean(*args: object, **kwargs: object) -> object:
        calls["clean"] += 1
        return clean(*args, **kwargs)  # type: ignore[arg-type]

    def counted_analyse(*args: object, **kwargs: object) -> object:
        calls["analyse"] += 1
        return analyse(*args, **kwargs)  # type: ignore[arg-type]

    per_rule: dict[str, Counter[str]] = defaultdict(Counter)
    stages: Counter[str] = Counter()
    docs = []
    for page in pages:
        pipeline.cleaner.clean = counted_clean  # type: ignore[method-assign]
        pipeline.language.analyse = counted_analyse  # type: ignore[method-assign]
        try:
            doc = extract(page.html, page.url)
        finally:
            del pipeline.cleaner.clean, pipeline.language.analyse  # back to the class methods
        # each stage once, CPU-timed (what one pass of the pipeline needs at least)
        t0 = time.process_time()
        html_text = decode_html(page.html).text
        t1 = time.process_time()
        main = pipeline.main_text.extract(html_text, page.url)
        t2 = time.process_time()
        extracted = normalise_unicode(main.text if main else "")
        t3 = time.process_time()
        cleaned = pipeline.cleaner.clean(extracted, main.title if main else None)
        t4 = time.process_time()
        pipeline.language.analyse(cleaned.paragraphs)
        t5 = time.process_time()
        stages["decode"] += t1 - t0
        stages["trafilatura + metadata"] += t2 - t1
        stages["ftfy + NFC"] += t3 - t2
        stages["clean (rule packs)"] += t4 - t3
        stages["language (analyse)"] += t5 - t4
        stages["paragraphs"] += len(cleaned.paragraphs)
        gold = _norm(page.gold)
        lost = []
        for removal in doc.removed:
            stats = per_rule[removal.rule]
            stats["spans"] += 1
            stats["chars"] += len(removal.text)
            piece = _norm(removal.text)
            if len(piece) >= 20 and piece in gold:
                stats["in_gold"] += 1
                stats["in_gold_chars"] += len(piece)
                lost.append(f"{removal.rule}: {piece[:70]}")
        docs.append(
            {
                "id": page.id,
                "extracted": doc.extracted,
                "lang": doc.lang,
                "outcome": doc.outcome,
                "fallback": doc.meta.get("fallback", ""),
                "lost": lost,
            }
        )
    stages["clean calls"] = calls["clean"]
    stages["analyse calls"] = calls["analyse"]
    return {k: dict(v) for k, v in per_rule.items()}, docs, dict(stages)


def profile_warcflow(pages: Sequence[Page]) -> None:
    tool = warcflow_tool()
    profiler = cProfile.Profile()
    profiler.enable()
    for page in pages:
        tool(page)
    profiler.disable()
    PROFILE_OUT.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(PROFILE_OUT))
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if any(key in path for key in ("extractors/", "trafilatura/", "langdetect/", "ftfy/")):
            short = path.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
            rows.append((ct, f"{short}:{func}"))
    rows.sort(reverse=True)
    print(f"\ncProfile of one warcflow pass ({total:.1f} s profiled; saved to {PROFILE_OUT})")
    print(f"  {'cumulative s':>12}  {'share':>6}  function")
    for ct, name in rows[:22]:
        print(f"  {ct:12.2f}  {ct / total:6.1%}  {name}")


# -- report ------------------------------------------------------------------------
def ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "n/a"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--profile", action="store_true", help="cProfile one warcflow pass")
    args = parser.parse_args(argv)

    digest = corpus_digest(args.corpus)
    pages = load_corpus(args.corpus, args.limit)
    cjk_pages = sum(p.cjk for p in pages)
    print("Article extraction: warcflow extract() vs bare trafilatura.extract()")
    print(f"corpus      {args.corpus}  ({len(pages)} pages; {cjk_pages} CJK)")
    print(f"digest      sha256(ground-truth.json) = {digest}")
    from importlib.metadata import version

    from extractors.pipeline import default_pipeline

    print(f"warcflow    {default_pipeline().version}")
    print(f"trafilatura {version('trafilatura')}  extract(html_str, include_comments=False)")
    print(f"python      {sys.version.split()[0]}")
    print(
        "metric      word 4-gram shingles (tokens \\w+, case kept) as sets; char 4-grams for"
        " CJK;\n            P = |pred&gold|/|pred|, R = |pred&gold|/|gold|, per page, averaged;"
        " empty output = 0"
    )
    print(f"timing      warm-up {WARMUP_PAGES} pages, best of {PASSES} passes, wall clock\n")

    tools = {"warcflow": warcflow_tool(), "trafilatura": trafilatura_tool()}
    runs = benchmark(tools, pages)
    wf, tf = runs["warcflow"], runs["trafilatura"]

    scores = {
        name: [score(t, p.gold, p.cjk) for t, p in zip(run.texts, pages, strict=True)]
        for name, run in runs.items()
    }
    means = {name: mean_score(s) for name, s in scores.items()}

    print(f"\n{'':<22}{'warcflow':>10}{'trafilatura':>13}{'ratio wf/tf':>13}")
    for label, attr in (("precision", "precision"), ("recall", "recall"), ("F1", "f1")):
        a, b = getattr(means["warcflow"], attr), getattr(means["trafilatura"], attr)
        print(f"{label:<22}{a:10.4f}{b:13.4f}{ratio(a, b):>13}")
    speed = {name: len(pages) / run.best for name, run in runs.items()}
    print(
        f"{'pages/s':<22}{speed['warcflow']:10.2f}{speed['trafilatura']:13.2f}"
        f"{ratio(speed['warcflow'], speed['trafilatura']):>13}"
    )
    cpu_speed = {name: len(pages) / min(run.pass_cpu) for name, run in runs.items()}
    print(
        f"{'pages/s (CPU time)':<22}{cpu_speed['warcflow']:10.2f}{cpu_speed['trafilatura']:13.2f}"
        f"{ratio(cpu_speed['warcflow'], cpu_speed['trafilatura']):>13}"
    )
    ms = {name: 1000 * statistics.median(run.page_seconds) for name, run in runs.items()}
    print(f"{'median ms/page':<22}{ms['warcflow']:10.1f}{ms['trafilatura']:13.1f}")
    print(
        f"{'passes (s)':<22}{'/'.join(f'{s:.1f}' for s in wf.pass_seconds):>10}"
        f"{'/'.join(f'{s:.1f}' for s in tf.pass_seconds):>13}"
    )
    empty = {name: sum(not t.strip() for t in run.texts) for name, run in runs.items()}
    print(f"{'empty outputs':<22}{empty['warcflow']:10d}{empty['trafilatura']:13d}")
    print(f"{'same text both passes':<22}{wf.identical!s:>10}{tf.identical!s:>13}")

    # where the gap comes from: trafilatura settings (pre-clean) or the cleaner
    rules, docs, stages = removal_audit(pages)
    pre = mean_score(
        [score(d["extracted"], p.gold, p.cjk) for d, p in zip(docs, pages, strict=True)]
    )  # type: ignore[arg-type]
    print(
        f"\nwarcflow before cleaning (Document.extracted): P {pre.precision:.4f}"
        f"  R {pre.recall:.4f}  F1 {pre.f1:.4f}"
    )

    paragraphs = stages.pop("paragraphs")
    clean_calls, analyse_calls = stages.pop("clean calls"), stages.pop("analyse calls")
    e2e = min(wf.pass_cpu) / len(pages)
    print(f"\nwarcflow CPU time per page: each stage run once ({paragraphs:.0f} paragraphs in all)")
    for stage, secs in stages.items():
        print(f"  {stage:<30}{1000 * secs / len(pages):8.1f} ms  {secs / len(pages) / e2e:6.1%}")
    once = sum(stages.values()) / len(pages)
    print(f"  {'sum of the stages':<30}{1000 * once:8.1f} ms  {once / e2e:6.1%}")
    print(f"  {'extract() end to end (best)':<30}{1000 * e2e:8.1f} ms  100.0%")
    print(
        f"  per extract() call: cleaner ran {clean_calls / len(pages):.2f}x,"
        f" language step {analyse_calls / len(pages):.2f}x"
    )

    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, page in enumerate(pages):
        by_lang[page.lang].append(i)
    print(f"\nper ground-truth language (langdetect)\n{'lang':<6}{'n':>4}{'F1 wf':>9}{'F1 tf':>9}")
    for lang, idx in sorted(by_lang.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        a = statistics.fmean(scores["warcflow"][i].f1 for i in idx)
        b = statistics.fmean(scores["trafilatura"][i].f1 for i in idx)
        print(f"{lang:<6}{len(idx):>4}{a:9.4f}{b:9.4f}")

    wins = sum(
        a.f1 > b.f1 + 1e-9 for a, b in zip(scores["warcflow"], scores["trafilatura"], strict=True)
    )
    losses = sum(
        a.f1 < b.f1 - 1e-9 for a, b in zip(scores["warcflow"], scores["trafilatura"], strict=True)
    )
    print(
        f"\npages where warcflow F1 is higher / lower / equal: {wins} / {losses} / {len(pages) - wins - losses}"
    )

    print(
        "\ncleaner removals by rule (spans >= 20 chars that are verbatim in the gold = lost text)"
    )
    print(f"{'rule':<34}{'spans':>7}{'chars':>8}{'in gold':>9}{'gold chars':>12}")
    for rule, st in sorted(rules.items(), key=lambda kv: -kv[1]["chars"]):
        print(
            f"{rule:<34}{st['spans']:>7}{st['chars']:>8}{st.get('in_gold', 0):>9}"
            f"{st.get('in_gold_chars', 0):>12}"
        )

    order = sorted(
        range(len(pages)),
        key=lambda i: scores["warcflow"][i].f1 - scores["trafilatura"][i].f1,
    )[:WORST]
    print(f"\n{WORST} pages where warcflow's F1 is most below trafilatura's")
    print(f"{'id':<16}{'F1 wf':>7}{'F1 tf':>7}{'P wf':>7}{'R wf':>7}{'R tf':>7}  url")
    for i in order:
        a, b, page, doc = scores["warcflow"][i], scores["trafilatura"][i], pages[i], docs[i]
        print(
            f"{page.id[:16]:<16}{a.f1:7.3f}{b.f1:7.3f}{a.precision:7.3f}{a.recall:7.3f}"
            f"{b.recall:7.3f}  {page.url}"
        )
        pre_f1 = score(str(doc["extracted"]), page.gold, page.cjk).f1
        note = f"    full id {page.id}; F1 before cleaning {pre_f1:.3f}; lang {doc['lang']}"
        if doc["fallback"]:
            note += f"; fallback {doc['fallback']}"
        print(note)
        for lost in list(doc["lost"])[:3]:  # type: ignore[call-overload]
            print(f"    removed but in gold: {lost}")

    slow = sorted(range(len(pages)), key=lambda i: -wf.page_seconds[i])[:5]
    print("\nslowest pages for warcflow (best pass)")
    for i in slow:
        print(
            f"  {pages[i].id[:16]}  wf {1000 * wf.page_seconds[i]:7.1f} ms  tf"
            f" {1000 * tf.page_seconds[i]:7.1f} ms  {len(pages[i].html) // 1024} KiB  {pages[i].url}"
        )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "corpus_digest": digest,
                "pages": len(pages),
                "mean": {k: vars(v) for k, v in means.items()},
                "warcflow_pre_clean": vars(pre),
                "pages_per_s": speed,
                "pages_per_cpu_s": cpu_speed,
                "warcflow_stage_cpu_s": stages,
                "pass_seconds": {k: r.pass_seconds for k, r in runs.items()},
                "per_page": [
                    {
                        "id": p.id,
                        "url": p.url,
                        "lang": p.lang,
                        "cjk": p.cjk,
                        "warcflow": vars(scores["warcflow"][i]),
                        "trafilatura": vars(scores["trafilatura"][i]),
                        "seconds": {
                            "warcflow": wf.page_seconds[i],
                            "trafilatura": tf.page_seconds[i],
                        },
                    }
                    for i, p in enumerate(pages)
                ],
            },
            indent=1,
        )
    )
    print(f"\nper-page results written to {RESULTS}")
    if args.profile:
        profile_warcflow(pages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
