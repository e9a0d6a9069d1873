"""crawler.urls.canonicalize: one spelling per resource, None for what is not http(s)."""

from __future__ import annotations

import pytest

from crawler.urls import canonicalize

CASES = [
    # scheme and host case
    ("HTTP://Example.COM/Path", None, "http://example.com/Path"),
    ("HTTPS://WWW.EXAMPLE.COM/", None, "https://www.example.com/"),
    # default ports dropped, other ports kept
    ("http://example.com:80/a", None, "http://example.com/a"),
    ("https://example.com:443/a", None, "https://example.com/a"),
    ("http://example.com:8080/a", None, "http://example.com:8080/a"),
    ("http://example.com:443/", None, "http://example.com:443/"),
    ("https://example.com:80/", None, "https://example.com:80/"),
    # empty path, trailing dot of the host
    ("http://example.com", None, "http://example.com/"),
    ("http://example.com./x", None, "http://example.com/x"),
    # fragments dropped
    ("http://example.com/a#section", None, "http://example.com/a"),
    ("#top", "http://example.com/p?x=1#old", "http://example.com/p?x=1"),
    # tracking parameters dropped (utm_* in any case, fbclid, gclid), others kept
    ("http://example.com/?utm_source=news&utm_medium=mail", None, "http://example.com/"),
    ("http://example.com/a?UTM_Campaign=x&id=7", None, "http://example.com/a?id=7"),
    ("http://example.com/a?fbclid=abc&gclid=def&p=2", None, "http://example.com/a?p=2"),
    ("http://example.com/a?utmost=1", None, "http://example.com/a?utmost=1"),
    # query sorted, blank values kept
    ("http://example.com/s?z=1&a=2&m=3", None, "http://example.com/s?a=2&m=3&z=1"),
    ("http://example.com/s?b=1&a=", None, "http://example.com/s?a=&b=1"),
    # relative resolution, including ../ and ./
    ("../c/d?x=1", "http://example.com/p/q/r.html", "http://example.com/p/c/d?x=1"),
    ("./x/./y", "http://example.com/a/b", "http://example.com/a/x/y"),
    ("../../../../x", "http://example.com/p/q/r", "http://example.com/x"),
    ("http://example.com/a/./b/../c", None, "http://example.com/a/c"),
    ("http://example.com/p/..", None, "http://example.com/"),
    ("/abs", "http://example.com/p/q", "http://example.com/abs"),
    ("?q=1", "http://example.com/p/x", "http://example.com/p/x?q=1"),
    ("//cdn.example.org/lib.js", "https://example.com/", "https://cdn.example.org/lib.js"),
    ("", "http://example.com/p?x=1", "http://example.com/p?x=1"),
    # IDNA hosts in their ASCII form
    ("http://Bücher.de/", None, "http://xn--bcher-kva.de/"),
    ("http://BÜCHER.DE/", None, "http://xn--bcher-kva.de/"),
    # percent-escapes: unreserved decoded, others upper-cased, never double-encoded
    ("http://example.com/%7euser/%41b", None, "http://example.com/~user/Ab"),
    ("http://example.com/a%2fb", None, "http://example.com/a%2Fb"),
    ("http://example.com/a%20b", None, "http://example.com/a%20b"),
    ("http://example.com/a b", None, "http://example.com/a%20b"),
    ("http://example.com/caf%c3%a9", None, "http://example.com/caf%C3%A9"),
    ("http://example.com/café", None, "http://example.com/caf%C3%A9"),
    ("http://example.com/x?q=a%20b&r=%26", None, "http://example.com/x?q=a%20b&r=%26"),
    # surrounding whitespace
    ("  http://example.com/x \n", None, "http://example.com/x"),
    # the docstring example: everything at once
    (
        "HTTP://Example.COM:80/a/../b?utm_source=x&z=1&a=2#top",
        None,
        "http://example.com/b?a=2&z=1",
    ),
]


@pytest.mark.parametrize(("url", "base", "expected"), CASES)
def test_canonical_form(url: str, base: str | None, expected: str) -> None:
    assert canonicalize(url, base) == expected


@pytest.mark.parametrize(("url", "base", "expected"), CASES)
def test_canonical_form_is_stable(url: str, base: str | None, expected: str) -> None:
    assert canonicalize(expected) == expected


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("javascript:alert(1)", None),
        ("javascript:alert(1)", "http://example.com/"),
        ("JavaScript:void(0)", "http://example.com/"),
        ("file:///etc/passwd", None),
        ("file:///etc/passwd", "http://example.com/"),
        ("mailto:someone@example.com", None),
        ("mailto:someone@example.com", "http://example.com/"),
        ("data:text/html,<b>hi</b>", None),
        ("ftp://example.com/file", None),
        ("tel:+123456", "http://example.com/"),
        ("http://", None),
        ("http://example.com:99999/", None),
    ],
)
def test_not_fetchable_is_none(url: str, base: str | None) -> None:
    assert canonicalize(url, base) is None


def test_utm_and_fragment_variants_collapse_to_one_url() -> None:
    base = "http://example.com/index.html"
    variants = [
        "/page?id=1",
        "/page?id=1#comments",
        "/page?utm_source=x&id=1&utm_medium=y#top",
        "http://EXAMPLE.com:80/page?id=1&fbclid=zzz",
        "./other/../page?gclid=1&id=1",
    ]
    assert {canonicalize(v, base) for v in variants} == {"http://example.com/page?id=1"}
