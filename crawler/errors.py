"""Errors raised by the crawler, each carrying the URL it concerns.

    CrawlError
     ├── UnsafeURL          scheme not http(s), or host resolves to a refused network
     ├── FetchFailed        the exchange could not complete
     │    ├── ConnectFailed   DNS, refused, reset, TLS
     │    └── TimedOut        no response headers in time
     └── TooLarge           a size limit was hit (carries read and limit)

Each has an `outcome` string, the value recorded in the catalog and counted in the report.
"""

from __future__ import annotations


class CrawlError(Exception):
    outcome = "failed"

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{message} ({url})")
        self.url = url
        self.message = message


class UnsafeURL(CrawlError):
    outcome = "unsafe"


class FetchFailed(CrawlError):
    outcome = "failed"


class ConnectFailed(FetchFailed):
    outcome = "connect_error"


class TimedOut(FetchFailed):
    outcome = "timed_out"


class TooLarge(CrawlError):
    outcome = "too_large"

    def __init__(self, url: str, read: int, limit: int, setting: str) -> None:
        super().__init__(url, f"more than {limit} bytes (read {read}; setting {setting})")
        self.read = read
        self.limit = limit
        self.setting = setting
