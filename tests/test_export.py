"""`warcflow export`: JSON lines and Parquet (one record per document, with the filters of
`search`), and WACZ packages of the raw captures, read back and checked against the
catalog and the WARC files of an archive crawled from two loopback sites."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import fast_settings
from crawling import crawl, warcio_check
from loopback import LoopbackSite, Reply, html
from typer.testing import CliRunner, Result

from archive.catalog import Catalog
from archive.documents import DocumentStore, StoredDocument
from archive.export import EXPORT_FIELDS, export_record, parquet_schema
from archive.layout import ArchiveLayout
from archive.warc import iter_records
from crawler.settings import WarcSettings
from crawler.sources import Source
from flows.cli import app

PAGES = Path(__file__).parent / "fixtures" / "pages"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
WACZ = Path(sys.executable).with_name("wacz")


@dataclass
class Crawled:
    archive: Path
    news: str  # base URL of the site with the English and Traditional Chinese articles
    ferry: str  # base URL of the site with the Turkish article
    docs: list[StoredDocument]  # every document, any outcome

    @property
    def ok(self) -> list[StoredDocument]:
        return [d for d in self.docs if d.document.outcome == "ok"]

    def site(self, base: str) -> str:
        return base.removeprefix("http://")


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    news_routes = {
        "/": html(
            "<html><head><title>News</title></head><body><ul>"
            '<li><a href="/library.html">Library</a></li>'
            '<li><a href="/warehouse.html">Warehouse</a></li>'
            '<li><a href="/report.pdf">Report</a></li></ul></body></html>'
        ),
        "/library.html": html((PAGES / "en_news.html").read_text(encoding="utf-8")),
        "/warehouse.html": html((PAGES / "zh_tw_news.html").read_text(encoding="utf-8")),
        "/report.pdf": Reply(200, PDF, {"Content-Type": "application/pdf"}),
    }
    ferry_routes = {
        "/": html(
            "<html><head><title>Feribot</title></head><body>"
            '<a href="/feribot.html">Feribot</a></body></html>'
        ),
        "/feribot.html": html((PAGES / "tr_news.html").read_text(encoding="utf-8")),
    }
    layout = ArchiveLayout(tmp_path_factory.mktemp("export") / "archive").ensure()
    with LoopbackSite(news_routes) as news, LoopbackSite(ferry_routes) as ferry:  # type: ignore[arg-type]
        sources = [
            Source(name="news", seeds=(news.url("/"),)),
            Source(name="ferry", seeds=(ferry.url("/"),)),
        ]
        # small WARC files: the crawl rotates through several, which the WACZ index merges
        settings = fast_settings(warc=WarcSettings(max_file_bytes=4_000))
        result = crawl(layout, sources, settings)
        result.catalog.close()
        bases = news.base, ferry.base
    catalog = Catalog.open(layout.catalog, readonly=True)
    try:
        docs = DocumentStore(catalog).iter_documents(outcome=None)
    finally:
        catalog.close()
    yield Crawled(layout.root, *bases, docs=docs)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def export(crawled: Crawled, out: Path, *args: str) -> Result:
    result = invoke("export", "-o", str(out), "--archive", str(crawled.archive), *args)
    assert result.exit_code == 0, result.output
    return result


def by_path(crawled: Crawled, base: str, path: str) -> StoredDocument:
    return next(d for d in crawled.docs if d.document.url == base + path)


def test_the_crawl_has_three_languages_on_two_sites(crawled: Crawled) -> None:
    langs = {d.document.url: d.document.lang for d in crawled.ok}
    assert langs[crawled.news + "/library.html"] == "en"
    assert langs[crawled.news + "/warehouse.html"] == "zh-tw"
    assert langs[crawled.ferry + "/feribot.html"] == "tr"
    assert by_path(crawled, crawled.news, "/report.pdf").document.outcome == "not_html"
    published = {d.document.url: d.document.published for d in crawled.ok}
    assert published[crawled.news + "/library.html"] == "2024-05-03"
    assert published[crawled.news + "/warehouse.html"] == "2024-07-02"
    assert published[crawled.ferry + "/feribot.html"] == "2024-06-12"


# -- the filters -------------------------------------------------------------------------

# (CLI arguments, the paths of the documents they keep); {news} and {ferry} are the sites
FILTERS = [
    (("--lang", "zh-tw"), {"news:/warehouse.html"}),
    (("--lang", "tr"), {"ferry:/feribot.html"}),
    (("--site", "{ferry}"), {"ferry:/", "ferry:/feribot.html"}),
    (("--site", "{news}"), {"news:/", "news:/library.html", "news:/warehouse.html"}),
    (("--site", "127.0.0.1"), {"news:/", "news:/library.html", "news:/warehouse.html",
                               "ferry:/", "ferry:/feribot.html"}),  # a host: any port
    (("--since", "2024-06-01", "--until", "2024-06-30"), {"ferry:/feribot.html"}),
    (("--until", "2024-06-12"), {"news:/library.html", "ferry:/feribot.html"}),
    (("--since", "2024-06-13", "--until", "2024-12-31"), {"news:/warehouse.html"}),
    (("--since", "2024-05-01", "--until", "2024-12-31", "--site", "{news}", "--lang", "en"),
     {"news:/library.html"}),
    (("--site", "{news}", "--lang", "en"), {"news:/", "news:/library.html"}),
    (("--lang", "tr", "--site", "{news}"), set()),
]  # fmt: skip


def filter_args(crawled: Crawled, args: tuple[str, ...]) -> list[str]:
    sites = {"news": crawled.site(crawled.news), "ferry": crawled.site(crawled.ferry)}
    return [a.format(**sites) for a in args]


def expected_ids(crawled: Crawled, keys: set[str]) -> list[int]:
    bases = {"news": crawled.news, "ferry": crawled.ferry}
    urls = {bases[k.split(":", 1)[0]] + k.split(":", 1)[1] for k in keys}
    return sorted(d.id for d in crawled.ok if d.document.url in urls)


def reference_filter(crawled: Crawled, args: list[str]) -> list[int]:
    """The filters' meaning, from the documents alone."""
    opts = dict(zip(args[::2], args[1::2], strict=True))
    kept = []
    for d in crawled.ok:
        doc = d.document
        when = doc.published or (doc.fetched_at.isoformat() if doc.fetched_at else "")
        site = opts.get("--site")
        if (
            ("--lang" not in opts or doc.lang == opts["--lang"])
            and (site is None or doc.site == site or doc.site.split(":")[0] == site)
            and ("--since" not in opts or when >= opts["--since"])
            and ("--until" not in opts or when[:10] <= opts["--until"])
        ):
            kept.append(d.id)
    return sorted(kept)


# -- JSON lines --------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_records_are_the_catalogs_documents(crawled: Crawled, tmp_path: Path) -> None:
    out = tmp_path / "docs.jsonl"
    result = export(crawled, out, "--format", "jsonl")
    records = read_jsonl(out)
    assert f"wrote {len(crawled.ok)} documents" in result.output
    assert [r["id"] for r in records] == [d.id for d in crawled.ok]
    for record, stored in zip(records, crawled.ok, strict=True):
        assert tuple(record) == EXPORT_FIELDS
        assert record == json.loads(json.dumps(export_record(stored), ensure_ascii=False))
        assert record["text"] == stored.document.text and record["text"]
        assert record["warc_record_id"] == stored.warc_record_id
        assert record["segments"] and record["removed"] is not None
    assert {r["lang"] for r in records} >= {"en", "zh-tw", "tr"}


@pytest.mark.parametrize(("args", "keys"), FILTERS, ids=[" ".join(a) for a, _ in FILTERS])
def test_jsonl_filters(
    crawled: Crawled, tmp_path: Path, args: tuple[str, ...], keys: set[str]
) -> None:
    out = tmp_path / "some.jsonl"
    cli_args = filter_args(crawled, args)
    export(crawled, out, *cli_args)
    ids = sorted(int(r["id"]) for r in read_jsonl(out))  # type: ignore[call-overload]
    assert ids == expected_ids(crawled, keys)
    assert ids == reference_filter(crawled, cli_args)


def test_jsonl_to_stdout_with_a_filter(crawled: Crawled) -> None:
    result = invoke("export", "--lang", "zh-tw", "--archive", str(crawled.archive))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["url"] for r in records] == [crawled.news + "/warehouse.html"]


# -- Parquet -----------------------------------------------------------------------------


def parquet_value(record: dict[str, object]) -> dict[str, object]:
    """An export record as read back from Parquet: fetched_at is a timestamp."""
    return {**record, "fetched_at": datetime.fromisoformat(str(record["fetched_at"]))}


def test_parquet_rows_are_the_catalogs_documents(crawled: Crawled, tmp_path: Path) -> None:
    out = tmp_path / "docs.parquet"
    result = export(crawled, out, "--format", "parquet")
    assert f"wrote {len(crawled.ok)} documents" in result.output
    table = pq.read_table(out)
    assert table.schema.equals(parquet_schema())
    assert tuple(table.column_names) == EXPORT_FIELDS
    assert table.schema.field("segments").type == pa.list_(
        pa.field("item", parquet_schema().field("segments").type.value_type, nullable=False)
    )
    assert pa.types.is_struct(table.schema.field("removed").type.value_type)
    assert pa.types.is_timestamp(table.schema.field("fetched_at").type)
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == [d.id for d in crawled.ok]
    for row, stored in zip(rows, crawled.ok, strict=True):
        assert row == parquet_value(export_record(stored))
        assert row["fetched_at"] == stored.document.fetched_at
        assert row["segments"] and all(
            set(s) == {"start", "end", "lang", "chars"} for s in row["segments"]
        )
    removed = [r for row in rows for r in row["removed"]]
    assert removed and all(set(r) == {"start", "end", "text", "rule", "family"} for r in removed)
    assert {r["lang"] for r in rows} >= {"en", "zh-tw", "tr"}


@pytest.mark.parametrize(("args", "keys"), FILTERS, ids=[" ".join(a) for a, _ in FILTERS])
def test_parquet_filters(
    crawled: Crawled, tmp_path: Path, args: tuple[str, ...], keys: set[str]
) -> None:
    out = tmp_path / "some.parquet"
    export(crawled, out, "--format", "parquet", *filter_args(crawled, args))
    table = pq.read_table(out)
    assert table.schema.equals(parquet_schema())  # an empty file still has the schema
    assert sorted(table.column("id").to_pylist()) == expected_ids(crawled, keys)
    by_id = {d.id: d for d in crawled.ok}
    for row in table.to_pylist():
        assert row == parquet_value(export_record(by_id[row["id"]]))


def test_parquet_with_all_outcomes(crawled: Crawled, tmp_path: Path) -> None:
    out = tmp_path / "all.parquet"
    export(crawled, out, "--format", "parquet", "--all")
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == len(crawled.docs)
    pdf = next(r for r in rows if str(r["url"]).endswith("/report.pdf"))
    assert pdf["text"] == "" and pdf["segments"] == [] and pdf["lang"] == "und"


# -- CLI errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "csv"), "supported formats are: jsonl, parquet, wacz"),
        (("--format", "parquet"), "give -o FILE"),
        (("--format", "wacz"), "give -o FILE"),
        (("--since", "last week"), "give a date as YYYY-MM-DD"),
        (("--format", "wacz", "-o", "x.wacz", "--lang", "en"), "only --site applies"),
        (("--format", "parquet", "-o", "/nonexistent/dir/x.parquet"), "existing folder"),
    ],
)
def test_export_rejects_bad_arguments(
    crawled: Crawled, args: tuple[str, ...], message: str
) -> None:
    result = invoke("export", *args, "--archive", str(crawled.archive))
    assert result.exit_code == 1
    assert message in result.output


# -- WACZ --------------------------------------------------------------------------------


@dataclass
class Wacz:
    path: Path
    zip: zipfile.ZipFile
    datapackage: dict[str, object]
    index: list[str]
    pages: list[dict[str, str]]

    def read(self, name: str) -> bytes:
        return self.zip.read(name)


def open_wacz(path: Path) -> Wacz:
    zf = zipfile.ZipFile(path)
    assert zf.testzip() is None  # every member's CRC checks
    index = gzip.decompress(zf.read("indexes/index.cdx.gz")).decode("utf-8").splitlines()
    pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").decode().splitlines()]
    return Wacz(path, zf, json.loads(zf.read("datapackage.json")), index, pages)


def check_package(wacz: Wacz) -> None:
    """What the spec asks of any WACZ, and what replay tools rely on."""
    names = wacz.zip.namelist()
    assert {"datapackage.json", "datapackage-digest.json", "pages/pages.jsonl"} <= set(names)
    assert {"indexes/index.cdx.gz", "indexes/index.idx"} <= set(names)
    assert any(n.startswith("archive/") and n.endswith(".warc.gz") for n in names)
    for info in wacz.zip.infolist():  # already compressed files are STORED for range reads
        if info.filename.endswith(".gz"):
            assert info.compress_type == zipfile.ZIP_STORED, info.filename
    package = wacz.datapackage
    assert package["profile"] == "data-package"
    assert package["wacz_version"] == "1.1.1"
    assert str(package["software"]).startswith("warcflow ")
    datetime.strptime(str(package["created"]), "%Y-%m-%dT%H:%M:%SZ")
    resources = package["resources"]
    assert isinstance(resources, list)
    listed = {r["path"]: r for r in resources}
    assert len(listed) == len(resources)
    assert set(listed) == set(names) - {"datapackage.json", "datapackage-digest.json"}
    for path, resource in listed.items():
        data = wacz.read(path)
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest(), path
        assert resource["bytes"] == len(data), path
        assert resource["name"] == path.rsplit("/", 1)[1].lower()
    digest = json.loads(wacz.read("datapackage-digest.json"))
    assert digest == {
        "path": "datapackage.json",
        "hash": "sha256:" + hashlib.sha256(wacz.read("datapackage.json")).hexdigest(),
    }
    # the index: sorted CDXJ, in gzip blocks that indexes/index.idx points at
    assert wacz.index == sorted(wacz.index)
    idx = wacz.read("indexes/index.idx").decode().splitlines()
    assert idx[0] == '!meta 0 {"format": "cdxj-gzip-1.0", "filename": "index.cdx.gz"}'
    blob, lines = wacz.read("indexes/index.cdx.gz"), []
    for line in idx[1:]:
        prefix, where = line.split(" {", 1)
        block = json.loads("{" + where)
        data = blob[block["offset"] : block["offset"] + block["length"]]
        assert block["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
        block_lines = gzip.decompress(data).decode().splitlines()
        assert " ".join(block_lines[0].split(" ", 2)[:2]) == prefix
        lines += block_lines
    assert lines == wacz.index
    # pages: a header, then url + RFC 3339 ts for each
    assert wacz.pages[0] == {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    for page in wacz.pages[1:]:
        datetime.strptime(page["ts"], "%Y-%m-%dT%H:%M:%SZ")
        assert page["url"].startswith("http") and page["id"]
    assert len({p["id"] for p in wacz.pages[1:]}) == len(wacz.pages) - 1


def extract_warcs(wacz: Wacz, into: Path) -> list[Path]:
    into.mkdir()
    paths = []
    for name in wacz.zip.namelist():
        if name.startswith("archive/"):
            path = into / name.removeprefix("archive/")
            path.write_bytes(wacz.read(name))
            paths.append(path)
    return paths


def index_entries(wacz: Wacz) -> set[tuple[str, int, str]]:
    entries = set()
    for line in wacz.index:
        fields = json.loads(line.split(" ", 2)[2])
        entries.add((fields["filename"], int(fields["offset"]), fields["url"]))
    return entries


def response_records(warcs: list[Path]) -> set[tuple[str, int, str]]:
    found = set()
    for path in warcs:
        with path.open("rb") as fh:
            for record in iter_records(fh):
                if record.rec_type == "response":
                    found.add((path.name, record.offset, record.url))
    return found


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WACZ), "validate", "-f", str(path)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def wacz(crawled: Crawled, tmp_path_factory: pytest.TempPathFactory) -> Wacz:
    out = tmp_path_factory.mktemp("wacz") / "crawl.wacz"
    result = export(crawled, out, "--format", "wacz")
    assert f"wrote {out}" in result.output.replace("\n", "")
    return open_wacz(out)


def test_wacz_is_a_valid_package(wacz: Wacz) -> None:
    check_package(wacz)


def test_wacz_holds_the_raw_warc_files_byte_for_byte(
    crawled: Crawled, wacz: Wacz, tmp_path: Path
) -> None:
    originals = sorted((crawled.archive / "warc").glob("*.warc.gz"))
    warcs = extract_warcs(wacz, tmp_path / "warc")
    assert [p.name for p in sorted(warcs)] == [p.name for p in originals]
    for original in originals:
        assert (tmp_path / "warc" / original.name).read_bytes() == original.read_bytes()
    assert len(warcs) >= 2  # rotated
    check = warcio_check(warcs)
    assert check.returncode == 0, check.stdout + check.stderr


def test_wacz_index_lists_every_response_record(
    crawled: Crawled, wacz: Wacz, tmp_path: Path
) -> None:
    responses = response_records(extract_warcs(wacz, tmp_path / "warc"))
    assert len(responses) >= 8  # pages, the PDF, robots.txt and 404s on both sites
    assert responses <= index_entries(wacz)
    for stored in crawled.docs:  # every document's capture can be looked up for replay
        assert (stored.warc_file, stored.warc_offset, stored.document.url) in responses


def test_wacz_pages_are_the_html_documents(crawled: Crawled, wacz: Wacz) -> None:
    html_docs = [d for d in crawled.docs if d.document.outcome != "not_html"]
    pages = {p["url"]: p for p in wacz.pages[1:]}
    assert set(pages) == {d.document.url for d in html_docs}
    for stored in html_docs:
        page = pages[stored.document.url]
        assert page["title"] == stored.document.title
        fetched = stored.document.fetched_at
        assert fetched is not None and page["ts"] == fetched.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (
        pages[crawled.ferry + "/feribot.html"]["title"]
        == by_path(crawled, crawled.ferry, "/feribot.html").document.title
    )
    assert not any(url.endswith(("/report.pdf", "/robots.txt")) for url in pages)


def test_wacz_passes_py_wacz_validation(wacz: Wacz) -> None:
    result = wacz_validate(wacz.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout


def test_wacz_validation_catches_a_changed_file(wacz: Wacz, tmp_path: Path) -> None:
    """The validator is not a rubber stamp: a page list edited after packaging fails."""
    tampered = tmp_path / "tampered.wacz"
    with zipfile.ZipFile(tampered, "w") as out:
        for info in wacz.zip.infolist():
            data = wacz.read(info.filename)
            if info.filename == "pages/pages.jsonl":
                data += b'{"id": "x", "url": "http://example.com/", "ts": "2024-01-01T00:00:00Z"}\n'
            out.writestr(info, data)
    result = wacz_validate(tampered)
    assert result.returncode != 0
    assert "Validation failed" in result.stdout


def test_wacz_of_one_site(crawled: Crawled, tmp_path: Path) -> None:
    site = crawled.site(crawled.ferry)
    out = tmp_path / "ferry.wacz"
    export(crawled, out, "--format", "wacz", "--site", site)
    wacz = open_wacz(out)
    check_package(wacz)
    warcs = extract_warcs(wacz, tmp_path / "warc")
    check = warcio_check(warcs)
    assert check.returncode == 0, check.stdout + check.stderr
    urls = set()
    for path in warcs:
        with path.open("rb") as fh:
            for record in iter_records(fh):
                if record.rec_type != "warcinfo":
                    urls.add(record.url)
    assert urls and all(u.startswith(crawled.ferry + "/") for u in urls)
    responses = response_records(warcs)
    assert responses <= index_entries(wacz)
    assert {u for _, _, u in responses} >= {crawled.ferry + "/", crawled.ferry + "/feribot.html"}
    assert {p["url"] for p in wacz.pages[1:]} == {
        crawled.ferry + "/",
        crawled.ferry + "/feribot.html",
    }
    titles = {p["url"]: p.get("title") for p in wacz.pages[1:]}
    assert (
        titles[crawled.ferry + "/feribot.html"]
        == by_path(crawled, crawled.ferry, "/feribot.html").document.title
    )
    result = wacz_validate(out)
    assert result.returncode == 0, result.stdout + result.stderr


def test_wacz_of_a_site_not_in_the_archive_fails(crawled: Crawled, tmp_path: Path) -> None:
    out = tmp_path / "none.wacz"
    result = invoke(
        "export", "--format", "wacz", "-o", str(out), "--site", "elsewhere.example",
        "--archive", str(crawled.archive),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no captures of elsewhere.example" in result.output
    assert not out.exists()


def test_wacz_of_an_open_warc_file_packages_its_committed_part(
    crawled: Crawled, wacz: Wacz, tmp_path: Path
) -> None:
    """A WARC file still open (a crawl writing it, or one cut off) has no CDXJ file yet and
    may end in a torn record past its committed size: only the committed part is packaged."""
    archive = tmp_path / "archive"
    shutil.copytree(crawled.archive, archive)
    conn = sqlite3.connect(archive / "catalog.sqlite")
    with conn:
        name, size = conn.execute(
            "SELECT name, committed_size FROM warc_files WHERE kind = 'warc' ORDER BY id LIMIT 1"
        ).fetchone()
        conn.execute("UPDATE warc_files SET state = 'open' WHERE name = ?", (name,))
    conn.close()
    warc = archive / "warc" / name
    assert warc.stat().st_size == size
    (archive / "cdx" / (name.removesuffix(".warc.gz") + ".cdxj")).unlink()
    with warc.open("ab") as fh:
        fh.write(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Len")[:40])
    out = tmp_path / "open.wacz"
    result = invoke("export", "--format", "wacz", "-o", str(out), "--archive", str(archive))
    assert result.exit_code == 0, result.output
    package = open_wacz(out)
    check_package(package)
    assert package.read(f"archive/{name}") == warc.read_bytes()[:size]
    warcs = extract_warcs(package, tmp_path / "warc")
    check = warcio_check(warcs)
    assert check.returncode == 0, check.stdout + check.stderr
    assert response_records(warcs) <= index_entries(package)
    assert package.index == wacz.index  # indexed on the fly as when the file is closed
