"""Archive files in S3-compatible object storage, against a real server (`rclone serve s3`,
the session fixture `s3_server`): publishing with checksum verification, reading one
record at a CDXJ offset by ranged GETs, the same bytes read locally and remotely, and
whole crawls of a loopback site into a bucket (catalog still SQLite)."""

from __future__ import annotations

import gzip
import io
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import s3fs
from conftest import fast_settings
from crawling import crawl, warcio_check
from fastapi.testclient import TestClient
from loopback import LoopbackSite, Reply, Request, html
from services import S3Server

from archive.catalog import Catalog
from archive.cdxj import write_cdxj
from archive.documents import DocumentStore, PendingCapture
from archive.layout import ArchiveLayout
from archive.objectstore import READ_BLOCK, ObjectStorage, PublishError, file_checksums
from archive.storage import LocalStorage, Span, spans_of
from archive.wacz import write_wacz
from archive.warc import HttpResponse, WarcFileWriter, iter_records, read_raw_payload_at
from archive.warc import read_record_at as read_record
from archive.warcstore import PublishedFile, WarcStore, host_token
from crawler.settings import WarcSettings
from crawler.sources import Source
from flows.process import load_capture, load_in_file_order
from flows.web import create_app

PAGES = Path(__file__).parent / "fixtures" / "pages"


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The server, with its credentials in the standard environment (as in production)
    and nothing else: the endpoint comes from the layout."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ENDPOINT_URL", "AWS_RESPONSE_CHECKSUM_VALIDATION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return s3_server


@pytest.fixture
def bucket(s3: S3Server) -> str:
    """A new bucket for each test."""
    return s3.create_bucket(f"warcflow-{secrets.token_hex(4)}")


def remote_layout(root: Path, bucket: str, s3: S3Server) -> ArchiveLayout:
    layout = ArchiveLayout(root, storage_url=f"{bucket}/archive", storage_endpoint=s3.endpoint_url)
    layout.ensure()
    layout.save_backends()  # the flow's steps receive the folder and find the backends
    return layout


@pytest.fixture
def layout_s3(tmp_path: Path, bucket: str, s3: S3Server) -> ArchiveLayout:
    return remote_layout(tmp_path / "remote", bucket, s3)


@pytest.fixture
def storage(layout_s3: ArchiveLayout) -> ObjectStorage:
    store = layout_s3.storage()
    assert isinstance(store, ObjectStorage)
    return store


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every byte range s3fs GETs for a file opened to read (start, end)."""
    ranges: list[tuple[int, int]] = []
    original = s3fs.core.S3File._fetch_range

    def counting(self: Any, start: int, end: int) -> bytes:
        data = original(self, start, end)
        ranges.append((start, start + len(data)))
        return data

    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", counting)
    return ranges


# -- helpers --------------------------------------------------------------------------------


def write_warc(path: Path, pages: int, body_bytes: int) -> list[bytes]:
    """A WARC file of `pages` responses (+ requests) with incompressible bodies."""
    bodies = [secrets.token_hex(body_bytes // 2).encode() for _ in range(pages)]
    with path.open("wb") as f:
        writer = WarcFileWriter(f, path.name)
        writer.write_warcinfo({"software": "warcflow-test"})
        for i, body in enumerate(bodies):
            writer.write_response(
                HttpResponse(
                    url=f"http://example.test/page/{i}",
                    ip="127.0.0.1",
                    date=writer._clock(),
                    request_line=f"GET /page/{i} HTTP/1.1",
                    request_headers=[("Host", "example.test")],
                    status_line="200 OK",
                    protocol="HTTP/1.1",
                    headers=[("Content-Type", "text/plain")],
                    body=body,
                )
            )
    return bodies


def cdxj_entries(text: str) -> list[dict[str, str]]:
    return [json.loads(line.split(" ", 2)[2]) for line in text.splitlines() if line.strip()]


def download(storage: ObjectStorage, kind: str, dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in storage.names(kind):
        with storage.open(kind, name) as f:
            (dest / name).write_bytes(f.read())
        paths.append(dest / name)
    return paths


def staged_files(layout: ArchiveLayout) -> list[Path]:
    return [p for d in (layout.warc_dir, layout.text_dir, layout.cdx_dir) for p in d.iterdir()]


# -- publishing -----------------------------------------------------------------------------


def test_publish_uploads_verifies_and_removes_the_local_copy(
    layout_s3: ArchiveLayout, storage: ObjectStorage, bucket: str
) -> None:
    local = layout_s3.warc_dir / "one.warc.gz"
    write_warc(local, pages=20, body_bytes=4000)
    original = local.read_bytes()
    done = storage.upload_and_verify("warc", local)
    assert done.verified_by == "etag"  # rclone's HEAD gives the MD5 of the bytes
    assert done.url == f"{bucket}/archive/warc/one.warc.gz" == storage.describe("warc", local.name)
    print(f"\nupload+verify of {done.size} bytes: {done.seconds * 1000:.1f} ms")
    assert local.exists()  # upload_and_verify leaves the local file; publish removes it

    second = layout_s3.text_dir / "two.warc.gz"
    second.write_bytes(original)
    storage.publish("text", second)
    assert not second.exists()
    assert storage.exists("text", "two.warc.gz") and not storage.exists("text", "nope.warc.gz")
    assert storage.names("text") == ["two.warc.gz"] and storage.names("cdx") == []
    with storage.open("text", "two.warc.gz") as f:
        assert f.read() == original  # byte-identical


def test_a_corrupted_upload_is_detected_and_the_local_file_kept(
    layout_s3: ArchiveLayout, storage: ObjectStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = layout_s3.warc_dir / "bad.warc.gz"
    write_warc(local, pages=5, body_bytes=2000)
    original = local.read_bytes()
    put_file = storage.fs.put_file

    def corrupting_put(lpath: str, rpath: str, **kwargs: Any) -> None:
        """What a faulty network or server would do: one byte changed on the way."""
        damaged = Path(lpath).with_name("damaged")
        data = bytearray(Path(lpath).read_bytes())
        data[len(data) // 2] ^= 0xFF
        damaged.write_bytes(bytes(data))
        put_file(str(damaged), rpath, **kwargs)

    monkeypatch.setattr(storage.fs, "put_file", corrupting_put)
    with pytest.raises(PublishError, match=r"failed verification.*local file is kept"):
        storage.publish("warc", local)
    assert local.read_bytes() == original  # kept, unchanged
    assert not storage.exists("warc", local.name)  # the damaged object is gone

    monkeypatch.setattr(storage.fs, "put_file", put_file)  # the network recovers: retry
    storage.publish("warc", local)
    assert not local.exists() and storage.exists("warc", local.name)


def test_without_an_md5_etag_the_object_is_read_back(
    layout_s3: ArchiveLayout, storage: ObjectStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Servers whose ETag is not the MD5 (encrypted buckets, other schemes): SHA-256 of
    the stored object decides."""
    info = storage.fs.info

    def opaque_etag(path: str, **kwargs: Any) -> dict[str, Any]:
        return {**info(path, **kwargs), "ETag": '"not-an-md5-1"'}

    monkeypatch.setattr(storage.fs, "info", opaque_etag)
    local = layout_s3.warc_dir / "opaque.warc.gz"
    write_warc(local, pages=3, body_bytes=1000)
    assert storage.upload_and_verify("warc", local).verified_by == "read-back"

    put_file = storage.fs.put_file
    monkeypatch.setattr(
        storage.fs,
        "put_file",
        lambda lpath, rpath, **kw: storage.fs.pipe_file(rpath, b"x" * Path(lpath).stat().st_size),
    )
    with pytest.raises(PublishError, match="SHA-256"):
        storage.publish("warc", local)
    assert local.exists()
    monkeypatch.setattr(storage.fs, "put_file", put_file)


def test_multipart_etag_matches_the_servers(tmp_path: Path, s3: S3Server, bucket: str) -> None:
    """The ETag S3 gives an upload in parts, computed locally (for big WARC files)."""
    part = 5 * 1024 * 1024
    local = tmp_path / "big.bin"
    local.write_bytes(secrets.token_bytes(2 * part + 12345))
    client = s3.client()
    name = bucket.removeprefix("s3://")
    upload = client.create_multipart_upload(Bucket=name, Key="big.bin")
    data = local.read_bytes()
    parts = []
    for number, start in enumerate(range(0, len(data), part), 1):
        answer = client.upload_part(
            Bucket=name,
            Key="big.bin",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data[start : start + part],
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    done = client.complete_multipart_upload(
        Bucket=name, Key="big.bin", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    sums = file_checksums(local, part_bytes=part)
    assert sums.multipart_etag == done["ETag"].strip('"')
    assert sums.etag_matches(done["ETag"]) and sums.size == len(data)


def test_a_staged_file_is_unknown_to_the_catalog_until_published(
    layout_s3: ArchiveLayout, storage: ObjectStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = Catalog.open(layout_s3.catalog)
    try:
        store = WarcStore(layout_s3, catalog, "warc", "unit", 10_000_000, {})
        other = WarcStore(layout_s3, catalog, "warc", "unit", 10_000_000, {})
        first, second = store.writer().name, other.writer().name
        assert first != second  # cluster-unique names, not the catalog serial
        assert f"-{host_token()}-{os.getpid()}-" in first
        assert catalog.warc_files() == []
        other.publish()

        seen: list[PublishedFile] = []
        store.on_publish = seen.append  # runs inside the transaction recording the file
        client = store.storage
        assert isinstance(client, ObjectStorage)
        monkeypatch.setattr(client.fs, "put_file", lambda lpath, rpath, **kw: None)  # lost
        with pytest.raises(PublishError):
            store.publish()
        assert [f.name for f in catalog.warc_files()] == [second]  # nothing of `first`
        assert seen == [] and (layout_s3.warc_dir / first).exists()
        assert storage.names("warc") == [second]
        assert storage.names("cdx") == [second.removesuffix(".warc.gz") + ".cdxj"]
        (record,) = catalog.warc_files()
        assert record.state == "closed" and record.records == 1  # its warcinfo
    finally:
        catalog.close()


def test_recover_removes_only_abandoned_staging_files(
    layout_s3: ArchiveLayout, storage: ObjectStorage
) -> None:
    """Files of dead processes of this machine go; live writers' files, other machines'
    files and files the catalog knows (a formerly local archive) stay."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = host_token()
    names = {
        "dead": f"unit-20260101000000000000-{host}-{dead.pid}-0badc0de.warc.gz",
        "alive": f"unit-20260101000000000000-{host}-{os.getpid()}-0badc0de.warc.gz",
        "elsewhere": f"unit-20260101000000000000-otherhost-{dead.pid}-0badc0de.warc.gz",
        "known": "unit-20250101000000000000-00001.warc.gz",
    }
    for name in names.values():
        (layout_s3.warc_dir / name).write_bytes(b"staged")
    dead_cdx = layout_s3.cdx_dir / names["dead"].replace(".warc.gz", ".cdxj")
    dead_cdx.write_text("")
    catalog = Catalog.open(layout_s3.catalog)
    try:
        catalog.register_warc_file(names["known"], "warc")
        assert WarcStore(layout_s3, catalog, "warc", "unit", 10_000_000, {}).recover() == []
    finally:
        catalog.close()
    left = {p.name for p in layout_s3.warc_dir.iterdir()}
    assert left == {names["alive"], names["elsewhere"], names["known"]}
    assert not dead_cdx.exists()


# -- reading --------------------------------------------------------------------------------


def test_one_record_at_a_cdxj_offset_is_read_by_a_few_ranged_gets(
    layout_s3: ArchiveLayout, storage: ObjectStorage, fetched: list[tuple[int, int]]
) -> None:
    local = layout_s3.warc_dir / "many.warc.gz"
    bodies = write_warc(local, pages=200, body_bytes=20_000)
    size = local.stat().st_size
    cdx = write_cdxj(local, layout_s3.cdx_dir)
    storage.publish("warc", local)
    storage.publish("cdx", cdx)
    with storage.open("cdx", cdx.name) as f:
        entries = cdxj_entries(f.read().decode())
    fetched.clear()

    entry = next(e for e in entries if e["url"] == "http://example.test/page/137")
    offset, length = int(entry["offset"]), int(entry["length"])
    with storage.open("warc", "many.warc.gz") as f:
        record, body = read_record(f, offset)
    assert record.rec_headers.get_header("WARC-Target-URI") == entry["url"]
    assert body == bodies[137]
    got = sum(end - start for start, end in fetched)
    print(f"\none record of {length} bytes in a {size}-byte file: {len(fetched)} GET, {got} bytes")
    assert len(fetched) <= 2
    assert length <= got <= length + READ_BLOCK + 16 * 1024
    assert got < size / 20  # about 3 %: not the file


def test_local_and_remote_reads_are_the_same(
    tmp_path: Path, layout_s3: ArchiveLayout, storage: ObjectStorage
) -> None:
    local_layout = ArchiveLayout(tmp_path / "local").ensure()
    local = local_layout.warc_dir / "same.warc.gz"
    write_warc(local, pages=30, body_bytes=3000)
    staged = layout_s3.warc_dir / local.name
    staged.write_bytes(local.read_bytes())
    storage.publish("warc", staged)
    with local.open("rb") as f:
        records = list(iter_records(f))
    local_storage = LocalStorage(local_layout)
    assert local_storage.names("warc") == storage.names("warc") == [local.name]
    for rec in records:
        with local_storage.open("warc", local.name) as a, storage.open("warc", local.name) as b:
            assert read_raw_payload_at(a, rec.offset) == read_raw_payload_at(b, rec.offset)
        assert read_raw_payload_at(local, rec.offset) == read_raw_payload_at(
            local_layout.warc_dir / local.name, rec.offset
        )
    with pytest.raises(FileNotFoundError):
        storage.open("warc", "missing.warc.gz")


def test_spans_group_nearby_records_within_the_limits() -> None:
    records = [(5000, 100), (0, 1000), (1200, 300), (90_000, 50), (90_060, 40)]
    assert spans_of(records, gap=1000, limit=10_000) == [
        Span(0, 1500, (1, 2)),  # offset order, whatever order they were asked in
        Span(5000, 5100, (0,)),  # 3,500 bytes after the last: a gap too wide
        Span(90_000, 90_100, (3, 4)),
    ]
    assert spans_of(records, gap=100_000, limit=2000) == [
        Span(0, 1500, (1, 2)),
        Span(5000, 5100, (0,)),
        Span(90_000, 90_100, (3, 4)),
    ]
    assert spans_of([(0, 50_000), (50_000, 10)], gap=0, limit=1000) == [
        Span(0, 50_000, (0,)),  # longer than the limit: a span of its own, never cut
        Span(50_000, 50_010, (1,)),
    ]
    assert spans_of([]) == []


def test_a_batch_reads_its_records_from_object_storage_by_a_few_spans(
    tmp_path: Path,
    layout_s3: ArchiveLayout,
    storage: ObjectStorage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local_layout = ArchiveLayout(tmp_path / "local").ensure()
    local = local_layout.warc_dir / "batch.warc.gz"
    bodies = write_warc(local, pages=120, body_bytes=8000)
    staged = layout_s3.warc_dir / local.name
    staged.write_bytes(local.read_bytes())
    storage.publish("warc", staged)
    with local.open("rb") as f:
        responses = [r for r in iter_records(f) if r.rec_type == "response"]
    chosen = [*responses[::3][::-1], responses[1]]  # out of order, not all neighbours
    pending = [
        PendingCapture(i, r.url, local.name, r.offset, "", 200, datetime.now(), r.length)
        for i, r in enumerate(chosen)
    ]
    reads: list[tuple[int, int]] = []
    original = ObjectStorage.read_span

    def counting(self: ObjectStorage, kind: str, name: str, start: int, end: int) -> bytes:
        reads.append((start, end))
        return original(self, kind, name, start, end)

    monkeypatch.setattr(ObjectStorage, "read_span", counting)
    remote = dict(load_in_file_order(storage, pending))
    here = dict(load_in_file_order(LocalStorage(local_layout), pending))
    assert sorted(remote) == list(range(len(pending)))
    for index, capture in remote.items():
        assert not isinstance(capture, Exception), capture
        other = here[index]
        assert not isinstance(other, Exception)
        assert capture.body == other.body == bodies[int(capture.url.rsplit("/", 1)[1])]
        assert capture.warc_offset == pending[index].warc_offset
    assert len(reads) == 1  # one GET for the batch, from its first record to its last
    assert reads[0] == (responses[0].offset, responses[117].offset + responses[117].length)

    broken = [replace(pending[0], warc_file="missing.warc.gz"), pending[1]]
    outcomes = dict(load_in_file_order(storage, broken))
    assert isinstance(outcomes[0], FileNotFoundError)  # an outcome for that record only
    assert not isinstance(outcomes[1], Exception)


def test_a_process_keeps_one_client_per_endpoint_and_credentials(
    layout_s3: ArchiveLayout, storage: ObjectStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.fs.pipe_file(storage.path("warc", "a.warc.gz"), b"hello world")
    again = layout_s3.storage()
    assert isinstance(again, ObjectStorage)
    assert again.fs is storage.fs  # every batch task would otherwise set botocore up again

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own client (the parent's loop thread is not here)
        try:
            os.write(writer, layout_s3.storage().read_span("warc", "a.warc.gz", 0, 5))
        finally:
            os._exit(0)  # no pytest or atexit handlers in a forked test process
    os.close(writer)
    with os.fdopen(reader, "rb") as from_child:
        assert from_child.read() == b"hello"
    os.waitpid(pid, 0)

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    refused = layout_s3.storage()
    assert isinstance(refused, ObjectStorage)
    assert refused.fs is not storage.fs  # new credentials, new client
    with pytest.raises(PermissionError):
        refused.read_span("warc", "a.warc.gz", 0, 5)


# -- whole crawls ---------------------------------------------------------------------------


def site_routes() -> dict[str, Any]:
    """Articles behind an index page (with an ETag: a second run gets 304 and follows
    the links of the archived copy), one answer that is retried, and robots.txt."""
    index = html(
        "<html><head><title>News</title></head><body><ul>"
        '<li><a href="/library.html">Library</a></li>'
        '<li><a href="/warehouse.html">Warehouse</a></li>'
        '<li><a href="/feribot.html">Feribot</a></li>'
        '<li><a href="/flaky.html">Flaky</a></li></ul></body></html>',
        ETag='"index-1"',
    )

    def home(request: Request) -> Reply:
        if request.headers.get("If-None-Match") == '"index-1"':
            return Reply(304, b"", {"ETag": '"index-1"'})
        return index

    flaky_calls: list[int] = []

    def flaky(request: Request) -> Reply:
        flaky_calls.append(1)
        if len(flaky_calls) == 1:
            return Reply(503, b"busy", {"Content-Type": "text/plain", "Retry-After": "0"})
        return html((PAGES / "id_news.html").read_text(encoding="utf-8"))

    return {
        "/": home,
        "/robots.txt": Reply(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"}),
        "/library.html": html((PAGES / "en_news.html").read_text(encoding="utf-8")),
        "/warehouse.html": html((PAGES / "zh_tw_news.html").read_text(encoding="utf-8")),
        "/feribot.html": html((PAGES / "tr_news.html").read_text(encoding="utf-8")),
        "/flaky.html": flaky,
    }


def crawl_site(
    layout: ArchiveLayout, site: LoopbackSite, new_run: bool = False
) -> tuple[dict[str, str], str]:
    """Crawl the site (all steps); returns url path -> document text, and the base URL."""
    # small files: the crawl rotates (and publishes) several WARC files per batch
    settings = fast_settings(warc=WarcSettings(max_file_bytes=6_000), batch_pages=4)
    result = crawl(layout, [Source(name="news", seeds=(site.url("/"),))], settings, new_run)
    result.catalog.close()
    base = site.base
    catalog = Catalog.open(layout.catalog, readonly=True)
    try:
        docs = DocumentStore(catalog).iter_documents(outcome=None)
    finally:
        catalog.close()
    texts = {d.document.url.removeprefix(base): d.document.text for d in docs}
    return texts, base


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite(site_routes()) as served:
        yield served


@pytest.fixture
def crawled(layout_s3: ArchiveLayout, site: LoopbackSite) -> tuple[dict[str, str], str]:
    return crawl_site(layout_s3, site)


def test_crawl_into_object_storage(
    tmp_path: Path,
    layout_s3: ArchiveLayout,
    storage: ObjectStorage,
    crawled: tuple[dict[str, str], str],
) -> None:
    texts, base = crawled
    with LoopbackSite(site_routes()) as same_site:  # the same pages, answered the same way
        local_texts, _ = crawl_site(ArchiveLayout(tmp_path / "local").ensure(), same_site)
    assert texts == local_texts  # same documents, same clean text
    assert {"/library.html", "/warehouse.html", "/feribot.html", "/flaky.html"} <= set(texts)
    assert all(texts[p] for p in ("/library.html", "/warehouse.html", "/feribot.html"))

    assert staged_files(layout_s3) == []  # everything was published, nothing left behind
    catalog = Catalog.open(layout_s3.catalog, readonly=True)
    try:
        files = catalog.warc_files()
        captures = catalog.captures()
        frontier = {r["url"].removeprefix(base): r["state"] for r in catalog.frontier_rows(1)}
    finally:
        catalog.close()
    assert files and all(f.state == "closed" and f.committed_size > 0 for f in files)
    raw = sorted(f.name for f in files if f.kind == "warc")
    assert len(raw) >= 2  # rotated
    assert storage.names("warc") == raw
    assert storage.names("cdx") == sorted(n.removesuffix(".warc.gz") + ".cdxj" for n in raw)
    assert storage.names("text") == sorted(f.name for f in files if f.kind == "text")
    assert "in_flight" not in frontier.values() and "queued" not in frontier.values()
    assert frontier["/flaky.html"] == "done"  # retried within the run after a 503

    downloaded = download(storage, "warc", tmp_path / "dl" / "warc")
    downloaded += download(storage, "text", tmp_path / "dl" / "text")
    check = warcio_check(downloaded)
    assert check.returncode == 0, check.stdout + check.stderr
    for f in files:  # the catalog's size and record count are those of the object
        with storage.open(f.kind, f.name) as handle:
            data = handle.read()
        assert len(data) == f.committed_size
        assert f.records == len(list(iter_records(io.BytesIO(data))))
    for capture in captures:  # every capture points at its record in the bucket
        with storage.open("warc", capture.warc_file) as handle:
            headers, _, _ = read_raw_payload_at(handle, capture.warc_offset)
        assert headers["WARC-Record-ID"] == capture.record_id
    for name in storage.names("cdx"):
        with storage.open("cdx", name) as handle:
            entries = cdxj_entries(handle.read().decode())
        assert entries and all(
            e["filename"] == name.removesuffix(".cdxj") + ".warc.gz" for e in entries
        )


def test_readers_use_object_storage(
    tmp_path: Path,
    layout_s3: ArchiveLayout,
    site: LoopbackSite,
    crawled: tuple[dict[str, str], str],
) -> None:
    """A second run (304 for the index: its links come from the archived copy in the
    bucket), the processing step's reader, the web page's raw view and WACZ export."""
    texts, base = crawled
    again, _ = crawl_site(layout_s3, site, new_run=True)
    assert set(again) == set(texts)
    catalog = Catalog.open(layout_s3.catalog, readonly=True)
    try:
        outcomes = {
            r["url"].removeprefix(base): r["outcome"] for r in catalog.frontier_rows(run_id=2)
        }
        doc = DocumentStore(catalog).find(base + "/library.html")
        wacz = write_wacz(layout_s3, catalog, tmp_path / "crawl.wacz")
    finally:
        catalog.close()
    assert outcomes["/"] == "not_modified"
    assert outcomes["/library.html"] in ("archived", "not_modified")  # found via the copy
    assert doc is not None and doc.warc_file and doc.warc_offset is not None
    assert staged_files(layout_s3) == []

    pending = PendingCapture(
        doc.capture_id, doc.document.url, doc.warc_file, doc.warc_offset, "", 200, datetime.now()
    )
    capture = load_capture(layout_s3, pending)
    assert b"<html" in gzip_safe(capture.body, capture.content_encoding).lower()

    client = TestClient(create_app(layout_s3.root), base_url="http://127.0.0.1")
    page = client.get(f"/doc/{doc.id}/raw")
    assert page.status_code == 200 and "<html" in page.text.lower()

    assert set(wacz.warc_files) == set(layout_s3.storage().names("warc"))
    assert wacz.records > 0 and wacz.pages >= 4


def gzip_safe(body: bytes, encoding: str | None) -> bytes:
    return gzip.decompress(body) if encoding == "gzip" else body
