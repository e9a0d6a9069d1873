"""URL canonicalisation: one spelling per resource, so the frontier de-duplicates.

Scheme and host lower-cased, IDNA hosts in their ASCII form, default ports dropped,
fragments dropped, tracking parameters dropped, remaining query sorted, path
percent-encoding normalised, relative links resolved against their base.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "_hsenc",
        "_hsmi",
        "spm",
        "from_share",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
DEFAULT_PORTS = {"http": 80, "https": 443}
FETCHABLE_SCHEMES = frozenset(DEFAULT_PORTS)

# Characters left as they are in a path; everything else is percent-encoded once.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_PCT = re.compile(r"%[0-9a-fA-F]{2}")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _normalise_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    if not host or host.startswith("["):
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normalise_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def _normalise_path(path: str) -> str:
    if not path:
        return "/"
    # Upper-case existing escapes, encode what needs it, never double-encode.
    path = _PCT.sub(_normalise_escape, path)
    return quote(path, safe=_PATH_SAFE)


def canonicalize(url: str, base: str | None = None) -> str | None:
    """The canonical form of `url` (resolved against `base`), or None if not http(s).

    >>> canonicalize("HTTP://Example.COM:80/a/../b?utm_source=x&z=1&a=2#top")
    'http://example.com/b?a=2&z=1'
    """
    url = url.strip()
    if base is not None:
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in FETCHABLE_SCHEMES or not parts.hostname:
        return None
    host = _normalise_host(parts.hostname)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _normalise_path(_resolve_dots(parts.path))
    query_pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    query = urlencode(sorted(query_pairs), quote_via=quote, safe="/:@!$'()*,;~")
    return urlunsplit((scheme, netloc, path, query, ""))


def _resolve_dots(path: str) -> str:
    if "." not in path:
        return path
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(out) > 1:
                out.pop()
        elif segment != ".":
            out.append(segment)
    resolved = "/".join(out)
    if path.endswith(("/.", "/..")):
        resolved += "/"
    return resolved or "/"


def host_key(url: str) -> str:
    """The politeness key of a URL: host and explicit port (`example.com`, `127.0.0.1:8080`)."""
    return urlsplit(url).netloc


def site_of(url: str) -> str:
    """Host without port, for display and the `site` field."""
    return urlsplit(url).hostname or ""


def display(url: str) -> str:
    """A human-readable form (IDNA and percent-escapes decoded) for reports."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    with contextlib.suppress(UnicodeError):
        host = host.encode("ascii").decode("idna")
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, unquote(parts.path), parts.query, ""))
