"""Malay or Indonesian: langdetect has no Malay profile and labels both `id`.

The two standard languages share most of their words, so a text is scored on the
words that differ (`malay_indonesian.toml`: kerana/karena, kerajaan/pemerintah, ...)
and labelled `ms` only when the Malay side leads by MALAY_MARGIN; otherwise it stays
`id`, so an Indonesian text with a word or two that Malay prefers stays Indonesian.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

WORDS_FILE = Path(__file__).parent / "malay_indonesian.toml"
MAX_PHRASE = 3  # words in the longest entry
MALAY_MARGIN = 2  # Malay must lead by one spelling difference or two vocabulary words
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


@dataclass(frozen=True)
class MalayIndonesian:
    """Scores of distinguishing words and phrases: entry -> (Malay weight, Indonesian weight)."""

    weights: dict[str, tuple[int, int]]

    @classmethod
    def load(cls, path: Path = WORDS_FILE) -> MalayIndonesian:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        weights: dict[str, tuple[int, int]] = {}
        for side, key in ((0, "malay"), (1, "indonesian")):
            for weight, entries in data[key].items():
                for entry in entries:
                    entry = " ".join(entry.casefold().split())
                    if len(entry.split()) > MAX_PHRASE:
                        raise ValueError(
                            f"{path.name}: {entry!r} is longer than {MAX_PHRASE} words"
                        )
                    if entry in weights:
                        raise ValueError(f"{path.name}: {entry!r} is listed twice")
                    pair = [0, 0]
                    pair[side] = int(weight)
                    weights[entry] = (pair[0], pair[1])
        return cls(weights)

    def scores(self, text: str) -> tuple[int, int]:
        """(Malay score, Indonesian score): the weights of the entries found, each time."""
        words = _WORD.findall(text.casefold())
        malay = indonesian = 0
        for i in range(len(words)):
            for n in range(1, MAX_PHRASE + 1):
                if i + n > len(words):
                    break
                found = self.weights.get(" ".join(words[i : i + n]))
                if found is not None:
                    malay += found[0]
                    indonesian += found[1]
        return malay, indonesian

    def label(self, text: str) -> str:
        """`ms` if the text reads as Malay rather than Indonesian, else `id`."""
        malay, indonesian = self.scores(text)
        return "ms" if malay - indonesian >= MALAY_MARGIN else "id"
