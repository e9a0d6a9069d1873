"""Bytes as archived -> text: charset choice (and its record), content decoding, bombs,
and what is not HTML at all."""

from __future__ import annotations

import codecs
import gzip
import zlib

import brotli
import pytest

import extractors.pipeline as pipeline_module
from extractors.decode import (
    DecodedTooLarge,
    UndecodableContent,
    decode_html,
    decompress,
)
from extractors.model import Capture
from extractors.pipeline import Pipeline

GB_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>春季植树活动</title></head>'
    "<body><article><h1>春季植树活动</h1>"
    "<p>今年春天，志愿者们在河边种下了三百棵柳树，附近的居民也带着孩子一起参加。</p>"
    "<p>组织者说，明年还会继续在公园和学校周围种树，并请居民认养新种的树苗。</p>"
    "<p>参加活动的一位老人说，他小时候这条河边就有很多柳树，希望以后还能看到那样的景色。</p>"
    "</article></body></html>"
)
BIG5_PAGE = (
    "<html><head><title>社區圖書室開幕</title></head><body><div class='content'>"
    "<p>老街上的咖啡館改建成社區圖書室，書架上的書大多是居民捐贈的，週末還有說故事時間。</p>"
    "<p>里長表示，希望這裡能成為大家聊天與閱讀的地方，也歡迎附近學校的老師帶學生來參觀。</p>"
    "</div></body></html>"
)
SJIS_PAGE = (
    "<html><head><title>商店街の夏祭り</title></head><body>"
    "<p>今年の夏祭りでは、商店街の店主たちが手作りの提灯を飾り、子どもたちが太鼓を演奏しました。</p>"
    "<p>実行委員会によると、来年は屋台の数をさらに増やし、夜の時間も延長する予定です。</p>"
    "</body></html>"
)
SJIS_WITH_META = SJIS_PAGE.replace(
    "<head>", '<head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
)
EN_PAGE = (
    "<html><head><title>Café opens</title></head><body><article>"
    "<p>The café on the corner reopened this week after a long renovation, with a new "
    "kitchen and a reading corner for children.</p>"
    "<p>Its owner said the menu will change every season and that local bakers will supply "
    "the bread and pastries.</p></article></body></html>"
)


# -- charset choice ------------------------------------------------------------------------


def test_gbk_labelled_utf8_in_meta_is_detected() -> None:
    body = GB_PAGE.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    decoded = decode_html(body, "text/html")
    assert decoded.text == GB_PAGE
    assert decoded.source == "detected"
    assert codecs.lookup(decoded.charset).name in ("gb18030", "gbk")


def test_big5_without_any_declaration_is_detected() -> None:
    decoded = decode_html(BIG5_PAGE.encode("big5"), None)
    assert decoded.text == BIG5_PAGE
    assert decoded.source == "detected"
    assert "big5" in decoded.charset or decoded.charset == "cp950"


@pytest.mark.parametrize("header", ["text/html; charset=iso-8859-1", "text/html; charset=utf-8"])
def test_shift_jis_with_a_wrong_header_charset_is_detected(header: str) -> None:
    decoded = decode_html(SJIS_PAGE.encode("shift_jis"), header)
    assert decoded.text == SJIS_PAGE
    assert decoded.source == "detected"
    assert decoded.charset in ("cp932", "shift_jis")


def test_a_wrong_header_falls_back_to_the_meta_declaration() -> None:
    decoded = decode_html(SJIS_WITH_META.encode("shift_jis"), "text/html; charset=utf-8")
    assert decoded.text == SJIS_WITH_META
    assert decoded.source == "meta"
    assert decoded.charset == "cp932"  # Shift_JIS is read as its superset, as browsers do


def test_a_correct_header_wins_and_is_recorded() -> None:
    decoded = decode_html(GB_PAGE.encode("gbk"), "text/html; charset=GB2312")
    assert decoded.text == GB_PAGE
    assert (decoded.charset, decoded.source) == ("gb18030", "header")


def test_meta_declaration_is_used_without_a_header_charset() -> None:
    page = GB_PAGE.replace('charset="utf-8"', 'charset="gbk"')
    decoded = decode_html(page.encode("gbk"), "text/html")
    assert decoded.text == page
    assert (decoded.charset, decoded.source) == ("gb18030", "meta")


def test_a_declared_charset_that_gives_c1_controls_is_not_trusted() -> None:
    # cp1252 quotes read as Latin-1 and saved as UTF-8: U+0080..U+009F all over the text
    spoiled = "<p>" + "The owner\u2019s caf\u00e9 \u201creopened\u201d. " * 20 + "</p>"
    spoiled = spoiled.encode("cp1252").decode("latin-1")
    assert sum("\x80" <= c <= "\x9f" for c in spoiled) >= 60
    decoded = decode_html(spoiled.encode("utf-8"), "text/html; charset=utf-8")
    assert decoded.text == spoiled
    assert decoded.source == "detected"  # the header's charset looked like mojibake
    clean = decode_html(EN_PAGE.encode("utf-8"), "text/html; charset=utf-8")
    assert (clean.charset, clean.source) == ("utf-8", "header")


def test_plain_utf8_without_declaration() -> None:
    decoded = decode_html(EN_PAGE.encode("utf-8"), None)
    assert decoded.text == EN_PAGE
    assert (decoded.charset, decoded.source) == ("utf-8", "detected")


@pytest.mark.parametrize(
    ("bom", "codec", "charset"),
    [
        (codecs.BOM_UTF8, "utf-8", "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32-be"),
    ],
)
def test_byte_order_mark_beats_the_declarations(bom: bytes, codec: str, charset: str) -> None:
    body = bom + BIG5_PAGE.encode(codec)
    decoded = decode_html(body, "text/html; charset=iso-8859-1")
    assert decoded.text == BIG5_PAGE
    assert (decoded.charset, decoded.source) == (charset, "bom")


def test_pipeline_records_the_charset_choice() -> None:
    doc = Pipeline().extract_capture(
        Capture(url="https://zh.example.cn/trees.html", body=GB_PAGE.encode("gbk"))
    )
    assert doc.outcome == "ok"
    assert doc.charset_source == "detected"
    assert "志愿者们在河边种下了三百棵柳树" in doc.extracted


# -- content decoding ----------------------------------------------------------------------

BODY = EN_PAGE.encode("utf-8")


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [
        ("gzip", gzip.compress(BODY)),
        ("x-gzip", gzip.compress(BODY)),
        ("GZIP", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", raw_deflate(BODY)),  # raw deflate without the zlib wrapper, as IIS sends
        ("br", brotli.compress(BODY)),
        ("identity", BODY),
        (None, BODY),
        ("deflate, gzip", gzip.compress(zlib.compress(BODY))),  # applied in order listed
        ("br, gzip", gzip.compress(brotli.compress(BODY))),
    ],
)
def test_content_encodings_are_undone(encoding: str | None, payload: bytes) -> None:
    assert decompress(payload, encoding, 10_000_000) == BODY


def test_concatenated_gzip_members() -> None:
    half = len(BODY) // 2
    payload = gzip.compress(BODY[:half]) + gzip.compress(BODY[half:])
    assert decompress(payload, "gzip", 10_000_000) == BODY


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress)],
)
def test_bombs_stop_at_the_limit_with_sizes(encoding: str, compress) -> None:  # type: ignore[no-untyped-def]
    bomb = compress(b"\0" * (8 * 1024 * 1024))
    assert len(bomb) < 100_000
    limit = 1024 * 1024
    with pytest.raises(DecodedTooLarge) as caught:
        decompress(bomb, encoding, limit)
    exc = caught.value
    assert (exc.read, exc.limit, exc.setting) == (len(bomb), limit, "max_decoded_bytes")
    assert f"exceeds {limit} bytes after {len(bomb)} compressed bytes" in str(exc)


def test_an_uncompressed_body_over_the_limit_is_too_large() -> None:
    with pytest.raises(DecodedTooLarge):
        decompress(b"x" * 2000, None, 1000)


@pytest.mark.parametrize(
    ("encoding", "payload", "message"),
    [
        ("gzip", b"definitely not gzip", "corrupt gzip body"),
        ("br", b"\xff\xff\xff\xff not brotli", "corrupt br body"),
        ("compress", b"LZW data", "unsupported Content-Encoding 'compress'"),
    ],
)
def test_undecodable_bodies(encoding: str, payload: bytes, message: str) -> None:
    with pytest.raises(UndecodableContent, match=message):
        decompress(payload, encoding, 1_000_000)


def test_pipeline_gzip_bomb_is_an_outcome() -> None:
    """A real bomb against the default limit: a few hundred KB that would inflate past it."""
    bomb = gzip.compress(b"<p>" + b" " * (pipeline_module.MAX_DECODED_BYTES + 1024 * 1024), 1)
    assert len(bomb) < 1024 * 1024
    doc = Pipeline().extract_capture(
        Capture(
            url="https://bomb.example/",
            body=bomb,
            content_type="text/html",
            content_encoding="gzip",
        )
    )
    assert doc.outcome == "too_large"
    assert f"after {len(bomb)} compressed bytes" in (doc.reason or "")
    assert "max_decoded_bytes" in (doc.reason or "")


def test_pipeline_decodes_gzip_then_charset() -> None:
    doc = Pipeline().extract_capture(
        Capture(
            url="https://tw.example/library.html",
            body=gzip.compress(BIG5_PAGE.encode("big5")),
            content_type="text/html",
            content_encoding="gzip",
        )
    )
    assert doc.outcome == "ok"
    assert doc.charset_source == "detected"
    assert "老街上的咖啡館改建成社區圖書室" in doc.extracted


def test_pipeline_corrupt_body_is_an_outcome() -> None:
    doc = Pipeline().extract_capture(
        Capture(url="https://x.example/", body=b"garbage", content_encoding="gzip")
    )
    assert doc.outcome == "undecodable"


# -- not HTML ------------------------------------------------------------------------------

PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.mark.parametrize(
    ("body", "content_type", "encoding"),
    [
        (PDF, "application/pdf", None),
        (PDF, None, None),
        (PNG, "image/png", None),
        (PNG, None, None),
        (gzip.compress(PDF), "application/pdf", "gzip"),
        (b'{"html": "<p>not a page</p>"}', "application/json", None),
    ],
)
def test_non_html_is_not_extracted(
    body: bytes, content_type: str | None, encoding: str | None
) -> None:
    doc = Pipeline().extract_capture(
        Capture(
            url="https://files.example/report",
            body=body,
            content_type=content_type,
            content_encoding=encoding,
        )
    )
    assert doc.outcome == "not_html"
    assert doc.text == "" and doc.extracted == ""
    assert "is not extracted" in (doc.reason or "")


def test_xhtml_and_unlabelled_html_are_extracted() -> None:
    pipeline = Pipeline()
    for content_type in ("application/xhtml+xml", None, "text/html; charset=utf-8"):
        doc = pipeline.extract_capture(
            Capture(url="https://cafe.example/", body=BODY, content_type=content_type)
        )
        assert doc.outcome == "ok", content_type
        assert "reading corner for children" in doc.extracted
