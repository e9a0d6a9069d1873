"""Language per segment: exact script shortcuts first, langdetect (fixed seed) for the rest.

A document is labelled paragraph by paragraph; neighbouring paragraphs in one language
merge into a segment, so a Chinese article followed by its English translation gets two
segments. `lang` is the language with the most characters, `lang_confidence` its share.
Chinese is told apart as zh-cn or zh-tw by whether its characters are simplified or
traditional forms (OpenCC), which is exact where langdetect guesses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from extractors.model import Segment

UNDETERMINED = "und"
MIN_LETTERS = 12  # below this a document is `und`
SHORT_PARAGRAPH = 25  # weighted letters; shorter paragraphs take their neighbours' language
_IDEOGRAPHIC = ("han", "kana", "hangul")  # one character carries about a word: weight 3
LANGDETECT_CHARS = 2000  # langdetect reads at most this much of a block

_SCRIPTS: dict[str, str] = {
    "han": r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
    "kana": r"\u3040-\u30ff\u31f0-\u31ff",
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


def script_counts(text: str) -> dict[str, int]:
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
    def _factory(self):  # type: ignore[no-untyped-def]
        from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

        factory = DetectorFactory()
        factory.load_profile(PROFILES_DIRECTORY)
        factory.set_seed(self.seed)
        return factory

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
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._factory.create()
        detector.set_max_text_length(LANGDETECT_CHARS)
        detector.append(text)
        try:
            return _normalise_label(detector.detect())
        except LangDetectException:
            return UNDETERMINED

    def detect(self, text: str) -> str:
        """The language of one paragraph or sentence."""
        counts = script_counts(text)
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
        labels: list[str] = []
        sizes: list[int] = []
        for para in paragraphs:
            counts = script_counts(para)
            sizes.append(sum(counts.values()))
            weight = sum(counts.values()) + 2 * sum(counts[k] for k in _IDEOGRAPHIC)
            labels.append(self.detect(para) if weight >= SHORT_PARAGRAPH else "")
        _fill_short(labels, paragraphs, self)
        segments: list[Segment] = []
        offset = 0
        totals: dict[str, int] = {}
        for para, label, size in zip(paragraphs, labels, sizes, strict=True):
            start, end = offset, offset + len(para)
            offset = end + 1  # the newline joining paragraphs
            if label == UNDETERMINED or size == 0:
                continue
            totals[label] = totals.get(label, 0) + size
            if segments and segments[-1].lang == label:
                last = segments[-1]
                segments[-1] = Segment(last.start, end, label, last.chars + size)
            else:
                segments.append(Segment(start, end, label, size))
        letters = sum(totals.values())
        if letters < MIN_LETTERS or not totals:
            return LanguageResult(UNDETERMINED, 0.0, segments)
        lang = max(sorted(totals), key=lambda k: totals[k])
        return LanguageResult(lang, round(totals[lang] / letters, 4), segments)


def _fill_short(labels: list[str], paragraphs: list[str], detector: LanguageDetector) -> None:
    """Short paragraphs take the previous paragraph's language (else the next one's)."""
    for i, label in enumerate(labels):
        if label:
            continue
        prev = next((labels[j] for j in range(i - 1, -1, -1) if labels[j]), "")
        nxt = next((labels[j] for j in range(i + 1, len(labels)) if labels[j]), "")
        labels[i] = prev or nxt
    if not any(labels) and paragraphs:
        whole = detector.detect("\n".join(paragraphs))
        labels[:] = [whole] * len(labels)


def _normalise_label(label: str) -> str:
    return {"zh-cn": "zh-cn", "zh-tw": "zh-tw"}.get(label, label.split("-")[0])


def weighted_length(text: str) -> int:
    """Letters, with one ideograph counted as three: comparable across scripts."""
    counts = script_counts(text)
    return sum(counts.values()) + 2 * sum(counts[k] for k in _IDEOGRAPHIC)
