"""A loopback HTTP server for the fetch tests and benchmark: zips with Range, ETag, rate limits and injected faults.

In a test::

    with ZipServer() as server:
        server.files["/mirror/0.zip"] = data
        server.faults["/mirror/0.zip"] = [Drop(after=1000)]   # consumed one request at a time
        fetch from server.url + "/mirror"

As a process (benchmarks/fetch.py), serving FOLDER/<name> at /<name> until killed::

    python tests/support/http_server.py FOLDER [--rate BYTES_PER_SECOND_PER_CONNECTION]   # prints its base URL
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

SEND_CHUNK = 64 << 10
ACCESS_DENIED = (
    b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Access denied.</Message></Error>"
)


@dataclass(frozen=True)
class Status:
    """Answer one request with this status (and headers) instead of the file."""

    code: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Drop:
    """Announce the whole body, send ``after`` bytes of it, then cut the connection."""

    after: int


@dataclass(frozen=True)
class Logged:
    """One request as the server saw it."""

    method: str
    path: str
    range: str | None
    status: int


class ZipServer:
    """A ThreadingHTTPServer on 127.0.0.1 with an ephemeral port, started and stopped as a context manager."""

    def __init__(self, folder: Path | None = None, rate: float | None = None):
        self.files: dict[str, bytes] = {}
        self.folder = folder
        self.rate = rate  # bytes per second per connection; None: as fast as possible
        self.faults: dict[str, list[Status | Drop]] = {}
        self.ignore_range: set[str] = set()
        self.closed_prefixes: dict[str, int] = {}  # e.g. {"/upstream/": 403}: every path below answers that
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ZipServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def gets(self, path: str) -> list[Logged]:
        """The GET requests for ``path``, in order."""
        with self._lock:
            return [entry for entry in self.log if entry.method == "GET" and entry.path == path]

    def _record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)

    def _next_fault(self, path: str) -> Status | Drop | None:
        with self._lock:
            queue = self.faults.get(path)
            return queue.pop(0) if queue else None

    def _content(self, path: str) -> tuple[bytes | Path, int, str] | None:
        """(bytes or file, size, ETag) of ``path``, or ``None``."""
        if path in self.files:
            data = self.files[path]
            return data, len(data), '"' + hashlib.sha1(data).hexdigest() + '"'
        if self.folder is not None:
            file = self.folder / Path(path).name
            if file.is_file():
                info = file.stat()
                return file, info.st_size, f'"{info.st_size:x}-{info.st_mtime_ns:x}"'
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """Clients that hang up (dropped on purpose, or closing a kept-alive connection) are no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers

    def log_message(self, format, *args) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _answer(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self, head: bool) -> None:
        owner: ZipServer = self.server.owner  # type: ignore[attr-defined]
        path = urlparse(self.path).path
        range_header = self.headers.get("Range")
        fault = owner._next_fault(path)
        for prefix, code in owner.closed_prefixes.items():
            if path.startswith(prefix):
                fault = Status(code)
        if isinstance(fault, Status):
            owner._record(Logged(self.command, path, range_header, fault.code))
            body = ACCESS_DENIED if fault.code == 403 else f"status {fault.code}".encode()
            self._answer(fault.code, body, fault.headers)
            return
        content = owner._content(path)
        if content is None:
            owner._record(Logged(self.command, path, range_header, 404))
            self._answer(404, b"not found")
            return
        data, size, etag = content
        start, end, code = 0, size - 1, 200
        if_range = self.headers.get("If-Range")
        match = re.match(r"^bytes=(\d+)-(\d*)$", range_header or "")
        if match and path not in owner.ignore_range and (if_range is None or if_range == etag):
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
            if start >= size:
                owner._record(Logged(self.command, path, range_header, 416))
                self._answer(416, b"", {"Content-Range": f"bytes */{size}"})
                return
            code = 206
        owner._record(Logged(self.command, path, range_header, code))
        self.send_response(code)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(0, usegmt=True))
        if code == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return
        count = end - start + 1
        if isinstance(fault, Drop):
            count = min(count, fault.after)
        try:
            self._send(data, start, count, owner.rate)
        except ConnectionError:
            self.close_connection = True
            return
        if isinstance(fault, Drop):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, data: bytes | Path, start: int, count: int, rate: float | None) -> None:
        """Send ``count`` bytes from ``start``, at most ``rate`` bytes per second on this connection."""
        with open(data, "rb") if isinstance(data, Path) else io.BytesIO(data) as handle:
            if rate is None and isinstance(data, Path):
                self.connection.sendfile(handle, start, count)
                return
            handle.seek(start)
            began, sent = time.perf_counter(), 0
            while sent < count:
                chunk = handle.read(min(SEND_CHUNK, count - sent))
                self.wfile.write(chunk)
                sent += len(chunk)
                if rate:
                    ahead = sent / rate - (time.perf_counter() - began)
                    if ahead > 0:
                        time.sleep(ahead)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve FOLDER/<name> at /<name> on 127.0.0.1 until killed.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--rate", type=float, default=None, help="Bytes per second per connection.")
    args = parser.parse_args()
    server = ZipServer(folder=args.folder, rate=args.rate)
    print(server.url, flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
