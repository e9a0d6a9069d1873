"""The bundled sample sites, served on 127.0.0.1 for `warcflow demo` and the tests.

Each folder in `flows/demo/sites/` is one site on its own port. `{{BASE}}` in
robots.txt and sitemaps becomes the site's base URL. HTML is gzip-encoded when the
client accepts it, so the archive shows Content-Encoding kept as received.
"""

from __future__ import annotations

import gzip
import mimetypes
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

SITES_DIR = Path(__file__).parent / "demo" / "sites"
PREFERRED_PORT = 47801  # stable ports let a second demo run show revisit records
TEMPLATED = (".txt", ".xml")


def _handler(root: Path, base: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "warcflow-demo"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            target = (root / path.lstrip("/")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if root.resolve() not in target.parents or not target.is_file():
                self._reply(404, b"<h1>404 Not Found</h1>", "text/html; charset=utf-8")
                return
            body = target.read_bytes()
            if target.suffix in TEMPLATED:
                body = body.replace(b"{{BASE}}", base[0].encode())
            ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if ctype == "text/plain":
                ctype += "; charset=utf-8"
            self._reply(200, body, ctype)

        def _reply(self, status: int, body: bytes, ctype: str) -> None:
            gzipped = "gzip" in (self.headers.get("Accept-Encoding") or "") and ctype.startswith(
                "text/html"
            )
            if gzipped:
                body = gzip.compress(body, mtime=0)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if gzipped:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class DemoSites:
    """Context manager: start every sample site, expose their base URLs, stop them."""

    def __init__(self, sites_dir: Path = SITES_DIR, preferred_port: int | None = PREFERRED_PORT):
        self.sites_dir = sites_dir
        self.preferred_port = preferred_port
        self.bases: dict[str, str] = {}
        self._servers: list[ThreadingHTTPServer] = []

    def site_names(self) -> list[str]:
        return sorted(p.name for p in self.sites_dir.iterdir() if (p / "index.html").exists())

    def __enter__(self) -> DemoSites:
        for i, name in enumerate(self.site_names()):
            base: list[str] = [""]
            server = self._bind(self.sites_dir / name, base, i)
            host, port = server.server_address[:2]
            base[0] = f"http://{host}:{port}"
            self.bases[name] = base[0]
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)
        return self

    def _bind(self, root: Path, base: list[str], index: int) -> ThreadingHTTPServer:
        if self.preferred_port:
            try:
                return ThreadingHTTPServer(
                    ("127.0.0.1", self.preferred_port + index), _handler(root, base)
                )
            except OSError:
                pass
        return ThreadingHTTPServer(("127.0.0.1", 0), _handler(root, base))

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def sources(self) -> list[dict[str, object]]:
        """One crawl source per site: its home page and, where it has one, its sitemap."""
        out = []
        for name, base in self.bases.items():
            meta_file = self.sites_dir / name / "site.toml"
            meta = tomllib.loads(meta_file.read_text("utf-8")) if meta_file.exists() else {}
            sitemaps = (
                [f"{base}/sitemap.xml"] if (self.sites_dir / name / "sitemap.xml").exists() else []
            )
            out.append(
                {
                    "name": str(meta.get("name", name)),
                    "seeds": [f"{base}/"],
                    "sitemaps": sitemaps,
                }
            )
        return out
