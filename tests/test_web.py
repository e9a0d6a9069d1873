"""`warcflow ui`: the search web page over an archive of the demo sites plus a loopback site
whose article carries an XSS payload (as escaped text, and as a real <script>).

The app is tested in-process with FastAPI's TestClient (escaping, headers, errors), and in
a real headless Chromium driven by selenium against uvicorn on 127.0.0.1 (the payload must
never run). The browser test needs /usr/bin/chromium and /usr/bin/chromedriver, which
`make test` installs.
"""

from __future__ import annotations

import html
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import fast_settings
from crawling import crawl
from fastapi.testclient import TestClient
from loopback import LoopbackSite
from loopback import html as html_reply
from typer.testing import CliRunner

from archive.catalog import Catalog
from archive.documents import DocumentStore, StoredDocument
from archive.layout import ArchiveLayout
from crawler.settings import CrawlLimits
from crawler.sources import Source
from flows.cli import app as cli_app
from flows.demo import DemoSites
from flows.web import create_app

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

SCRIPT_PAYLOAD = "<script>window.__xss=1;alert(1)</script>"
IMG_PAYLOAD = "<img src=x onerror=window.__xss=1;alert(1)>"
REAL_SCRIPT = "<script>window.__xss = 1; alert(1)</script>"
# The payloads stay in the article text verbatim (as text); the browser test checks that
# neither `window.__xss` nor `window.xss` was ever set.
SCRIPT_TEXT = SCRIPT_PAYLOAD
IMG_TEXT = IMG_PAYLOAD
WORD = "quayside"  # only in the XSS article
XSS_PATH = "/harbour/quayside-market.html"
SHARE_LINE = "Share this article with your neighbours"

XSS_ARTICLE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Harbour market reopens {html.escape(IMG_PAYLOAD)} | The Harbour Gazette</title>
<meta name="author" content="{html.escape(SCRIPT_PAYLOAD)}">
{REAL_SCRIPT}
</head><body>
<header><a href="/">The Harbour Gazette</a></header>
<main><article>
<h1>Harbour market reopens {html.escape(IMG_PAYLOAD)}</h1>
<p>The market reopened on Saturday. A quayside stall had a sign that read {html.escape(SCRIPT_PAYLOAD)} in large letters, which traders said was a joke about the market's new website.</p>
<p>Another stall displayed the words {html.escape(IMG_PAYLOAD)} on a chalkboard, and several visitors stopped to photograph it before buying smoked fish and bread.</p>
<p>{SHARE_LINE}</p>
<p>The harbour authority said about forty traders had signed up for the summer season, twice as many as last year, and that the car park would stay open until nine in the evening.</p>
<p>Fishermen who sell directly from their boats welcomed the longer opening hours, saying that tourists often arrived after the old closing time of five o'clock.</p>
{REAL_SCRIPT}
</article></main>
<footer><p>The Harbour Gazette</p></footer>
</body></html>
"""
INDEX = (
    f'<html><head><title>Harbour</title></head><body><a href="{XSS_PATH}">Market</a></body></html>'
)


@dataclass
class Archive:
    root: Path
    xss: StoredDocument
    docs: list[StoredDocument]


def ok_docs(root: Path) -> list[StoredDocument]:
    catalog = Catalog.open(ArchiveLayout(root).catalog, readonly=True)
    try:
        return DocumentStore(catalog).iter_documents()
    finally:
        catalog.close()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    root = tmp_path_factory.mktemp("web") / "archive"
    layout = ArchiveLayout(root).ensure()
    routes = {"/": html_reply(INDEX), XSS_PATH: html_reply(XSS_ARTICLE)}
    with DemoSites(preferred_port=None) as sites, LoopbackSite(routes) as site:  # type: ignore[arg-type]
        sources = [
            Source(name=s["name"], seeds=tuple(s["seeds"]), sitemaps=tuple(s["sitemaps"]))  # type: ignore[arg-type]
            for s in sites.sources()
        ]
        sources.append(Source(name="harbour", seeds=(site.url("/"),)))
        result = crawl(
            layout, sources, fast_settings(limits=CrawlLimits(max_pages=500, max_depth=4))
        )
        result.catalog.close()
        xss_url = site.url(XSS_PATH)
    docs = ok_docs(root)
    xss = next(d for d in docs if d.document.url == xss_url)
    return Archive(root, xss, docs)


@pytest.fixture(scope="module")
def client(archive: Archive) -> Iterator[TestClient]:
    with TestClient(create_app(archive.root), base_url="http://127.0.0.1") as c:
        yield c


def assert_secure(response) -> None:  # type: ignore[no-untyped-def]
    csp = response.headers["content-security-policy"]
    directives = {d.strip() for d in csp.split(";")}
    assert {
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src 'none'",
        "form-action 'self'",
    } <= directives, csp
    assert response.headers["x-content-type-options"] == "nosniff"


def assert_inert(page: str) -> None:
    """Nothing from the archive became markup: our pages have no scripts or images at all."""
    lowered = page.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    for payload in (SCRIPT_PAYLOAD, IMG_PAYLOAD, SCRIPT_TEXT, IMG_TEXT):
        assert payload not in page


# -- in process --------------------------------------------------------------------------


def test_the_xss_article_was_archived_with_its_payload_as_text(archive: Archive) -> None:
    text = archive.xss.document.text
    assert SCRIPT_TEXT in text and IMG_TEXT in text
    assert archive.xss.document.title == f"Harbour market reopens {IMG_PAYLOAD}"
    assert "window.__xss = 1" not in text  # the real script is not article text
    assert "share.en" in {r.rule for r in archive.xss.document.removed}


def test_search_finds_the_article_and_escapes_the_payload(
    client: TestClient, archive: Archive
) -> None:
    response = client.get("/", params={"q": WORD})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_secure(response)
    page = response.text
    assert f'href="/doc/{archive.xss.id}"' in page
    assert "<mark>quayside</mark>" in page.lower()
    assert_inert(page)
    assert html.escape(SCRIPT_TEXT) in page  # snippet
    assert html.escape(IMG_PAYLOAD) in page  # title
    assert html.escape(archive.xss.document.url) in page
    assert re.search(r"\ben · 127\.0\.0\.1:\d+ · ", page)


def test_search_filters(client: TestClient) -> None:
    def hits(**params: str) -> list[str]:
        page = client.get("/", params=params).text
        return re.findall(r'<a class="title" href="/doc/(\d+)"', page)

    assert len(hits(q=WORD, lang="en")) == 1
    assert hits(q=WORD, lang="tr") == []
    assert hits(q=WORD, site="elsewhere.example") == []
    assert hits(q=WORD, until="2000-01-01") == []
    assert len(hits(q=WORD, since="2000-01-01")) == 1
    assert hits(q="yatırım", lang="tr")
    page = client.get("/", params={"q": "融资"}).text
    assert len(re.findall(r'class="hit"', page)) >= 2
    assert "copies" in page  # the repost cluster is one hit
    bad = client.get("/", params={"q": WORD, "since": "last week"})
    assert bad.status_code == 200
    assert "is not a date" in bad.text


def test_home_page_lists_languages(client: TestClient) -> None:
    response = client.get("/")
    assert_secure(response)
    for lang in ("zh-cn", "zh-tw", "en", "tr", "id"):
        assert f'<option value="{lang}"' in response.text
    assert 'name="q"' in response.text


def test_document_page_shows_text_removals_and_captures(
    client: TestClient, archive: Archive
) -> None:
    stored = archive.xss
    response = client.get(f"/doc/{stored.id}")
    assert response.status_code == 200
    assert_secure(response)
    page = response.text
    assert_inert(page)
    clean = page[page.index('id="clean-text"') : page.index('id="removed"')]
    assert html.escape(SCRIPT_TEXT) in clean and html.escape(IMG_TEXT) in clean
    assert "forty traders" in clean
    assert SHARE_LINE not in clean
    removed = page[page.index('id="removed"') :]
    assert "share.en" in removed and SHARE_LINE in removed
    assert "English share/subscribe/cookie prompt" in removed
    assert html.escape(IMG_PAYLOAD) in page  # title, site name
    assert stored.warc_file and f"<code>{stored.warc_file}</code>" in page
    assert f"<td>{stored.warc_offset}</td>" in page
    assert f'href="/doc/{stored.id}/raw"' in page
    assert html.escape(stored.document.extractor_version) in page


def test_document_page_links_copies_translations_and_profile_reasons(
    client: TestClient, archive: Archive
) -> None:
    original = next(
        d for d in archive.docs if d.document.url.endswith("/0310-linjiang-yungu-financing.html")
    )
    page = client.get(f"/doc/{original.id}").text
    copies = page[page.index('id="copies"') : page.index("Translations (")]
    assert len(re.findall(r'href="/doc/\d+"', copies)) >= 4
    translations = page[page.index('id="translations"') :]
    assert re.search(r'href="/doc/\d+"', translations) and "<td>tr</td>" in translations
    assert "profile.suffix" in page
    assert "appended to paragraphs across this site&#39;s articles (site profile)" in page
    assert "zh-cn (" in page


def test_raw_capture_is_sandboxed_plain_text(client: TestClient, archive: Archive) -> None:
    response = client.get(f"/doc/{archive.xss.id}/raw")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "sandbox" in {d.strip() for d in response.headers["content-security-policy"].split(";")}
    assert_secure(response)
    assert REAL_SCRIPT in response.text  # the archived HTML as it was, inert
    assert response.text.startswith("<!DOCTYPE html>")


def test_raw_capture_of_gzipped_gbk_or_big5_page_is_utf8(
    client: TestClient, archive: Archive
) -> None:
    zh = next(d for d in archive.docs if d.document.lang.startswith("zh"))
    response = client.get(f"/doc/{zh.id}/raw")
    assert response.status_code == 200
    assert "<html" in response.text.lower()  # Content-Encoding undone, decoded
    assert zh.document.title and zh.document.title[:4] in response.text


def test_errors_are_html_with_the_same_headers(client: TestClient, tmp_path: Path) -> None:
    for path, status in (("/doc/999999", 404), ("/doc/999999/raw", 404), ("/nope", 404)):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html")
        assert_secure(response)
    response = client.get("/doc/<script>alert(1)</script>")
    assert response.status_code == 404 or response.status_code == 400
    assert_secure(response)
    assert_inert(response.text)
    response = client.get("/", params={"q": WORD, "limit": "100000"})
    assert response.status_code == 400
    assert_secure(response)
    with TestClient(create_app(tmp_path / "none"), base_url="http://127.0.0.1") as none:
        response = none.get("/")
        assert response.status_code == 503
        assert "no archive" in response.text
        assert_secure(response)


def test_only_loopback_host_names_are_served(client: TestClient) -> None:
    """A page on another site cannot read the archive by rebinding its name to 127.0.0.1."""
    response = client.get("/", headers={"Host": "attacker.example:8765"})
    assert response.status_code == 400
    assert_secure(response)
    assert client.get("/", headers={"Host": "localhost:8765"}).status_code == 200


def test_each_request_reads_the_catalog_afresh_while_a_writer_works(
    client: TestClient, archive: Archive
) -> None:
    """A writer holding the catalog (a crawl, a re-ingest) does not block the page; what it
    commits shows on the next request."""
    stored = next(d for d in archive.docs if d.document.lang == "id")
    title = stored.document.title
    writer = Catalog.open(ArchiveLayout(archive.root).catalog)
    try:
        with writer.transaction() as conn:
            conn.execute("UPDATE documents SET title = ? WHERE id = ?", ("Judul baru", stored.id))
            page = client.get(f"/doc/{stored.id}")
            assert page.status_code == 200
            assert "Judul baru" not in page.text
        assert "Judul baru" in client.get(f"/doc/{stored.id}").text
    finally:
        writer.conn.execute("UPDATE documents SET title = ? WHERE id = ?", (title, stored.id))
        writer.close()


def test_ui_command_without_an_archive_fails_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["ui", "--archive", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "no archive" in result.output


# -- a real browser ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(archive: Archive) -> Iterator[str]:
    """uvicorn serving the app on 127.0.0.1 (a free port) in a background thread."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(archive.root), log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (`make test` installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1400",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def search_in_browser(driver, base: str, query: str, lang: str = "") -> list:  # type: ignore[no-untyped-def,type-arg]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.ui import Select

    if not driver.current_url.startswith(base):
        driver.get(base + "/")
    box = driver.find_element(By.NAME, "q")
    box.clear()
    box.send_keys(query)
    Select(driver.find_element(By.NAME, "lang")).select_by_value(lang)
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "form.search button[type=submit]").click()
    # the page being left may show results too: wait for the new one to replace it
    wait_for(driver, staleness_of(page))
    wait_for(driver, lambda d: d.find_elements(By.ID, "result-count"))
    return driver.find_elements(By.CSS_SELECTOR, "li.hit")


def wait_for(driver, condition, timeout: float = 15):  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def full_page_screenshot(driver, path: Path) -> None:  # type: ignore[no-untyped-def]
    """The whole page, not just the window: grow the window to the page's height first."""
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    page_height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, page_height + 140), 6000))
    try:
        assert driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(width, height)


def assert_payload_did_not_run(driver) -> None:  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import NoAlertPresentException

    assert driver.execute_script("return typeof window.__xss") == "undefined"
    assert driver.execute_script("return typeof window.xss") == "undefined"
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018


def test_browser_search_document_and_raw_pages(browser, server: str, archive: Archive) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver = browser
    ARTIFACTS.mkdir(exist_ok=True)
    driver.get(server + "/")
    assert driver.title.startswith("search")

    hits = search_in_browser(driver, server, "融资")
    assert len(hits) >= 2
    assert driver.find_elements(By.CSS_SELECTOR, "li.hit mark")
    assert "融资" in driver.find_element(By.NAME, "q").get_attribute("value")

    hits = search_in_browser(driver, server, "yatırım", lang="tr")
    assert len(hits) >= 2
    assert all(h.find_element(By.CLASS_NAME, "facts").text.startswith("tr · ") for h in hits)
    full_page_screenshot(driver, ARTIFACTS / "ui-search.png")

    hits = search_in_browser(driver, server, WORD)
    assert len(hits) == 1
    assert_payload_did_not_run(driver)
    hit_text = hits[0].text
    assert IMG_PAYLOAD in hit_text  # shown as text, to the reader
    assert SCRIPT_TEXT in hit_text

    hits[0].find_element(By.CSS_SELECTOR, "a.title").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "clean-text"))
    assert driver.current_url == f"{server}/doc/{archive.xss.id}"
    assert_payload_did_not_run(driver)
    clean = driver.find_element(By.ID, "clean-text")
    assert clean.is_displayed()
    assert SCRIPT_TEXT in clean.text and "forty traders" in clean.text
    rows = driver.find_elements(By.CSS_SELECTOR, "#removed tr")
    assert len(rows) >= 2  # header and at least one span
    assert any("share.en" in r.text and SHARE_LINE in r.text for r in rows)
    captures = driver.find_element(By.ID, "captures").text
    assert archive.xss.warc_file and archive.xss.warc_file in captures
    full_page_screenshot(driver, ARTIFACTS / "ui-document.png")

    driver.find_element(By.ID, "raw-link").click()
    wait_for(driver, lambda d: d.current_url.endswith("/raw"))
    assert_payload_did_not_run(driver)
    assert REAL_SCRIPT in driver.find_element(By.TAG_NAME, "body").text

    # the repost cluster is one hit; its page links the copies and the Turkish translation
    driver.get(server + "/")
    hits = search_in_browser(driver, server, "融资")
    cluster = next(h for h in hits if "copies" in h.find_element(By.CLASS_NAME, "facts").text)
    cluster.find_element(By.CSS_SELECTOR, "a.title").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "clean-text"))
    assert re.search("融[资資]", driver.find_element(By.ID, "clean-text").text)  # zh-cn or zh-tw
    assert len(driver.find_elements(By.CSS_SELECTOR, "#copies a")) >= 4
    driver.find_element(By.CSS_SELECTOR, "#translations a").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "clean-text"))
    assert "finansman" in driver.find_element(By.ID, "clean-text").text
    assert_payload_did_not_run(driver)
    assert (ARTIFACTS / "ui-search.png").stat().st_size > 0
    assert (ARTIFACTS / "ui-document.png").stat().st_size > 0
