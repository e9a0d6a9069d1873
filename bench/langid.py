"""Language-ID benchmark: warcflow's LanguageDetector against bare langdetect, same run.

    .venv/bin/python bench/langid.py              # all sentences (about 5 minutes)
    .venv/bin/python bench/langid.py --limit 100  # first 100 lines per language
    .venv/bin/python bench/langid.py --words      # also single words and word pairs

Data: /work/shared/benchmarks/language-id (lingua-py's test data): sentences/<iso>.txt,
19 languages, one sentence a line; derived/sentences/zh-hant.txt is zh.txt converted to
Traditional Chinese (row `zh-hant`, gold `zh`). A digest of the files read is printed.

(a) single sentences: every line on its own.
    warcflow   `LanguageDetector().detect(sentence)`
    langdetect `DetectorFactory.seed = 0; langdetect.detect(sentence)`
(b) multi-sentence texts: 5 consecutive lines of one file (non-overlapping; a remainder
    of fewer than 5 is dropped).
    warcflow   `LanguageDetector().analyse([s1, ..., s5]).lang`
    langdetect `langdetect.detect(" ".join([s1, ..., s5]))`

Scoring: a label is right when it equals the gold ISO code; zh-cn and zh-tw count as
`zh`. langdetect's exception (no letters) counts as `und`, which is wrong. Accuracy per
language, overall over all items (micro) and as the mean of the languages (macro).
langdetect has no Malay (`ms`) profile, so bare langdetect never says `ms`; warcflow
tells `ms` from `id` by words the two languages spell or choose differently
(extractors/malay.py). The overall figures are also given without `ms`.

Speed: a warm-up, then two timed passes per tool (interleaved), the best counts;
sentences/s = sentences / seconds (for (b) also texts/s). Labels from the first pass are
scored; the second pass must give the same labels.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = Path("/work/shared/benchmarks/language-id")
GROUP = 5
PASSES = 2
WARMUP = 50
TOP_CONFUSIONS = 10
TARGET_MULTI = 0.99


@dataclass(frozen=True)
class Item:
    row: str  # the file's name: an ISO code, or zh-hant
    gold: str
    parts: tuple[str, ...]  # one sentence, or the sentences of a multi-sentence text


@dataclass
class Run:
    name: str
    labels: list[str] = field(default_factory=list)  # raw labels, first pass
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # process CPU time of each pass
    identical: bool = True

    @property
    def best(self) -> float:
        return min(self.seconds)


# -- data --------------------------------------------------------------------------
def read_rows(root: Path, folder: str, limit: int | None) -> tuple[dict[str, list[str]], str]:
    files = sorted((root / folder).glob("*.txt"))
    if folder == "sentences":
        files.append(root / "derived" / "sentences" / "zh-hant.txt")
    digest = hashlib.sha256()
    rows: dict[str, list[str]] = {}
    for path in files:
        data = path.read_bytes()
        digest.update(str(path.relative_to(root)).encode() + b"\0" + data)
        text = data.decode("utf-8")  # lines end at "\n" only (U+2028 etc. occur in sentences)
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        rows[path.stem] = lines[:limit]
    return rows, digest.hexdigest()


def gold_of(row: str) -> str:
    return "zh" if row == "zh-hant" else row


def single_items(rows: dict[str, list[str]]) -> list[Item]:
    return [Item(row, gold_of(row), (line,)) for row, lines in rows.items() for line in lines]


def multi_items(rows: dict[str, list[str]]) -> list[Item]:
    items = []
    for row, lines in rows.items():
        for start in range(0, len(lines) - GROUP + 1, GROUP):
            items.append(Item(row, gold_of(row), tuple(lines[start : start + GROUP])))
    return items


def scored(label: str) -> str:
    return "zh" if label in ("zh-cn", "zh-tw") else label


# -- the tools ---------------------------------------------------------------------
def langdetect_single() -> Callable[[Item], str]:
    import langdetect
    from langdetect import DetectorFactory
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def run(item: Item) -> str:
        try:
            return langdetect.detect(" ".join(item.parts))
        except LangDetectException:
            return "und"

    return run


def warcflow_single() -> Callable[[Item], str]:
    from extractors.language import LanguageDetector

    detector = LanguageDetector()
    return lambda item: detector.detect(item.parts[0])


def warcflow_multi() -> Callable[[Item], str]:
    from extractors.language import LanguageDetector

    detector = LanguageDetector()
    return lambda item: detector.analyse(list(item.parts)).lang


def benchmark(tools: dict[str, Callable[[Item], str]], items: Sequence[Item]) -> dict[str, Run]:
    runs = {name: Run(name) for name in tools}
    for tool in tools.values():
        for item in items[:: max(1, len(items) // WARMUP)]:
            tool(item)
    for n in range(PASSES):
        for name, tool in tools.items():
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            labels = [tool(item) for item in items]
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            run = runs[name]
            if n == 0:
                run.labels = labels
            elif labels != run.labels:
                run.identical = False
            run.seconds.append(elapsed)
            run.cpu.append(cpu)
            print(f"  pass {n + 1} {name:<11} {elapsed:7.2f} s wall {cpu:7.2f} s CPU", flush=True)
    return runs


# -- report ------------------------------------------------------------------------
def accuracy(items: Sequence[Item], labels: Sequence[str], skip: str = "") -> tuple[float, float]:
    """Micro and macro accuracy (rows named `skip` left out)."""
    per_row: dict[str, list[bool]] = defaultdict(list)
    for item, label in zip(items, labels, strict=True):
        if item.row != skip:
            per_row[item.row].append(scored(label) == item.gold)
    every = [ok for oks in per_row.values() for ok in oks]
    micro = sum(every) / len(every) if every else 0.0
    macro = statistics.fmean(sum(v) / len(v) for v in per_row.values()) if per_row else 0.0
    return micro, macro


def row_accuracy(items: Sequence[Item], labels: Sequence[str]) -> dict[str, float]:
    per_row: dict[str, list[bool]] = defaultdict(list)
    for item, label in zip(items, labels, strict=True):
        per_row[item.row].append(scored(label) == item.gold)
    return {row: sum(v) / len(v) for row, v in per_row.items()}


def confusions(items: Sequence[Item], labels: Sequence[str]) -> list[tuple[str, str, int, float]]:
    totals = Counter(item.row for item in items)
    wrong = Counter(
        (item.row, scored(label))
        for item, label in zip(items, labels, strict=True)
        if scored(label) != item.gold
    )
    return [(g, p, n, n / totals[g]) for (g, p), n in wrong.most_common(TOP_CONFUSIONS)]


def example(items: Sequence[Item], labels: Sequence[str], row: str, pred: str) -> str:
    for item, label in zip(items, labels, strict=True):
        if item.row == row and scored(label) == pred:
            return " / ".join(item.parts)[:110]
    return ""


def report_task(
    title: str, items: Sequence[Item], runs: dict[str, Run], wf: str, ld: str
) -> dict[str, float]:
    a, b = runs[wf], runs[ld]
    acc_a, acc_b = row_accuracy(items, a.labels), row_accuracy(items, b.labels)
    counts = Counter(item.row for item in items)
    print(f"\n{title}: {len(items)} items")
    print(f"{'lang':<9}{'n':>6}{'langdetect':>12}{'warcflow':>10}{'diff':>8}")
    for row in counts:
        diff = acc_a[row] - acc_b[row]
        print(f"{row:<9}{counts[row]:>6}{acc_b[row]:12.4f}{acc_a[row]:10.4f}{diff:+8.4f}")
    micro_a, macro_a = accuracy(items, a.labels)
    micro_b, macro_b = accuracy(items, b.labels)
    xa, _ = accuracy(items, a.labels, skip="ms")
    xb, _ = accuracy(items, b.labels, skip="ms")
    print(f"{'overall':<9}{len(items):>6}{micro_b:12.4f}{micro_a:10.4f}{micro_a - micro_b:+8.4f}")
    print(f"{'macro':<9}{'':>6}{macro_b:12.4f}{macro_a:10.4f}{macro_a - macro_b:+8.4f}")
    print(f"{'w/o ms':<9}{'':>6}{xb:12.4f}{xa:10.4f}{xa - xb:+8.4f}")
    sentences = sum(len(item.parts) for item in items)
    sa, sb = sentences / a.best, sentences / b.best
    print(f"{'sent/s':<9}{'':>6}{sb:12.1f}{sa:10.1f}   ratio wf/ld {sa / sb:.3f}   (wall clock)")
    ca, cb = sentences / min(a.cpu), sentences / min(b.cpu)
    print(f"{'sent/s':<9}{'':>6}{cb:12.1f}{ca:10.1f}   ratio wf/ld {ca / cb:.3f}   (CPU time)")
    if any(len(item.parts) > 1 for item in items):
        print(f"{'texts/s':<9}{'':>6}{len(items) / b.best:12.1f}{len(items) / a.best:10.1f}")
    print(f"{'same labels both passes':<27}{b.identical!s:>6}{a.identical!s:>10}")
    for name, run in ((ld, b), (wf, a)):
        print(f"top {TOP_CONFUSIONS} confusions, {name} (gold -> label: count, share of gold)")
        for gold, pred, n, share in confusions(items, run.labels):
            print(
                f"  {gold:>7} -> {pred:<6}{n:>5}  {share:6.1%}  e.g. {example(items, run.labels, gold, pred)!r}"
            )
    return {"micro_wf": micro_a, "micro_ld": micro_b, "sps_wf": sa, "sps_ld": sb}


def chinese_variants(items: Sequence[Item], runs: dict[str, Run]) -> None:
    for name, run in runs.items():
        for row in ("zh", "zh-hant"):
            labels = Counter(
                label for item, label in zip(items, run.labels, strict=True) if item.row == row
            )
            n = sum(labels.values())
            if not n:
                continue
            shown = ", ".join(f"{k} {v} ({v / n:.1%})" for k, v in labels.most_common(4))
            print(f"  {name:<11} {row:<8} {shown}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--limit", type=int, default=None, help="first N lines per language")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--words", action="store_true", help="also single-words and word-pairs")
    args = parser.parse_args(argv)

    from importlib.metadata import version

    rows, digest = read_rows(args.data, "sentences", args.limit)
    print("Language ID: warcflow LanguageDetector vs bare langdetect (DetectorFactory.seed = 0)")
    print(f"data        {args.data}  ({len(rows)} rows incl. derived zh-hant, gold zh)")
    print(f"digest      sha256(sentences/*.txt + derived/sentences/zh-hant.txt) = {digest}")
    print(
        f"langdetect  {version('langdetect')}; opencc {version('opencc')}; python {sys.version.split()[0]}"
    )
    print("scoring     zh-cn / zh-tw count as zh; und (no letters) is wrong")
    print(f"timing      warm-up, best of {PASSES} passes; wall clock and process CPU time\n")

    single = single_items(rows)
    print(f"(a) single sentences: {len(single)}")
    runs_a = benchmark({"warcflow": warcflow_single(), "langdetect": langdetect_single()}, single)
    res_a = report_task("(a) single sentences", single, runs_a, "warcflow", "langdetect")

    multi = multi_items(rows)
    print(f"\n(b) multi-sentence texts of {GROUP} consecutive sentences: {len(multi)}")
    runs_b = benchmark({"warcflow": warcflow_multi(), "langdetect": langdetect_single()}, multi)
    res_b = report_task(f"(b) {GROUP}-sentence texts", multi, runs_b, "warcflow", "langdetect")

    print("\nChinese labels as returned (is zh-hant labelled zh-tw?)")
    print("(a) single sentences")
    chinese_variants(single, runs_a)
    print(f"(b) {GROUP}-sentence texts")
    chinese_variants(multi, runs_b)

    print("\ntargets (issue): above bare langdetect on (a) and (b); >= 99% on (b)")
    checks = (
        ("(a) warcflow > langdetect", res_a["micro_wf"] > res_a["micro_ld"]),
        ("(b) warcflow > langdetect", res_b["micro_wf"] > res_b["micro_ld"]),
        (f"(b) warcflow >= {TARGET_MULTI:.0%}", res_b["micro_wf"] >= TARGET_MULTI),
    )
    for label, ok in checks:
        print(f"  {label:<28} {'PASS' if ok else 'FAIL'}")

    if args.words:
        for folder in ("single-words", "word-pairs"):
            words, wdigest = read_rows(args.data, folder, args.limit)
            items = single_items(words)
            print(f"\n({folder}) {len(items)} items, digest {wdigest[:16]}")
            runs = benchmark(
                {"warcflow": warcflow_single(), "langdetect": langdetect_single()}, items
            )
            report_task(folder, items, runs, "warcflow", "langdetect")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
