"""Language per segment: exact script shortcuts first, langdetect (fixed seed) for the rest.

A document is labelled paragraph by paragraph; neighbouring paragraphs in one language
merge into a segment, so a Chinese article followed by its English translation gets two
segments. `lang` is the language with the most characters, `lang_confidence` its share.
Chinese is told apart as zh-cn or zh-tw by whether its characters are simplified or
traditional forms (OpenCC), which is exact where langdetect guesses; langdetect's `id`
as Malay (`ms`) or Indonesian by the words the two standard languages spell or choose
differently (`extractors/malay.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from extractors.malay import MalayIndonesian
from extractors.model import Segment
from extractors.ngram_detector import NgramDetector

UNDETERMINED = "und"
MIN_LETTERS = 12  # below this a document is `und`
SHORT_PARAGRAPH = 25  # weighted letters; shorter paragraphs take their neighbours' language
_IDEOGRAPHIC = ("han", "kana", "hangul")  # one character carries about a word: weight 3
LANGDETECT_CHARS = 400  # langdetect reads at most this much of a chunk (a bounded sample)
CHUNK_CHARS = 3000  # a long run of one script is labelled in chunks this size

_SCRIPTS: dict[str, str] = {
    "han": r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
    "kana": r"\u3040-\u30fa\u30fd-\u30ff\u31f0-\u31ff",  # not ・ or ー, used in Chinese too
    "hangul": r"\uac00-\ud7af\u1100-\u11ff\u3130-\u318f",
    "thai": r"\u0e00-\u0e7f",
    "devanagari": r"\u0900-\u097f",
    "greek": r"\u0370-\u03ff",
    "hebrew": r"\u0590-\u05ff",
    "arabic": r"\u0600-\u06ff\u0750-\u077f",
    "cyrillic": r"\u0400-\u04ff",
    "latin": r"A-Za-z\u00c0-\u024f\u1e00-\u1eff",
}
_SCRIPT_RES = {name: re.compile(f"[{chars}]") for name, chars in _SCRIPTS.items()}
_SINGLE_LANGUAGE_SCRIPTS = {
    "hangul": "ko",
    "thai": "th",
    "greek": "el",
    "hebrew": "he",
    "devanagari": "hi",
}


_NON_LATIN = re.compile("[" + "".join(c for n, c in _SCRIPTS.items() if n != "latin") + "]")
_NO_OTHER_SCRIPT = dict.fromkeys(_SCRIPTS, 0)


def script_counts(text: str) -> dict[str, int]:
    if _NON_LATIN.search(text) is None:  # most paragraphs: one count instead of ten
        return {**_NO_OTHER_SCRIPT, "latin": len(_SCRIPT_RES["latin"].findall(text))}
    return {name: len(rx.findall(text)) for name, rx in _SCRIPT_RES.items()}


@dataclass(frozen=True)
class LanguageResult:
    lang: str
    confidence: float
    segments: list[Segment]


class LanguageDetector:
    """Holds langdetect's profiles and OpenCC converters (loaded once, on first use)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    @cached_property
    def _ngrams(self) -> NgramDetector:
        return NgramDetector(seed=self.seed, max_chars=LANGDETECT_CHARS)

    @cached_property
    def _malay(self) -> MalayIndonesian:
        return MalayIndonesian.load()

    @cached_property
    def _t2s(self):  # type: ignore[no-untyped-def]
        import opencc

        return opencc.OpenCC("t2s")

    @cached_property
    def _s2t(self):  # type: ignore[no-untyped-def]
        import opencc

        return opencc.OpenCC("s2t")

    # -- one piece of text ---------------------------------------------------------
    def chinese_variant(self, text: str) -> str:
        han = "".join(_SCRIPT_RES["han"].findall(text))
        traditional = sum(a != b for a, b in zip(han, self._t2s.convert(han), strict=False))
        simplified = sum(a != b for a, b in zip(han, self._s2t.convert(han), strict=False))
        return "zh-tw" if traditional > simplified else "zh-cn"

    def langdetect(self, text: str) -> str:
        """langdetect's label (its algorithm and profiles, `NgramDetector`), or `und`;
        langdetect's `id` is told apart as Malay or Indonesian by their own words."""
        label = self._ngrams.detect(text)
        if label is None:
            return UNDETERMINED
        if label == "id":
            return self._malay.label(text)
        return _normalise_label(label)

    def detect(self, text: str, counts: dict[str, int] | None = None) -> str:
        """The language of one paragraph or sentence (`counts`: its `script_counts`)."""
        counts = counts or script_counts(text)
        letters = sum(counts.values())
        if letters == 0:
            return UNDETERMINED
        if counts["kana"] >= max(2, letters * 0.05):
            return "ja"
        cjk = counts["han"]
        if cjk >= letters * 0.3 and cjk >= counts["latin"] * 0.5:
            return self.chinese_variant(text)
        script = max(counts, key=lambda k: counts[k])
        if script in _SINGLE_LANGUAGE_SCRIPTS:
            return _SINGLE_LANGUAGE_SCRIPTS[script]
        return self.langdetect(text)

    # -- a whole document ----------------------------------------------------------
    def analyse(self, paragraphs: list[str]) -> LanguageResult:
        """Label runs of paragraphs: consecutive paragraphs in one script form a block, a
        block is labelled as a whole (long Latin blocks in chunks), and neighbouring blocks
        with one label merge into a segment."""
        counts = [script_counts(p) for p in paragraphs]  # a chunk's counts are their sums
        scripts = [_script_class(c) for c in counts]
        _fill_short(scripts)
        offsets, offset = [], 0
        for para in paragraphs:
            offsets.append((offset, offset + len(para)))
            offset += len(para) + 1  # the newline joining paragraphs
        segments: list[Segment] = []
        totals: dict[str, int] = {}
        for first, last in _runs(scripts):
            for chunk_first, chunk_last in self._chunks(paragraphs, first, last):
                text = "\n".join(paragraphs[chunk_first : chunk_last + 1])
                chunk_counts = _sum_counts(counts[chunk_first : chunk_last + 1])
                label = self._label_block(scripts[first], text, chunk_counts)
                if label == UNDETERMINED:
                    continue
                letters = sum(chunk_counts.values())
                totals[label] = totals.get(label, 0) + _weighted(chunk_counts)
                start, end = offsets[chunk_first][0], offsets[chunk_last][1]
                if segments and segments[-1].lang == label:
                    prev = segments[-1]
                    segments[-1] = Segment(prev.start, end, label, prev.chars + letters)
                else:
                    segments.append(Segment(start, end, label, letters))
        total = sum(totals.values())
        if total < MIN_LETTERS or not totals:
            return LanguageResult(UNDETERMINED, 0.0, segments)
        lang = max(sorted(totals), key=lambda k: totals[k])
        return LanguageResult(lang, round(totals[lang] / total, 4), segments)

    def _label_block(self, script: str, text: str, counts: dict[str, int]) -> str:
        if script == "zh":
            return self.chinese_variant(text)
        if script == "ja":
            return "ja"
        if script in _SINGLE_LANGUAGE_SCRIPTS:
            return _SINGLE_LANGUAGE_SCRIPTS[script]
        if not script:
            return self.detect(text, counts)
        return self.langdetect(text)

    @staticmethod
    def _chunks(paragraphs: list[str], first: int, last: int) -> list[tuple[int, int]]:
        """Paragraph ranges of about CHUNK_CHARS characters each."""
        chunks, start, size = [], first, 0
        for i in range(first, last + 1):
            size += len(paragraphs[i])
            if size >= CHUNK_CHARS and i < last:
                chunks.append((start, i))
                start, size = i + 1, 0
        chunks.append((start, last))
        return chunks


def _script_class(counts: dict[str, int]) -> str:
    """A paragraph's script from its `script_counts` ("" when too short to say)."""
    letters = sum(counts.values())
    if letters == 0:
        return ""
    if counts["kana"] >= max(2, letters * 0.05):
        return "ja"
    if counts["han"] >= letters * 0.3 and counts["han"] >= counts["latin"] * 0.5:
        return "zh"
    if _weighted(counts) < SHORT_PARAGRAPH:
        return ""
    return max(counts, key=lambda k: counts[k])


def _sum_counts(counts: list[dict[str, int]]) -> dict[str, int]:
    if len(counts) == 1:
        return counts[0]
    return {name: sum(c[name] for c in counts) for name in _SCRIPTS}


def _runs(scripts: list[str]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i, script in enumerate(scripts):
        if runs and scripts[runs[-1][0]] == script:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _fill_short(scripts: list[str]) -> None:
    """Short paragraphs join their neighbours' block (the previous one, else the next)."""
    for i, script in enumerate(scripts):
        if script:
            continue
        prev = next((scripts[j] for j in range(i - 1, -1, -1) if scripts[j]), "")
        nxt = next((scripts[j] for j in range(i + 1, len(scripts)) if scripts[j]), "")
        scripts[i] = prev or nxt


def _normalise_label(label: str) -> str:
    return {"zh-cn": "zh-cn", "zh-tw": "zh-tw"}.get(label, label.split("-")[0])


def weighted_length(text: str) -> int:
    """Letters, with one ideograph counted as three: comparable across scripts."""
    return _weighted(script_counts(text))


def _weighted(counts: dict[str, int]) -> int:
    return sum(counts.values()) + 2 * sum(counts[k] for k in _IDEOGRAPHIC)
