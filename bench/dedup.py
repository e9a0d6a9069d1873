"""Repost-clustering benchmark: quality on the shared repost set, and scale on synthetic text.

    .venv/bin/python bench/dedup.py                    # quality on test.jsonl (5,390 docs)
    .venv/bin/python bench/dedup.py --split dev        # quality on dev.jsonl (599 docs)
    .venv/bin/python bench/dedup.py --sweep            # ClusterConfig variants, dev only
    .venv/bin/python bench/dedup.py --diagnose         # why pairs are joined/missed (test)
    .venv/bin/python bench/dedup.py --scale 10000,30000,100000

Quality. Corpus: /work/shared/benchmarks/dedup/<split>.jsonl (its sha256 is printed as the
corpus digest). warcflow's pipeline, as a crawl would run it on these texts: each text is
repaired like extracted text (`normalise_unicode`), then site profiles are learned per
`site` field over the split's documents (rule-pack paragraphs, `SiteProfile.observe`;
documents without a site get no profile), each text is cleaned with the rule packs and its
site's learned rules, fingerprinted (`Fingerprinter`, default `MinHashConfig`) and added to
one `ClusterIndex` (default `ClusterConfig`) in file order; the prediction is
`assignments()`. Language is not detected (`lang="und"`): it only feeds translation
links, which this benchmark does not score and `same_article` does not read; no capture
times exist, so canonicals fall back to the longest text. Baselines: `exact` and `minhash`
imported from the shared baseline.py and run in the same process on the same documents;
all three are scored with the shared score.py. docs/s is wall clock of the whole method
after one warm-up call on the first 20 documents (file reading excluded), as in
baseline.py. Determinism: the documents are shuffled with a fixed seed and the whole
pipeline (profiles, cleaning, fingerprints, clustering) runs again; the partition must be
identical (the script exits 1 otherwise, after writing the results).

Scale. Synthetic documents of 3,000 characters: sentences of words drawn from a fixed
vocabulary (every distinct word of the language-id benchmark's English sentences,
/work/shared/benchmarks/language-id/sentences/en.txt, 4,870 words, weighted by their
frequency there), so unrelated documents share character 5-grams about as often as real
English articles do (both background LSH collision rates are printed: a vocabulary of
random pseudo-words would share far fewer and hide the candidate growth). 20 % of the
documents are reposts of an earlier one with small edits (a header and footer line,
1-2 sentences dropped, 1-2 replaced, a few words changed). Document i is a pure function
of (seed, i). Each size runs in a fresh subprocess so `ru_maxrss` is that size's peak.
Fingerprinting: a 2,000-document sample timed single-process in the main process (the
per-core rate), then all documents in a pool of 2 workers (each worker generates its own
texts; only `fingerprint()` calls count as worker busy time). Clustering: one process,
`ClusterIndex.add` for each document in order, each call timed; cost and candidates
checked per document are reported per tenth of the run, so growth within a run shows.

Results are printed and merged into bench/results/dedup.json (keys quality.<split>,
sweep, scale).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import json
import multiprocessing
import os
import platform
import random
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.clusters import ClusterConfig, ClusterIndex, Member, band_keys  # noqa: E402
from extractors.clean import Cleaner, SiteRules, normalise_unicode, rule_paragraphs  # noqa: E402
from extractors.fingerprint import Fingerprint, Fingerprinter, MinHashConfig  # noqa: E402
from extractors.language import weighted_length  # noqa: E402
from extractors.profiles import DEFAULT_PROFILE, SiteProfile  # noqa: E402
from extractors.rules import load_rules  # noqa: E402

DEDUP = Path("/work/shared/benchmarks/dedup")
VOCAB_FILE = Path("/work/shared/benchmarks/language-id/sentences/en.txt")
RESULTS = ROOT / "bench" / "results" / "dedup.json"
WARMUP_DOCS = 20
SHUFFLE_SEED = 20240611
TARGET_F1 = 0.97
TARGET_HN_FP = 0.01
SUB_TRANSFORMS = ("ws_", "pw_", "cc_", "half_")
METHODS = ("warcflow", "exact", "minhash")

SCALE_SEED = 20240611
DOC_CHARS = 3000
REPOST_SHARE = 0.2
FP_SAMPLE = 2000
FP_CHUNK = 250
BACKGROUND_DOCS = 300
TENTHS = 10

Doc = dict[str, Any]
Assignments = dict[int, tuple[int, int | None]]


def shared_module(name: str) -> ModuleType:
    """score.py / baseline.py from the shared benchmark folder (not a package)."""
    if str(DEDUP) not in sys.path:
        sys.path.insert(0, str(DEDUP))
    return importlib.import_module(name)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


CODE_FILES = (
    "archive/clusters.py",
    "extractors/clean.py",
    "extractors/profiles.py",
    "extractors/fingerprint.py",
    "extractors/language.py",
    "extractors/rules.py",
)


def code_digest() -> dict[str, str]:
    """sha256 (first 12 hex) of the product files this benchmark exercises, and the rules."""
    out = {f: hashlib.sha256((ROOT / f).read_bytes()).hexdigest()[:12] for f in CODE_FILES}
    out["rules"] = load_rules().digest
    return out


def machine() -> dict[str, Any]:
    cpu = ""
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "datasketch": version("datasketch"),
        "numpy": version("numpy"),
        "opencc": version("opencc"),
        "ftfy": version("ftfy"),
        "code": code_digest(),
    }


def save(key: str, value: Any) -> None:
    """Merge one section into bench/results/dedup.json (other sections are kept)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {}
    if RESULTS.exists():
        data = json.loads(RESULTS.read_text(encoding="utf-8"))
    section: Any = data
    *parents, last = key.split(".")
    for part in parents:
        section = section.setdefault(part, {})
    section[last] = value
    RESULTS.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


# -- quality: warcflow's pipeline ---------------------------------------------------------
@dataclass
class Prepared:
    """Members ready for clustering (ids are file-order indices), and what produced them."""

    members: list[Member]
    clean_texts: dict[int, str]
    site_rules: dict[str, SiteRules]
    seconds: dict[str, float]


@dataclass
class Clustered:
    assignments: Assignments
    candidates_checked: int
    joined: int  # accepted candidate pairs
    seconds: float


def prepare(
    docs: Sequence[Doc],
    order: Sequence[int],
    fingerprinter: Fingerprinter,
    cleaner: Cleaner,
    clean: bool = True,
    profiles: bool = True,
) -> Prepared:
    """Unicode repair, site profiles, cleaning, fingerprints, in the given order."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    texts = {i: normalise_unicode(docs[i]["text"]) for i in order}
    seconds["unicode"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    site_rules: dict[str, SiteRules] = {}
    if clean and profiles:
        learned: dict[str, SiteProfile] = {}
        for i in order:
            site = docs[i]["site"]
            if site:
                profile = learned.setdefault(site, SiteProfile(site))
                profile.observe(rule_paragraphs(cleaner, texts[i], None), DEFAULT_PROFILE)
        site_rules = {site: p.rules(DEFAULT_PROFILE) for site, p in sorted(learned.items())}
    seconds["profiles"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    clean_texts: dict[int, str] = {}
    for i in order:
        site = docs[i]["site"]
        rules = site_rules.get(site) if site else None
        clean_texts[i] = cleaner.clean(texts[i], None, rules).text if clean else texts[i]
    seconds["clean"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    members = [member(i, fingerprinter.fingerprint(clean_texts[i]), clean_texts[i]) for i in order]
    seconds["fingerprint"] = time.perf_counter() - t0
    return Prepared(members, clean_texts, site_rules, seconds)


def member(doc_id: int, fp: Fingerprint, text: str) -> Member:
    return Member(
        id=doc_id,
        content_key=fp.content_key,
        signature=fp.signature,
        shingles=fp.shingles,
        fetched_at="",
        text_length=len(text),
        lang="und",
        anchors=fp.anchors,
        weighted_length=weighted_length(text),
    )


def cluster(members: Sequence[Member], config: ClusterConfig) -> Clustered:
    t0 = time.perf_counter()
    index = ClusterIndex(config)
    joined = sum(len(index.add(m)) for m in members)
    assignments = index.assignments()
    return Clustered(assignments, index.candidates_checked, joined, time.perf_counter() - t0)


def partition(labels: dict[int, Any]) -> frozenset[frozenset[int]]:
    groups: dict[Any, set[int]] = {}
    for doc_id, label in labels.items():
        groups.setdefault(label, set()).add(doc_id)
    return frozenset(frozenset(g) for g in groups.values())


def score_labels(scorer: ModuleType, docs: Sequence[Doc], labels: dict[int, Any]) -> Any:
    rows = [{"id": docs[i]["id"], "cluster": labels[i]} for i in range(len(docs))]
    return scorer.score(list(docs), rows)


def hn_fp(res: Any, kind: str = "ALL") -> float:
    return float(res["hard_negative_fp_rate"].get(kind, {"fp_rate": float("nan")})["fp_rate"])


# -- quality: the report ------------------------------------------------------------------
def quality(split: str) -> int:
    scorer = shared_module("score")
    baseline = shared_module("baseline")
    path = DEDUP / f"{split}.jsonl"
    digest = sha256_file(path)
    docs: list[Doc] = scorer.load_jsonl(str(path))
    n = len(docs)
    cluster_config, minhash_config = ClusterConfig(), MinHashConfig()
    fingerprinter = Fingerprinter(minhash_config)
    rules = load_rules()
    cleaner = Cleaner(rules)
    info = machine()
    print(f"corpus: {path} ({n} documents)")
    print(f"corpus digest (sha256): {digest}")
    print(f"ClusterConfig: {cluster_config}")
    print(f"  {cluster_config!r}")
    print(f"MinHashConfig: {minhash_config}")
    print(f"site profiles: {DEFAULT_PROFILE}, rules/{rules.digest}")
    print(f"machine: {info['cpu']} x{info['cpus']}, load average {info['loadavg_start']}")

    file_order = list(range(n))
    warm = file_order[:WARMUP_DOCS]

    def run_warcflow(order: Sequence[int]) -> tuple[Prepared, Clustered, float]:
        t0 = time.perf_counter()
        prep = prepare(docs, order, fingerprinter, cleaner)
        done = cluster(prep.members, cluster_config)
        return prep, done, time.perf_counter() - t0

    # warm-up: imports, OpenCC, ftfy and datasketch tables, regex compilation
    prepare([docs[i] for i in warm], range(len(warm)), fingerprinter, cleaner)
    baseline.exact(docs[:WARMUP_DOCS])
    baseline.minhash(docs[:WARMUP_DOCS])

    prep, done, wf_seconds = run_warcflow(file_order)
    results: dict[str, Any] = {}
    labels: dict[str, dict[int, Any]] = {"warcflow": {i: a[0] for i, a in done.assignments.items()}}
    seconds: dict[str, float] = {"warcflow": wf_seconds}
    extra: dict[str, dict[str, Any]] = {
        "warcflow": {
            "stage_seconds": {**{k: round(v, 3) for k, v in prep.seconds.items()}},
            "cluster_seconds": round(done.seconds, 3),
            "candidates_checked": done.candidates_checked,
            "pairs_accepted": done.joined,
            "sites_with_rules": sum(not r.empty for r in prep.site_rules.values()),
            "sites": len(prep.site_rules),
        }
    }
    index_of = {d["id"]: i for i, d in enumerate(docs)}
    t0 = time.perf_counter()
    exact_pred = baseline.exact(docs)
    seconds["exact"] = time.perf_counter() - t0
    labels["exact"] = {index_of[k]: v for k, v in exact_pred.items()}
    extra["exact"] = {}
    t0 = time.perf_counter()
    minhash_pred, minhash_stats = baseline.minhash(docs)
    seconds["minhash"] = time.perf_counter() - t0
    labels["minhash"] = {index_of[k]: v for k, v in minhash_pred.items()}
    extra["minhash"] = {"candidates_checked": minhash_stats["candidates"], **minhash_stats}
    for method in METHODS:
        res = score_labels(scorer, docs, labels[method])
        results[method] = {
            "seconds": round(seconds[method], 3),
            "docs_per_s": round(n / seconds[method], 1),
            **extra[method],
            "score": res,
        }

    # determinism: the whole pipeline again on shuffled documents
    shuffled = list(file_order)
    random.Random(SHUFFLE_SEED).shuffle(shuffled)
    prep2, done2, shuffled_seconds = run_warcflow(shuffled)
    labels2 = {i: a[0] for i, a in done2.assignments.items()}
    same_partition = partition(labels["warcflow"]) == partition(labels2)
    determinism = {
        "shuffle_seed": SHUFFLE_SEED,
        "identical_partition": same_partition,
        "identical_cluster_labels": labels["warcflow"] == labels2,
        "identical_site_rules": prep.site_rules == prep2.site_rules,
        "identical_clean_texts": prep.clean_texts == prep2.clean_texts,
        "docs_with_different_clean_text": sum(
            prep.clean_texts[i] != prep2.clean_texts[i] for i in file_order
        ),
        "sites_with_different_rules": sorted(
            s for s in prep.site_rules if prep.site_rules[s] != prep2.site_rules.get(s)
        ),
        "docs_per_s": round(n / shuffled_seconds, 1),
    }

    print_quality(results, n)
    wf = results["warcflow"]
    print(
        "\nwarcflow stages (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in wf["stage_seconds"].items())
        + f", cluster {wf['cluster_seconds']:.2f}"
        + f" | sites with learned rules {wf['sites_with_rules']}/{wf['sites']}"
        + f" | candidates checked {wf['candidates_checked']}, accepted {wf['pairs_accepted']}"
    )
    by_lang = wf["score"]["recall_by_language"]
    print(
        "warcflow repost recall by language: "
        + ", ".join(f"{k} {v['recall']:.3f}" for k, v in by_lang.items())
    )
    misses = missed_reposts(docs, labels["warcflow"])
    print(
        f"warcflow missed reposts: {len(misses)}"
        + (f" ({', '.join(misses[:12])})" if misses else "")
    )
    false = false_pairs(docs, labels["warcflow"])
    print(f"warcflow merged clusters (false pairs of gold clusters): {len(false)}")

    f1, fp = wf["score"]["f1"], hn_fp(wf["score"])
    targets = {"f1>=0.97": f1 >= TARGET_F1, "hard_negative_fp<0.01": fp < TARGET_HN_FP}
    print(
        f"\ntargets: F1 {f1:.4f} >= {TARGET_F1}: {'PASS' if targets['f1>=0.97'] else 'FAIL'};"
        f" hard-negative FP {fp:.4f} < {TARGET_HN_FP}: "
        f"{'PASS' if targets['hard_negative_fp<0.01'] else 'FAIL'}"
    )
    print(
        f"determinism (shuffle seed {SHUFFLE_SEED}): identical partition: "
        f"{'yes' if same_partition else 'no'}; identical labels: "
        f"{'yes' if determinism['identical_cluster_labels'] else 'no'};"
        f" identical site rules: {'yes' if determinism['identical_site_rules'] else 'no'};"
        f" identical clean texts: {'yes' if determinism['identical_clean_texts'] else 'no'}"
    )
    if not determinism["identical_site_rules"]:
        print(
            f"  site rules differ for {determinism['sites_with_different_rules']}:"
            f" {determinism['docs_with_different_clean_text']} documents cleaned differently"
        )
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    save(
        f"quality.{split}",
        {
            "command": " ".join([".venv/bin/python", *sys.argv]),
            "corpus": str(path),
            "corpus_sha256": digest,
            "documents": n,
            "cluster_config": str(cluster_config),
            "cluster_config_repr": repr(cluster_config),
            "minhash_config": str(minhash_config),
            "profile_config": str(DEFAULT_PROFILE),
            "rules_digest": rules.digest,
            "machine": info,
            "methods": results,
            "targets": targets,
            "determinism": determinism,
            "missed_reposts": misses,
            "false_pairs": false,
        },
    )
    print(f"\nwritten: {RESULTS} (quality.{split})")
    if not same_partition:
        print("FAIL: shuffled documents gave a different partition", file=sys.stderr)
        return 1
    return 0


def print_quality(results: dict[str, Any], n: int) -> None:
    scores = {m: results[m]["score"] for m in METHODS}
    w = scores["warcflow"]
    rows: list[list[str]] = []

    def add(label: str, fn: Callable[[Any], str]) -> None:
        rows.append([label, *(fn(scores[m]) for m in METHODS)])

    rows.append(["docs/s", *(f"{results[m]['docs_per_s']:,.0f}" for m in METHODS)])
    add("pairwise precision", lambda s: f"{s['precision']:.4f}")
    add("pairwise recall", lambda s: f"{s['recall']:.4f}")
    add("pairwise F1", lambda s: f"{s['f1']:.4f}")
    add("ARI", lambda s: f"{s['ari']:.4f}")
    add("predicted pairs", lambda s: f"{s['pred_pairs']}")
    add("true pairs", lambda s: f"{s['true_pairs']}")
    rows.append(
        [
            "candidates checked",
            f"{results['warcflow']['candidates_checked']}",
            "-",
            f"{results['minhash']['candidates_checked']}",
        ]
    )
    transforms = list(w["recall_by_transform"])
    main = ["ALL"] + [t for t in transforms if t != "ALL" and not t.startswith(SUB_TRANSFORMS)]
    sub = [t for t in transforms if t.startswith(SUB_TRANSFORMS)]
    for t in [*main, *sub]:
        label = f"repost recall {t} (n={w['recall_by_transform'][t]['n']})"
        if t in sub:
            label = "  " + label
        add(label, lambda s, t=t: f"{s['recall_by_transform'][t]['recall']:.3f}")
    for kind, v in w["hard_negative_fp_rate"].items():
        add(f"hard-neg FP {kind} (n={v['n']})", lambda s, k=kind: f"{hn_fp(s, k):.4f}")
    print(f"\n{n} documents, {w['gold_pairs']} gold pairs")
    print(table(["metric", *METHODS], rows))


def missed_reposts(docs: Sequence[Doc], labels: dict[int, Any]) -> list[str]:
    index_of = {d["id"]: i for i, d in enumerate(docs)}
    out = []
    for i, d in enumerate(docs):
        original = index_of.get(d["cluster"])
        if d["cluster"] != d["id"] and original is not None and labels[i] != labels[original]:
            out.append(f"{d['id']}:{'+'.join(d['transform'])}")
    return out


def false_pairs(docs: Sequence[Doc], labels: dict[int, Any]) -> list[list[str]]:
    """Pairs of gold clusters that the prediction put together (each listed once)."""
    by_label: dict[Any, set[str]] = {}
    for i, d in enumerate(docs):
        by_label.setdefault(labels[i], set()).add(d["cluster"])
    out = []
    for gold in by_label.values():
        g = sorted(gold)
        out.extend([a, b] for k, a in enumerate(g) for b in g[k + 1 :])
    return sorted(out)


# -- quality: the sweep (dev only) --------------------------------------------------------
def sweep() -> int:
    scorer = shared_module("score")
    path = DEDUP / "dev.jsonl"
    docs: list[Doc] = scorer.load_jsonl(str(path))
    n = len(docs)
    cleaner = Cleaner(load_rules())
    fingerprinter = Fingerprinter(MinHashConfig())
    order = list(range(n))
    print(f"sweep on {path} ({n} documents), sha256 {sha256_file(path)}")
    print(f"MinHashConfig: {MinHashConfig()} (fingerprints computed once per pipeline variant)")
    full = prepare(docs, order, fingerprinter, cleaner)
    rules_only = prepare(docs, order, fingerprinter, cleaner, profiles=False)
    raw = prepare(docs, order, fingerprinter, cleaner, clean=False)
    d = ClusterConfig()
    variants: list[tuple[str, ClusterConfig, Prepared]] = [
        ("default", d, full),
        ("bands 64x2", ClusterConfig(bands=64, rows=2), full),
        ("bands 32x4", ClusterConfig(bands=32, rows=4), full),
        ("bands 25x5", ClusterConfig(bands=25, rows=5), full),
        ("bands 21x6", ClusterConfig(bands=21, rows=6), full),
        ("bands 16x8", ClusterConfig(bands=16, rows=8), full),
        ("containment 0.4", ClusterConfig(min_containment=0.4), full),
        ("containment 0.6", ClusterConfig(min_containment=0.6), full),
        ("containment 0.7", ClusterConfig(min_containment=0.7), full),
        ("coverage 0.0", ClusterConfig(min_coverage=0.0), full),
        ("coverage 0.15", ClusterConfig(min_coverage=0.15), full),
        ("coverage 0.35", ClusterConfig(min_coverage=0.35), full),
        ("coverage 0.5", ClusterConfig(min_coverage=0.5), full),
        ("pipeline: rules, no site profiles", d, rules_only),
        ("pipeline: no cleaning", d, raw),
    ]
    rows: list[list[str]] = []
    out: list[dict[str, Any]] = []
    for name, config, prep in variants:
        done = cluster(prep.members, config)
        res = score_labels(scorer, docs, {i: a[0] for i, a in done.assignments.items()})
        rt = res["recall_by_transform"]
        hn = res["hard_negative_fp_rate"]
        rows.append(
            [
                name,
                str(config),
                f"{res['precision']:.4f}",
                f"{res['recall']:.4f}",
                f"{res['f1']:.4f}",
                f"{res['ari']:.4f}",
                f"{rt['ALL']['recall']:.3f}",
                f"{rt['truncated']['recall']:.3f}",
                f"{rt['bilingual_half']['recall']:.3f}",
                f"{hn['ALL']['fp_rate']:.4f}",
                str(done.candidates_checked),
            ]
        )
        out.append(
            {
                "name": name,
                "config": str(config),
                "precision": res["precision"],
                "recall": res["recall"],
                "f1": res["f1"],
                "ari": res["ari"],
                "repost_recall": rt["ALL"]["recall"],
                "recall_truncated": rt["truncated"]["recall"],
                "recall_bilingual_half": rt["bilingual_half"]["recall"],
                "hard_negative_fp": {k: v["fp_rate"] for k, v in hn.items()},
                "candidates_checked": done.candidates_checked,
            }
        )
    headers = [
        "variant",
        "config",
        "P",
        "R",
        "F1",
        "ARI",
        "recall",
        "trunc",
        "bi-half",
        "HN FP",
        "cands",
    ]
    print(table(headers, rows))
    margins = pair_margins(docs, full.members)
    print(
        "\nmargins (default pipeline, dev): gold repost->original pairs, lowest "
        f"containment {margins['gold_min_containment']:.3f}, lowest coverage "
        f"{margins['gold_min_coverage']:.3f}; hard-negative pairs, highest containment "
        f"{margins['hn_max_containment']:.3f} (coverage there {margins['hn_cov_at_max']:.3f}),"
        f" highest coverage {margins['hn_max_coverage']:.3f}; cross-cluster LSH candidates"
        f" ({margins['cross_candidates']}), highest containment"
        f" {margins['cross_max_containment']:.3f}, closest to both thresholds: containment"
        f" {margins['cross_worst_containment']:.3f} coverage {margins['cross_worst_coverage']:.3f}"
    )
    save(
        "sweep",
        {
            "command": " ".join([".venv/bin/python", *sys.argv]),
            "corpus": str(path),
            "corpus_sha256": sha256_file(path),
            "minhash_config": str(MinHashConfig()),
            "machine": machine(),
            "variants": out,
            "margins": margins,
        },
    )
    print(f"\nwritten: {RESULTS} (sweep)")
    return 0


def pair_margins(docs: Sequence[Doc], members: Sequence[Member]) -> dict[str, float | int]:
    """Estimated containment/coverage of every gold repost->original pair and every
    hard-negative pair: how far the thresholds are from the data on each side."""
    from archive.clusters import similarity

    by_id = {d["id"]: members[i] for i, d in enumerate(docs)}
    gold = [
        similarity(by_id[d["id"]], by_id[d["cluster"]])
        for d in docs
        if d["cluster"] != d["id"] and d["cluster"] in by_id
    ]
    neg = [
        similarity(by_id[d["id"]], by_id[h["id"]])
        for d in docs
        for h in d.get("hard_negative_of", [])
        if h["id"] in by_id
    ]
    worst_neg = max(neg, key=lambda s: s[1])
    # every LSH candidate pair from different gold clusters (default banding)
    index = ClusterIndex(ClusterConfig())
    cross: list[tuple[float, float, float]] = []
    for m in members:
        cross.extend(
            similarity(m, index.members[o])
            for o in index.candidates(m)
            if docs[o]["cluster"] != docs[m.id]["cluster"]
        )
        index.restore(m, None)
    worst_cross = max(cross, key=lambda s: min(s[1], 2 * s[2]))
    return {
        "cross_candidates": len(cross),
        "cross_max_containment": max(s[1] for s in cross),
        "cross_worst_containment": worst_cross[1],
        "cross_worst_coverage": worst_cross[2],
        "gold_pairs": len(gold),
        "gold_min_containment": min(s[1] for s in gold),
        "gold_min_coverage": min(s[2] for s in gold),
        "hn_pairs": len(neg),
        "hn_max_containment": worst_neg[1],
        "hn_cov_at_max": worst_neg[2],
        "hn_max_coverage": max(s[2] for s in neg),
    }


# -- quality: diagnosis of the errors (not tuning: no setting is chosen here) -------------
def diagnose(split: str) -> int:
    """Why pairs are wrongly joined or missed, on the same candidates the index checks."""
    import numpy as np

    from archive.clusters import UnionFind, same_article, similarity

    scorer = shared_module("score")
    path = DEDUP / f"{split}.jsonl"
    docs: list[Doc] = scorer.load_jsonl(str(path))
    n = len(docs)
    config = ClusterConfig()
    fingerprinter = Fingerprinter(MinHashConfig())
    cleaner = Cleaner(load_rules())
    order = list(range(n))
    print(f"diagnosis on {path} ({n} documents), sha256 {sha256_file(path)}")
    prep = prepare(docs, order, fingerprinter, cleaner)
    members = {m.id: m for m in prep.members}
    other = Fingerprinter(MinHashConfig(seed=2))  # an independent signature
    second = {i: other.fingerprint(t).signature for i, t in prep.clean_texts.items()}
    shingles = {
        i: fingerprinter.shingle_set(fingerprinter.normalise(t))
        for i, t in prep.clean_texts.items()
    }

    index = ClusterIndex(config)  # the candidate pairs `add` checks, in the same order
    pairs: list[tuple[int, int]] = []
    for m in prep.members:
        pairs.extend((m.id, o) for o in sorted(index.candidates(m)))
        index.restore(m, None)

    def exact(a: int, b: int) -> tuple[float, float, float]:
        sa, sb = shingles[a], shingles[b]
        inter = len(sa & sb)
        small, large = sorted((len(sa), len(sb)))
        return inter / len(sa | sb), inter / small, inter / large

    def independent(a: int, b: int) -> tuple[float, float, float]:
        if members[a].content_key == members[b].content_key:
            return 1.0, 1.0, 1.0
        j = float(np.count_nonzero(second[a] == second[b])) / len(second[a])
        small, large = sorted((members[a].shingles, members[b].shingles))
        inter = j * (small + large) / (1.0 + j)
        return j, min(1.0, inter / small), min(1.0, inter / large)

    def accept_with(fn: Callable[[int, int], tuple[float, float, float]]) -> dict[str, float]:
        union = UnionFind()
        for i in order:
            union.find(i)
        for a, b in pairs:
            _, containment, coverage = fn(a, b)
            if containment >= config.min_containment and coverage >= config.min_coverage:
                union.union(a, b)
        res = score_labels(scorer, docs, {i: union.find(i) for i in order})
        return {k: res[k] for k in ("precision", "recall", "f1")} | {"hn_fp": hn_fp(res)}

    cross = [(a, b) for a, b in pairs if docs[a]["cluster"] != docs[b]["cluster"]]
    est = np.array([similarity(members[a], members[b])[0] for a, b in cross])
    ind = np.array([independent(a, b)[0] for a, b in cross])
    exa = np.array([exact(a, b)[0] for a, b in cross])
    bias = {
        "cross_cluster_candidates": len(cross),
        "mean_exact_jaccard": float(exa.mean()),
        "mean_estimate_same_signature": float(est.mean()),
        "mean_estimate_independent_signature": float(ind.mean()),
    }
    print(
        f"\nLSH candidate pairs {len(pairs)}, of which {len(cross)} from different gold clusters."
        "\nJaccard of those cross-cluster candidates: exact (shingle sets)"
        f" {bias['mean_exact_jaccard']:.4f}; estimated from the signature that made them"
        f" candidates {bias['mean_estimate_same_signature']:.4f}; from an independent"
        f" signature (seed 2) {bias['mean_estimate_independent_signature']:.4f}"
    )
    false_joins = []
    for a, b in cross:
        if same_article(members[a], members[b], config):
            e, x = similarity(members[a], members[b]), exact(a, b)
            false_joins.append(
                {
                    "pair": [docs[a]["id"], docs[b]["id"]],
                    "estimated": [round(v, 3) for v in e],
                    "exact": [round(v, 3) for v in x],
                }
            )
    below = sum(f["exact"][1] < config.min_containment for f in false_joins)
    print(
        f"accepted cross-cluster pairs: {len(false_joins)}; exact containment below"
        f" {config.min_containment} for {below} of them (estimated >= {config.min_containment})"
    )
    for f in false_joins[:10]:
        print(
            f"  {f['pair'][0]} {f['pair'][1]}  (J, containment, coverage) estimated"
            f" {f['estimated']} exact {f['exact']}"
        )
    variants = {
        "same-signature estimate (ClusterIndex)": accept_with(
            lambda a, b: similarity(members[a], members[b])
        ),
        "independent signature (seed 2)": accept_with(independent),
        "exact shingle containment": accept_with(exact),
    }
    rows = [
        [name, f"{v['precision']:.4f}", f"{v['recall']:.4f}", f"{v['f1']:.4f}", f"{v['hn_fp']:.4f}"]
        for name, v in variants.items()
    ]
    print("\nacceptance test on the same candidate pairs, same thresholds:")
    print(table(["estimate used", "P", "R", "F1", "HN FP"], rows))

    index_of = {d["id"]: i for i, d in enumerate(docs)}
    keys = {i: set(enumerate(band_keys(m.signature, config))) for i, m in members.items()}
    labels = {i: a[0] for i, a in cluster(prep.members, config).assignments.items()}
    missed: Counter[str] = Counter()
    for i, d in enumerate(docs):
        o = index_of.get(d["cluster"])
        if o is None or o == i or labels[i] == labels[o]:
            continue
        _, containment, coverage = similarity(members[i], members[o])
        why = "passes thresholds"
        if containment < config.min_containment:
            why = f"containment < {config.min_containment}"
        elif coverage < config.min_coverage:
            why = f"coverage < {config.min_coverage}"
        where = "LSH candidate" if keys[i] & keys[o] else "not an LSH candidate"
        missed[f"{where}, {why}"] += 1
    print("\nmissed reposts (repost vs its original):")
    for k, v in sorted(missed.items()):
        print(f"  {v:3d}  {k}")
    save(
        f"diagnose.{split}",
        {
            "command": " ".join([".venv/bin/python", *sys.argv]),
            "corpus_sha256": sha256_file(path),
            "machine": machine(),
            "candidate_pairs": len(pairs),
            "estimate_bias": bias,
            "false_joins": false_joins,
            "acceptance_variants": variants,
            "missed_reposts": dict(missed),
        },
    )
    print(f"\nwritten: {RESULTS} (diagnose.{split})")
    return 0


# -- scale: synthetic documents -----------------------------------------------------------
_WORD = re.compile(r"[^\W\d_]+")


class Synth:
    """Deterministic pseudo-articles: document i depends only on (seed, i)."""

    def __init__(self, seed: int = SCALE_SEED) -> None:
        self.seed = seed
        counts = Counter(w.lower() for w in _WORD.findall(VOCAB_FILE.read_text("utf-8")))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        self.words = [w for w, _ in ranked]
        self.cum: list[int] = []
        total = 0
        for _, c in ranked:
            total += c
            self.cum.append(total)
        self.sites = [f"news{k:02d}.example" for k in range(40)]

    def _sentence(self, rng: random.Random) -> str:
        words = rng.choices(self.words, cum_weights=self.cum, k=rng.randint(6, 24))
        if rng.random() < 0.25:
            words.insert(rng.randrange(len(words)), str(rng.randint(2, 2030)))
        words[0] = words[0].capitalize()
        return " ".join(words) + "."

    def _paragraphs(self, i: int) -> list[list[str]]:
        rng = random.Random(f"{self.seed}:text:{i}")
        paragraphs: list[list[str]] = []
        length = 0
        while length < DOC_CHARS:
            para = [self._sentence(rng) for _ in range(rng.randint(2, 6))]
            paragraphs.append(para)
            length += sum(len(s) + 1 for s in para)
        return paragraphs

    def source(self, i: int) -> int | None:
        """The document that i reposts, or None for an original."""
        rng = random.Random(f"{self.seed}:kind:{i}")
        if i == 0 or rng.random() >= REPOST_SHARE:
            return None
        return rng.randrange(i)

    def root(self, i: int) -> int:
        while (s := self.source(i)) is not None:
            i = s
        return i

    def document(self, i: int) -> str:
        root = self.root(i)
        paragraphs = self._paragraphs(root)
        if root == i:
            return "\n".join(" ".join(p) for p in paragraphs)[:DOC_CHARS]
        rng = random.Random(f"{self.seed}:edit:{i}")
        sentences = [(k, s) for k, p in enumerate(paragraphs) for s in p]
        for _ in range(rng.randint(1, 2)):  # sentences dropped
            sentences.pop(rng.randrange(len(sentences)))
        for _ in range(rng.randint(1, 2)):  # sentences replaced
            j = rng.randrange(len(sentences))
            sentences[j] = (sentences[j][0], self._sentence(rng))
        edited: list[str] = []
        for _, s in sentences:  # a few words changed
            words = s.split(" ")
            if rng.random() < 0.15:
                words[rng.randrange(len(words))] = rng.choices(self.words, cum_weights=self.cum)[0]
            edited.append(" ".join(words))
        body: dict[int, list[str]] = {}
        for (k, _), s in zip(sentences, edited, strict=True):
            body.setdefault(k, []).append(s)
        site = rng.choice(self.sites)
        header = f"Home | World | Business | {site} | {rng.randint(1, 28)} May 2024"
        footer = f"Copyright {site}. Share this article."
        text = "\n".join([header, *(" ".join(p) for p in body.values())])
        return text[:DOC_CHARS] + "\n" + footer


FPRow = tuple[str, bytes, int, tuple[str, ...], int, int]
_worker: dict[str, Any] = {}


def _init_worker(seed: int) -> None:
    _worker["synth"] = Synth(seed)
    _worker["fp"] = Fingerprinter(MinHashConfig())


def _fingerprint_range(bounds: tuple[int, int]) -> tuple[list[FPRow], float, float, int]:
    synth: Synth = _worker["synth"]
    fingerprinter: Fingerprinter = _worker["fp"]
    rows: list[FPRow] = []
    busy = cpu = 0.0
    for i in range(*bounds):
        text = synth.document(i)
        t0, c0 = time.perf_counter(), time.process_time()
        fp = fingerprinter.fingerprint(text)
        busy += time.perf_counter() - t0
        cpu += time.process_time() - c0
        rows.append(
            (
                fp.content_key,
                fp.signature_bytes(),
                fp.shingles,
                fp.anchors,
                len(text),
                weighted_length(text),
            )
        )
    return rows, busy, cpu, os.getpid()


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def collision_rate(signatures: Sequence[Any], config: ClusterConfig) -> float:
    """Share of document pairs that share at least one LSH band key (become candidates)."""
    keys = [set(enumerate(band_keys(s, config))) for s in signatures]
    pairs = hits = 0
    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            pairs += 1
            hits += bool(keys[a] & keys[b])
    return hits / pairs if pairs else 0.0


def scale_one(n: int, workers: int) -> dict[str, Any]:
    """One size, in this (fresh) process: fingerprint, cluster, measure."""
    from extractors.fingerprint import signature_from_bytes

    scorer = shared_module("score")
    synth = Synth()
    config = ClusterConfig()
    fingerprinter = Fingerprinter(MinHashConfig())
    out: dict[str, Any] = {"docs": n, "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    rss_start = rss_mb()

    # single process, per-core rate, on a fixed sample
    sample = min(n, FP_SAMPLE)
    texts = [synth.document(i) for i in range(sample)]
    out["mean_chars"] = round(sum(len(t) for t in texts) / sample, 1)
    fingerprinter.fingerprint(texts[0])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    local = [fingerprinter.fingerprint(t) for t in texts]
    single, single_cpu = time.perf_counter() - t0, time.process_time() - c0
    out["fp_single_docs_per_s"] = round(sample / single, 1)
    out["fp_single_docs_per_cpu_s"] = round(sample / single_cpu, 1)
    out["fp_single_sample"] = sample
    del texts

    # all documents, pool of `workers`
    chunks = [(lo, min(n, lo + FP_CHUNK)) for lo in range(0, n, FP_CHUNK)]
    rows: list[FPRow] = []
    busy: dict[int, float] = {}
    busy_cpu: dict[int, float] = {}
    done: dict[int, int] = {}
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(SCALE_SEED,)) as pool:
        for part, secs, cpu, pid in pool.imap(_fingerprint_range, chunks):
            rows.extend(part)
            busy[pid] = busy.get(pid, 0.0) + secs
            busy_cpu[pid] = busy_cpu.get(pid, 0.0) + cpu
            done[pid] = done.get(pid, 0) + len(part)
    pool_wall = time.perf_counter() - t0
    out["fp_pool_workers"] = workers
    out["fp_pool_docs_per_s"] = round(n / pool_wall, 1)
    out["fp_pool_per_worker_docs_per_s"] = [round(done[p] / busy[p], 1) for p in sorted(busy)]
    out["fp_pool_per_worker_docs_per_cpu_s"] = [
        round(done[p] / busy_cpu[p], 1) for p in sorted(busy)
    ]
    out["fp_cross_process_identical"] = all(
        rows[i][0] == local[i].content_key and rows[i][1] == local[i].signature_bytes()
        for i in range(sample)
    )
    del local
    gc.collect()
    rss_rows = rss_mb()

    members = [
        Member(
            id=i,
            content_key=r[0],
            signature=signature_from_bytes(r[1]),
            shingles=r[2],
            fetched_at="",
            text_length=r[4],
            lang="en",
            anchors=r[3],
            weighted_length=r[5],
        )
        for i, r in enumerate(rows)
    ]
    del rows
    gc.collect()
    rss_members = rss_mb()

    # background candidate rate among unrelated originals
    originals = [m.signature for m in members if synth.source(m.id) is None][:BACKGROUND_DOCS]
    out["background_collision_rate"] = collision_rate(originals, config)

    index = ClusterIndex(config)
    tenth = max(1, n // TENTHS)
    add_seconds = [0.0] * TENTHS
    add_cpu = [0.0] * TENTHS
    add_cands = [0] * TENTHS
    add_docs = [0] * TENTHS
    t_all, c_all = time.perf_counter(), time.process_time()
    for m in members:
        k = min(TENTHS - 1, m.id // tenth)
        before = index.candidates_checked
        t0, c0 = time.perf_counter(), time.process_time()
        index.add(m)
        add_seconds[k] += time.perf_counter() - t0
        add_cpu[k] += time.process_time() - c0
        add_cands[k] += index.candidates_checked - before
        add_docs[k] += 1
    cluster_wall, cluster_cpu = time.perf_counter() - t_all, time.process_time() - c_all
    rss_index = rss_mb()
    t0 = time.perf_counter()
    assignments = index.assignments()
    out["assignments_seconds"] = round(time.perf_counter() - t0, 3)
    out["cluster_docs_per_s"] = round(n / cluster_wall, 1)
    out["cluster_docs_per_cpu_s"] = round(n / cluster_cpu, 1)
    out["cluster_us_per_doc"] = round(sum(add_seconds) / n * 1e6, 1)
    out["cluster_cpu_us_per_doc"] = round(sum(add_cpu) / n * 1e6, 1)
    out["cluster_cpu_us_per_doc_by_tenth"] = [
        round(s / d * 1e6, 1) for s, d in zip(add_cpu, add_docs, strict=True)
    ]
    out["cluster_us_per_doc_by_tenth"] = [
        round(s / d * 1e6, 1) for s, d in zip(add_seconds, add_docs, strict=True)
    ]
    out["candidates_per_doc"] = round(index.candidates_checked / n, 2)
    out["candidates_per_doc_by_tenth"] = [
        round(c / d, 2) for c, d in zip(add_cands, add_docs, strict=True)
    ]
    buckets = [len(ids) for band in index.buckets for ids in band.values()]
    out["bucket_keys"] = len(buckets)
    out["largest_bucket"] = max(buckets)
    out["anchor_keys"] = len(index.anchor_docs)

    gold = {i: synth.root(i) for i in range(n)}
    pred = {i: a[0] for i, a in assignments.items()}
    res = scorer.contingency_scores(gold, pred)
    out["synthetic_quality"] = {
        k: res[k] for k in ("gold_pairs", "pred_pairs", "true_pairs", "precision", "recall", "f1")
    }
    out["reposts"] = sum(1 for i in range(n) if gold[i] != i)

    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out["rss_mb"] = {
        "start": round(rss_start, 1),
        "fingerprints_received": round(rss_rows, 1),
        "members_built": round(rss_members, 1),
        "index_built": round(rss_index, 1),
        "index_delta": round(rss_index - rss_members, 1),
        "index_delta_kb_per_doc": round((rss_index - rss_members) * 1024 / n, 2),
        "peak_main": round(usage_self, 1),
        "peak_worker": round(usage_children, 1),
    }
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def real_background_rate(config: ClusterConfig) -> dict[str, Any]:
    """The same collision rate for real unrelated English originals of the test split."""
    scorer = shared_module("score")
    docs: list[Doc] = scorer.load_jsonl(str(DEDUP / "test.jsonl"))
    originals = [d for d in docs if d["lang"] == "en" and not d["transform"]][:BACKGROUND_DOCS]
    fingerprinter = Fingerprinter(MinHashConfig())
    signatures = [fingerprinter.fingerprint(d["text"]).signature for d in originals]
    return {
        "docs": len(originals),
        "mean_chars": round(sum(len(d["text"]) for d in originals) / len(originals), 1),
        "rate": collision_rate(signatures, config),
    }


def scale(sizes: Sequence[int], workers: int) -> int:
    config = ClusterConfig()
    info = machine()
    synth = Synth()
    print(
        f"synthetic corpus: {DOC_CHARS}-character documents, {REPOST_SHARE:.0%} reposts, seed {SCALE_SEED}"
    )
    print(
        f"vocabulary: {len(synth.words)} words of {VOCAB_FILE} (sha256 {sha256_file(VOCAB_FILE)[:16]}...)"
    )
    print(f"ClusterConfig: {config}; MinHashConfig: {MinHashConfig()}")
    print(f"machine: {info['cpu']} x{info['cpus']}, load average {info['loadavg_start']}")
    real = real_background_rate(config)
    runs: list[dict[str, Any]] = []
    for n in sizes:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--scale-one",
            str(n),
            "--workers",
            str(workers),
        ]
        print(f"... {n} documents: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, sep="\n")
            return proc.returncode
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
        run = json.loads(line[len("RESULT ") :])
        run["subprocess_seconds"] = round(time.perf_counter() - t0, 1)
        runs.append(run)
        print(f"    done in {run['subprocess_seconds']:.0f} s", flush=True)

    first, last = runs[0], runs[-1]
    Col = tuple[str, Callable[[dict[str, Any]], str], Callable[[dict[str, Any]], float] | None]

    def show(title: str, cols: Sequence[Col]) -> None:
        rows = [[fmt(r) for _, fmt, _ in cols] for r in runs]
        growth = [f"growth x{last['docs'] / first['docs']:g}"]
        for _, _, key in cols[1:]:
            a = key(first) if key else 0.0
            growth.append(f"x{key(last) / a:.2f}" if key and a else "")
        print(f"\n{title}")
        print(table([h for h, _, _ in cols], [*rows, growth]))

    def per_worker(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda r: "/".join(f"{x:.0f}" for x in r[key])

    show(
        "fingerprinting (docs/s; CPU = per CPU-second of the process)",
        [
            ("docs", lambda r: f"{r['docs']:,}", None),
            (
                "1 proc wall",
                lambda r: f"{r['fp_single_docs_per_s']:.0f}",
                lambda r: r["fp_single_docs_per_s"],
            ),
            (
                "1 proc CPU",
                lambda r: f"{r['fp_single_docs_per_cpu_s']:.0f}",
                lambda r: r["fp_single_docs_per_cpu_s"],
            ),
            ("per worker wall", per_worker("fp_pool_per_worker_docs_per_s"), None),
            ("per worker CPU", per_worker("fp_pool_per_worker_docs_per_cpu_s"), None),
            (
                f"{workers} workers wall",
                lambda r: f"{r['fp_pool_docs_per_s']:.0f}",
                lambda r: r["fp_pool_docs_per_s"],
            ),
            (
                "peak RSS worker MB",
                lambda r: f"{r['rss_mb']['peak_worker']:.0f}",
                lambda r: r["rss_mb"]["peak_worker"],
            ),
        ],
    )
    show(
        "clustering (one process, ClusterIndex.add per document)",
        [
            ("docs", lambda r: f"{r['docs']:,}", None),
            (
                "docs/s wall",
                lambda r: f"{r['cluster_docs_per_s']:,.0f}",
                lambda r: r["cluster_docs_per_s"],
            ),
            (
                "docs/CPU-s",
                lambda r: f"{r['cluster_docs_per_cpu_s']:,.0f}",
                lambda r: r["cluster_docs_per_cpu_s"],
            ),
            (
                "µs/doc wall",
                lambda r: f"{r['cluster_us_per_doc']:.0f}",
                lambda r: r["cluster_us_per_doc"],
            ),
            (
                "CPU µs/doc",
                lambda r: f"{r['cluster_cpu_us_per_doc']:.0f}",
                lambda r: r["cluster_cpu_us_per_doc"],
            ),
            (
                "CPU µs/doc 1st 10%",
                lambda r: f"{r['cluster_cpu_us_per_doc_by_tenth'][0]:.0f}",
                lambda r: r["cluster_cpu_us_per_doc_by_tenth"][0],
            ),
            (
                "CPU µs/doc last 10%",
                lambda r: f"{r['cluster_cpu_us_per_doc_by_tenth'][-1]:.0f}",
                lambda r: r["cluster_cpu_us_per_doc_by_tenth"][-1],
            ),
            (
                "cands/doc",
                lambda r: f"{r['candidates_per_doc']:.1f}",
                lambda r: r["candidates_per_doc"],
            ),
            (
                "cands/doc last 10%",
                lambda r: f"{r['candidates_per_doc_by_tenth'][-1]:.1f}",
                lambda r: r["candidates_per_doc_by_tenth"][-1],
            ),
            ("largest bucket", lambda r: f"{r['largest_bucket']:,}", lambda r: r["largest_bucket"]),
            (
                "peak RSS main MB",
                lambda r: f"{r['rss_mb']['peak_main']:.0f}",
                lambda r: r["rss_mb"]["peak_main"],
            ),
            (
                "index KB/doc",
                lambda r: f"{r['rss_mb']['index_delta_kb_per_doc']:.1f}",
                lambda r: r["rss_mb"]["index_delta_kb_per_doc"],
            ),
            (
                "synthetic P/R",
                lambda r: (
                    f"{r['synthetic_quality']['precision']:.4f}/{r['synthetic_quality']['recall']:.4f}"
                ),
                None,
            ),
        ],
    )
    print("\nclustering CPU µs/doc by tenth of the run, and candidates checked/doc by tenth:")
    for r in runs:
        print(
            f"  {r['docs']:>7,}: "
            + " ".join(f"{x:.0f}" for x in r["cluster_cpu_us_per_doc_by_tenth"])
        )
        print("           " + " ".join(f"{x:.1f}" for x in r["candidates_per_doc_by_tenth"]))
    print(
        "\nbackground LSH collision rate per unrelated pair: synthetic "
        + ", ".join(f"{r['background_collision_rate']:.4f}" for r in runs)
        + f"; real English originals of test.jsonl ({real['docs']} docs, mean "
        f"{real['mean_chars']:.0f} chars): {real['rate']:.4f}"
    )
    for r in runs:
        expected = r["background_collision_rate"] * (r["docs"] - 1) / 2
        print(
            f"  {r['docs']:,} docs: expected background candidates/doc = rate x (n-1)/2 ="
            f" {expected:.1f}; measured {r['candidates_per_doc']:.1f};"
            f" largest bucket {r['largest_bucket']}; RSS MB (start/fingerprints/members/index)"
            f" {r['rss_mb']['start']:.0f}/{r['rss_mb']['fingerprints_received']:.0f}/"
            f"{r['rss_mb']['members_built']:.0f}/{r['rss_mb']['index_built']:.0f};"
            f" cross-process fingerprints identical: {'yes' if r['fp_cross_process_identical'] else 'no'}"
        )
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    save(
        "scale",
        {
            "command": " ".join([".venv/bin/python", *sys.argv]),
            "doc_chars": DOC_CHARS,
            "repost_share": REPOST_SHARE,
            "seed": SCALE_SEED,
            "vocabulary": {
                "file": str(VOCAB_FILE),
                "sha256": sha256_file(VOCAB_FILE),
                "words": len(synth.words),
            },
            "cluster_config": str(config),
            "minhash_config": str(MinHashConfig()),
            "machine": info,
            "real_background": real,
            "runs": runs,
        },
    )
    print(f"\nwritten: {RESULTS} (scale)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--split", choices=("test", "dev"), default="test")
    ap.add_argument("--sweep", action="store_true", help="ClusterConfig variants on dev")
    ap.add_argument("--diagnose", action="store_true", help="why pairs are joined or missed")
    ap.add_argument("--scale", help="comma-separated sizes, e.g. 10000,30000,100000")
    ap.add_argument("--workers", type=int, default=2, help="fingerprinting processes (scale)")
    ap.add_argument("--scale-one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.scale_one:
        print("RESULT " + json.dumps(scale_one(args.scale_one, args.workers)))
        return 0
    if args.scale:
        return scale([int(x) for x in args.scale.split(",")], args.workers)
    if args.sweep:
        return sweep()
    if args.diagnose:
        return diagnose(args.split)
    return quality(args.split)


if __name__ == "__main__":
    sys.exit(main())
