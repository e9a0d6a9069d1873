"""Fetch benchmark: warcflow's crawler against GNU wget --recursive --warc-file, same run.

    .venv/bin/python bench/fetch.py                # full run (7 min on 2 busy CPUs)
    .venv/bin/python bench/fetch.py --quick        # small sizes, smoke run (under a minute)
    .venv/bin/python bench/fetch.py --repeat 3     # median of 3 runs per tool (scenarios 1-2)
    .venv/bin/python bench/fetch.py --profile      # also cProfile one warcflow crawl
    .venv/bin/python bench/fetch.py --tmpdir /dev/shm   # WARCs on tmpfs: fsync costs nothing

Everything is local and generated: the sites are written to a temporary folder and
served by nginx from Debian's packages (`apt-get install -y nginx`) on 127.0.0.x, or by
a small asyncio server (this file, run as a subprocess) where every response takes
100 ms. Each crawler runs in its own subprocess: CPU time comes from os.wait4() on that
child (the per-child form of getrusage(RUSAGE_CHILDREN)), peak RSS from the child's
VmHWM (see `PeakRSS` for why not ru_maxrss).

warcflow is driven through the flow's plain functions as tests/crawling.py does it
(prepare_run, crawl batches with crawl_batch_fn, finish_run), without Prefect's flow,
task runner or server. Only the crawl stage is timed, as wget only fetches: the text
processing crawl_run also runs is left out (--with-processing times it once, apart).
Importing flows.crawl_steps (no Prefect) is counted in the process figures and shown
separately.

Scenarios
  1. efficiency: one host, N pages of ~30 KB HTML (gzip), ~20 internal links each,
     robots.txt on, no politeness delay. Wall, pages/s, CPU per page; both WARCs are
     checked with `warcio check` and their response records counted.
  2. real-web shape: 20 hosts (127.0.0.1..20, one port), 30 pages each, every response
     delayed 100 ms by the server; hosts are linked from the start page. warcflow
     keeps its politeness (one request at a time per host) with delay 0.
  3. memory: 100,000 URLs in warcflow's frontier, from one page or from hub pages of
     1,000 links; the crawl stops soon after (max_pages). Peak RSS against the same
     crawl of a 20-link page, and against wget stopped by --quota after the big page
     (its queue then holds the same 100,000 URLs).

Results are printed as tables (ratios are warcflow/wget) and written to
bench/results/fetch.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "fetch.json"
PROFILE_OUT = ROOT / "bench" / "results" / "fetch-warcflow.prof"
NGINX = Path("/usr/sbin/nginx")
WGET = Path("/usr/bin/wget")
WARCIO = Path(sys.executable).with_name("warcio")
LOOPBACK_NET = "127.0.0.0/8"
RUN_TIMEOUT = 3600.0  # seconds one crawler subprocess may take before it is killed
PAGE_BYTES = 30_000
LINKS_PER_PAGE = 20
SLOW_DELAY = 0.1  # seconds before every response of scenario 2's server
# How often /proc is read for peak memory. Every 10 ms in the memory scenario; every
# 100 ms where time is measured: reading smaps_rollup walks the crawler's page tables
# under its memory lock, and at 10 ms the poller takes a share of the 2 cores from a
# crawler that uses both (scenario 1, runs minutes apart: warcflow 5.3 s polled every
# 10 ms, 4.6 s every 200 ms; wget, on one core, 2.7-3.0 s either way).
TIMED_POLL = 0.1
MEMORY_POLL = 0.01

_WORD_TEXT = """
the of and to in a is that for it as was with be by on not he this are or his from at
which but have an they you were her she there one all we their been has when who will
more no if out so said what up its about into than them can only other new some could
time these two may then do first any my now such like our over man me even most made
after also did many before must through back years where much your way well down should
because each just those people how too little state good very make world still own see
men work long get here between both life being under never day same another know while
last might us great old year off come since against go came right used take three
archive harbour council market river railway festival library museum report committee
village district province weather season harvest engineer factory teacher student
hospital bridge station island mountain valley forest ocean winter summer spring autumn
morning evening history culture science research policy economy budget election minister
company service network system project program community family children water energy
transport housing education health public private national local regional international
development support increase decrease announce describe explain improve include receive
provide require suggest consider continue remain become appear follow change open close
build grow carry serve return publish record
"""
WORDS = _WORD_TEXT.split()


# -- measuring subprocesses ---------------------------------------------------------------


@dataclass
class ProcStats:
    """One child process: wall time, user+system CPU (os.wait4) and peak RSS (VmHWM)."""

    wall_s: float
    cpu_s: float
    user_s: float
    sys_s: float
    maxrss_mb: float
    returncode: int
    ru_maxrss_mb: float  # as wait4/RUSAGE_CHILDREN report it, inflated: see `PeakRSS`
    tree_rss_mb: float = 0.0  # with worker processes: peak summed VmRSS (see `PeakRSS`)
    tree_pss_mb: float = 0.0  # ... and peak summed Pss


class PeakRSS(threading.Thread):
    """Polls /proc for the peak memory of the program the child exec'd, with the worker
    processes it forks.

    ru_maxrss cannot be used for this: at exec Linux carries the old address space's
    high-water mark into the process's maxrss, and a spawned child's old address space is
    this (large) Python process's. VmHWM belongs to the new address space; it only grows,
    so polling loses at most what the child adds in its last `interval` seconds.

    With worker processes (warcflow forks them) one process's VmHWM is not the crawl's
    memory: every `interval` the resident sizes of the child and all its descendants are
    summed (VmRSS, which counts pages a fork shares with its parent once per process, so
    it overstates) and so are their proportional sizes (Pss from smaps_rollup: a shared
    page split among the processes sharing it); the peaks of both sums are kept.
    """

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.path = Path(f"/proc/{pid}/status")
        self.interval = interval
        self.peak_kib = 0  # the child's own VmHWM
        self.tree_rss_kib = 0  # peak of the summed VmRSS of the child and its descendants
        self.tree_pss_kib = 0  # peak of their summed Pss
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kib = max(self.peak_kib, vm_hwm_kib(self.path))
            pids = process_tree(self.pid)
            if len(pids) > 1:
                rss = sum(status_kib(pid, "VmRSS") for pid in pids)
                pss = sum(pss_kib(pid) for pid in pids)
            else:
                rss = pss = 0
            self.tree_rss_kib = max(self.tree_rss_kib, rss)
            self.tree_pss_kib = max(self.tree_pss_kib, pss)
            time.sleep(self.interval)


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc/PID/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with suppress(OSError):
                todo.extend(int(c) for c in task.read_text().split())
    return out


def status_kib(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else 0


def pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    match = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else 0


def vm_hwm_kib(status: Path = Path("/proc/self/status")) -> int:
    try:
        text = status.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else 0


def run_measured(
    cmd: Sequence[str],
    log: Path,
    env: dict[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
    poll: float = TIMED_POLL,
) -> ProcStats:
    """Run `cmd` to completion with output to `log`. CPU comes from os.wait4 on exactly
    that child (the per-child form of getrusage(RUSAGE_CHILDREN)), peak RSS from VmHWM
    polled every `poll` seconds (see TIMED_POLL)."""
    with log.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        peak = PeakRSS(proc.pid, poll)
        peak.start()
        killer = threading.Timer(timeout, lambda: _kill_quietly(proc.pid))
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: take the child down with us
            _kill_quietly(proc.pid)
            proc.wait()
            raise
        finally:
            killer.cancel()
            peak.done.set()
            peak.join()
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ProcStats(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        maxrss_mb=max(peak.peak_kib, peak.tree_rss_kib) / 1024,
        returncode=proc.returncode,
        ru_maxrss_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
        tree_rss_mb=peak.tree_rss_kib / 1024,
        tree_pss_mb=peak.tree_pss_kib / 1024,
    )


def _kill_quietly(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def child_env(tmp: Path) -> dict[str, str]:
    """The environment of both crawlers: no proxies, Prefect kept inside `tmp`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().endswith("_PROXY") and not k.startswith("WARCFLOW_")
    }
    env.update(
        {
            "PREFECT_HOME": str(tmp / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "DO_NOT_TRACK": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


# -- generated sites ----------------------------------------------------------------------


class TextMaker:
    """Plausible article text from a fixed vocabulary: a pool of paragraphs to draw from."""

    def __init__(self, rng: random.Random, pool: int = 400) -> None:
        self.rng = rng
        self.paragraphs = [self._paragraph() for _ in range(pool)]

    def _sentence(self) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(7, 22))
        if self.rng.random() < 0.3:
            words.insert(self.rng.randrange(len(words)), str(self.rng.randint(2, 2024)))
        text = " ".join(words)
        return text[0].upper() + text[1:] + self.rng.choice(".....?!")

    def _paragraph(self) -> str:
        return " ".join(self._sentence() for _ in range(self.rng.randint(3, 8)))

    def title(self) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(3, 8))).capitalize()

    def body(self, n_bytes: int, links: list[tuple[str, str]]) -> str:
        """Paragraphs of about `n_bytes`, with `links` (href, text) set into the text."""
        parts: list[str] = []
        size = 0
        while size < n_bytes:
            para = self.rng.choice(self.paragraphs)
            parts.append(para)
            size += len(para) + 7
        for href, text in links:
            i = self.rng.randrange(len(parts))
            words = parts[i].split(" ")
            at = self.rng.randrange(len(words))
            words.insert(at, f'<a href="{href}">{text}</a>')
            parts[i] = " ".join(words)
        return "\n".join(f"<p>{p}</p>" for p in parts)


def html_page(
    title: str, nav: list[tuple[str, str]], body: str, related: list[tuple[str, str]]
) -> str:
    def items(links: list[tuple[str, str]]) -> str:
        return "".join(f'<li><a href="{h}">{t}</a></li>' for h, t in links)

    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/static/site.css"></head>\n<body>'
        f"<header><nav><ul>{items(nav)}</ul></nav></header>\n"
        f"<main><article><h1>{title}</h1>\n{body}\n</article></main>\n"
        f"<aside><h2>Related</h2><ul>{items(related)}</ul></aside>\n"
        "<footer><p>Generated for the warcflow fetch benchmark.</p></footer>"
        "</body></html>\n"
    )


ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
SITE_CSS = "body { font-family: serif; max-width: 40em; margin: auto; }\n"


def site_links(i: int, n: int, rng: random.Random) -> list[int]:
    """~20 distinct other pages for page i: its 10 children and parent in a 10-ary tree
    (so every page is reachable from the home page in a few hops), the rest random."""
    chosen = [c for c in range(10 * i + 1, 10 * i + 11) if c < n]
    if i > 0:
        chosen.append((i - 1) // 10)
    want = min(LINKS_PER_PAGE, n - 1)
    while len(chosen) < want:
        j = rng.randrange(n)
        if j != i and j not in chosen:
            chosen.append(j)
    return chosen


def page_path(i: int) -> str:
    return "/" if i == 0 else f"/articles/{i:05d}.html"


def write_efficiency_site(root: Path, n_pages: int, rng: random.Random) -> None:
    """n_pages pages: `/` and /articles/NNNNN.html; plus robots.txt and a disallowed link."""
    text = TextMaker(rng)
    (root / "articles").mkdir(parents=True, exist_ok=True)
    (root / "private").mkdir(exist_ok=True)
    (root / "private" / "secret.html").write_text("<html><body>private</body></html>\n")
    (root / "robots.txt").write_text(ROBOTS_TXT)
    (root / "static").mkdir(exist_ok=True)
    (root / "static" / "site.css").write_text(SITE_CSS)
    for i in range(n_pages):
        links = [(page_path(j), text.title()) for j in site_links(i, n_pages, rng)]
        if i > 0:  # half of the in-page links relative, as real sites mix both
            links = [
                (h[len("/articles/") :] if k % 2 and h != "/" else h, t)
                for k, (h, t) in enumerate(links)
            ]
        nav, inline, related = links[:5], links[5:15], links[15:]
        if i == 0:
            nav = [*nav, ("/private/secret.html", "Staff only")]
        html = html_page(text.title(), nav, text.body(PAGE_BYTES - 2500, inline), related)
        path = root / ("index.html" if i == 0 else f"articles/{i:05d}.html")
        path.write_text(html, encoding="utf-8")


def write_frontier_site(root: Path, n_links: int, per_page: int | None = None) -> None:
    """Leaf URLs /u/NNNNNN.html (nginx answers them with a tiny page), n_links in all:
    linked from `/` itself, or from hub pages /h/NNNN.html of `per_page` links each."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "robots.txt").write_text(ROBOTS_TXT)

    def page(title: str, hrefs: list[str]) -> str:
        links = "\n".join(f'<a href="{h}">{h.rsplit("/", 1)[-1]}</a>' for h in hrefs)
        return (
            f"<!DOCTYPE html><html><head><title>{title}</title></head>"
            f"<body><h1>{title}</h1>\n{links}\n</body></html>\n"
        )

    leaves = [f"/u/{k:06d}.html" for k in range(n_links)]
    if per_page is None:
        (root / "index.html").write_text(page(f"Index of {n_links} items", leaves))
        return
    (root / "h").mkdir(exist_ok=True)
    hubs = []
    for n, start in enumerate(range(0, n_links, per_page)):
        hubs.append(f"/h/{n:04d}.html")
        (root / "h" / f"{n:04d}.html").write_text(
            page(f"Hub {n}", leaves[start : start + per_page])
        )
    (root / "index.html").write_text(page(f"Index of {len(hubs)} hubs", hubs))


def slow_site_pages(
    hosts: list[str], port: int, per_host: int, rng: random.Random
) -> dict[str, dict[str, str]]:
    """host -> path -> HTML for scenario 2: every host's home page links to every other
    host's home page (so a crawl from one spans all), pages link within their host."""
    text = TextMaker(rng)
    homes = [(f"http://{h}:{port}/", f"Partner site {h}") for h in hosts]
    sites: dict[str, dict[str, str]] = {}
    for host in hosts:
        pages: dict[str, str] = {"/robots.txt": ROBOTS_TXT, "/static/site.css": SITE_CSS}
        paths = ["/"] + [f"/p/{j:02d}.html" for j in range(1, per_host)]
        for j, path in enumerate(paths):
            near = [paths[(j + k) % per_host] for k in range(1, min(per_host, 11))]
            others = [p for p in paths if p != path and p not in near]
            picked = near + rng.sample(others, min(len(others), LINKS_PER_PAGE - len(near)))
            links = [(p, text.title()) for p in picked]
            related = [h for h in homes if not h[0].startswith(f"http://{host}:")] if j == 0 else []
            pages[path] = html_page(
                text.title(), links[:5], text.body(PAGE_BYTES - 2500, links[5:]), related
            )
        sites[host] = pages
    return sites


# -- servers ------------------------------------------------------------------------------


def free_port(addresses: list[str]) -> int:
    """A TCP port free on every one of `addresses`."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = int(probe.getsockname()[1])
        socks: list[socket.socket] = []
        try:
            for addr in addresses:
                s = socket.socket()
                socks.append(s)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no TCP port free on all of " + ", ".join(addresses))


def wait_listening(
    addresses: list[tuple[str, int]], proc: subprocess.Popen[bytes], what: str, log: Path
) -> None:
    deadline = time.monotonic() + 15
    pending = list(addresses)
    while pending:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} is not listening on {pending[0]}:\n{_tail(log)}")
        try:
            with socket.create_connection(pending[0], timeout=0.5):
                pending.pop(0)
        except OSError:
            time.sleep(0.05)


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Vhost:
    address: str
    root: Path
    leaf_pages: bool = False  # answer /u/* with a tiny page (scenario 3)


def nginx_conf(tmp: Path, port: int, vhosts: list[Vhost]) -> str:
    user = ""
    if os.geteuid() == 0:  # workers would switch to `nobody`, who cannot read a 0700 tmp dir
        user = "user root root;\n"
    servers = []
    for v in vhosts:
        leaf = ""
        if v.leaf_pages:
            leaf = (
                "    location /u/ {\n      default_type text/html;\n"
                '      return 200 "<html><body>leaf</body></html>\\n";\n    }\n'
            )
        servers.append(
            f"  server {{\n    listen {v.address}:{port};\n    root {v.root};\n"
            f"    index index.html;\n{leaf}  }}\n"
        )
    temp = "".join(
        f"  {name}_temp_path {tmp}/nginx-{name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {tmp}/nginx.pid;\n"
        f"error_log {tmp}/nginx-error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "  types { text/html html; text/plain txt; text/css css; }\n"
        "  default_type application/octet-stream;\n"
        "  access_log off;\n"
        "  sendfile on;\n"
        "  keepalive_requests 1000000;\n"
        "  gzip on;  # text/html is always among gzip_types\n"
        f"{temp}" + "".join(servers) + "}\n"
    )


@contextmanager
def nginx(tmp: Path, port: int, vhosts: list[Vhost]) -> Iterator[None]:
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_conf(tmp, port, vhosts))
    log = tmp / "nginx-stderr.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(NGINX), "-p", str(tmp), "-e", str(tmp / "nginx-error.log"), "-c", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_listening([(v.address, port) for v in vhosts], proc, "nginx", tmp / "nginx-error.log")
        yield
    finally:
        stop_process(proc, signal.SIGQUIT)  # graceful shutdown of master and worker


@contextmanager
def slow_server(
    tmp: Path, port: int, sites: dict[str, dict[str, str]], delay: float
) -> Iterator[None]:
    """Scenario 2's server: this file's `_slow-server` mode in a subprocess."""
    cfg = tmp / "slow-server.json"
    cfg.write_text(json.dumps({"port": port, "delay": delay, "sites": sites}))
    log = tmp / "slow-server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "_slow-server", str(cfg)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_listening([(h, port) for h in sites], proc, "slow server", log)
        yield
    finally:
        stop_process(proc)


CONTENT_TYPES = {"txt": "text/plain", "css": "text/css"}


def serve_slow(cfg_path: Path) -> None:
    """HTTP/1.1 with keep-alive on every host address; each response waits `delay` s."""
    cfg = json.loads(cfg_path.read_text())
    delay = float(cfg["delay"])
    plain: dict[tuple[str, str], bytes] = {}
    packed: dict[tuple[str, str], bytes] = {}
    for host, pages in cfg["sites"].items():
        for path, text in pages.items():
            body = text.encode("utf-8")
            plain[(host, path)] = body
            packed[(host, path)] = gzip.compress(body, compresslevel=1)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = writer.get_extra_info("sockname")[0]
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                request_line, *lines = head.split("\r\n")
                _, target, version = request_line.split(" ", 2)
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                await asyncio.sleep(delay)
                path = target.split("?", 1)[0]
                key = (host, path)
                extra = ""
                if key not in plain:
                    status, body, ctype = "404 Not Found", b"not found\n", "text/plain"
                else:
                    status = "200 OK"
                    ctype = CONTENT_TYPES.get(path.rsplit(".", 1)[-1], "text/html; charset=utf-8")
                    body = plain[key]
                    if ctype.startswith("text/html") and "gzip" in headers.get(
                        "accept-encoding", ""
                    ):
                        body, extra = (
                            packed[key],
                            "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n",
                        )
                keep = (
                    version.strip() == "HTTP/1.1"
                    and headers.get("connection", "").lower() != "close"
                )
                writer.write(
                    (
                        f"HTTP/1.1 {status}\r\nServer: bench-slow\r\nContent-Type: {ctype}\r\n"
                        f"Content-Length: {len(body)}\r\n{extra}"
                        f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n"
                    ).encode("latin-1")
                    + body
                )
                await writer.drain()
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, host=list(cfg["sites"]), port=int(cfg["port"]))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        async with server:
            await stop.wait()

    asyncio.run(main())


# -- the crawlers -------------------------------------------------------------------------


@dataclass
class CrawlJob:
    """What one warcflow crawl subprocess does (passed to it as JSON)."""

    archive: str
    seeds: list[str]
    result: str
    max_pages: int
    max_depth: int = 1000
    delay: float = 0.0
    max_hosts: int = 16
    any_host: bool = False
    include: list[str] = field(default_factory=list)
    profile: str | None = None
    with_processing: bool = False
    host_connections: int = 1  # requests at once to one host (more only without a delay)
    workers: int | None = None  # worker processes (None: warcflow's default, one per core)


def profile_workers(path: str) -> None:
    """Profile each crawl worker process too, into `<path>.worker<N>` (forked workers
    inherit this wrapper)."""
    import cProfile

    from crawler import workers

    serve = workers._Worker.serve

    async def profiled(self: Any) -> None:
        profiler = cProfile.Profile(time.process_time)  # CPU, not waits: the target is CPU
        profiler.enable()
        try:
            await serve(self)
        finally:
            profiler.disable()
            profiler.dump_stats(f"{path}.worker{os.getpid()}")

    workers._Worker.serve = profiled  # type: ignore[method-assign]


def crawl_in_child(job_path: Path) -> None:
    """`_crawl` mode: the flow's plain functions in order, as tests/crawling.py runs them."""
    job = CrawlJob(**json.loads(job_path.read_text()))
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from archive.catalog import Catalog
    from archive.layout import ArchiveLayout
    from crawler.settings import CrawlLimits, CrawlSettings, FetchLimits, Politeness
    from crawler.sources import Source
    from flows.crawl_steps import crawl_batch_fn, crawl_run, finish_run, prepare_run, run_sources

    import_s = time.perf_counter() - t0
    settings = CrawlSettings(
        fetch=FetchLimits(allowed_networks=FetchLimits.parse_networks([LOOPBACK_NET])),
        politeness=Politeness(
            delay=job.delay,
            max_hosts=job.max_hosts,
            obey_robots=True,
            host_connections=job.host_connections,
        ),
        limits=CrawlLimits(max_pages=job.max_pages, max_depth=job.max_depth),
        workers=job.workers,
    )
    sources = [
        Source(
            name="bench",
            seeds=tuple(job.seeds),
            any_host=job.any_host,
            include=tuple(job.include),
        )
    ]
    profiler = None
    if job.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profile_workers(job.profile)
    # the crawl's worker processes are reaped before it returns: RUSAGE_CHILDREN has them
    cpu0 = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    t1 = time.perf_counter()
    if profiler:
        profiler.enable()
    layout = ArchiveLayout(Path(job.archive)).ensure()
    catalog = Catalog.open(layout.catalog)
    plan = prepare_run(layout, catalog, sources, settings)
    _, run_settings = run_sources(catalog, plan.run_id)
    if job.with_processing:  # everything crawl_run does, text processing included
        fetched = crawl_run(str(layout.root), plan.run_id, run_settings.batch_pages, crawl_batch_fn)
    else:  # crawl_run's crawl stage alone: batches until one leaves nothing for the next
        fetched = 0
        while True:
            batch = crawl_batch_fn(str(layout.root), plan.run_id, run_settings.batch_pages)
            fetched += int(batch["fetched"])
            if not batch["more"]:
                break
    report = finish_run(layout, catalog, plan, run_settings, time.perf_counter() - t1, fetched)
    if profiler:
        profiler.disable()
        profiler.dump_stats(job.profile)
    crawl_s = time.perf_counter() - t1
    cpu1 = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    frontier = catalog.conn.execute(
        "SELECT COUNT(*) FROM frontier WHERE run_id = ?", (plan.run_id,)
    ).fetchone()[0]
    result = {
        "import_s": import_s,
        "crawl_wall_s": crawl_s,
        "crawl_cpu_s": sum(u.ru_utime + u.ru_stime for u in cpu1)
        - sum(u.ru_utime + u.ru_stime for u in cpu0),
        "fetched": fetched,
        "outcomes": report.outcomes,
        "frontier_urls": int(frontier),
        "vm_hwm_mb": vm_hwm_kib() / 1024,  # exact, where polling may miss the last moments
        "warc_files": [str(layout.warc_dir / name) for name in report.warc_files],
    }
    catalog.close()
    Path(job.result).write_text(json.dumps(result))


def run_warcflow(
    tmp: Path, name: str, job: CrawlJob, poll: float = TIMED_POLL
) -> tuple[ProcStats, dict[str, Any]]:
    job_path = tmp / f"{name}.job.json"
    job_path.write_text(json.dumps(asdict(job)))
    cmd = [sys.executable, str(Path(__file__).resolve()), "_crawl", str(job_path)]
    stats = run_measured(cmd, tmp / f"{name}.log", env=child_env(tmp), poll=poll)
    if stats.returncode != 0:
        raise RuntimeError(f"warcflow crawl {name} failed:\n{_tail(tmp / f'{name}.log', 40)}")
    out = json.loads(Path(job.result).read_text())
    return replace(stats, maxrss_mb=max(stats.maxrss_mb, out["vm_hwm_mb"])), out


def run_wget(
    tmp: Path, name: str, start: str, extra: list[str], poll: float = TIMED_POLL
) -> tuple[ProcStats, list[Path]]:
    out = tmp / name
    out.mkdir()
    cmd = [
        str(WGET),
        "--no-config",
        "--recursive",
        "--level=inf",
        "--no-parent",
        "-e",
        "robots=on",
        "--compression=auto",  # ask for gzip like warcflow does (wget's default is none)
        "--delete-after",
        f"--directory-prefix={out / 'files'}",
        f"--warc-file={out / 'crawl'}",
        "--no-verbose",
        f"--output-file={out / 'wget.log'}",
        *extra,
        start,
    ]
    stats = run_measured(cmd, tmp / f"{name}.log", env=child_env(tmp), poll=poll)
    # wget exits 8 when any response was an error (e.g. a 404); the WARC is still whole.
    if stats.returncode not in (0, 8):
        raise RuntimeError(
            f"wget {name} failed ({stats.returncode}):\n{_tail(out / 'wget.log', 40)}"
        )
    return stats, sorted(out.glob("*.warc.gz"))


# -- WARC checks --------------------------------------------------------------------------


@dataclass
class WarcSummary:
    valid: bool
    check_message: str
    responses: int  # response records
    pages: int  # 200 text/html responses other than robots.txt
    robots: int  # responses for robots.txt
    payload_bytes: int


def summarise_warcs(paths: list[Path]) -> WarcSummary:
    from warcio.archiveiterator import ArchiveIterator

    check = subprocess.run(
        [str(WARCIO), "check", *map(str, paths)], capture_output=True, text=True, check=False
    )
    message = (check.stdout + check.stderr).strip()
    responses = pages = robots = payload = 0
    for path in paths:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type != "response":
                    continue
                responses += 1
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                http = record.http_headers
                status = http.get_statuscode() if http else ""
                ctype = (http.get_header("Content-Type") or "") if http else ""
                payload += len(record.content_stream().read())
                if url.endswith("/robots.txt"):
                    robots += 1
                elif status == "200" and ctype.startswith("text/html"):
                    pages += 1
    return WarcSummary(
        check.returncode == 0 and bool(paths), message[-500:], responses, pages, robots, payload
    )


# -- scenarios ----------------------------------------------------------------------------


def tool_row(stats: ProcStats, pages: int, warcs: WarcSummary | None) -> dict[str, Any]:
    return {
        "wall_s": round(stats.wall_s, 3),
        "pages": pages,
        "pages_per_s": round(pages / stats.wall_s, 2) if stats.wall_s else 0.0,
        "cpu_s": round(stats.cpu_s, 3),
        "user_s": round(stats.user_s, 3),
        "sys_s": round(stats.sys_s, 3),
        "cpu_ms_per_page": round(1000 * stats.cpu_s / pages, 3) if pages else None,
        "peak_rss_mb": round(stats.maxrss_mb, 1),
        "ru_maxrss_mb": round(stats.ru_maxrss_mb, 1),
        "tree_rss_mb": round(stats.tree_rss_mb, 1),
        "tree_pss_mb": round(stats.tree_pss_mb, 1),
        "warc": asdict(warcs) if warcs else None,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def compare_crawls(
    tmp: Path, tag: str, start: str, wget_extra: list[str], job: CrawlJob, repeat: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both crawlers `repeat` times, alternating which goes first. Each tool's row is its
    median run by wall time (the lower middle one for an even count), with every run's
    wall time alongside."""
    wget_runs: list[dict[str, Any]] = []
    wf_runs: list[dict[str, Any]] = []
    for r in range(1, repeat + 1):
        for tool in ("wget", "warcflow") if r % 2 else ("warcflow", "wget"):
            name = f"{tag}-{tool}-{r}"
            if tool == "wget":
                stats, warcs = run_wget(tmp, name, start, wget_extra)
                summary = summarise_warcs(warcs)
                wget_runs.append(tool_row(stats, summary.pages, summary))
                continue
            run_job = replace(job, archive=str(tmp / name), result=str(tmp / f"{name}.json"))
            stats, out = run_warcflow(tmp, name, run_job)
            summary = summarise_warcs([Path(p) for p in out["warc_files"]])
            row = tool_row(stats, summary.pages, summary)
            row["inside"] = {
                "import_s": round(out["import_s"], 3),
                "crawl_wall_s": round(out["crawl_wall_s"], 3),
                "crawl_cpu_s": round(out["crawl_cpu_s"], 3),
                "crawl_pages_per_s": round(summary.pages / out["crawl_wall_s"], 2),
                "crawl_cpu_ms_per_page": round(
                    1000 * out["crawl_cpu_s"] / max(1, summary.pages), 3
                ),
                "outcomes": out["outcomes"],
            }
            wf_runs.append(row)
    return median_run(wget_runs), median_run(wf_runs)


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    row = dict(ordered[(len(ordered) - 1) // 2])
    row["runs_wall_s"] = [r["wall_s"] for r in runs]
    return row


def ratios(wf: dict[str, Any], wget: dict[str, Any]) -> dict[str, float | None]:
    return {
        "wall": ratio(wf["wall_s"], wget["wall_s"]),
        "pages_per_s": ratio(wf["pages_per_s"], wget["pages_per_s"]),
        "cpu_per_page": ratio(wf["cpu_ms_per_page"], wget["cpu_ms_per_page"]),
        "peak_rss": ratio(wf["peak_rss_mb"], wget["peak_rss_mb"]),
    }


def scenario_efficiency(
    tmp: Path,
    n_pages: int,
    seed: int,
    repeat: int,
    profile: bool,
    with_processing: bool,
    workers: int | None = None,
    host_connections: int | None = None,
) -> dict[str, Any]:
    site = tmp / "site-efficiency"
    write_efficiency_site(site, n_pages, random.Random(seed))
    html_bytes = sum(p.stat().st_size for p in site.rglob("*.html"))
    address = "127.0.0.2"
    port = free_port([address])
    start = f"http://{address}:{port}/"
    # politeness off: no delay, and twelve requests at once to the host per worker process.
    # A connection waits for its page to be parsed and written and for the crawl's
    # process to hand out the next URL, so with two per worker a worker sat idle between
    # pages (0.82x wget with 2 per worker, 1.02x with 4, same run); with more, each step of
    # a worker's event loop handles several responses and its messages leave together
    # (2,000 pages, 6 interleaved runs: 1.90-2.37 s with 4 per worker, 1.64-2.15 s with 12;
    # 16 and 24 no better). wget fetches one at a time.
    job = CrawlJob(
        archive="",
        seeds=[start],
        result="",
        max_pages=n_pages + 100,
        host_connections=host_connections or 12 * (workers or os.cpu_count() or 1),
        workers=workers,
    )
    profile_top: list[str] = []
    (tmp / "nginx-1").mkdir()
    with nginx(tmp / "nginx-1", port, [Vhost(address, site)]):
        wget_row, wf_row = compare_crawls(tmp, "s1", start, [], job, repeat)
        if profile:  # a separate run: the profiler's overhead stays out of the figures
            PROFILE_OUT.parent.mkdir(parents=True, exist_ok=True)
            name = "s1-profile"
            pjob = replace(
                job,
                archive=str(tmp / name),
                result=str(tmp / f"{name}.json"),
                profile=str(PROFILE_OUT),
            )
            run_warcflow(tmp, name, pjob)
            profile_top = profile_summary(PROFILE_OUT)
        processing = None
        if with_processing:
            name = "s1-processing"
            stats, out = run_warcflow(
                tmp,
                name,
                replace(
                    job,
                    archive=str(tmp / name),
                    result=str(tmp / f"{name}.json"),
                    with_processing=True,
                ),
            )
            processing = {
                "wall_s": round(stats.wall_s, 3),
                "cpu_s": round(stats.cpu_s, 3),
                "peak_rss_mb": round(stats.maxrss_mb, 1),
                "crawl_and_process_wall_s": round(out["crawl_wall_s"], 3),
            }
    return {
        "site": {
            "pages": n_pages,
            "html_mb": round(html_bytes / 1e6, 1),
            "links_per_page": LINKS_PER_PAGE,
            "start": start,
            "host_connections": job.host_connections,
        },
        "wget": wget_row,
        "warcflow": wf_row,
        "ratio_warcflow_over_wget": ratios(wf_row, wget_row),
        "profile_top": profile_top,
        "warcflow_with_processing": processing,
        "load_average_after": os.getloadavg(),
    }


def scenario_real_web(
    tmp: Path, n_hosts: int, per_host: int, seed: int, repeat: int, workers: int | None = None
) -> dict[str, Any]:
    hosts = [f"127.0.0.{k}" for k in range(1, n_hosts + 1)]
    port = free_port(hosts)
    sites = slow_site_pages(hosts, port, per_host, random.Random(seed))
    start = f"http://{hosts[0]}:{port}/"
    job = CrawlJob(
        archive="",
        seeds=[start],
        result="",
        max_pages=n_hosts * per_host + 100,
        any_host=True,
        include=[rf"^http://127\.0\.0\.\d+:{port}/"],
        workers=workers,
    )
    wget_extra = ["--span-hosts", f"--domains={','.join(hosts)}"]
    with slow_server(tmp, port, sites, SLOW_DELAY):
        wget_row, wf_row = compare_crawls(tmp, "s2", start, wget_extra, job, repeat)
    return {
        "site": {
            "hosts": n_hosts,
            "pages_per_host": per_host,
            "response_delay_s": SLOW_DELAY,
            "start": start,
            "warcflow_max_hosts": job.max_hosts,
            "ideal_sequential_pages_per_s": round(1 / SLOW_DELAY, 2),
            "ideal_parallel_pages_per_s": round(min(n_hosts, job.max_hosts) / SLOW_DELAY, 2),
        },
        "wget": wget_row,
        "warcflow": wf_row,
        "ratio_warcflow_over_wget": ratios(wf_row, wget_row),
        "load_average_after": os.getloadavg(),
    }


HUB_LINKS = 1000  # links per hub page in scenario 3's spread-out variant


def scenario_memory(
    tmp: Path, n_urls: int, extra_pages: int, workers: int | None = None
) -> dict[str, Any]:
    """Peak RSS with n_urls in the frontier: from one page, from hub pages of HUB_LINKS
    links each, and (for the process's floor) from a 20-link page. Each crawl stops
    `extra_pages` leaf pages after the pages that fill its frontier."""
    n_hubs = -(-n_urls // HUB_LINKS)
    variants = [  # label, site folder, links per page (None: all on `/`), pages to fetch
        ("one_page", tmp / "site-frontier-one", None, 1 + extra_pages),
        ("hubs", tmp / "site-frontier-hubs", HUB_LINKS, 1 + n_hubs + extra_pages),
        ("twenty_links", tmp / "site-frontier-20", None, 1 + extra_pages),
    ]
    addresses = [f"127.0.0.{k}" for k in range(3, 3 + len(variants))]
    port = free_port(addresses)
    vhosts = []
    for (label, root, per_page, _), address in zip(variants, addresses, strict=True):
        write_frontier_site(root, LINKS_PER_PAGE if label == "twenty_links" else n_urls, per_page)
        vhosts.append(Vhost(address, root, leaf_pages=True))
    rows: dict[str, Any] = {}
    (tmp / "nginx-3").mkdir()
    with nginx(tmp / "nginx-3", port, vhosts):
        for (label, _, _, max_pages), address in zip(variants, addresses, strict=True):
            name = f"s3-{label}"
            job = CrawlJob(
                archive=str(tmp / name),
                seeds=[f"http://{address}:{port}/"],
                result=str(tmp / f"{name}.json"),
                max_pages=max_pages,
                workers=workers,
            )
            stats, out = run_warcflow(tmp, name, job, poll=MEMORY_POLL)
            rows[label] = {
                "peak_rss_mb": round(stats.maxrss_mb, 1),
                "tree_rss_mb": round(stats.tree_rss_mb, 1),
                "tree_pss_mb": round(stats.tree_pss_mb, 1),
                "wall_s": round(stats.wall_s, 3),
                "cpu_s": round(stats.cpu_s, 3),
                "frontier_urls": out["frontier_urls"],
                "fetched": out["fetched"],
                "max_pages": max_pages,
            }
        # wget checks --quota before each download, so it stops right after the big page,
        # with all of that page's links queued.
        stats, _ = run_wget(
            tmp,
            "s3-wget",
            f"http://{addresses[0]}:{port}/",
            ["--quota=1", "--no-warc-keep-log"],
            poll=MEMORY_POLL,
        )
        rows["wget"] = {
            "peak_rss_mb": round(stats.maxrss_mb, 1),
            "wall_s": round(stats.wall_s, 3),
            "cpu_s": round(stats.cpu_s, 3),
            "frontier_urls": n_urls,
            "fetched": _wget_fetched(tmp / "s3-wget" / "wget.log"),
        }
    floor = rows["twenty_links"]["peak_rss_mb"]
    return {
        "frontier_urls": n_urls,
        "page_mb": round((variants[0][1] / "index.html").stat().st_size / 1e6, 2),
        "hub_links": HUB_LINKS,
        "hub_pages": n_hubs,
        **rows,
        "over_twenty_links_mb": {
            "one_page": round(rows["one_page"]["peak_rss_mb"] - floor, 1),
            "hubs": round(rows["hubs"]["peak_rss_mb"] - floor, 1),
        },
        "ratio_warcflow_over_wget": {
            "peak_rss": ratio(rows["one_page"]["peak_rss_mb"], rows["wget"]["peak_rss_mb"])
        },
    }


def _wget_fetched(log: Path) -> int:
    return sum(
        1 for line in log.read_text(errors="replace").splitlines() if re.search(r" -> \"", line)
    )


def profile_summary(path: Path, top: int = 25) -> list[str]:
    """The profile's heaviest functions by own time, as text lines."""
    import io
    import pstats

    buf = io.StringIO()
    stats = pstats.Stats(str(path), stream=buf)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    lines = buf.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return [line for line in lines[start:] if line.strip()]


# -- machine info and output --------------------------------------------------------------


def machine_info(tmp: Path) -> dict[str, Any]:
    cpu_model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu_model = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in cpuinfo.read_text().splitlines()
                if ln.startswith("model name")
            ),
            "",
        )
    wget_v = subprocess.run([str(WGET), "--version"], capture_output=True, text=True, check=False)
    nginx_v = subprocess.run([str(NGINX), "-v"], capture_output=True, text=True, check=False)
    fs = subprocess.run(["df", "-T", str(tmp)], capture_output=True, text=True, check=False)
    fs_type = fs.stdout.splitlines()[-1].split()[1] if fs.returncode == 0 else "?"
    try:
        from importlib.metadata import version

        warcflow_v = version("warcflow")
    except Exception:
        warcflow_v = "?"
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "warcflow": warcflow_v,
        "wget": wget_v.stdout.splitlines()[0] if wget_v.stdout else "?",
        "nginx": (nginx_v.stderr or nginx_v.stdout).strip().removeprefix("nginx version: nginx/"),
        "tmp_dir": str(tmp),
        "tmp_fs": fs_type,
        "load_average": os.getloadavg(),
        "warcflow_source_sha256": source_digest(),
    }


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    cells = [[_fmt(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [
        title,
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(cells[0], widths, strict=True))
        ),
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


# (header, key in a tool's row, key in the ratios or None)
COLUMNS = [
    ("wall s", "wall_s", "wall"),
    ("pages", "pages", None),
    ("pages/s", "pages_per_s", "pages_per_s"),
    ("CPU s", "cpu_s", None),
    ("CPU ms/page", "cpu_ms_per_page", "cpu_per_page"),
    ("peak RSS MB", "peak_rss_mb", "peak_rss"),
]


def comparison_table(title: str, s: dict[str, Any]) -> str:
    wg, wf, r = s["wget"], s["warcflow"], s["ratio_warcflow_over_wget"]

    def tool(label: str, row: dict[str, Any]) -> list[Any]:
        cells = [row[key] for _, key, _ in COLUMNS]
        return [label, *cells, row["warc"]["valid"], row["warc"]["responses"]]

    ratio_row = ["warcflow/wget", *(r[key] if key else None for _, _, key in COLUMNS), None, None]
    head = ["tool", *(h for h, _, _ in COLUMNS), "WARC ok", "responses"]
    return table(title, head, [tool("wget (baseline)", wg), tool("warcflow", wf), ratio_row])


def print_notes(s: dict[str, Any]) -> None:
    wg, wf = s["wget"], s["warcflow"]
    inside = wf["inside"]
    print(
        "  warcflow: the flow's plain functions in a subprocess (prepare_run, crawl_batch_fn until"
        " a batch leaves\n  nothing for the next, finish_run; no Prefect flow, task runner or"
        " server, no text processing).\n  Its process figures include interpreter start and"
        f" `import flows.crawl_steps` ({inside['import_s']:.2f} s).\n  Crawl alone:"
        f" {inside['crawl_wall_s']:.2f} s wall, {inside['crawl_pages_per_s']:.1f} pages/s,"
        f" {inside['crawl_cpu_ms_per_page']:.2f} CPU ms/page."
    )
    print(f"  warcflow outcomes: {inside['outcomes']}")
    print(
        "  pages = HTTP 200 text/html responses in the WARC; responses also count robots.txt"
        f" (wget {wg['warc']['robots']}, warcflow {wf['warc']['robots']}) and, for wget, the"
        " stylesheet it fetches as a page requisite."
    )
    if len(wf["runs_wall_s"]) > 1:
        print(f"  wall s of every run: wget {wg['runs_wall_s']}, warcflow {wf['runs_wall_s']}")
    print(
        f"  warcflow worker processes: summed peak VmRSS {wf.get('tree_rss_mb', 0)} MB,"
        f" summed peak Pss {wf.get('tree_pss_mb', 0)} MB; CPU includes the workers."
    )
    for name, row in (("wget", wg), ("warcflow", wf)):
        if not row["warc"]["valid"]:
            print(f"  warcio check FAILED for {name}: {row['warc']['check_message']}")


def print_efficiency(s: dict[str, Any]) -> None:
    site = s["site"]
    title = (
        f"\nScenario 1: efficiency. {site['pages']} pages ({site['html_mb']} MB HTML, gzip on,"
        f" ~{site['links_per_page']} links/page) on one host; robots on, politeness off"
        f" (no delay, warcflow {site.get('host_connections', 1)} requests at once)"
    )
    print(comparison_table(title, s))
    print_notes(s)
    processing = s["warcflow_with_processing"]
    if processing:
        print(
            "  warcflow through crawl_run, text processing included (one run):"
            f" {processing['wall_s']:.1f} s wall, {processing['cpu_s']:.1f} CPU s,"
            f" {processing['peak_rss_mb']:.0f} MB peak RSS."
        )
    if s["profile_top"]:
        print(
            f"\n  cProfile of a separate warcflow crawl (by own time; all of it in {PROFILE_OUT}):"
        )
        for line in s["profile_top"]:
            print("   " + line)


def print_real_web(s: dict[str, Any]) -> None:
    site = s["site"]
    title = (
        f"\nScenario 2: real-web shape. {site['hosts']} hosts x {site['pages_per_host']} pages,"
        f" every response takes {int(site['response_delay_s'] * 1000)} ms; warcflow polite"
        f" (1 request per host at a time, delay 0, max_hosts {site['warcflow_max_hosts']})"
    )
    print(comparison_table(title, s))
    parallel = min(site["hosts"], site["warcflow_max_hosts"])
    print(
        f"  upper bounds: {site['ideal_sequential_pages_per_s']} pages/s one request at a time,"
        f" {site['ideal_parallel_pages_per_s']} pages/s with {parallel} hosts in parallel."
    )
    print_notes(s)


def print_memory(s: dict[str, Any]) -> None:
    n, hubs = s["frontier_urls"], s["hub_pages"]
    labels = [
        ("wget", "wget, one page (baseline)"),
        ("one_page", "warcflow, one page"),
        ("hubs", f"warcflow, {hubs} pages x {s['hub_links']:,}"),
        ("twenty_links", "warcflow, 20-link page"),
    ]
    head = ["crawl", "frontier URLs", "max_pages", "fetched", "wall s", "CPU s", "peak RSS MB"]
    rows: list[list[Any]] = []
    for key, label in labels:
        r = s[key]
        cells = [r["frontier_urls"], r.get("max_pages"), r["fetched"], r["wall_s"], r["cpu_s"]]
        rows.append([label, *cells, r["peak_rss_mb"]])
    ratio_rss = s["ratio_warcflow_over_wget"]["peak_rss"]
    rows.append(["warcflow/wget, one page", None, None, None, None, None, ratio_rss])
    print(
        table(
            f"\nScenario 3: memory. {n:,} URLs in the frontier, from one {s['page_mb']} MB page"
            f" or from {hubs} hub pages; each crawl stops soon after (max_pages)",
            head,
            rows,
        )
    )
    print(
        "  warcflow peak RSS is the larger of the crawl process's VmHWM and the summed VmRSS"
        " of it and its worker\n  processes (pages a fork shares counted once per process);"
        " summed Pss (shared pages split):"
        + "".join(
            f" {label} {s[key].get('tree_pss_mb', 0)} MB;"
            for key, label in (("one_page", "one page"), ("hubs", "hubs"))
        )
    )
    over = s["over_twenty_links_mb"]
    print(
        f"  peak RSS above the 20-link crawl: {over['one_page']} MB with the {n:,} URLs on one"
        f" page, {over['hubs']} MB with them spread over {hubs} pages.\n  The warcflow process"
        " floor includes Python, the crawler's imports and lxml. wget stops"
        " by --quota\n  after the big page, its queue holding the page's links. Peak RSS is"
        " VmHWM; wait4's ru_maxrss would include\n  this script's own RSS at spawn time."
    )


# -- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="warcflow vs GNU wget --recursive --warc-file, local sites."
    )
    p.add_argument("--pages", type=int, default=None, help="scenario 1 site size (default 2000)")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--hosts", type=int, default=None, help="scenario 2 hosts (default 20, max 250)")
    p.add_argument(
        "--per-host", type=int, default=None, help="scenario 2 pages per host (default 30)"
    )
    p.add_argument("--frontier", type=int, default=None, help="scenario 3 URLs (default 100000)")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated sites")
    p.add_argument(
        "--only", choices=["1", "2", "3"], action="append", help="run only these scenarios"
    )
    p.add_argument(
        "--profile", action="store_true", help="also cProfile a warcflow crawl of scenario 1"
    )
    p.add_argument(
        "--repeat", type=int, default=1, help="runs per tool in scenarios 1-2; the median is shown"
    )
    p.add_argument(
        "--with-processing",
        action="store_true",
        help="also time scenario 1 through crawl_run, text processing included",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="warcflow's worker processes (default: its own, one per core)",
    )
    p.add_argument(
        "--host-connections",
        type=int,
        default=None,
        help="scenario 1: warcflow's requests at once to the host (default 12 per worker)",
    )
    p.add_argument("--tmpdir", type=Path, default=None, help="where the sites and crawls go")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = p.parse_args(argv)
    quick = args.quick
    args.pages = args.pages or (200 if quick else 2000)
    args.hosts = args.hosts or (5 if quick else 20)
    args.per_host = args.per_host or (10 if quick else 30)
    args.frontier = args.frontier or (10_000 if quick else 100_000)
    if not 1 <= args.hosts <= 250:
        p.error("--hosts must be 1..250")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def check_tools() -> None:
    missing = []
    if not NGINX.exists():
        missing.append(f"{NGINX} not found: install nginx with `apt-get install -y nginx`")
    if not WGET.exists():
        missing.append(f"{WGET} not found: install GNU wget with `apt-get install -y wget`")
    if not WARCIO.exists():
        missing.append(f"{WARCIO} not found: run this with the project's venv (.venv/bin/python)")
    if missing:
        sys.exit("\n".join(missing))


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def source_digest() -> str:
    """A digest of warcflow's Python sources, to tell which code a result file measured."""
    digest = hashlib.sha256()
    for package in ("archive", "crawler", "extractors", "flows"):
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def main(argv: list[str]) -> None:
    if argv[:1] == ["_crawl"]:
        crawl_in_child(Path(argv[1]))
        return
    if argv[:1] == ["_slow-server"]:
        serve_slow(Path(argv[1]))
        return
    args = parse_args(argv)
    check_tools()
    signal.signal(signal.SIGTERM, _exit_on_signal)  # so servers are stopped, tmp removed
    scenarios = set(args.only or ["1", "2", "3"])
    tmp = Path(tempfile.mkdtemp(prefix="warcflow-bench-", dir=args.tmpdir))
    results: dict[str, Any] = {"python": sys.executable, "argv": argv}
    try:
        results["machine"] = machine_info(tmp)
        m = results["machine"]
        print(
            f"machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['platform']}\n"
            f"python {m['python']}, warcflow {m['warcflow']} (sources"
            f" {m['warcflow_source_sha256']}), {m['wget']}, nginx {m['nginx']}\n"
            f"work dir {m['tmp_dir']} ({m['tmp_fs']}); seed {args.seed}; runs per tool"
            f" {args.repeat}; load average {m['load_average'][0]:.2f}"
        )
        if m["load_average"][0] > 0.5:
            print("warning: the machine is busy; other processes share the CPUs with the crawlers")
        started = time.perf_counter()
        if "1" in scenarios:
            results["efficiency"] = scenario_efficiency(
                tmp,
                args.pages,
                args.seed,
                args.repeat,
                args.profile,
                args.with_processing,
                args.workers,
                args.host_connections,
            )
            print_efficiency(results["efficiency"])
        if "2" in scenarios:
            results["real_web"] = scenario_real_web(
                tmp, args.hosts, args.per_host, args.seed, args.repeat, args.workers
            )
            print_real_web(results["real_web"])
        if "3" in scenarios:
            results["memory"] = scenario_memory(tmp, args.frontier, 4, args.workers)
            print_memory(results["memory"])
        results["bench_seconds"] = round(time.perf_counter() - started, 1)
    finally:
        if args.keep:
            print(f"\nkept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {args.out} ({results['bench_seconds']} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
