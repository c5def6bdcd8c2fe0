"""requests sessions for strangers' servers: every connection a transfer opens is cut at its deadline, and
urllib3's own log lines are redacted.

A per-read timeout never ends a server that trickles a byte now and then, in the headers as in the body:
``cut_at_deadline`` puts every socket that starts reading an answer on this thread under a timer that shuts it
down at the deadline, which wakes the blocked read. ``new_session`` mounts the adapter that does so.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from vae_passive.zoo.sources import redact_text


class _RedactRecords(logging.Filter):
    """urllib3 logs some faults itself (``Failed to parse headers (url=...)`` with the server's bytes and a
    traceback): keep the line, redacted and printable, without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(record.getMessage()), ()
        record.exc_info = record.exc_text = None
        return True


for _name in ("urllib3.connection", "urllib3.connectionpool", "urllib3.response", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_RedactRecords())


class _Watch:
    """What one transfer's requests read from, all cut at its deadline (``time.monotonic``): shutting a socket
    down wakes a read blocked on a server that trickles its headers or body a byte now and then, which no
    per-read timeout would ever end."""

    _current = threading.local()  # the watch of the transfer running on this thread, if any

    def __init__(self, deadline: float):
        self._cuts: list[Callable[[], None]] = []
        self._fired = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    def add(self, cut: Callable[[], None]) -> None:
        with self._lock:
            self._cuts.append(cut)
            if not self._fired:
                return
        cut()

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            cuts = list(self._cuts)
        for cut in cuts:
            with suppress(Exception):  # a connection already closed, or closing under our feet
                cut()

    @classmethod
    def register(cls, cut: Callable[[], None]) -> None:
        """Put ``cut`` under the current thread's watch, if there is one."""
        watch = getattr(cls._current, "watch", None)
        if watch is not None:
            watch.add(cut)


def _shut(sock: socket.socket | None) -> None:
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def watch_response(response: requests.Response) -> None:
    """Cut ``response`` too at the current deadline: its body, whatever connection class (a SOCKS proxy's)
    carries it."""

    def cut() -> None:
        try:
            response.raw.shutdown()  # urllib3 >= 2.3
        except (AttributeError, OSError, RuntimeError, ValueError):
            response.close()

    _Watch.register(cut)


@contextmanager
def cut_at_deadline(deadline: float) -> Iterator[None]:
    """Every request made on this thread inside the block is cut at ``deadline``: connection, headers, body."""
    watch = _Watch(deadline)
    outer = getattr(_Watch._current, "watch", None)
    _Watch._current.watch = watch
    watch._timer.start()
    try:
        yield
    finally:
        watch._timer.cancel()
        _Watch._current.watch = outer


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self, *args, **kwargs):
        _Watch.register(functools.partial(_shut, self.sock))
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args, **kwargs):
        _Watch.register(functools.partial(_shut, self.sock))
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


# urllib3's messages name the pool and connection classes ("HTTPConnectionPool(host=...): Max retries ..."):
# these keep the names users know.
for _watched in (_WatchedHTTPConnection, _WatchedHTTPSConnection, _WatchedHTTPPool, _WatchedHTTPSPool):
    _watched.__name__ = _watched.__qualname__ = _watched.__mro__[1].__name__


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections put their socket under the thread's ``cut_at_deadline`` watch, direct
    or through an HTTP(S) proxy (``HTTPS_PROXY``); a SOCKS proxy keeps its own connections, which are not cut."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager


def new_session(headers: dict[str, str]) -> requests.Session:
    """A session with ``headers`` whose connections are cut at the deadline of the transfer using them."""
    session = requests.Session()
    session.headers.update(headers)
    adapter = _WatchedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
