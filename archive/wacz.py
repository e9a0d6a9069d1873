"""WACZ packages of the raw captures (https://specs.webrecorder.net/wacz/1.1.1/), so that
ReplayWeb.page (open the file), and pywb 2.7+ (`wb-manager add --unpack-wacz COLL
crawl.wacz`), replay the crawl as it was captured.

Why this module writes the package itself instead of calling py-wacz (`wacz create`):
py-wacz installs and runs offline, and the tests use its validator (`wacz validate`) on
what this module writes, but as the writer it is the weaker choice here:

- Pages. py-wacz finds pages only among captures that some other capture names as its
  Referer; the crawler sends no Referer, so `wacz create --detect-pages` finds none in our
  WARC files. Here every archived HTML response is a page, titled from the catalog.
- Consistency. py-wacz packages whole files. A WARC file that is still open (a crawl is
  writing it, or one was cut off by a crash) can end in an uncommitted or torn record;
  here only its committed part (the catalog's `committed_size`) is packaged and indexed.
- `--site`. Because every record is its own gzip member, one site's records can be
  copied out of each WARC file byte for byte; py-wacz has no such option.
- Reuse and weight. The archive already holds a pywb-compatible CDXJ index of every
  closed WARC file (cdx/); py-wacz re-indexes everything, and its dependencies
  (frictionless, pydantic, petl, boilerpy3, cdxj-indexer, Py3AMF, ...) are heavy for
  what is a ZIP file, some JSON and sha256 sums: the standard library does it.

Layout (as the spec and py-wacz's own output, which ReplayWeb.page reads):

  archive/<name>.warc.gz   the raw WARC files, STORED (not compressed again), so that a
                           replay tool can range-read single records from the ZIP
  indexes/index.cdx.gz     the CDXJ lines of every indexed record (cdx/ files, merged
                           and sorted) in gzip blocks of 1024 lines ("ZipNum"), STORED
  indexes/index.idx        the first key of each block with its offset, length, sha256
  pages/pages.jsonl        one page per archived HTML response: id, url, ts, title
  datapackage.json         every file above with its sha256 and size (Frictionless)
  datapackage-digest.json  the sha256 of datapackage.json
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import json
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, BinaryIO
from urllib.parse import urlsplit

from archive.catalog import LIVE, Catalog
from archive.cdxj import cdxj_line
from archive.layout import ArchiveLayout
from archive.warc import StoredRecord, iter_records

WACZ_VERSION = "1.1.1"
INDEX_BLOCK_LINES = 1024  # CDXJ lines per gzip block of indexes/index.cdx.gz
HTML_MIMES = frozenset({"text/html", "application/xhtml+xml"})
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
_CHUNK = 1 << 20
Opener = Callable[[], BinaryIO]  # opens a file to read (local, or in object storage)


class WaczError(RuntimeError):
    """The archive cannot be packaged (no WARC files, a missing or damaged file)."""


@dataclass(frozen=True)
class WaczSummary:
    path: Path
    warc_files: list[str]
    records: int  # index lines
    pages: int


@dataclass
class _Warc:
    name: str
    source: Opener  # the file whose first `size` bytes are packaged as archive/<name>
    size: int
    lines: list[str]  # its CDXJ lines, sorted
    # for a copy holding one site's records: offset in the copy -> offset in the archive
    original_offsets: dict[int, int] | None = None

    def original_offset(self, offset: int) -> int:
        return offset if self.original_offsets is None else self.original_offsets[offset]


def write_wacz(
    layout: ArchiveLayout,
    catalog: Catalog,
    output: Path,
    site: str | None = None,
    title: str | None = None,
    software: str = "warcflow",
) -> WaczSummary:
    """Package the archive's raw WARC files (or only the records of `site`, a host or
    host:port) as a WACZ file at `output`, replaced only once it is complete."""
    created = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix=".wacz-", dir=output.parent) as tmp:
        warcs = _collect(layout, catalog, Path(tmp), site)
        if not warcs:
            raise WaczError(
                f"no captures of {site} in {layout.root}/" if site else "no WARC files to package"
            )
        pages = _pages(warcs, _titles(catalog))
        name = layout.root.resolve().name
        description = f"Raw captures (WARC) of the warcflow archive `{name}`" + (
            f", site {site} only." if site else "."
        )
        title = title or f"warcflow archive {name}" + (f" ({site})" if site else "")
        part = Path(tmp) / "package.wacz"
        records = _write_zip(
            part,
            warcs,
            pages,
            {
                "title": title,
                "description": description,
                "created": _rfc3339(created),
                "modified": _rfc3339(created),
                "software": software,
            },
            created,
        )
        part.replace(output)
    return WaczSummary(output, [w.name for w in warcs], records, len(pages))


# -- what goes in --------------------------------------------------------------------------


def _collect(layout: ArchiveLayout, catalog: Catalog, tmp: Path, site: str | None) -> list[_Warc]:
    """The WARC files to package, streamed from where they are stored (object storage:
    by ranged reads, never downloaded whole to a local file except for `--site` copies)."""
    storage = layout.storage()
    warcs: list[_Warc] = []
    for wf in catalog.warc_files("warc"):
        path = storage.describe("warc", wf.name)
        if not storage.exists("warc", wf.name):
            raise WaczError(f"{path}: listed in the catalog but missing")
        source: Opener = partial(storage.open, "warc", wf.name)
        with source() as f:
            on_disk = f.seek(0, 2)
        # an open file may end in a record the catalog has not committed (yet, or ever)
        size = on_disk if wf.state == "closed" else min(wf.committed_size, on_disk)
        if size == 0:
            continue
        if site:
            copy = tmp / wf.name
            offsets = _copy_site(source, path, size, site, copy)
            if offsets is None:
                continue
            copied = copy.stat().st_size
            with copy.open("rb") as f:
                lines = _index(_records(f, str(copy), copied), wf.name)
            warcs.append(_Warc(wf.name, partial(copy.open, "rb"), copied, lines, offsets))
            continue
        cdx = wf.name.removesuffix(".warc.gz") + ".cdxj"
        if wf.state == "closed" and storage.exists("cdx", cdx):
            with storage.open("cdx", cdx) as f:
                text = f.read().decode("utf-8")
            lines = sorted(
                line for line in text.splitlines() if line.strip() and _end(line) <= size
            )
        else:  # open files are indexed when they are closed: index the committed part here
            with source() as f:
                lines = _index(_records(f, path, size), wf.name)
        warcs.append(_Warc(wf.name, source, size, lines))
    return warcs


def _records(f: BinaryIO, path: str, size: int) -> list[StoredRecord]:
    """The whole records in the first `size` bytes of a WARC file open at its start."""
    records: list[StoredRecord] = []
    end = 0
    try:
        for record in iter_records(f):
            if record.offset + record.length > size:
                break
            records.append(record)
            end = record.offset + record.length
    except Exception as exc:
        if end < size:  # past `size` is an uncommitted tail; before it, damage
            raise WaczError(f"{path}: unreadable record at offset {end}: {exc}") from exc
    return records


def _index(records: Iterable[StoredRecord], name: str) -> list[str]:
    return sorted(line for r in records if (line := cdxj_line(r, name)) is not None)


def _end(line: str) -> int:
    fields = _fields(line)
    return int(fields.get("offset", 0)) + int(fields.get("length", 0))


def _fields(line: str) -> dict[str, str]:
    return json.loads(line.split(" ", 2)[2])


def same_site(url: str, site: str) -> bool:
    """`site` is the URL's host:port, or its host (any port), as the `--site` filters."""
    parts = urlsplit(url)
    site = site.lower()
    return parts.netloc.lower() == site or (parts.hostname or "") == site


def _copy_site(
    source: Opener, path: str, size: int, site: str, dest: Path
) -> dict[int, int] | None:
    """Copy the warcinfo records and the records of `site` (each a gzip member) to
    `dest`; None if the file holds nothing of the site."""
    offsets: dict[int, int] = {}
    kept = 0
    with source() as src, dest.open("wb") as out:
        for record in _records(src, path, size):
            if record.rec_type != "warcinfo" and not same_site(record.url, site):
                continue
            offsets[out.tell()] = record.offset
            _copy_range(src, out, record.offset, record.length)
            kept += record.rec_type != "warcinfo"
    if not kept:
        dest.unlink()
        return None
    return offsets


def _copy_range(
    src: IO[bytes], out: IO[bytes], offset: int, length: int, digest: hashlib._Hash | None = None
) -> None:
    src.seek(offset)
    left = length
    while left:
        chunk = src.read(min(_CHUNK, left))
        if not chunk:
            raise WaczError(f"{getattr(src, 'name', 'file')}: shorter than expected")
        out.write(chunk)
        if digest is not None:
            digest.update(chunk)
        left -= len(chunk)


def _titles(catalog: Catalog) -> dict[tuple[str, int], str]:
    rows = catalog.conn.execute(
        f"SELECT warc_file, warc_offset, title FROM {LIVE.documents}"
        " WHERE title IS NOT NULL AND title != '' AND warc_file IS NOT NULL"
    )
    return {(r[0], int(r[1])): r[2] for r in rows}


def _pages(warcs: list[_Warc], titles: dict[tuple[str, int], str]) -> list[dict[str, str]]:
    """One page per HTML response (2xx, not robots.txt), oldest first."""
    pages: list[dict[str, str]] = []
    for warc in warcs:
        for line in warc.lines:
            _, ts, _ = line.split(" ", 2)
            fields = _fields(line)
            url = str(fields.get("url", ""))
            if (
                fields.get("mime") not in HTML_MIMES
                or not str(fields.get("status", "")).startswith("2")
                or not url.startswith(("http://", "https://"))
                or urlsplit(url).path == "/robots.txt"
            ):
                continue
            offset = warc.original_offset(int(fields["offset"]))
            page = {
                "id": hashlib.sha1(f"{warc.name}:{offset}".encode()).hexdigest()[:24],
                "url": url,
                "ts": _ts_to_rfc3339(ts),
            }
            if title := titles.get((warc.name, offset)):
                page["title"] = title
            pages.append(page)
    pages.sort(key=lambda p: (p["ts"], p["url"]))
    return pages


# -- the ZIP -------------------------------------------------------------------------------


def _write_zip(
    path: Path,
    warcs: list[_Warc],
    pages: list[dict[str, str]],
    metadata: dict[str, str],
    created: datetime,
) -> int:
    when = created.timetuple()[:6]
    resources: list[dict[str, object]] = []

    def entry(name: str, compress: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, when)
        info.compress_type = compress
        info.external_attr = 0o644 << 16
        return info

    def add_bytes(name: str, data: bytes) -> None:
        zf.writestr(entry(name, zipfile.ZIP_DEFLATED), data)
        resources.append(_resource(name, hashlib.sha256(data), len(data)))

    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        for warc in warcs:
            info = entry(f"archive/{warc.name}", zipfile.ZIP_STORED)
            info.file_size = warc.size  # lets zipfile choose ZIP64 for large files
            digest = hashlib.sha256()
            with warc.source() as src, zf.open(info, "w") as out:
                _copy_range(src, out, 0, warc.size, digest)
            resources.append(_resource(info.filename, digest, warc.size))

        idx = [f"!meta 0 {json.dumps({'format': 'cdxj-gzip-1.0', 'filename': 'index.cdx.gz'})}"]
        digest, offset, records = hashlib.sha256(), 0, 0
        with zf.open(entry("indexes/index.cdx.gz", zipfile.ZIP_STORED), "w") as out:
            for block in _blocks(heapq.merge(*(w.lines for w in warcs)), INDEX_BLOCK_LINES):
                data = gzip.compress("".join(f"{line}\n" for line in block).encode(), mtime=0)
                out.write(data)
                digest.update(data)
                key = " ".join(block[0].split(" ", 2)[:2])
                block_digest = "sha256:" + hashlib.sha256(data).hexdigest()
                where = {"offset": offset, "length": len(data), "digest": block_digest}
                idx.append(f"{key} {json.dumps(where)}")
                offset += len(data)
                records += len(block)
        resources.append(_resource("indexes/index.cdx.gz", digest, offset))
        add_bytes("indexes/index.idx", "".join(f"{line}\n" for line in idx).encode())

        lines = [PAGES_HEADER, *pages]
        add_bytes(
            "pages/pages.jsonl",
            "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in lines).encode(),
        )

        package = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            **metadata,
            "resources": resources,
        }
        package_bytes = json.dumps(package, indent=2, ensure_ascii=False).encode()
        zf.writestr(entry("datapackage.json", zipfile.ZIP_DEFLATED), package_bytes)
        package_digest = {
            "path": "datapackage.json",
            "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest(),
        }
        zf.writestr(
            entry("datapackage-digest.json", zipfile.ZIP_DEFLATED),
            json.dumps(package_digest, indent=2).encode(),
        )
    return records


def _blocks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    block: list[str] = []
    for line in lines:
        block.append(line)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def _resource(path: str, digest: hashlib._Hash, size: int) -> dict[str, object]:
    # Frictionless resource names are lower case letters, digits and -._/
    name = re.sub(r"[^-a-z0-9._/]", "-", path.rsplit("/", 1)[-1].lower())
    return {"name": name, "path": path, "hash": "sha256:" + digest.hexdigest(), "bytes": size}


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ts_to_rfc3339(ts: str) -> str:
    """A CDX timestamp (YYYYMMDDhhmmss, maybe shorter) as an RFC 3339 UTC datetime."""
    ts = (ts + "00000101000000"[len(ts) :])[:14]
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}Z"
