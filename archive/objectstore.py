"""Archive files in S3-compatible object storage (s3fs), for archives scaled out.

Objects live at `{storage_url}/{kind}/{name}` (kinds warc, text, cdx). Credentials come
from the standard environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and the endpoint
from `layout.storage_endpoint`: nothing secret is ever written to a file.

Reading is by ranged GETs with a small read-ahead (`READ_BLOCK`): reading one record at
a CDXJ offset costs one HEAD and about one GET of the record plus 64 KiB, not a download
of the file (s3fs's default is 50 MiB of read-ahead). A batch that knows where its records
end reads each run of nearby records with one GET of exactly that span (`read_span`).
Long sequential reads (WACZ export) ask for 1 MiB at a time and so fetch 1 MiB per GET.

Publishing uploads a finished local file, checks that the stored object is the same
bytes, and only then removes the local copy. The check uses the ETag when it is the MD5
of the bytes (single-part uploads on S3; any upload on `rclone serve s3`, whose HEAD
returns the file's MD5) or the S3 multipart ETag computed locally with the part size
used; otherwise (servers with other ETags, e.g. encrypted buckets) it reads the object
back and compares SHA-256.

s3fs is imported here only, so the embedded default does not need it (extra `scale`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, cast

from archive.layout import ArchiveLayout
from archive.storage import KINDS

if TYPE_CHECKING:
    from s3fs import S3FileSystem

log = logging.getLogger(__name__)

READ_BLOCK = 64 * 1024  # read-ahead per GET: one typical record (one gzip member) and more
PART_BYTES = 64 * 1024 * 1024  # multipart part size (files of 2 parts or more)
HASH_CHUNK = 1024 * 1024


class PublishError(RuntimeError):
    """A file could not be made durable in object storage; its local copy is kept."""


@dataclass(frozen=True)
class Checksums:
    """What a file's bytes hash to, and the ETags S3 servers give an upload of them."""

    size: int
    md5: str
    sha256: str
    multipart_etag: str | None  # S3's md5-of-part-md5s "-N", for uploads in parts

    def etag_matches(self, etag: str) -> bool:
        etag = etag.strip('"').lower()
        return etag == self.md5 or (self.multipart_etag is not None and etag == self.multipart_etag)


@dataclass(frozen=True)
class Published:
    """How one upload was verified (for logs and measurements)."""

    url: str
    size: int
    sha256: str
    verified_by: str  # "etag" or "read-back"
    seconds: float


def file_checksums(path: Path, part_bytes: int = PART_BYTES) -> Checksums:
    """MD5, SHA-256 and the multipart ETag of a local file, in one pass."""
    md5, sha, part, part_md5s = hashlib.md5(), hashlib.sha256(), hashlib.md5(), []
    size = in_part = 0
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            md5.update(chunk)
            sha.update(chunk)
            size += len(chunk)
            while chunk:  # part boundaries need not fall on chunk boundaries
                take = chunk[: part_bytes - in_part]
                part.update(take)
                in_part += len(take)
                chunk = chunk[len(take) :]
                if in_part == part_bytes:
                    part_md5s.append(part.digest())
                    part, in_part = hashlib.md5(), 0
    if in_part:
        part_md5s.append(part.digest())
    multipart = None
    if size >= 2 * part_bytes:  # what s3fs uploads in parts (see S3FileSystem._put_file)
        multipart = f"{hashlib.md5(b''.join(part_md5s)).hexdigest()}-{len(part_md5s)}"
    return Checksums(size, md5.hexdigest(), sha.hexdigest(), multipart)


def s3_filesystem(endpoint: str | None) -> S3FileSystem:
    """This process's client for `endpoint` with the credentials of the environment (the
    standard AWS_* variables). Made once per process and credentials: a new client spends
    100-200 ms of CPU setting botocore up on its first request, which every batch task
    would pay. Not fsspec's shared instance, and no listing cache: other workers write to
    the same bucket."""
    credentials = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    return _process_client(endpoint, os.getpid(), credentials)


@functools.lru_cache(maxsize=4)
def _process_client(
    endpoint: str | None, pid: int, credentials: tuple[tuple[str, str], ...]
) -> S3FileSystem:
    """`pid` is part of the key because a client does not survive a fork (its event loop
    thread stays behind in the parent); `credentials` because botocore reads them once."""
    try:
        import s3fs
    except ImportError:
        raise RuntimeError(
            "object storage needs s3fs: pip install 'warcflow[scale]' (or 's3fs>=2024.6')"
        ) from None
    client_kwargs = {"endpoint_url": endpoint} if endpoint else {}
    return s3fs.S3FileSystem(
        client_kwargs=client_kwargs,
        # Some servers (rclone serve s3) send the whole object's checksum with a ranged
        # GET, which botocore's default check then rejects: every seek-and-read would
        # fail. Integrity is checked where it matters, when a file is published.
        config_kwargs={"response_checksum_validation": "when_required"},
        skip_instance_cache=True,
        use_listings_cache=False,
        default_block_size=READ_BLOCK,
        default_cache_type="readahead",
    )


class ObjectStorage:
    """Finished archive files in an S3 bucket; see the module docstring."""

    remote = True

    def __init__(self, layout: ArchiveLayout) -> None:
        url = layout.storage_url or ""
        if not url.startswith("s3://") or not url.removeprefix("s3://").strip("/"):
            raise ValueError(f"storage {url!r}: give an S3 URL such as s3://bucket/prefix")
        self.layout = layout
        self.base = url.removeprefix("s3://").strip("/")
        self.fs = s3_filesystem(layout.storage_endpoint)

    def path(self, kind: str, name: str) -> str:
        """bucket/prefix/kind/name, refusing names that would leave the kind's folder."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind of archive file {kind!r} (one of {', '.join(KINDS)})")
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"{name!r} is not an archive file name")
        return f"{self.base}/{kind}/{name}"

    def open(self, kind: str, name: str) -> BinaryIO:
        """A seekable file reading by ranged GETs of what is asked plus READ_BLOCK."""
        handle = self.fs.open(
            self.path(kind, name), "rb", block_size=READ_BLOCK, cache_type="readahead"
        )
        return cast(BinaryIO, handle)

    def read_span(self, kind: str, name: str, start: int, end: int) -> bytes:
        """One ranged GET of [start, end): no HEAD, no read-ahead beyond `end`."""
        data = self.fs.cat_file(self.path(kind, name), start=start, end=end)
        return cast(bytes, data)

    def publish(self, kind: str, local: Path) -> None:
        """Upload `local`, verify it, then delete it (see `upload_and_verify`)."""
        self.upload_and_verify(kind, local)
        local.unlink()

    def upload_and_verify(self, kind: str, local: Path) -> Published:
        """Upload a finished local file and check that the object holds the same bytes.

        On a mismatch the object is removed and `PublishError` raised; the local file is
        kept, so nothing points at a damaged object and the caller can retry."""
        started = time.monotonic()
        sums = file_checksums(local)
        target = self.path(kind, local.name)
        try:
            self.fs.put_file(str(local), target, chunksize=PART_BYTES)
        except Exception as exc:
            raise PublishError(
                f"could not upload {local} to {self.describe(kind, local.name)}: {exc}; the "
                "local file is kept. Check the endpoint (--s3-endpoint), the bucket and "
                "the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), then run again"
            ) from exc
        verified_by = self._verify(target, sums)
        done = Published(
            self.describe(kind, local.name),
            sums.size,
            sums.sha256,
            verified_by,
            time.monotonic() - started,
        )
        log.debug("published %s (%d bytes, verified by %s)", done.url, done.size, verified_by)
        return done

    def _verify(self, target: str, sums: Checksums) -> str:
        """'etag' when the server's ETag proves the bytes, 'read-back' when hashing the
        stored object did; raises PublishError (after removing the object) otherwise."""
        try:
            info: dict[str, Any] = self.fs.info(target, refresh=True)
        except FileNotFoundError:
            self._reject(target, "the object is missing after the upload")
        size = int(info.get("size") or 0)
        if size != sums.size:
            self._reject(target, f"the object has {size} bytes, the local file {sums.size}")
        if sums.etag_matches(str(info.get("ETag") or "")):
            return "etag"
        stored = self._sha256(target)
        if stored != sums.sha256:
            self._reject(target, f"SHA-256 of the object {stored}, of the local file {sums.sha256}")
        return "read-back"

    def _sha256(self, target: str) -> str:
        digest = hashlib.sha256()
        with self.fs.open(target, "rb", block_size=8 * HASH_CHUNK, cache_type="none") as f:
            while chunk := f.read(8 * HASH_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def _reject(self, target: str, why: str) -> NoReturn:
        try:
            self.fs.rm_file(target)
        except Exception as exc:  # the damaged object is unreferenced either way
            log.warning("could not remove the damaged object s3://%s: %s", target, exc)
        raise PublishError(
            f"upload to s3://{target} failed verification ({why}); the object was removed and "
            "the local file is kept. The network or the storage server altered the bytes: "
            "check the endpoint, then run again (the catalog records nothing of this file)"
        )

    def exists(self, kind: str, name: str) -> bool:
        return bool(self.fs.exists(self.path(kind, name)))

    def names(self, kind: str) -> list[str]:
        folder = self.path(kind, "-").rsplit("/", 1)[0]  # validates `kind`
        try:
            entries = self.fs.ls(folder, detail=True)
        except FileNotFoundError:
            return []
        return sorted(e["name"].rsplit("/", 1)[-1] for e in entries if e.get("type") == "file")

    def describe(self, kind: str, name: str) -> str:
        return f"s3://{self.path(kind, name)}"
