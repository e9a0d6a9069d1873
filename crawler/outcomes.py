"""The recorded outcome of each URL: the vocabulary of the catalog and the run report."""

from __future__ import annotations

ARCHIVED = "archived"
NOT_MODIFIED = "not_modified"
REDIRECTED = "redirected"
ROBOTS = "robots"
ROBOTS_UNAVAILABLE = "robots_unavailable"
OUT_OF_SCOPE = "out_of_scope"
UNSAFE = "unsafe"
TOO_LARGE = "too_large"
TIMED_OUT = "timed_out"
HTTP_4XX = "http_4xx"
HTTP_5XX = "http_5xx"
RETRIES_EXHAUSTED = "retries_exhausted"
CONNECT_ERROR = "connect_error"
REDIRECT_LOOP = "redirect_loop"
TOO_MANY_REDIRECTS = "too_many_redirects"
FAILED = "failed"

# Report order and labels.
LABELS: dict[str, str] = {
    ARCHIVED: "archived",
    NOT_MODIFIED: "not modified (revisit)",
    REDIRECTED: "redirected",
    ROBOTS: "blocked by robots.txt",
    ROBOTS_UNAVAILABLE: "robots.txt unavailable (5xx)",
    OUT_OF_SCOPE: "out of scope (not fetched)",
    UNSAFE: "unsafe URL (not fetched)",
    TOO_LARGE: "too large (truncated)",
    TIMED_OUT: "timed out",
    HTTP_4XX: "HTTP 4xx",
    HTTP_5XX: "HTTP 5xx",
    RETRIES_EXHAUSTED: "failed after retries",
    CONNECT_ERROR: "connection failed",
    REDIRECT_LOOP: "redirect loop",
    TOO_MANY_REDIRECTS: "too many redirects",
    FAILED: "failed",
}
