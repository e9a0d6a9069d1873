"""Fingerprints of clean text for finding reposts and translations.

- `normalise`: NFKC, case folded, traditional Chinese folded to simplified (OpenCC),
  punctuation and whitespace dropped: the same sentence in any script, width or spacing
  becomes the same string.
- `content_key`: SHA-256 of that string (exact reposts).
- a MinHash signature (datasketch) over character shingles, so Chinese, Japanese and
  space-separated languages all work, and the number of shingles (to estimate
  containment as well as Jaccard).
- `anchors`: language-independent evidence (numbers, Latin-script names) in order, used
  to link an article to its translation.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

_KEEP = re.compile(r"[^\w]|_", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u9fff]")
_NO_SPACES = r"\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff"
_RUN = re.compile(f"([{_NO_SPACES}]+)|([^\\W_{_NO_SPACES}]+(?:[\\W_]+[^\\W_{_NO_SPACES}]+)*)")
_WORD_TOKEN = re.compile(f"[^\\W_{_NO_SPACES}]+")
_NUMBER = re.compile(r"\d[\d.,\u2009\u202f']*\d|\d")
_LATIN_NAME = re.compile(r"(?<![A-Za-z])[A-Z][A-Za-z]{2,}(?:[ -][A-Z][A-Za-z]+)*(?![A-Za-z])")


@dataclass(frozen=True)
class MinHashConfig:
    """Shingle size and permutations; the string form goes into extractor_version."""

    shingle: int = 5  # characters, for the similarity estimate (and the bands of CJK/Thai)
    word_shingle: int = 3  # words, for the LSH bands of space-separated scripts
    band_perm: int = 126  # values made from band shingles (the LSH bands use them)
    num_perm: int = 256  # in all: the other 130 come from character shingles
    seed: int = 1

    def __str__(self) -> str:
        return (
            f"minhash(bands:word{self.word_shingle}/char{self.shingle}x{self.band_perm},"
            f"estimate:char{self.shingle}x{self.num_perm - self.band_perm},seed{self.seed})"
        )


@dataclass(frozen=True)
class Fingerprint:
    content_key: str  # sha256 of the normalised text
    signature: np.ndarray  # uint64[num_perm]
    shingles: int  # size of the shingle set
    anchors: tuple[str, ...]  # numbers and Latin names, in order of appearance
    length: int  # characters of normalised text

    def signature_bytes(self) -> bytes:
        return self.signature.astype("<u8").tobytes()


def signature_from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u8").astype(np.uint64)


class Fingerprinter:
    def __init__(self, config: MinHashConfig | None = None) -> None:
        self.config = config or MinHashConfig()

    @cached_property
    def _t2s(self):  # type: ignore[no-untyped-def]
        import opencc

        return opencc.OpenCC("t2s")

    @cached_property
    def _templates(self):  # type: ignore[no-untyped-def]
        from datasketch import MinHash

        c = self.config
        return (
            MinHash(num_perm=c.band_perm, seed=c.seed, hashfunc=zlib.crc32),
            MinHash(num_perm=c.num_perm - c.band_perm, seed=c.seed + 1, hashfunc=zlib.crc32),
        )

    def fold(self, text: str) -> str:
        folded = unicodedata.normalize("NFKC", text).casefold()
        if _HAN.search(folded):
            folded = self._t2s.convert(folded)
        return folded

    def normalise(self, text: str) -> str:
        return _KEEP.sub("", self.fold(text))

    def band_shingles(self, folded: str) -> set[str]:
        """Character n-grams inside runs of scripts written without spaces, word n-grams
        elsewhere: unrelated articles in one language rarely share word n-grams, so the LSH
        bands stay quiet as the archive grows."""
        n, w = self.config.shingle, self.config.word_shingle
        out: set[str] = set()
        for m in _RUN.finditer(folded):
            if m.group(1):
                run = m.group(1)
                out.update(run[i : i + n] for i in range(max(1, len(run) - n + 1)))
            else:
                words = _WORD_TOKEN.findall(m.group(2))
                out.update(" ".join(words[i : i + w]) for i in range(max(1, len(words) - w + 1)))
        return out

    def shingle_set(self, normalised: str) -> set[str]:
        n = self.config.shingle
        if len(normalised) <= n:
            return {normalised} if normalised else set()
        return {normalised[i : i + n] for i in range(len(normalised) - n + 1)}

    def fingerprint(self, text: str) -> Fingerprint:
        from datasketch import MinHash

        folded = self.fold(text)
        norm = _KEEP.sub("", folded)
        shingles = self.shingle_set(norm)
        parts = []
        for template, items in zip(
            self._templates, (self.band_shingles(folded), shingles), strict=True
        ):
            mh = MinHash(
                num_perm=len(template.hashvalues),
                seed=template.seed,
                permutations=template.permutations,
                scheme=template.scheme,
                hashfunc=zlib.crc32,  # deterministic across processes, and cheap per shingle
            )
            if items:
                mh.update_batch([s.encode("utf-8") for s in items])
            parts.append(mh.hashvalues.astype(np.uint64))
        return Fingerprint(
            content_key=hashlib.sha256(norm.encode("utf-8")).hexdigest(),
            signature=np.concatenate(parts),
            shingles=len(shingles),
            anchors=anchors(text),
            length=len(norm),
        )


def anchors(text: str) -> tuple[str, ...]:
    """Numbers (digits only, so 4,8 / 4.8 / 48 and 12.000 / 12,000 agree) and Latin-script
    names, in order: what an article and its translation share whatever the language."""
    found: list[tuple[int, str]] = []
    for m in _NUMBER.finditer(text):
        digits = re.sub(r"\D", "", m.group(0)).lstrip("0")
        if digits:
            found.append((m.start(), digits))
    for m in _LATIN_NAME.finditer(unicodedata.normalize("NFKC", text)):
        found.append((m.start(), m.group(0).casefold()))
    return tuple(token for _, token in sorted(found))
