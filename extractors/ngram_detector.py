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

import functools
import json
import os
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# langdetect.detector.Detector's constants
ALPHA = 0.5
ALPHA_WIDTH = 0.05
ITERATION_LIMIT = 1000
PROB_THRESHOLD = 0.1
CONV_THRESHOLD = 0.99999
BASE_FREQ = 10000
TRIALS = 7
DECIDED_MARGIN = 1e-9  # far above the rounding of seven sums of 55 terms
UNKNOWN = "unknown"
_URL = re.compile(r"https?://[-_.?&~;+=/#0-9A-Za-z]{1,2076}")
_MAIL = re.compile(r"[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}")
_SPACES = re.compile(" {2,}")
_ASCII_LETTERISH = re.compile("[A-z]")  # langdetect's 'A' <= ch <= 'z', [\]^_` included
_NON_LATIN = re.compile("[^\u0000-\u02ff\u1e00-\u1eff]")


@dataclass(frozen=True)
class Profiles:
    """langdetect's profiles as `DetectorFactory.load_profile` holds them: the languages in
    load order and, per n-gram, a row of probabilities (one column per language)."""

    langs: list[str]
    rows: dict[str, int]
    matrix: np.ndarray  # 87,598 x 55 floats, 39 MB, read-only


@functools.cache  # read-only package data: loaded once per process, shared by detectors
def load_profiles(directory: Path) -> Profiles:
    """What `DetectorFactory.load_profile(directory)` builds, the same files in the same
    order and the same quotients, straight into one read-only array (0.2 s instead of
    0.45 s for langdetect's lists of 55 floats per n-gram and an array made of them)."""
    names = os.listdir(directory)  # unsorted, as langdetect: column order decides ties
    width = len(names)
    langs: list[str] = []
    rows: dict[str, int] = {}
    at_row: list[int] = []
    at_col: list[int] = []
    values: list[float] = []
    for name in names:
        path = directory / name
        if name.startswith(".") or not path.is_file():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        column, n_words = len(langs), data["n_words"]
        langs.append(data["name"])
        for word, count in data["freq"].items():
            row = rows.setdefault(word, len(rows))
            if 1 <= len(word) <= 3:
                at_row.append(row)
                at_col.append(column)
                values.append(1.0 * count / n_words[len(word) - 1])
    matrix = np.zeros((len(rows), width), dtype=np.float64)
    matrix[at_row, at_col] = values
    matrix.setflags(write=False)
    return Profiles(langs, rows, matrix)


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
        from langdetect.detector_factory import PROFILES_DIRECTORY
        from langdetect.utils.ngram import NGram

        profiles = load_profiles(Path(PROFILES_DIRECTORY))
        self.langs: list[str] = profiles.langs
        self._row = profiles.rows
        self._matrix = profiles.matrix
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
        """langdetect's `_extract_ngrams` on prepared text, as profile rows.

        langdetect's n-gram buffer restarts at every space, so the n-grams are those of
        each word with a space before it and, unless it ends the text, after it: the 1-,
        2- and 3-grams ending at each of its characters, known ones only, none at a
        capital that follows a capital. A word's n-grams are worked out once per call.
        """
        known = self._row.get
        out: list[int] = []
        seen: dict[str, list[int]] = {}
        words = text.translate(self._table).split(" ")
        end = len(words) - 1
        for i, word in enumerate(words):
            if not word:
                continue
            padded = f" {word} " if i < end else f" {word}"
            rows = seen.get(padded)
            if rows is None:
                rows = seen[padded] = _word_ngrams(padded, known)
            out.extend(rows)
        return out

    def trials(self, ngrams: list[int]) -> Iterator[np.ndarray]:
        """langdetect's `_detect_block` after n-gram extraction: each random walk's final
        probabilities, in order (langdetect averages them)."""
        distinct = list(dict.fromkeys(ngrams))
        local = {row: i for i, row in enumerate(distinct)}
        picks = [local[row] for row in ngrams]  # drawn from as langdetect draws from ngrams
        matrix = self._matrix[distinct]
        n = len(self.langs)
        rng = random.Random()
        rng.seed(self.seed)
        # `rng.choice(picks)` inlined: Random._randbelow_with_getrandbits, draw for draw
        getrandbits, size = rng.getrandbits, len(picks)
        bits = size.bit_length()
        for _ in range(TRIALS):
            prob = np.full(n, 1.0 / n)
            alpha = ALPHA + rng.gauss(0.0, 1.0) * ALPHA_WIDTH
            weighted = alpha / BASE_FREQ + matrix
            i = 0
            while True:
                pick = getrandbits(bits)
                while pick >= size:
                    pick = getrandbits(bits)
                prob *= weighted[picks[pick]]
                if i % 5 == 0:
                    values = prob.tolist()
                    total = sum(values)  # Python's left-to-right sum, as langdetect
                    prob /= total
                    # max(p) / total is max(p / total): rounding keeps the order
                    if max(values) / total > CONV_THRESHOLD or i >= ITERATION_LIMIT:
                        break
                i += 1
            yield prob

    def probabilities(self, ngrams: list[int]) -> np.ndarray:
        """langdetect's `langprob`: the mean of the walks."""
        result = np.zeros(len(self.langs))
        for prob in self.trials(ngrams):
            result += prob / TRIALS
        return result

    def detect(self, text: str) -> str | None:
        grams = self.ngrams(self.prepare(text))
        if not grams:
            return None
        # Each walk ends with probabilities summing to 1. Once the leader's sum is more
        # than any other language's plus the walks still to come, no outcome of those
        # can change the label: they are not run (usually after four of seven).
        total = np.zeros(len(self.langs))
        for done, prob in enumerate(self.trials(grams), 1):
            total += prob / TRIALS
            ranked = np.sort(total)
            if ranked[-1] - ranked[-2] > (TRIALS - done) / TRIALS + DECIDED_MARGIN:
                break
        best, best_p = UNKNOWN, PROB_THRESHOLD
        for lang, p in zip(self.langs, total.tolist(), strict=True):
            if p > best_p:  # the first of equals wins, as in langdetect's stable sort
                best, best_p = lang, p
        return best


def _word_ngrams(padded: str, known: Callable[[str], int | None]) -> list[int]:
    rows: list[int] = []
    after_capital = False  # padded[0] is the space
    for e in range(1, len(padded)):
        ch = padded[e]
        capital = ch.isupper()
        if capital and after_capital:
            continue
        after_capital = capital
        for gram in (ch, padded[e - 1 : e + 1], padded[e - 2 : e + 1] if e >= 2 else ""):
            row = known(gram) if gram and gram != " " else None
            if row is not None:
                rows.append(row)
    return rows
