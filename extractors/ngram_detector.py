"""langdetect's algorithm on langdetect's profiles, with the same answers, several times faster.

langdetect (1.0.9) labels a text by seven random walks over its character n-grams, each
multiplying a 55-language probability vector by one n-gram's profile per step. In pure
Python that is a loop over 55 floats per step and a method call per character. Here the
steps are one numpy row product each and the n-grams come from one pass over the text
mapped through langdetect's own character normalisation. The arithmetic is the same
operation for operation (element-wise products and quotients, the normalising sum taken
in the same order) and the walks draw from a `random.Random` seeded the same way, so the
labels are langdetect's (tests/test_ngram_detector.py compares them).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import numpy as np

# langdetect.detector.Detector's constants
ALPHA = 0.5
ALPHA_WIDTH = 0.05
ITERATION_LIMIT = 1000
PROB_THRESHOLD = 0.1
CONV_THRESHOLD = 0.99999
BASE_FREQ = 10000
TRIALS = 7
UNKNOWN = "unknown"
_URL = re.compile(r"https?://[-_.?&~;+=/#0-9A-Za-z]{1,2076}")
_MAIL = re.compile(r"[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}")
_SPACES = re.compile(" {2,}")
_ASCII_LETTERISH = re.compile("[A-z]")  # langdetect's 'A' <= ch <= 'z', [\]^_` included
_NON_LATIN = re.compile("[^\u0000-\u02ff\u1e00-\u1eff]")


class _Normalised(dict[int, str]):
    """A `str.translate` table of langdetect's `NGram.normalize`, filled as characters occur."""

    def __missing__(self, code: int) -> str:
        from langdetect.utils.ngram import NGram

        value = NGram.normalize(chr(code))
        self[code] = value
        return value


@dataclass
class NgramDetector:
    """`detect(text)`: what `DetectorFactory(seed).create(); append(text[:max_chars]); detect()`
    returns, or None where langdetect raises (no n-gram of the text is in any profile)."""

    seed: int = 0
    max_chars: int = 10_000

    def __post_init__(self) -> None:
        from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
        from langdetect.utils.ngram import NGram

        factory = DetectorFactory()
        factory.load_profile(PROFILES_DIRECTORY)
        self.langs: list[str] = list(factory.langlist)
        # One row per n-gram (87,598 x 55 floats, 39 MB: less than langdetect's lists).
        self._row = {gram: i for i, gram in enumerate(factory.word_lang_prob_map)}
        self._matrix = np.array(list(factory.word_lang_prob_map.values()), dtype=np.float64)
        self._normalise_vi = NGram.normalize_vi
        self._table = _Normalised()

    def prepare(self, text: str) -> str:
        """The text as langdetect's `Detector.append` and `cleaning_text` leave it."""
        text = self._normalise_vi(_MAIL.sub(" ", _URL.sub(" ", text)))
        text = _SPACES.sub(" ", text[: self.max_chars])
        latin = len(_ASCII_LETTERISH.findall(text))
        if latin * 2 < len(_NON_LATIN.findall(text)):
            text = _ASCII_LETTERISH.sub("", text)
        return text

    def ngrams(self, text: str) -> list[int]:
        """langdetect's `_extract_ngrams` on prepared text, as profile rows: 1- to 3-grams
        within words (a word starts after a space), none inside an all-capitals run, known
        ones only."""
        known = self._row
        out: list[int] = []
        grams, capital = " ", False
        for ch in text.translate(self._table):
            last = grams[-1]
            if last == " ":
                grams, capital = " ", False
                if ch == " ":
                    continue
            elif len(grams) >= 3:
                grams = grams[1:]
            grams += ch
            if ch.isupper():
                if last.isupper():
                    capital = True
            else:
                capital = False
            if capital:
                continue
            if ch != " " and ch in known:
                out.append(known[ch])
            if len(grams) >= 2:
                pair = grams[-2:]
                if pair in known:
                    out.append(known[pair])
                if len(grams) == 3 and grams in known:
                    out.append(known[grams])
        return out

    def probabilities(self, ngrams: list[int]) -> np.ndarray:
        """langdetect's `_detect_block` after n-gram extraction."""
        distinct = list(dict.fromkeys(ngrams))
        local = {row: i for i, row in enumerate(distinct)}
        picks = [local[row] for row in ngrams]  # drawn from as langdetect draws from ngrams
        matrix = self._matrix[distinct]
        n = len(self.langs)
        rng = random.Random()
        rng.seed(self.seed)
        result = np.zeros(n)
        for _ in range(TRIALS):
            prob = np.full(n, 1.0 / n)
            alpha = ALPHA + rng.gauss(0.0, 1.0) * ALPHA_WIDTH
            weighted = alpha / BASE_FREQ + matrix
            i = 0
            while True:
                prob *= weighted[rng.choice(picks)]
                if i % 5 == 0:
                    prob /= sum(prob.tolist())  # Python's left-to-right sum, as langdetect
                    if prob.max() > CONV_THRESHOLD or i >= ITERATION_LIMIT:
                        break
                i += 1
            result += prob / TRIALS
        return result

    def detect(self, text: str) -> str | None:
        grams = self.ngrams(self.prepare(text))
        if not grams:
            return None
        best, best_p = UNKNOWN, PROB_THRESHOLD
        for lang, p in zip(self.langs, self.probabilities(grams).tolist(), strict=True):
            if p > best_p:  # the first of equals wins, as in langdetect's stable sort
                best, best_p = lang, p
        return best
