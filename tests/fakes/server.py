"""A local HTTP server on 127.0.0.1 for tests: routes plus injectable faults (status, timeout, bad JSON)."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list → JSON, str/bytes as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    path: str  # a substring of the request path
    kind: int | str  # an HTTP status, "timeout" or "malformed"
    times: int  # how often it fires; -1 = always
    after: int  # matching requests let through before it fires
    seen: int = 0
    retry_after: str | None = None


class FakeServer:
    """Serve ``routes`` (method, path regex → handler) on a free port of 127.0.0.1 until stopped."""

    def __init__(self, timeout_sleep: float = 1.5) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = []
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.timeout_sleep = timeout_sleep
        self._server: ThreadingHTTPServer | None = None

    def route(self, method: str, pattern: str, handler: Callable[..., Response]) -> None:
        self.routes.append((method, re.compile(pattern + r"/?$"), handler))

    def fail(self, path: str, kind: int | str, times: int = 1, after: int = 0,
             retry_after: str | None = None) -> None:
        self.faults.append(Fault(path, kind, times, after, retry_after=retry_after))

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                                  dict(self.headers), self.rfile.read(length) if length else b"")
                fake.requests.append(request)
                response = fake._fault(request) or fake._dispatch(request)
                if response is None:
                    return
                body = response.body
                if isinstance(body, (dict, list)):
                    body = json.dumps(body)
                data = body.encode() if isinstance(body, str) else (body or b"")
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout faults)
                    pass

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def _fault(self, request: Request) -> Response | None:
        for fault in self.faults:
            if fault.path not in request.path or fault.times == 0:
                continue
            fault.seen += 1
            if fault.seen <= fault.after:
                continue
            fault.times -= 1 if fault.times > 0 else 0
            if fault.kind == "timeout":
                time.sleep(self.timeout_sleep)
                return Response(200, "{}")
            if fault.kind == "malformed":
                return Response(200, '{"truncated": [', {"Content-Type": "application/json"})
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return Response(int(fault.kind), {"error": "injected fault"}, headers)
        return None

    def _dispatch(self, request: Request) -> Response:
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if method == request.method and match:
                return handler(request, **match.groupdict())
        return Response(404, {"error": f"no route for {request.method} {request.path}"})

    def paths(self, contains: str = "") -> list[str]:
        return [r.path for r in self.requests if contains in r.path]
