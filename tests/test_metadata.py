"""warcflow's metadata reader gives what trafilatura's `extract_metadata` gives for the
fields warcflow keeps (title, author, date, site name), on the same stripped tree."""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path

import pytest
from trafilatura.metadata import extract_metadata

from extractors.main_text import MainTextExtractor

PAGES = Path(__file__).parent / "fixtures" / "pages"
URL = "https://news.example.com/2024/05/article.html"


def page(head: str, body: str) -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


ARTICLE = (
    "<article><h1>Harbour market reopens</h1><p>" + "Stalls are back. " * 20 + "</p></article>"
)
SYNTHETIC = {
    "meta author and og": page(
        '<title>Harbour market reopens | The Courier</title><meta name="author" content="Dana Whitfield">'
        '<meta property="og:site_name" content="The Courier">'
        '<meta property="article:published_time" content="2024-05-03T08:00:00Z">',
        ARTICLE,
    ),
    "one-word meta author falls back to the page": page(
        '<title>Market</title><meta name="author" content="admin">',
        '<div class="byline">By Ana Lima</div>' + ARTICLE,
    ),
    "author class": page(
        "<title>A - B</title>", '<span class="author-name">Kemal Aydın</span>' + ARTICLE
    ),
    "rel author link": page("", '<p>By <a rel="author" href="/u/1">Mei Chen</a></p>' + ARTICLE),
    "itemprop author": page("", '<div itemprop="author">Rina Putri</div>' + ARTICLE),
    "byline inside comments is not the author": page(
        "",
        ARTICLE
        + '<div id="comments"><span class="author">Commenter One</span></div>'
        + '<span class="writer">Joe Bloggs</span>',
    ),
    "date and figure pruned from the author text": page(
        "",
        '<div class="byline">By Sam Reyes<time datetime="2024-06-01">June 1</time>, staff</div>'
        + '<figure><span class="author">Photo Person</span></figure>'
        + ARTICLE,
    ),
    "author tag and ids": page(
        "", '<author>Lee Park</author><div id="zuozhe">作者 王小明</div>' + ARTICLE
    ),
    "data-component byline": page(
        "", '<div data-component="Byline">Written by Ola Nordmann</div>' + ARTICLE
    ),
    "an author inside a hidden element is gone with it": page(
        "",
        '<div style="display:none"><span class="author">Hidden Name</span></div>'
        + '<p class="byline">Visible Writer</p>'
        + ARTICLE,
    ),
    "no metadata at all": page("", "<p>" + "Just text here. " * 30 + "</p>"),
    "site name from the title": page("<title>Story - example.com</title>", ARTICLE),
    "twitter site name": page('<meta name="twitter:site" content="@couriernews">', ARTICLE),
}
CASES = {f.name: f.read_text(encoding="utf-8") for f in sorted(PAGES.glob("*.html"))} | SYNTHETIC


@pytest.fixture(scope="module")
def main_text() -> MainTextExtractor:
    return MainTextExtractor()


@pytest.mark.parametrize("name", sorted(CASES))
def test_fields_match_trafilatura(name: str, main_text: MainTextExtractor) -> None:
    parsed = main_text.parse(CASES[name], URL)
    assert parsed is not None
    ours = main_text.metadata.read(parsed.root, URL, parsed.authors)
    alone = main_text.metadata.read(parsed.root, URL)  # a walk of its own, no candidates
    assert ours == alone
    theirs = extract_metadata(
        deepcopy(parsed.root), URL, main_text.metadata.date_params, False, set()
    )
    assert (ours.title, ours.author, ours.date, ours.sitename) == (
        theirs.title,
        theirs.author,
        theirs.date,
        theirs.sitename,
    )


def test_the_fixture_fields() -> None:
    reader = MainTextExtractor()
    parsed = reader.parse((PAGES / "tr_news.html").read_text(encoding="utf-8"), URL)
    assert parsed is not None
    meta = reader.metadata.read(parsed.root, URL)
    assert meta.title == "Kıyı kasabasına yeni feribot hattı açıldı"
    assert meta.date == "2024-06-12"
    assert meta.sitename == "Ege Postası"


def test_reading_leaves_the_tree_alone(main_text: MainTextExtractor) -> None:
    from lxml import etree

    parsed = main_text.parse(SYNTHETIC["date and figure pruned from the author text"], URL)
    assert parsed is not None
    before = etree.tostring(parsed.root)
    main_text.metadata.read(parsed.root, URL)
    assert etree.tostring(parsed.root) == before
