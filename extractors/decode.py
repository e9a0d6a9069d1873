"""Bytes as stored in WARC -> text: content decoding (bomb-safe) and charset choice.

The charset is chosen in this order and the choice is recorded: byte-order mark,
HTTP Content-Type header, `<meta charset>` / `http-equiv`, then detection with
charset-normalizer when the declared one fails to decode or looks like mojibake.
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass

import brotli
from charset_normalizer import from_bytes

CHUNK = 64 * 1024


class DecodedTooLarge(ValueError):
    """Decompression would exceed the limit; carries the sizes and the setting's name."""

    def __init__(self, read: int, limit: int, setting: str = "max_decoded_bytes") -> None:
        super().__init__(
            f"decoded body exceeds {limit} bytes after {read} compressed bytes (setting {setting})"
        )
        self.read = read
        self.limit = limit
        self.setting = setting


class UndecodableContent(ValueError):
    pass


def _inflate(body: bytes, limit: int, wbits: int) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    out = bytearray()
    data = body
    while True:
        chunk = decompressor.decompress(data, CHUNK)
        out += chunk
        if len(out) > limit:
            raise DecodedTooLarge(len(body), limit)
        data = decompressor.unconsumed_tail
        if not data:
            tail = decompressor.flush()
            out += tail
            if len(out) > limit:
                raise DecodedTooLarge(len(body), limit)
            if decompressor.eof and decompressor.unused_data[:2] == b"\x1f\x8b":
                # concatenated gzip members
                decompressor, data = zlib.decompressobj(wbits), decompressor.unused_data
                continue
            return bytes(out)


def _unbrotli(body: bytes, limit: int) -> bytes:
    decompressor = brotli.Decompressor()
    out = bytearray()
    for start in range(0, len(body), CHUNK // 16):
        out += decompressor.process(body[start : start + CHUNK // 16])
        if len(out) > limit:
            raise DecodedTooLarge(len(body), limit)
    return bytes(out)


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Undo Content-Encoding (gzip, deflate, br; stacked codings in reverse) within `limit`."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        try:
            if coding in ("gzip", "x-gzip"):
                body = _inflate(body, limit, 16 + zlib.MAX_WBITS)
            elif coding == "deflate":
                try:
                    body = _inflate(body, limit, zlib.MAX_WBITS)
                except zlib.error:
                    body = _inflate(body, limit, -zlib.MAX_WBITS)  # raw deflate, as IIS sends
            elif coding == "br":
                body = _unbrotli(body, limit)
            elif coding not in ("identity", ""):
                raise UndecodableContent(f"unsupported Content-Encoding {coding!r}")
        except (zlib.error, brotli.error) as exc:
            raise UndecodableContent(f"corrupt {coding} body: {exc}") from exc
    if len(body) > limit:
        raise DecodedTooLarge(len(body), limit)
    return body


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([a-zA-Z0-9_:.-]+)", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    # The byte order is explicit: once the mark is cut off, plain "utf-16" would assume
    # the machine's own order and garble big-endian text.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels that browsers treat as a superset (WHATWG encoding standard).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "euc-kr": "cp949",
}


@dataclass(frozen=True)
class DecodedText:
    text: str
    charset: str  # the codec used
    source: str  # "bom", "header", "meta", "detected", "fallback"


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


_C1_CONTROLS = re.compile("[\x80-\x9f]")


def _looks_like_mojibake(text: str, body: bytes, codec: str | None) -> bool:
    if not text or text.isascii():
        return False
    sample = text[:20000]
    bad = sample.count("\ufffd")
    # UTF-8 spells every C1 control with a 0xC2 lead byte: a body without one has none
    # (a quick byte search instead of a regex over the text)
    if codec != "utf-8" or b"\xc2" in body:
        bad += len(_C1_CONTROLS.findall(sample))
    return bad > max(2, len(sample) // 500)


def _try(body: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_html(body: bytes, content_type: str | None = None) -> DecodedText:
    """Decode an HTML (or text) body; never raises, always records how it chose."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return DecodedText(body[len(bom) :].decode(codec, errors="replace"), codec, "bom")
    declared = [
        ("header", _codec(charset_from_content_type(content_type))),
        ("meta", _codec(_meta_charset(body))),
    ]
    for source, codec in declared:
        text = _try(body, codec)
        if text is not None and not _looks_like_mojibake(text, body, codec):
            return DecodedText(text, codec or "", source)
    if _try(body, "ascii") is not None:
        return DecodedText(body.decode("ascii"), "ascii", "detected")
    if (text := _try(body, "utf-8")) is not None:
        return DecodedText(text, "utf-8", "detected")
    best = from_bytes(body[:200_000]).best()
    codec = _codec(best.encoding) if best is not None else None
    if codec and (text := _try(body, codec)) is not None:
        return DecodedText(text, codec, "detected")
    codec = codec or next((c for _, c in declared if c), "utf-8")
    return DecodedText(body.decode(codec, errors="replace"), codec, "fallback")


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii", "replace") if match else None
