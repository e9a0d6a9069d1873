"""The `warcflow` command line: thin typer commands over the rooms.

Commands that only read the archive never import Prefect; commands that run flows set
Prefect's offline-safe settings first (ephemeral local API, no telemetry).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from flows.scaleout import ScaleOut
from flows.version import software_version

app = typer.Typer(
    name="warcflow",
    help="Polite, safe web archiving: crawl to WARC, clean text, cluster reposts, search.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ArchiveOpt = Annotated[
    Path,
    typer.Option(
        "--archive",
        envvar="WARCFLOW_ARCHIVE",
        help="Archive folder (catalog.sqlite, warc/, text/, cdx/).",
        show_default=True,
    ),
]


# Scale-out: where the work runs and where the data lives (see README, "Scaling out").
DaskOpt = Annotated[
    str | None,
    typer.Option(
        "--dask", envvar="WARCFLOW_DASK", help="Run the batches on this Dask scheduler (tcp://…)."
    ),
]
CatalogOpt = Annotated[
    str | None,
    typer.Option(
        "--catalog",
        envvar="WARCFLOW_CATALOG",
        help="Keep the catalog in PostgreSQL (postgresql://…) instead of catalog.sqlite.",
    ),
]
StorageOpt = Annotated[
    str | None,
    typer.Option(
        "--storage",
        envvar="WARCFLOW_STORAGE",
        help="Keep WARC, text and CDXJ files in object storage (s3://bucket/prefix).",
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--s3-endpoint",
        envvar="WARCFLOW_S3_ENDPOINT",
        help="S3-compatible endpoint URL (keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).",
    ),
]

# The filters of `search`, shared by `export`.
LangOpt = Annotated[str | None, typer.Option(help="Only this language (zh-cn, zh-tw, en, ...).")]
SiteOpt = Annotated[str | None, typer.Option(help="Only this site (host or host:port).")]
SinceOpt = Annotated[str | None, typer.Option(help="Published (or fetched) on/after YYYY-MM-DD.")]
UntilOpt = Annotated[str | None, typer.Option(help="Published (or fetched) on/before YYYY-MM-DD.")]


def fail(message: str, code: int = 1) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/bold red] {message}")
    return typer.Exit(code)


def prefect_offline_env() -> None:
    """Settings without which Prefect reaches for the network or times out here."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"warcflow {software_version()}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Polite, safe web archiving: crawl to WARC, clean text, cluster reposts, search."""


@app.command()
def crawl(
    urls: Annotated[list[str] | None, typer.Argument(help="Seed URLs (http or https).")] = None,
    sources: Annotated[
        Path | None, typer.Option("--sources", help="sources.toml with [[source]] tables.")
    ] = None,
    archive: ArchiveOpt = Path("archive"),
    max_pages: Annotated[int, typer.Option(help="Stop after fetching this many URLs.")] = 1000,
    max_depth: Annotated[int, typer.Option(help="Link depth from the seeds.")] = 5,
    allow_network: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-network",
            help="Allow a private/loopback network (CIDR), e.g. 127.0.0.0/8. Repeatable.",
        ),
    ] = None,
    delay: Annotated[float, typer.Option(help="Seconds between requests to one host.")] = 1.0,
    max_hosts: Annotated[int, typer.Option(help="Hosts fetched in parallel.")] = 16,
    host_connections: Annotated[
        int,
        typer.Option(
            help="Requests at once to one host; more than 1 only with --delay 0 and no"
            " robots Crawl-delay (politeness off)."
        ),
    ] = 1,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Processes that fetch, parse and write WARC (default: one per core, at"
            " most 4); 1 keeps all work in the crawl's process."
        ),
    ] = None,
    user_agent: Annotated[str | None, typer.Option(help="User-Agent header.")] = None,
    max_size: Annotated[int, typer.Option(help="Max bytes kept per response.")] = 20 * 1024 * 1024,
    timeout: Annotated[float, typer.Option(help="Max seconds per response.")] = 120.0,
    retries: Annotated[int, typer.Option(help="Retries for connect errors, 5xx, 429.")] = 3,
    ignore_robots: Annotated[bool, typer.Option(help="Do not consult robots.txt.")] = False,
    new_run: Annotated[
        bool, typer.Option(help="Abandon an interrupted run instead of resuming it.")
    ] = False,
    dask: DaskOpt = None,
    catalog: CatalogOpt = None,
    storage: StorageOpt = None,
    s3_endpoint: EndpointOpt = None,
) -> None:
    """Crawl URLs (or --sources) into the archive; an interrupted run is resumed."""
    from crawler.settings import (
        DEFAULT_USER_AGENT,
        CrawlLimits,
        CrawlSettings,
        FetchLimits,
        Politeness,
        RetryPolicy,
        settings_to_dict,
    )
    from crawler.sources import SourcesError, load_sources, sources_from_urls

    if not urls and sources is None:
        raise fail("give seed URLs or --sources FILE (see `warcflow crawl --help`)")
    if host_connections < 1 or (workers is not None and workers < 1):
        raise fail("--host-connections and --workers must be at least 1")
    try:
        networks = FetchLimits.parse_networks(allow_network or [])
    except ValueError as exc:
        raise fail(f"--allow-network: {exc}") from None
    try:
        source_list = load_sources(sources) if sources else sources_from_urls(list(urls or []))
    except SourcesError as exc:
        raise fail(str(exc)) from None
    settings = CrawlSettings(
        user_agent=user_agent or DEFAULT_USER_AGENT,
        fetch=FetchLimits(
            max_body_bytes=max_size, total_timeout=timeout, allowed_networks=networks
        ),
        retry=RetryPolicy(max_retries=retries),
        politeness=Politeness(
            delay=delay,
            max_hosts=max_hosts,
            obey_robots=not ignore_robots,
            host_connections=host_connections,
        ),
        limits=CrawlLimits(max_pages=max_pages, max_depth=max_depth),
        workers=workers,
    )
    scale = ScaleOut(dask, catalog, storage, s3_endpoint).over(ScaleOut.from_file(sources))
    report = run_crawl(
        archive, [s.describe() for s in source_list], settings_to_dict(settings), new_run, scale
    )
    report.render(Console())


def scaled_layout(archive: Path, scale: ScaleOut):  # type: ignore[no-untyped-def]
    """The archive with its backends; a clear error if they do not fit together or the
    Dask scheduler does not answer."""
    from flows.scaleout import ScaleOutError, dask_shards

    try:
        layout = scale.layout(archive)
        if scale.dask:
            dask_shards(scale.dask)
    except ScaleOutError as exc:
        raise fail(str(exc)) from None
    return layout


def run_crawl(
    archive: Path,
    sources: list[dict[str, object]],
    settings: dict[str, object],
    new_run: bool,
    scale: ScaleOut | None = None,
):  # type: ignore[no-untyped-def]
    """Run the crawl flow in this process with a progress bar; returns the report."""
    from archive.layout import ArchiveLock, ArchiveLocked

    scale = scale or ScaleOut()
    layout = scaled_layout(archive, scale)
    try:
        ArchiveLock(layout).acquire().release()  # fail fast, before Prefect starts
    except ArchiveLocked as exc:
        raise fail(str(exc)) from None
    prefect_offline_env()
    from flows.crawl import crawl_flow
    from flows.progress import CrawlProgress
    from flows.report import CrawlReport

    console = Console()
    max_pages = int(settings.get("limits", {}).get("max_pages", 1000))  # type: ignore[union-attr]
    try:
        with CrawlProgress(layout, console, max_pages):
            result = crawl_flow(
                archive=str(archive),
                sources=sources,
                settings=settings,
                new_run=new_run,
                dask=scale.dask,
            )
    except ArchiveLocked as exc:
        raise fail(str(exc)) from None
    result["cut_on_recovery"] = [tuple(x) for x in result.get("cut_on_recovery", [])]  # type: ignore[union-attr]
    return CrawlReport(**result)  # type: ignore[arg-type]


@app.command()
def demo(
    archive: Annotated[
        Path,
        typer.Option(
            "--archive", envvar="WARCFLOW_DEMO_ARCHIVE", help="Where the demo archive goes."
        ),
    ] = Path("demo-archive"),
) -> None:
    """Serve the bundled sample sites on 127.0.0.1, crawl them, print the report."""
    from crawler.settings import (
        CrawlLimits,
        CrawlSettings,
        FetchLimits,
        Politeness,
        settings_to_dict,
    )
    from flows.demo import DemoSites

    console = Console()
    with DemoSites() as sites:
        console.print(f"[bold]Serving {len(sites.bases)} sample sites on 127.0.0.1:[/bold]")
        for name, base in sites.bases.items():
            console.print(f"  {name:16} {base}/")
        settings = CrawlSettings(
            fetch=FetchLimits(allowed_networks=FetchLimits.parse_networks(["127.0.0.0/8"])),
            politeness=Politeness(delay=0.05),
            limits=CrawlLimits(max_pages=500, max_depth=4),
        )
        report = run_crawl(archive, sites.sources(), settings_to_dict(settings), new_run=False)
    report.render(console)
    show_demo_highlights(console, archive)


def show_demo_highlights(console: Console, archive: Path) -> None:
    """What the demo archive now holds: the biggest repost cluster, and where to go next."""
    import sys

    from rich.markup import escape

    catalog = open_archive(archive)
    try:
        row = catalog.conn.execute(
            "SELECT cluster_id, COUNT(*) AS n FROM documents WHERE outcome = 'ok'"
            " AND cluster_id IS NOT NULL GROUP BY cluster_id ORDER BY n DESC, cluster_id LIMIT 1"
        ).fetchone()
        if row is not None and row[1] > 1:
            console.print(f"\n[bold]Reposts folded into one cluster[/bold] ({row[1]} copies):")
            for doc_id, url, lang, dup in catalog.conn.execute(
                "SELECT id, url, lang, duplicate_of FROM documents WHERE cluster_id = ?"
                " ORDER BY fetched_at, id",
                (row[0],),
            ):
                mark = "canonical" if dup is None else f"copy of #{dup}"
                console.print(f"  #{doc_id:<4} {lang:6} {mark:12} {escape(url)}", soft_wrap=True)
            for doc_id, url, lang in catalog.conn.execute(
                "SELECT id, url, lang FROM documents WHERE (translation_of = ? AND cluster_id != ?)"
                " OR id = (SELECT MAX(translation_of) FROM documents WHERE cluster_id = ?)"
                " ORDER BY id",
                (row[0], row[0], row[0]),
            ):
                console.print(
                    f"  #{doc_id:<4} {lang:6} {'translation':12} {escape(url)}", soft_wrap=True
                )
    finally:
        catalog.close()
    bin_dir = Path(sys.executable).parent
    console.print(
        f"\nArchive in [bold]{archive}/[/bold]. Try:\n"
        f"  export WARCFLOW_ARCHIVE={archive}\n"
        f"  {bin_dir}/warcflow search 融資\n"
        f"  {bin_dir}/warcflow show {row[0] if row else 1}\n"
        f"  {bin_dir}/warcflow ui\n"
        f"  {bin_dir}/warcio check {archive}/warc/*.warc.gz"
    )


@app.command()
def reingest(
    since: Annotated[
        str | None, typer.Option(help="Only captures fetched on/after YYYY-MM-DD.")
    ] = None,
    site: Annotated[
        str | None, typer.Option(help="Only captures of this site (host or host:port).")
    ] = None,
    warc: Annotated[
        list[str] | None,
        typer.Option("--warc", help="Only captures in this WARC file (repeatable)."),
    ] = None,
    archive: ArchiveOpt = Path("archive"),
    dask: DaskOpt = None,
    catalog: CatalogOpt = None,
    storage: StorageOpt = None,
    s3_endpoint: EndpointOpt = None,
) -> None:
    """Rebuild documents, profiles, clusters and the index from WARC (nothing is fetched)."""
    from archive.layout import ArchiveLock, ArchiveLocked

    scale = ScaleOut(dask, catalog, storage, s3_endpoint)
    layout = scaled_layout(archive, scale)
    open_archive(archive).close()
    try:
        ArchiveLock(layout).acquire().release()
    except ArchiveLocked as exc:
        raise fail(str(exc)) from None
    prefect_offline_env()
    from flows.reingest import ReingestReport, reingest_flow

    console = Console()
    with console.status("re-ingesting from WARC…"):
        result = reingest_flow(
            archive=str(archive),
            since=since,
            site=site,
            warc_files=[Path(w).name for w in warc or []],
            dask=dask,
        )
    report = ReingestReport(**result)  # type: ignore[arg-type]
    console.print(report.to_markdown())
    if report.changed == 0:
        console.print("nothing changed: the archive was already up to date with these extractors")


@app.command()
def serve(
    sources: Annotated[
        Path, typer.Option("--sources", help="sources.toml for scheduled crawls.")
    ] = Path("sources.toml"),
    cron: Annotated[str, typer.Option(help="Crawl schedule (cron, UTC).")] = "0 3 * * *",
    archive: ArchiveOpt = Path("archive"),
    dask: DaskOpt = None,
    catalog: CatalogOpt = None,
    storage: StorageOpt = None,
    s3_endpoint: EndpointOpt = None,
) -> None:
    """Serve the crawl (on its schedule) and re-ingest flows from this process, no server set-up."""
    if not sources.exists():
        raise fail(f"{sources}: no such file; scheduled crawls need a sources file (see README)")
    scale = ScaleOut(dask, catalog, storage, s3_endpoint).over(ScaleOut.from_file(sources))
    scaled_layout(archive, scale)  # checked now, and recorded for the runs
    prefect_offline_env()
    from prefect import serve as prefect_serve

    from flows.crawl import crawl_flow
    from flows.reingest import reingest_flow

    crawl_deployment = crawl_flow.to_deployment(
        name="scheduled-crawl",
        cron=cron,
        parameters={"archive": str(archive), "sources_file": str(sources), "dask": scale.dask},
    )
    reingest_deployment = reingest_flow.to_deployment(
        name="reingest", parameters={"archive": str(archive), "dask": scale.dask}
    )
    Console().print(
        f"serving [bold]scheduled-crawl[/bold] ({cron}) and [bold]reingest[/bold] on archive "
        f"{archive}; Ctrl-C stops"
    )
    prefect_serve(crawl_deployment, reingest_deployment)


def open_archive(archive: Path):  # type: ignore[no-untyped-def]
    """The catalog of an existing archive, read-only; a clear error if there is none."""
    from archive.layout import ArchiveLayout

    layout = ArchiveLayout.load(archive)  # with the backends recorded there
    if not layout.exists():
        raise fail(
            f"no archive at {archive}/ (no catalog.sqlite); crawl first, or point --archive "
            "(or WARCFLOW_ARCHIVE) at an archive folder"
        )
    return layout.open_catalog(readonly=True)


@app.command()
def show(
    key: Annotated[str, typer.Argument(help="Document id or URL.")],
    archive: ArchiveOpt = Path("archive"),
) -> None:
    """One document: metadata, language segments, clean text, what was removed and why."""
    from archive.clustering import ClusterStore
    from archive.documents import DocumentStore
    from crawler.urls import canonicalize
    from flows.render import render_document

    catalog = open_archive(archive)
    store = DocumentStore(catalog)
    stored = store.find(key) or (
        store.find(canonicalize(key) or key) if not key.isdigit() else None
    )
    if stored is None:
        raise fail(f"no document {key!r} in {archive}/; `warcflow export` lists them")
    captures = [
        (c.fetched_at.isoformat(), c.warc_file, c.warc_offset, c.record_type)
        for c in catalog.captures_of(stored.document.url)
    ]
    clusters = ClusterStore(catalog)
    cluster_id, duplicate_of, translation_of = clusters.cluster_of(stored.id)
    doc = stored.document
    if cluster_id is not None:
        doc.meta["cluster"] = f"{cluster_id}" + (
            f" (copy of {duplicate_of})" if duplicate_of else " (canonical)"
        )
    if translation_of is not None:
        doc.meta["translation_of"] = str(translation_of)
    render_document(
        Console(),
        doc,
        stored.id,
        captures,
        copies=clusters.copies(stored.id),
        translations=clusters.translations(stored.id),
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words; Chinese/Japanese need no spaces (融资).")],
    lang: LangOpt = None,
    site: SiteOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: Annotated[int, typer.Option(help="Results to show.")] = 10,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    archive: ArchiveOpt = Path("archive"),
) -> None:
    """Full-text search, ranked by BM25, one result per repost cluster."""
    import json

    from rich.markup import escape

    from archive.search import SearchFilters, SearchIndex

    catalog = open_archive(archive)
    hits = SearchIndex(catalog).search(query, SearchFilters(lang, site, since, until), limit)
    if json_output:
        for hit in hits:
            typer.echo(json.dumps(hit.to_dict(), ensure_ascii=False))
        return
    console = Console()
    if not hits:
        console.print(f"no results for {query!r}")
        return
    for rank, hit in enumerate(hits, 1):
        facts = [f"#{hit.id}", hit.lang, escape(hit.site), hit.published or ""]
        if hit.copies:
            facts.append(f"{hit.copies} {'copy' if hit.copies == 1 else 'copies'}")
        console.print(
            f"[bold]{rank}. {escape(hit.title or hit.url)}[/bold]  "
            f"[dim]{' · '.join(f for f in facts if f)}[/dim]"
        )
        console.print(f"   {escape(hit.url)}")
        console.print("   " + _snippet_markup(hit.snippet))


def _snippet_markup(snippet: str) -> str:
    import html

    from rich.markup import escape

    parts = snippet.split("<mark>")
    out = [escape(html.unescape(parts[0]))]
    for part in parts[1:]:
        hit, _, rest = part.partition("</mark>")
        out.append(f"[reverse]{escape(html.unescape(hit))}[/reverse]{escape(html.unescape(rest))}")
    return "".join(out)


@app.command()
def ui(
    archive: ArchiveOpt = Path("archive"),
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.", min=1, max=65535)] = 8765,
) -> None:
    """A search web page for the archive on http://127.0.0.1:PORT/ (this machine only)."""
    import uvicorn

    from flows.web import create_app

    open_archive(archive).close()
    Console().print(f"serving {archive}/ on [bold]http://127.0.0.1:{port}/[/bold]; Ctrl-C stops")
    uvicorn.run(create_app(archive), host="127.0.0.1", port=port, log_level="warning")


@app.command()
def export(
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="jsonl, parquet (one record per document), or wacz (the raw WARC files "
            "packaged for ReplayWeb.page and pywb).",
        ),
    ] = "jsonl",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="File (jsonl: default stdout; parquet, wacz: needed)."),
    ] = None,
    lang: LangOpt = None,
    site: SiteOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    all_outcomes: Annotated[
        bool, typer.Option("--all", help="Include pages that gave no text (not HTML, empty).")
    ] = False,
    archive: ArchiveOpt = Path("archive"),
) -> None:
    """Write one record per document (the fields of the design's export contract) as JSON
    lines or Parquet; or package the raw captures as a WACZ file to replay the crawl."""
    import sys
    from datetime import date

    formats = ("jsonl", "parquet", "wacz")
    if format not in formats:
        raise fail(f"--format {format!r}: supported formats are: {', '.join(formats)}")
    if output is None and format != "jsonl":
        raise fail(f"--format {format} writes a file: give -o FILE")
    if output is not None and (output.is_dir() or not output.parent.is_dir()):
        raise fail(f"-o {output}: give a file in an existing folder")
    dates: dict[str, str] = {}
    for name, value in (("--since", since), ("--until", until)):
        if value is not None:
            try:
                dates[name] = date.fromisoformat(value).isoformat()
            except ValueError:
                raise fail(f"{name} {value!r}: give a date as YYYY-MM-DD") from None
    catalog = open_archive(archive)
    console = Console(stderr=True)

    if format == "wacz":
        from archive.layout import ArchiveLayout
        from archive.wacz import WaczError, write_wacz

        given = {"--lang": lang, "--since": since, "--until": until, "--all": all_outcomes}
        if unused := [name for name, value in given.items() if value]:
            raise fail(
                f"{', '.join(unused)}: --format wacz packages the raw captures, of the "
                "filters only --site applies to it"
            )
        assert output is not None
        try:
            summary = write_wacz(
                ArchiveLayout.load(archive),  # WARC and CDXJ wherever they are stored
                catalog,
                output,
                site=site,
                software=f"warcflow {software_version()}",
            )
        except WaczError as exc:
            raise fail(str(exc)) from None
        console.print(
            f"wrote {output}: {len(summary.warc_files)} WARC files, {summary.records} index "
            f"entries, {summary.pages} pages (open it in ReplayWeb.page)"
        )
        return

    from archive.documents import DocumentStore
    from archive.export import export_record, write_jsonl, write_parquet

    docs = DocumentStore(catalog).iter_matching(
        outcome=None if all_outcomes else "ok",
        lang=lang,
        site=site,
        since=dates.get("--since"),
        until=dates.get("--until"),
    )
    records = (export_record(d) for d in docs)
    if output is None:
        write_jsonl(records, sys.stdout)
        return
    if format == "parquet":
        count = write_parquet(records, output)
    else:
        with output.open("w", encoding="utf-8") as fh:
            count = write_jsonl(records, fh)
    console.print(f"wrote {count} documents to {output}")


@app.command()
def extract(
    source: Annotated[str, typer.Argument(help="A saved HTML file, or an http(s) URL to fetch.")],
    url: Annotated[
        str | None, typer.Option("--url", help="The page's URL, for a saved file.")
    ] = None,
    allow_network: Annotated[
        list[str] | None,
        typer.Option("--allow-network", help="Allow a private network (CIDR) for a live fetch."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the document as JSON.")
    ] = False,
) -> None:
    """Run decode, extract, clean and language on one page and show the result."""
    import asyncio
    import json

    from crawler.errors import CrawlError
    from crawler.fetch import SafeClient
    from crawler.settings import DEFAULT_USER_AGENT, FetchLimits
    from extractors.model import Capture
    from extractors.pipeline import default_pipeline
    from flows.render import render_document

    pipeline = default_pipeline()
    if source.startswith(("http://", "https://")):
        limits = FetchLimits(allowed_networks=FetchLimits.parse_networks(allow_network or []))

        async def fetch():  # type: ignore[no-untyped-def]
            async with SafeClient(limits, DEFAULT_USER_AGENT) as client:
                return await client.fetch(source)

        try:
            exchange = asyncio.run(fetch())
        except CrawlError as exc:
            raise fail(f"could not fetch {source}: {exc.message}") from None
        capture = Capture(
            url=source,
            body=exchange.body,
            content_type=exchange.header("content-type"),
            content_encoding=exchange.header("content-encoding"),
            status=exchange.status,
            fetched_at=exchange.started_at,
        )
    else:
        path = Path(source)
        if not path.is_file():
            raise fail(f"{source}: no such file (give a saved HTML file or an http(s) URL)")
        capture = Capture(url=url or path.resolve().as_uri(), body=path.read_bytes())
    doc = pipeline.finish(pipeline.extract_capture(capture))
    if json_output:
        typer.echo(json.dumps(doc.to_dict(), ensure_ascii=False, indent=2))
    else:
        render_document(Console(), doc)


if __name__ == "__main__":
    app()
