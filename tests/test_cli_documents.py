"""The document commands of the CLI: `extract` on a saved page, and `show` / `export` on an
archive built by crawling a loopback site (which also writes the text WARC files)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import fast_settings
from crawling import crawl, warcio_check
from loopback import LoopbackSite, Reply, html
from typer.testing import CliRunner, Result
from warcio.archiveiterator import ArchiveIterator

from archive.catalog import Catalog
from archive.documents import DocumentStore, StoredDocument
from archive.export import EXPORT_FIELDS
from archive.layout import ArchiveLayout
from crawler.sources import Source
from extractors.clean import normalise_unicode
from flows.cli import app

PAGES = Path(__file__).parent / "fixtures" / "pages"
WIDE = {"COLUMNS": "250"}  # rich wraps at 80 columns otherwise

DISCUZ_KEPT = [
    "這間咖啡館原本是老街上最熱鬧的地方，去年老闆退休後一直空著。",
    "大家都說這裡的燈光很溫暖，希望新的圖書室能保留原來的吧台。",
]
DISCUZ_REPLY = "我小時候常在那間店買冰紅茶，聽到改成圖書室真的很開心。"
EN_KEPT = "The central library now lends drills, ladders and sewing machines alongside its books."
TW_KEPT = "倉庫保留了原本的紅磚牆和木造屋架，週末也會開放給民眾參觀市集。"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def norm(text: str) -> str:
    return normalise_unicode(text)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=WIDE)


def clean_text_panel(output: str) -> str:
    """The part of `render_document`'s output between the clean-text title and the table of
    removals (which lists the removed text itself)."""
    start = output.index("clean text")
    end = output.find("removed (", start)
    return output[start : end if end >= 0 else None]


# -- extract -----------------------------------------------------------------------------


def test_extract_prints_clean_text_and_removed_rules() -> None:
    result = invoke("extract", str(PAGES / "discuz_print.html"))
    assert result.exit_code == 0, result.output
    text = clean_text_panel(result.output)
    for sentence in DISCUZ_KEPT:
        assert norm(sentence) in text
    assert norm(DISCUZ_REPLY) not in text
    assert "汽車美容打蠟" not in text
    removed = result.output[result.output.index("removed (") :]
    for rule in ("forum.discuz.reply", "forum.discuz.print_header", "anticopy.spam.zh"):
        assert rule in removed
    assert norm(DISCUZ_REPLY) in removed  # what was removed is shown, with its rule
    assert "zh-tw" in result.output


def test_extract_json_is_the_document() -> None:
    url = "https://www.egepostasi.example.com.tr/gundem/feribot"
    result = invoke("extract", "--json", "--url", url, str(PAGES / "tr_news.html"))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["url"] == url
    assert doc["site"] == "www.egepostasi.example.com.tr"
    assert doc["lang"] == "tr"
    assert doc["outcome"] == "ok"
    assert [s["lang"] for s in doc["segments"]] == ["tr"]
    assert "Körfezin iki yakasını birbirine bağlayan" in doc["text"]
    assert "Görsel kaynağı" not in doc["text"]
    credits = [r for r in doc["removed"] if r["rule"] == "image_credit.tr"]
    assert [r["family"] for r in credits] == ["image_credit", "image_credit"]
    for r in doc["removed"]:
        assert doc["extracted"][r["start"] : r["end"]] == r["text"]


def test_extract_json_of_a_file_without_url_uses_a_file_uri() -> None:
    result = invoke("extract", "--json", str(PAGES / "zh_en_translation.html"))
    doc = json.loads(result.stdout)
    assert doc["url"].startswith("file:///") and doc["url"].endswith("zh_en_translation.html")
    assert [s["lang"] for s in doc["segments"]] == ["zh-cn", "en"]


def test_extract_a_missing_file_fails_clearly(tmp_path: Path) -> None:
    result = invoke("extract", str(tmp_path / "nope.html"))
    assert result.exit_code == 1
    assert "no such file" in result.output


# -- an archive --------------------------------------------------------------------------


@dataclass
class Crawled:
    archive: Path
    base: str
    docs: list[StoredDocument]  # every document, any outcome


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    index = (
        "<html><head><title>Links</title></head><body><ul>"
        '<li><a href="/library.html">Library</a></li>'
        '<li><a href="/warehouse.html">Warehouse</a></li>'
        '<li><a href="/forum/print.html">Forum</a></li>'
        '<li><a href="/report.pdf">Report</a></li></ul></body></html>'
    )
    routes = {
        "/": html(index),
        "/library.html": html((PAGES / "en_news.html").read_text(encoding="utf-8")),
        "/warehouse.html": html((PAGES / "zh_tw_news.html").read_text(encoding="utf-8")),
        "/forum/print.html": html((PAGES / "discuz_print.html").read_text(encoding="utf-8")),
        "/report.pdf": Reply(200, PDF, {"Content-Type": "application/pdf"}),
    }
    layout = ArchiveLayout(tmp_path_factory.mktemp("cli") / "archive").ensure()
    with LoopbackSite(routes) as site:  # type: ignore[arg-type]
        result = crawl(layout, [Source(name="cli", seeds=(site.url("/"),))], fast_settings())
        result.catalog.close()
        base = site.base
    catalog = Catalog.open(layout.catalog, readonly=True)
    try:
        docs = DocumentStore(catalog).iter_documents(outcome=None)
    finally:
        catalog.close()
    yield Crawled(layout.root, base, docs)


def by_url(crawled: Crawled, path: str) -> StoredDocument:
    return next(d for d in crawled.docs if d.document.url == crawled.base + path)


def test_the_crawl_made_documents(crawled: Crawled) -> None:
    outcomes = {d.document.url.removeprefix(crawled.base): d.document.outcome for d in crawled.docs}
    assert outcomes["/library.html"] == "ok"
    assert outcomes["/warehouse.html"] == "ok"
    assert outcomes["/forum/print.html"] == "ok"
    assert outcomes["/report.pdf"] == "not_html"


def test_show_by_id_prints_text_and_removed_spans(crawled: Crawled) -> None:
    stored = by_url(crawled, "/library.html")
    result = invoke("show", str(stored.id), "--archive", str(crawled.archive))
    assert result.exit_code == 0, result.output
    assert EN_KEPT in clean_text_panel(result.output)
    assert "Share this article" not in clean_text_panel(result.output)
    removed = result.output[result.output.index("removed (") :]
    for rule in ("image_credit.en", "share.en", "related.en"):
        assert rule in removed
    assert "Share this article" in removed
    assert stored.document.url in result.output
    assert stored.warc_file and stored.warc_file in result.output  # the capture it came from


def test_show_by_url_prints_text_and_removed_spans(crawled: Crawled) -> None:
    stored = by_url(crawled, "/warehouse.html")
    result = invoke("show", stored.document.url, "--archive", str(crawled.archive))
    assert result.exit_code == 0, result.output
    assert re.search(rf"\bid\s+{stored.id}\b", result.output)
    assert norm(TW_KEPT) in clean_text_panel(result.output)
    removed = result.output[result.output.index("removed (") :]
    for rule in ("image_credit.zh.photographer", "share.ad_marker", "disclaimer.zh.line"):
        assert rule in removed
    assert "zh-tw" in result.output


def test_show_unknown_document_fails_clearly(crawled: Crawled) -> None:
    result = invoke("show", crawled.base + "/nowhere.html", "--archive", str(crawled.archive))
    assert result.exit_code == 1
    assert "no document" in result.output


def test_show_without_an_archive_fails_clearly(tmp_path: Path) -> None:
    result = invoke("show", "1", "--archive", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "no archive" in result.output


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_jsonl_writes_one_record_per_document(crawled: Crawled, tmp_path: Path) -> None:
    out = tmp_path / "docs.jsonl"
    result = invoke(
        "export", "--format", "jsonl", "-o", str(out), "--archive", str(crawled.archive)
    )
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    ok = [d for d in crawled.docs if d.document.outcome == "ok"]
    assert sorted(r["id"] for r in records) == sorted(d.id for d in ok)  # type: ignore[type-var]
    for record in records:
        assert tuple(record) == EXPORT_FIELDS
        stored = next(d for d in ok if d.id == record["id"])
        assert record["text"] == stored.document.text
        assert record["url"] == stored.document.url
        assert record["lang"] == stored.document.lang
        assert record["warc_record_id"] == stored.warc_record_id
        assert record["warc_file"] == stored.warc_file
        assert record["content_sha256"] == stored.document.content_sha256
        for removal in record["removed"]:  # type: ignore[attr-defined]
            assert set(removal) == {"start", "end", "text", "rule", "family"}
        for segment in record["segments"]:  # type: ignore[attr-defined]
            assert set(segment) == {"start", "end", "lang", "chars"}
    langs = {str(r["url"]).removeprefix(crawled.base): r["lang"] for r in records}
    assert langs["/library.html"] == "en"
    assert langs["/warehouse.html"] == "zh-tw"
    assert langs["/forum/print.html"] == "zh-tw"


def test_export_all_and_site_filters(crawled: Crawled, tmp_path: Path) -> None:
    everything = tmp_path / "all.jsonl"
    invoke("export", "--all", "-o", str(everything), "--archive", str(crawled.archive))
    assert len(read_jsonl(everything)) == len(crawled.docs)
    assert any(str(r["url"]).endswith("/report.pdf") for r in read_jsonl(everything))
    other = tmp_path / "other.jsonl"
    invoke(
        "export", "--site", "elsewhere.example", "-o", str(other), "--archive", str(crawled.archive)
    )
    assert read_jsonl(other) == []
    stdout = invoke("export", "--archive", str(crawled.archive))
    assert len(stdout.stdout.splitlines()) == sum(d.document.outcome == "ok" for d in crawled.docs)


def test_export_rejects_unknown_formats(crawled: Crawled) -> None:
    result = invoke("export", "--format", "csv", "--archive", str(crawled.archive))
    assert result.exit_code == 1
    assert "supported formats are: jsonl" in result.output


def test_text_warcs_hold_one_conversion_record_per_document(crawled: Crawled) -> None:
    text_files = sorted((crawled.archive / "text").glob("*.warc.gz"))
    assert text_files
    conversions = []
    for path in text_files:
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "conversion":
                    headers = record.rec_headers
                    conversions.append(
                        (
                            headers.get_header("WARC-Refers-To"),
                            headers.get_header("WARC-Target-URI"),
                            headers.get_header("Content-Type"),
                            headers.get_header("X-Warcflow-Language"),
                            record.content_stream().read().decode("utf-8"),
                        )
                    )
    ok = [d for d in crawled.docs if d.document.outcome == "ok"]
    assert len(conversions) == len(ok)
    by_ref = {c[0]: c for c in conversions}
    assert len(by_ref) == len(conversions)
    for stored in ok:
        _, uri, content_type, lang, text = by_ref[stored.warc_record_id]
        assert uri == stored.document.url
        assert content_type == "text/plain; charset=utf-8"
        assert lang == stored.document.lang
        assert text == stored.document.text
        assert stored.text_record_id and stored.text_warc_file
    check = warcio_check(text_files + sorted((crawled.archive / "warc").glob("*.warc.gz")))
    assert check.returncode == 0, check.stdout + check.stderr
