"""The end-of-run report: built from the catalog, shown in the terminal and as a
Prefect markdown artifact."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rich.console import Console
from rich.table import Table

from archive.catalog import Catalog
from crawler.outcomes import LABELS


@dataclass
class CrawlReport:
    run_id: int
    status: str
    seconds: float
    fetched: int  # HTTP exchanges in this invocation (pages, retries, robots.txt)
    outcomes: dict[str, int]
    not_fetched: int  # still queued when a page limit stopped the run
    bytes: int
    warc_files: list[str]
    resumed: bool = False
    cut_on_recovery: list[tuple[str, int]] = field(default_factory=list)
    documents_by_lang: dict[str, int] = field(default_factory=dict)
    documents_by_outcome: dict[str, int] = field(default_factory=dict)
    removed_by_family: dict[str, int] = field(default_factory=dict)  # characters

    @property
    def pages_per_second(self) -> float:
        return self.fetched / self.seconds if self.seconds > 0 else 0.0

    def rows(self) -> list[tuple[str, str]]:
        ordered = [k for k in LABELS if k in self.outcomes] + sorted(
            k for k in self.outcomes if k not in LABELS
        )
        rows = [(LABELS.get(k, k), str(self.outcomes[k])) for k in ordered]
        if self.not_fetched:
            rows.append(("not fetched (page limit)", str(self.not_fetched)))
        return rows

    def summary(self) -> list[tuple[str, str]]:
        return [
            ("run", f"#{self.run_id} ({'resumed, ' if self.resumed else ''}{self.status})"),
            ("HTTP exchanges", str(self.fetched)),
            ("bytes archived", _human(self.bytes)),
            ("time", f"{self.seconds:.1f} s"),
            ("pages per second", f"{self.pages_per_second:.1f}"),
            ("WARC files", ", ".join(self.warc_files) or "none"),
        ]

    def document_rows(self) -> list[tuple[str, str]]:
        rows = [(f"language {k}", str(v)) for k, v in sorted(self.documents_by_lang.items())]
        rows += [
            (f"not extracted: {k}", str(v))
            for k, v in sorted(self.documents_by_outcome.items())
            if k != "ok"
        ]
        return rows

    def family_rows(self) -> list[tuple[str, str]]:
        return [
            (family, f"{chars} chars")
            for family, chars in sorted(self.removed_by_family.items(), key=lambda kv: -kv[1])
        ]

    def to_markdown(self) -> str:
        lines = [f"# Crawl report: run {self.run_id}", "", "| outcome | URLs |", "|---|---:|"]
        lines += [f"| {label} | {count} |" for label, count in self.rows()]
        if self.document_rows():
            lines += ["", "| documents | count |", "|---|---:|"]
            lines += [f"| {k} | {v} |" for k, v in self.document_rows()]
        if self.family_rows():
            lines += ["", "| boilerplate removed (rule family) | size |", "|---|---:|"]
            lines += [f"| {k} | {v} |" for k, v in self.family_rows()]
        lines += ["", "| | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in self.summary()]
        if self.cut_on_recovery:
            lines += ["", "Recovered after a crash: cut uncommitted WARC tails:"]
            lines += [f"- {name}: {size} bytes" for name, size in self.cut_on_recovery]
        return "\n".join(lines) + "\n"

    def render(self, console: Console) -> None:
        table = Table(title=f"Crawl report: run {self.run_id}", show_header=True)
        table.add_column("outcome")
        table.add_column("URLs", justify="right")
        for label, count in self.rows():
            table.add_row(label, count)
        console.print(table)
        if self.document_rows() or self.family_rows():
            docs = Table(title="Documents", show_header=True)
            docs.add_column("documents")
            docs.add_column("count", justify="right")
            for label, count in self.document_rows():
                docs.add_row(label, count)
            for family, size in self.family_rows():
                docs.add_row(f"removed: {family}", size)
            console.print(docs)
        for key, value in self.summary():
            console.print(f"[bold]{key}:[/bold] {value}")
        for name, size in self.cut_on_recovery:
            console.print(f"[yellow]recovered:[/yellow] cut {size} uncommitted bytes from {name}")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def build_report(
    catalog: Catalog,
    run_id: int,
    seconds: float,
    fetched: int,
    resumed: bool,
    cut: list[tuple[str, int]],
    status: str = "finished",
) -> CrawlReport:
    from archive.documents import DocumentStore

    documents = DocumentStore(catalog)
    states = catalog.count_states(run_id)
    return CrawlReport(
        run_id=run_id,
        status=status,
        seconds=seconds,
        fetched=fetched,
        outcomes=catalog.count_outcomes(run_id),
        not_fetched=states.get("queued", 0),
        bytes=catalog.run_bytes(run_id),
        warc_files=catalog.run_warc_files(run_id),
        resumed=resumed,
        cut_on_recovery=cut,
        documents_by_lang=documents.count_by("lang", run_id),
        documents_by_outcome=documents.count_by("outcome", run_id),
        removed_by_family=documents.removed_by_family(run_id),
    )


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
