"""`warcflow ui`: a small search web page over an archive, for 127.0.0.1 only.

Server-rendered HTML (Jinja2, autoescaped), no scripts, no external resources. Every
response carries a strict Content-Security-Policy and `nosniff`; the archived HTML of a
capture is only ever served as sandboxed `text/plain`. The catalog is opened read-only
for each request, so a crawl or a re-ingest can write to the archive meanwhile (WAL).
Only loopback Host headers are accepted, so a web page cannot reach the archive through
DNS rebinding.
"""

from __future__ import annotations

import codecs
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from jinja2 import DictLoader, Environment, StrictUndefined
from markupsafe import Markup
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archive.catalog import Catalog
from archive.clustering import ClusterStore
from archive.documents import DocumentStore
from archive.layout import ArchiveLayout
from archive.search import SearchFilters, SearchIndex
from archive.warc import read_record_at
from extractors.rules import rule_reason

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
RAW_CSP = "sandbox; " + CSP
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
LOCAL_HOSTS = ("127.0.0.1", "localhost")
MAX_RESULTS = 100
MAX_QUERY = 500
MAX_LISTED = 500  # copies, captures and sites shown on one page

_MARK = re.compile(r"(</?mark>)")


class SecurityHeaders:
    """Pure ASGI middleware: the security headers on every response (a route may set its
    own, stricter Content-Security-Policy)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def snippet_markup(snippet: str) -> Markup:
    """A search snippet (already HTML-escaped, matches in <mark>) as markup: only the
    <mark> tags survive, whatever else the snippet might hold."""
    parts = _MARK.split(snippet)
    return Markup(
        "".join(
            p if p in ("<mark>", "</mark>") else p.replace("<", "&lt;").replace(">", "&gt;")
            for p in parts
        )
    )


def _valid_day(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _decode(body: bytes, charset: str | None) -> str:
    try:
        codecs.lookup(charset or "utf-8")
    except LookupError:
        charset = "utf-8"
    return body.decode(charset or "utf-8", errors="replace")


def _percent(value: float) -> str:
    return f"{value:.0%}"


def create_app(archive: Path, allowed_hosts: tuple[str, ...] = LOCAL_HOSTS) -> FastAPI:
    """The web app over the archive folder `archive` (catalog.sqlite, warc/)."""
    layout = ArchiveLayout.load(Path(archive))  # with its recorded backends (object storage)
    storage = layout.storage()  # one client for the app's requests
    templates = Environment(
        loader=DictLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    templates.filters["snippet"] = snippet_markup
    templates.filters["percent"] = _percent
    app = FastAPI(
        title="warcflow",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(SecurityHeaders)  # outermost: also on the host check's refusals

    def page(name: str, code: int = 200, **context: object) -> HTMLResponse:
        html = templates.get_template(name).render(archive=layout.root.name, **context)
        return HTMLResponse(html, status_code=code)

    @contextmanager
    def catalog() -> Iterator[Catalog]:
        """A new read-only connection for this request, closed after it."""
        if not layout.exists():
            raise HTTPException(503, f"no archive at {layout.root}/ (no catalog.sqlite)")
        cat = layout.open_catalog(readonly=True)
        try:
            yield cat
        finally:
            cat.close()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        return page("error.html", exc.status_code, status=exc.status_code, message=exc.detail)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> HTMLResponse:
        fields = ", ".join(str(e.get("loc", ("?",))[-1]) for e in exc.errors())
        return page("error.html", 400, status=400, message=f"invalid value for: {fields}")

    async def catalog_error(request: Request, exc: Exception) -> HTMLResponse:
        message = f"the catalog could not be read ({exc}); try again in a moment"
        return page("error.html", 503, status=503, message=message)

    app.add_exception_handler(sqlite3.Error, catalog_error)
    if layout.catalog_url:
        import psycopg

        app.add_exception_handler(psycopg.Error, catalog_error)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> HTMLResponse:
        # Served by Starlette's outermost middleware, past SecurityHeaders: set them here.
        response = page("error.html", 500, status=500, message="internal error")
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/", response_class=HTMLResponse)
    def search_page(
        q: str = "",
        lang: str = "",
        site: str = "",
        since: str = "",
        until: str = "",
        limit: int = Query(20, ge=1, le=MAX_RESULTS),
    ) -> HTMLResponse:
        q, site = q.strip()[:MAX_QUERY], site.strip()
        errors = [
            f"{name}: {value!r} is not a date (YYYY-MM-DD)"
            for name, value in (("since", since), ("until", until))
            if value and not _valid_day(value)
        ]
        with catalog() as cat:
            store = DocumentStore(cat)
            langs = sorted(store.count_by("lang").items(), key=lambda kv: (-kv[1], kv[0]))
            sites = store.sites()[:MAX_LISTED]
            hits = []
            if q and not errors:
                filters = SearchFilters(lang or None, site or None, since or None, until or None)
                hits = SearchIndex(cat).search(q, filters, limit)
        return page(
            "search.html",
            q=q,
            lang=lang,
            site=site,
            since=since,
            until=until,
            langs=langs,
            sites=sites,
            documents=sum(n for _, n in langs),
            hits=hits,
            errors=errors,
        )

    @app.get("/doc/{doc_id}", response_class=HTMLResponse)
    def document_page(doc_id: int) -> HTMLResponse:
        with catalog() as cat:
            stored = DocumentStore(cat).get(doc_id)
            if stored is None:
                raise HTTPException(404, f"no document {doc_id} in this archive")
            clusters = ClusterStore(cat)
            cluster_id, duplicate_of, translation_of = clusters.cluster_of(doc_id)
            copies = clusters.copies(doc_id)
            translations = clusters.translations(doc_id)
            captures = cat.captures_of(stored.document.url)
        doc = stored.document
        removed = [(r, rule_reason(r.rule)) for r in doc.removed]
        segments = [(s, doc.text[s.start : s.start + 60]) for s in doc.segments]
        return page(
            "document.html",
            id=doc_id,
            stored=stored,
            doc=doc,
            cluster_id=cluster_id,
            duplicate_of=duplicate_of,
            translation_of=translation_of,
            copies=copies[:MAX_LISTED],
            more_copies=max(0, len(copies) - MAX_LISTED),
            translations=translations,
            captures=captures[-MAX_LISTED:],
            removed=removed,
            segments=segments,
        )

    @app.get("/doc/{doc_id}/raw")
    def raw_capture(doc_id: int) -> Response:
        """The archived body, never as active content: sandboxed UTF-8 plain text."""
        with catalog() as cat:
            stored = DocumentStore(cat).get(doc_id)
        if stored is None:
            raise HTTPException(404, f"no document {doc_id} in this archive")
        name = stored.warc_file or ""
        path = layout.warc_dir / name
        if (
            not name
            or stored.warc_offset is None
            or Path(name).name != name
            or path.resolve().parent != layout.warc_dir.resolve()
        ):
            raise HTTPException(404, f"document {doc_id} has no archived capture")
        if not storage.exists("warc", name):
            where = storage.describe("warc", name).removesuffix(name)
            raise HTTPException(404, f"WARC file {name} is missing from {where}")
        try:
            with storage.open("warc", name) as f:  # remote: this record only (ranged reads)
                _, body = read_record_at(f, stored.warc_offset)
        except Exception as exc:
            raise HTTPException(500, f"could not read {name} at {stored.warc_offset}") from exc
        text = _decode(body, stored.document.charset)
        return Response(
            text.encode("utf-8"),
            media_type="text/plain; charset=utf-8",
            headers={"Content-Security-Policy": RAW_CSP},
        )

    return app


STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#243447;color:#fff;padding:.6em 1.2em}
header a{color:#fff;font-weight:600;text-decoration:none}
main{max-width:62em;margin:0 auto;padding:1em 1.2em}
form.search{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;margin-bottom:1em}
form.search input[type=search]{flex:1 1 20em;font-size:1.1em;padding:.35em}
input,select,button{font:inherit;padding:.25em}
.dim{color:#666}
.error{color:#a00;font-weight:600}
ol.hits{padding-left:1.4em}
li.hit{margin-bottom:1.1em}
li.hit a.title{font-size:1.1em;font-weight:600}
.url{color:#1a6b32;font-size:.9em;word-break:break-all}
.facts{color:#555;font-size:.85em}
.snippet{margin:.2em 0}
mark{background:#ffe58a}
table{border-collapse:collapse;margin:.5em 0 1.2em;width:100%}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#eef1f4}
table.meta th{width:12em}
.text{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:1em;line-height:1.7}
.removed-text{white-space:pre-wrap;color:#7a2e2e}
code{font-size:.9em}
"""

TEMPLATES = {
    "base.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{% block title %}{% endblock %} · warcflow</title>
<style>"""
    + STYLE
    + """</style></head>
<body><header><a href="/">warcflow</a> <span>· {{ archive }}</span></header>
<main>{% block main %}{% endblock %}</main></body></html>
""",
    "search.html": """{% extends "base.html" %}
{% block title %}{{ q or "search" }}{% endblock %}
{% block main %}
<form class="search" method="get" action="/" role="search">
<input type="search" name="q" value="{{ q }}" placeholder="融资, yatırım, data center…" aria-label="search words" autofocus>
<select name="lang" aria-label="language"><option value="">any language</option>
{% for code, n in langs %}<option value="{{ code }}"{% if code == lang %} selected{% endif %}>{{ code }} ({{ n }})</option>
{% endfor %}</select>
<input name="site" value="{{ site }}" list="sites" placeholder="site (host:port)" aria-label="site" size="18">
<datalist id="sites">{% for s in sites %}<option value="{{ s }}">{% endfor %}</datalist>
<label>since <input type="date" name="since" value="{{ since }}"></label>
<label>until <input type="date" name="until" value="{{ until }}"></label>
<button type="submit">Search</button>
</form>
{% for e in errors %}<p class="error">{{ e }}</p>{% endfor %}
{% if q and not errors %}
<p class="dim" id="result-count">{{ hits|length }} result{{ "" if hits|length == 1 else "s" }} for <strong>{{ q }}</strong> (one per repost cluster)</p>
<ol class="hits">
{% for hit in hits %}<li class="hit">
<a class="title" href="/doc/{{ hit.id }}">{{ hit.title or hit.url }}</a>
<div class="url">{{ hit.url }}</div>
<div class="facts">{{ hit.lang }} · {{ hit.site }} · {{ hit.published or "no date" }}{% if hit.copies %} · {{ hit.copies }} cop{{ "y" if hit.copies == 1 else "ies" }}{% endif %}</div>
<p class="snippet">{{ hit.snippet|snippet }}</p>
</li>
{% endfor %}</ol>
{% elif not q %}
<p class="dim">{{ documents }} documents in {{ langs|length }} languages. Chinese and Japanese need no spaces; every word is required.</p>
{% endif %}
{% endblock %}
""",
    "document.html": """{% extends "base.html" %}
{% block title %}{{ doc.title or doc.url }}{% endblock %}
{% block main %}
<p><a href="/">← search</a></p>
<h1 id="title">{{ doc.title or doc.url }}</h1>
<table class="meta" id="meta">
<tr><th>id</th><td>{{ id }}</td></tr>
<tr><th>url</th><td class="url">{{ doc.url }}</td></tr>
<tr><th>title</th><td>{{ doc.title or "-" }}</td></tr>
<tr><th>author</th><td>{{ doc.author or "-" }}</td></tr>
<tr><th>published</th><td>{{ doc.published or "-" }}</td></tr>
<tr><th>site</th><td>{{ doc.site }}{% if doc.sitename %} ({{ doc.sitename }}){% endif %}</td></tr>
<tr><th>fetched</th><td>{{ doc.fetched_at.isoformat() if doc.fetched_at else "-" }}</td></tr>
<tr><th>language</th><td>{{ doc.lang }} ({{ doc.lang_confidence|percent }} of characters)</td></tr>
<tr><th>charset</th><td>{% if doc.charset %}{{ doc.charset }} (from {{ doc.charset_source }}){% else %}-{% endif %}</td></tr>
<tr><th>outcome</th><td>{{ doc.outcome }}{% if doc.reason %}: {{ doc.reason }}{% endif %}</td></tr>
<tr><th>extractor_version</th><td><code>{{ doc.extractor_version }}</code></td></tr>
{% if cluster_id is not none %}<tr><th>cluster</th><td>{{ cluster_id }} {% if duplicate_of %}(copy of <a href="/doc/{{ duplicate_of }}">{{ duplicate_of }}</a>){% else %}(canonical){% endif %}</td></tr>{% endif %}
{% if translation_of is not none %}<tr><th>translation of</th><td>cluster <a href="/doc/{{ translation_of }}">{{ translation_of }}</a></td></tr>{% endif %}
{% for key, value in doc.meta|dictsort %}<tr><th>meta.{{ key }}</th><td>{{ value }}</td></tr>
{% endfor %}
<tr><th>archived HTML</th><td><a id="raw-link" href="/doc/{{ id }}/raw">raw capture (plain text)</a></td></tr>
</table>
{% if segments %}
<h2>Language segments</h2>
<table id="segments"><tr><th>language</th><th>characters</th><th>offsets</th><th>starts with</th></tr>
{% for s, start in segments %}<tr><td>{{ s.lang }}</td><td>{{ s.chars }}</td><td>{{ s.start }}–{{ s.end }}</td><td>{{ start }}</td></tr>
{% endfor %}</table>
{% endif %}
<h2>Clean text</h2>
<div class="text" id="clean-text" lang="{{ doc.lang }}">{{ doc.text or "(no text)" }}</div>
<h2>Removed ({{ removed|length }} span{{ "" if removed|length == 1 else "s" }})</h2>
{% if removed %}
<table id="removed"><tr><th>rule</th><th>family</th><th>removed text</th><th>why</th></tr>
{% for r, why in removed %}<tr><td><code>{{ r.rule }}</code></td><td>{{ r.family }}</td><td class="removed-text">{{ r.text }}</td><td>{{ why }}</td></tr>
{% endfor %}</table>
{% else %}<p class="dim">nothing was removed</p>{% endif %}
<h2>Copies in this cluster ({{ copies|length + more_copies }})</h2>
{% if copies %}
<table id="copies"><tr><th>id</th><th>url</th><th>fetched</th></tr>
{% for cid, url, fetched in copies %}<tr><td><a href="/doc/{{ cid }}">{{ cid }}</a></td><td class="url">{{ url }}</td><td>{{ fetched or "" }}</td></tr>
{% endfor %}</table>{% if more_copies %}<p class="dim">and {{ more_copies }} more</p>{% endif %}
{% else %}<p class="dim">no other copies</p>{% endif %}
<h2>Translations ({{ translations|length }})</h2>
{% if translations %}
<table id="translations"><tr><th>id</th><th>url</th><th>language</th></tr>
{% for tid, url, tlang in translations %}<tr><td><a href="/doc/{{ tid }}">{{ tid }}</a></td><td class="url">{{ url }}</td><td>{{ tlang }}</td></tr>
{% endfor %}</table>
{% else %}<p class="dim">no linked translations</p>{% endif %}
<h2>Captures of this URL ({{ captures|length }})</h2>
<table id="captures"><tr><th>fetched</th><th>status</th><th>record</th><th>WARC file</th><th>offset</th><th></th></tr>
{% for c in captures %}<tr><td>{{ c.fetched_at.isoformat() }}</td><td>{{ c.status }}</td><td>{{ c.record_type }}</td><td><code>{{ c.warc_file }}</code></td><td>{{ c.warc_offset }}</td><td>{% if c.warc_file == stored.warc_file and c.warc_offset == stored.warc_offset %}<a href="/doc/{{ id }}/raw">this document's capture (raw)</a>{% endif %}</td></tr>
{% endfor %}</table>
{% endblock %}
""",
    "error.html": """{% extends "base.html" %}
{% block title %}{{ status }}{% endblock %}
{% block main %}
<h1>{{ status }}</h1>
<p class="error">{{ message }}</p>
<p><a href="/">← search</a></p>
{% endblock %}
""",
}
