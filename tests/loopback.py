"""A tiny HTTP/1.1 server on 127.0.0.1 for tests: routes are plain functions.

Every request path is logged, so a test can prove what was (never) fetched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    delay: float = 0.0  # before headers
    drip: float = 0.0  # seconds between body chunks (slow responses)


Route = Callable[["Request"], Reply]


@dataclass
class Request:
    path: str
    headers: dict[str, str]


def html(body: str, status: int = 200, **headers: str) -> Reply:
    return Reply(
        status, body.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8", **headers}
    )


class LoopbackSite:
    def __init__(self, routes: dict[str, Route | Reply] | None = None) -> None:
        self.routes: dict[str, Route | Reply] = dict(routes or {})
        self.log: list[str] = []
        self.request_headers: list[dict[str, str]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.log.append(self.path)
                site.request_headers.append(dict(self.headers))
                route = site.routes.get(self.path)
                if route is None:
                    reply = Reply(404, b"not found", {"Content-Type": "text/plain"})
                elif isinstance(route, Reply):
                    reply = route
                else:
                    reply = route(Request(self.path, dict(self.headers)))
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                try:
                    if reply.chunked:
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        for start in range(0, len(reply.body), 1000):
                            piece = reply.body[start : start + 1000]
                            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                            if reply.drip:
                                self.wfile.flush()
                                time.sleep(reply.drip)
                        self.wfile.write(b"0\r\n\r\n")
                    else:
                        self.send_header("Content-Length", str(len(reply.body)))
                        self.end_headers()
                        if reply.drip:
                            for start in range(0, len(reply.body), 100):
                                self.wfile.write(reply.body[start : start + 100])
                                self.wfile.flush()
                                time.sleep(reply.drip)
                        else:
                            self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> LoopbackSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
