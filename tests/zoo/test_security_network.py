"""Hostile mirrors on the network side: no token in any message or file, no deadline a server can dodge, optional
files that are not what they claim, soft 404s, trained models through folder mirrors, escapes in a server's
words, redirects to other hosts, and one cause as one group in `fetch`'s summary. Loopback servers only, each
test bounded in time.
"""

from __future__ import annotations

import hashlib
import json
import socket
import socketserver
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from support.http_server import Status, ZipServer
from test_security_fetch import model_zip, module_members, visible_models

from vae_passive import home
from vae_passive.analysis import runner
from vae_passive.errors import VaePassiveError
from vae_passive.zoo import fetcher as fetcher_module
from vae_passive.zoo.cache import read_manifest
from vae_passive.zoo.fetcher import Fetcher, ensure_model
from vae_passive.zoo.limits import DEADLINE_ENV, RETRY_BASE_ENV, RetryPolicy
from vae_passive.zoo.mirror import verify_mirror
from vae_passive.zoo.mirror_index import INDEX_FILE, SUMS_FILE, IndexEntry, content_digest, render_index
from vae_passive.zoo.origin import Origin, model_origin
from vae_passive.zoo.progress import Progress
from vae_passive.zoo.sources import (
    CLOSED_BUCKET_HELP,
    OFFLINE_ENV,
    UPSTREAM_ENV,
    parse_source,
    redact_text,
    redact_url,
    redirect_problem,
)

SECRET = "Zq9SECRETtoken7"


@pytest.fixture(autouse=True)
def fast_and_local(monkeypatch):
    monkeypatch.setenv(RETRY_BASE_ENV, "0.01")
    monkeypatch.setenv(UPSTREAM_ENV, "http://127.0.0.1:9/upstream")  # a closed port, never the real bucket
    monkeypatch.delenv(OFFLINE_ENV, raising=False)
    monkeypatch.delenv(DEADLINE_ENV, raising=False)


class Warnings(Progress):
    def __init__(self):
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)


def sums_of(files: dict[str, bytes]) -> bytes:
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items()).encode()


# --- A. tokens -----------------------------------------------------------------------------------------------


def test_every_query_value_is_redacted_in_the_manifest_and_cache_ls(cli):
    with ZipServer() as server:
        server.files["/zoo/0.zip"] = model_zip(0)
        mirror = f"{server.url}/zoo?api_key={SECRET}&X-Amz-Credential=AKIA{SECRET}"
        result = cli("fetch", "--ids", "0", "--mirror", mirror)
        assert result.exit_code == 0, result.stderr
    assert read_manifest(home.model_dir(0))["source"] == f"{server.url}/zoo/0.zip?api_key=***&X-Amz-Credential=***"
    for args in (("cache", "ls"), ("cache", "ls", "--json")):
        listing = cli(*args).stdout
        assert SECRET not in listing and "api_key=***" in listing


def test_library_error_texts_are_redacted():
    """urllib3 quotes the URL's path and query without a scheme; requests may quote user:pass@host."""
    urllib3_text = (
        "HTTPSConnectionPool(host='h', port=1): Max retries exceeded with url: /zoo/SHA256SUMS?token=abc&x=1 "
        "(Caused by SSLError(SSLError(1, '[SSL] wrong version number')))"
    )
    shown = redact_text(urllib3_text)
    assert "abc" not in shown and "url: /zoo/SHA256SUMS?token=***&x=*** (Caused by" in shown
    assert redact_text("proxy alice:pw4@proxy.example:3128 refused") == "proxy ***@proxy.example:3128 refused"
    redact_url(f"https://host/zoo?sig={SECRET}")  # a URL once redacted: its secret is known from now on
    assert redact_text(f"the server said {SECRET}!") == "the server said ***!"


@contextmanager
def full_backlog() -> Iterator[int]:
    """A loopback port whose accept queue is full: connecting to it times out (Linux drops the SYN)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    try:
        yield port
    finally:
        for sock in (*fillers, listener):
            sock.close()


def test_tokens_stay_out_of_messages_and_error_json_on_tls_and_connect_failures(cli, tmp_path):
    with ZipServer() as plain:  # https:// against a plain-HTTP server: urllib3's SSLError quotes the URL
        tls_mirror = plain.url.replace("http://", "https://") + f"/zoo?token={SECRET}"
        result = cli("fetch", "--ids", "0", "--mirror", tls_mirror)
        assert result.exit_code == 1 and "SHA256SUMS?token=***" in result.stderr
        assert SECRET not in result.output
        with pytest.raises(VaePassiveError) as raised:
            ensure_model(1, [tls_mirror])
    runner.write_error(tmp_path, "1", 1, str(raised.value), None)
    stored = (tmp_path / "1" / "error.json").read_text()
    assert SECRET not in str(raised.value) and SECRET not in stored and "token=***" in stored

    with full_backlog() as port:  # a connect timeout quotes the URL too
        source = parse_source(f"http://127.0.0.1:{port}/zoo?token={SECRET}")
        with Fetcher([source], workers=1, timeout=(0.3, 0.3), policy=RetryPolicy(attempts=1)) as fetcher:
            outcome = fetcher.fetch_one(2)
    assert outcome.status == "failed" and "(connect timeout=0.3)" in outcome.reason
    assert "HTTPConnectionPool(host='127.0.0.1'" in outcome.reason  # urllib3's words, with its own class names
    assert SECRET not in outcome.reason and "url: /zoo/SHA256SUMS?token=*** (Caused by" in outcome.reason


# --- B. deadlines ------------------------------------------------------------------------------------------


class _Trickle(socketserver.BaseRequestHandler):
    """Answers every request with a status line, then one header byte every 50 ms, for at most 10 s."""

    def handle(self) -> None:
        self.request.recv(65536)
        try:
            self.request.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(200):
                self.request.sendall(b"X")
                time.sleep(0.05)
        except OSError:
            pass


@contextmanager
def trickling_server() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("what", ["zip", "SHA256SUMS"])
def test_a_server_that_trickles_its_headers_meets_the_deadline(monkeypatch, caplog, what):
    monkeypatch.setenv(DEADLINE_ENV, "0.5")
    with trickling_server() as url:
        began = time.perf_counter()
        source = parse_source(f"{url}/zoo?token={SECRET}")
        with Fetcher([source], workers=1) as fetcher:
            if what == "zip":  # the mirror's files are known (none): straight to the zip
                fetcher._meta[source.location] = fetcher_module.MirrorFiles()
            outcome = fetcher.fetch_one(0)
        elapsed = time.perf_counter() - began
    assert elapsed < 4, elapsed  # the per-read timeout is 60 s: only the deadline ends this
    assert outcome.status == "failed" and "took longer than 0.5 s" in outcome.reason
    if what == "SHA256SUMS":
        assert "reading its SHA256SUMS" in outcome.reason
    # urllib3 logs the cut headers itself, URL included: redacted, with no traceback of the server's bytes
    assert "Failed to parse headers" in caplog.text and "token=***" in caplog.text
    assert SECRET not in caplog.text and "Traceback" not in caplog.text


def test_the_deadline_holds_through_an_http_proxy(monkeypatch):
    monkeypatch.setenv(DEADLINE_ENV, "0.5")
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with trickling_server() as proxy:  # every request through it trickles its answer's headers
        monkeypatch.setenv("HTTP_PROXY", proxy)
        began = time.perf_counter()
        with Fetcher([parse_source("http://zoo-mirror.invalid/zoo")], workers=1) as fetcher:
            outcome = fetcher.fetch_one(0)
        elapsed = time.perf_counter() - began
    assert elapsed < 4, elapsed
    assert outcome.status == "failed" and "took longer than 0.5 s" in outcome.reason


# --- C. optional files that are not what they claim; soft 404s -------------------------------------------------

PAGE = b"<!DOCTYPE html><html><body>Welcome to our lab</body></html>"


@contextmanager
def soft_404_server(**files: bytes) -> Iterator[ZipServer]:
    """A static host that answers 200 with its home page for every path it does not have."""
    with ZipServer() as server:
        server.files.update({f"/zoo/{name}": data for name, data in files.items()})
        original = server._content

        def content(path: str):
            return original(path) or (PAGE, len(PAGE), '"page"')

        server._content = content  # type: ignore[method-assign]
        yield server


def test_a_soft_404_host_serves_what_it_has_and_names_what_it_does_not():
    with soft_404_server(**{"0.zip": model_zip(0)}) as server:
        progress = Warnings()
        with Fetcher([parse_source(server.url + "/zoo")], workers=2, progress=progress) as fetcher:
            zero, one = fetcher.fetch([0, 1])
    assert zero.status == "fetched", zero.reason
    assert one.status == "failed" and "1.zip is an HTML page, not a zip: the host answers 200 with a page" in one.reason
    assert len(progress.warnings) == 2  # one per file, not one per model
    assert (
        "its SHA256SUMS is not one, so it is not used: line 1 is not `<sha256>  <name>` (an HTML page)"
        in (progress.warnings[0])
    )
    assert "its index.json is not one, so it is not used: it is not JSON (an HTML page" in progress.warnings[1]
    assert visible_models() == ["0"]


def test_a_host_that_answers_404_needs_no_warning():
    with ZipServer() as server:
        server.files["/zoo/0.zip"] = model_zip(0)
        progress = Warnings()
        with Fetcher([parse_source(server.url + "/zoo")], workers=1, progress=progress) as fetcher:
            zero, one = fetcher.fetch([0, 1])
    assert zero.status == "fetched" and one.status == "failed" and "HTTP 404" in one.reason
    assert progress.warnings == []


@pytest.mark.parametrize(
    ("sums", "warning"),
    [
        (b"this is not a checksum list\n", "line 1 is not `<sha256>  <name>`"),
        (f"{'a' * 64}\t0.zip\n".encode(), "line 1 is not `<sha256>  <name>`"),  # tab-separated
        (b"\xff\xfe\x00binary", "it is not UTF-8 text"),
    ],
    ids=["junk", "tab-separated", "binary"],
)
def test_a_sha256sums_that_is_not_one_is_ignored_with_one_warning(cli, sums, warning):
    with ZipServer() as server:
        server.files["/zoo/0.zip"] = model_zip(0)
        server.files["/zoo/SHA256SUMS"] = sums
        result = cli("fetch", "--ids", "0", "--mirror", server.url + "/zoo")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("warning:") == 1 and "SHA256SUMS is not one" in result.stderr
    assert warning in result.stderr


def test_an_oversized_listing_is_ignored(monkeypatch):
    monkeypatch.setattr(fetcher_module, "METADATA_MAX_BYTES", 100)
    with ZipServer() as server:
        server.files["/zoo/0.zip"] = model_zip(0)
        server.files["/zoo/SHA256SUMS"] = sums_of({"0.zip": b"other"}) * 10  # 880 bytes, over the cap
        progress = Warnings()
        with Fetcher([parse_source(server.url + "/zoo")], workers=1, progress=progress) as fetcher:
            outcome = fetcher.fetch_one(0)
    assert outcome.status == "fetched" and "larger than 100 B" in progress.warnings[0]


def test_a_sha256sums_with_conflicting_lines_refuses_the_mirror():
    """It is a SHA256SUMS, but which line is right? Neither the first nor the last may win."""
    good = model_zip(0)
    with ZipServer() as server:
        server.files["/zoo/0.zip"] = good
        server.files["/zoo/SHA256SUMS"] = sums_of({"0.zip": b"tampered"}) + sums_of({"0.zip": good})
        with Fetcher([parse_source(server.url + "/zoo")], workers=1) as fetcher:
            outcome = fetcher.fetch_one(0)
        assert server.gets("/zoo/0.zip") == []
    assert outcome.status == "failed"
    assert "its SHA256SUMS cannot be used: it lists '0.zip' twice with different sha256" in outcome.reason
    duplicate = sums_of({"0.zip": good}) * 2  # the same line twice is no conflict
    with ZipServer() as server:
        server.files["/zoo/0.zip"] = good
        server.files["/zoo/SHA256SUMS"] = duplicate
        with Fetcher([parse_source(server.url + "/zoo")], workers=1) as fetcher:
            assert fetcher.fetch_one(0).status == "fetched"


# --- D, E. index entries: trained marks whatever the form; strings checked at parse time ----------------------


def folder_mirror(tmp_path: Path, model_id: int, origin: Origin, content: str | None = None) -> Path:
    """A folder mirror holding the extracted ``<id>/`` folder and an index.json entry for it."""
    mirror = tmp_path / "mirror"
    crcs = {}
    for name, data in module_members(model_id).items():
        path = mirror / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        crcs[name.split("/", 1)[1]] = (len(data), f"{zlib.crc32(data):08x}")
    digest = content_digest(crcs) if content is None else content
    entry = IndexEntry(model_id, 1000, "0" * 64, origin, digest)
    (mirror / INDEX_FILE).write_text(render_index([entry]))
    return mirror


def test_a_trained_model_keeps_its_mark_through_an_extracted_folder(cli, tmp_path):
    mirror = folder_mirror(tmp_path, 7, Origin("trained", 300, "procedural_dsprites"))
    result = cli("fetch", "--ids", "7", "--mirror", mirror)
    assert result.exit_code == 0, result.stderr
    recorded = read_manifest(home.model_dir(7))["origin"]
    assert recorded == {"kind": "trained", "steps": 300, "data": "procedural_dsprites"}
    assert model_origin(home.model_dir(7)) == Origin("trained", 300, "procedural_dsprites")


def test_an_extracted_folder_that_differs_from_its_index_entry_is_refused(cli, tmp_path):
    mirror = folder_mirror(tmp_path, 7, Origin(), content="1" * 64)
    result = cli("fetch", "--ids", "7", "--mirror", mirror)
    assert result.exit_code == 1 and "differs from what the mirror's index.json lists" in result.stderr
    assert visible_models() == []


@pytest.mark.parametrize("data", ["\ud800", "\x1b[32mfetched\x1b[0m"], ids=["lone-surrogate", "escape"])
def test_index_strings_are_checked_when_parsed(tmp_path, data):
    mirror = folder_mirror(tmp_path, 7, Origin())
    document = json.loads((mirror / INDEX_FILE).read_text())
    document["models"][0]["origin"] = {"kind": "trained", "steps": 3, "data": data}
    (mirror / INDEX_FILE).write_text(json.dumps(document))  # ensure_ascii: the surrogate as \ud800
    with Fetcher([parse_source(str(mirror))], workers=1) as fetcher:
        outcome = fetcher.fetch_one(7)
    assert outcome.status == "failed" and "origin holds a string that is not printable UTF-8 text" in outcome.reason
    assert visible_models() == []


# --- F. a server's words with escape sequences --------------------------------------------------------------


class _EscapingReason(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(65536)
        self.request.sendall(b"HTTP/1.1 404 \x1b[2K\r\x1b[32mfetched 1 (15 MB)\x1b[0m\r\nContent-Length: 0\r\n\r\n")


def test_a_reason_phrase_with_escapes_reaches_no_terminal_raw(cli):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _EscapingReason)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        result = cli("fetch", "--ids", "0", "--mirror", f"http://127.0.0.1:{server.server_address[1]}/zoo")
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\r" not in result.stderr
    assert "HTTP 404 ?[2K ?[32mfetched 1 (15 MB)?[0m (no such zip)" in result.stderr


# --- G. redirects ------------------------------------------------------------------------------------------


def test_redirect_policy():
    public = "https://zoo.example.org/zoo/0.zip"
    assert redirect_problem(public, public, "https://zoo.example.org/cdn/0.zip") is None  # same origin
    assert redirect_problem(public, public, "https://cdn.example.net/0.zip?sig=1") is None  # HTTPS elsewhere
    for target in ("http://cdn.example.net/0.zip", "http://zoo.example.org:8080/0.zip", "ftp://zoo.example.org/0"):
        assert "only HTTPS is followed there" in redirect_problem(public, public, target)
    for private in ("127.0.0.1", "10.1.2.3", "192.168.0.4", "169.254.169.254", "[::1]", "localhost"):
        problem = redirect_problem(public, public, f"https://{private}/0.zip")
        assert "a loopback or private address, from a public mirror" in problem, private
    loopback = "http://127.0.0.1:8000/zoo/0.zip"  # a mirror on this machine may send to its neighbours over HTTPS
    assert redirect_problem(loopback, loopback, "https://127.0.0.1:8443/0.zip") is None
    assert redirect_problem(public, public, "https://user:pw@cdn.example.net/0.zip") is None
    assert "pw" not in redirect_problem(public, public, "http://user:pw@cdn.example.net/0.zip")
    assert "\x1b" not in redirect_problem(public, public, "http://cdn.example.net/\x1b[2J0.zip")


def test_a_redirect_to_another_port_over_http_is_not_followed(cli):
    with ZipServer() as mirror, ZipServer() as elsewhere:
        elsewhere.files["/0.zip"] = model_zip(0)
        mirror.faults["/zoo/0.zip"] = [Status(302, {"Location": f"{elsewhere.url}/0.zip"})]
        result = cli("fetch", "--ids", "0", "--mirror", mirror.url + "/zoo")
        assert elsewhere.gets("/0.zip") == []
    assert result.exit_code == 1
    assert f"redirects to {elsewhere.url}/0.zip, another host or port over http://" in result.stderr


def test_redirects_are_limited():
    with ZipServer() as mirror:
        mirror.faults["/zoo/0.zip"] = [Status(302, {"Location": "/zoo/0.zip"})] * 20
        with Fetcher([parse_source(mirror.url + "/zoo")], workers=1) as fetcher:
            outcome = fetcher.fetch_one(0)
    assert outcome.status == "failed" and "redirects more than 10 times" in outcome.reason


# --- H. fetch's words and --all-listed ------------------------------------------------------------------------


def test_one_cause_is_one_group_and_no_closed_bucket_sentence_without_a_403(cli):
    result = cli("fetch", "--ids", "0-3", "--mirror", "http://zoo-mirror.invalid/zoo", "--workers", "2")
    assert result.exit_code == 1
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed ")]
    assert len(failures) == 1 and failures[0].startswith("failed 0-3: http://zoo-mirror.invalid/zoo: cannot connect")
    assert CLOSED_BUCKET_HELP not in result.stderr


def test_fetch_all_listed(cli, tmp_path):
    mirror = folder_mirror(tmp_path, 7, Origin())
    result = cli("fetch", "--mirror", mirror, "--all-listed", "--json")
    assert result.exit_code == 0, result.stderr
    assert [row["id"] for row in json.loads(result.stdout)] == [7]
    assert visible_models() == ["7"]


def test_fetch_all_listed_needs_an_index(cli, tmp_path):
    (tmp_path / "bare").mkdir()
    result = cli("fetch", "--mirror", tmp_path / "bare", "--all-listed")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"mirror {tmp_path / 'bare'} has no usable index.json, so --all-listed cannot know what it holds" in (
        result.stderr
    )
    result = cli("fetch", "--all-listed")
    assert result.exit_code == 1 and "--all-listed needs a mirror" in result.stderr
    (tmp_path / "bare" / SUMS_FILE).write_text("")
    with soft_404_server() as server:  # an index.json that is an HTML page is no index
        result = cli("fetch", "--mirror", server.url + "/zoo", "--all-listed")
    assert result.exit_code == 1 and "has no usable index.json" in result.stderr


def test_a_manifest_origin_that_is_not_printable_text_loses_its_data_not_its_mark():
    """A cache filled before index strings were checked: the mark stays, the string that would break the
    analysis document goes."""
    assert Origin.from_value({"kind": "trained", "steps": 3, "data": "\ud800"}) == Origin("trained", 3, None)
    assert Origin.from_value({"kind": "trained", "data": "a\x1b[2Jb"}) == Origin("trained", None, None)
    assert Origin.from_value({"kind": "trained", "data": "procedural_dsprites"}).data == "procedural_dsprites"


def test_mirror_verify_names_a_sha256sums_that_fetch_would_not_use(tmp_path):
    (tmp_path / SUMS_FILE).write_text("<!DOCTYPE html><html>page</html>\n")
    assert verify_mirror(tmp_path).problems == [
        "SHA256SUMS cannot be used: line 1 is not `<sha256>  <name>` (an HTML page)"
    ]
    (tmp_path / SUMS_FILE).write_text(f"{'a' * 64}  0.zip\n{'b' * 64}  0.zip\n")
    problems = verify_mirror(tmp_path).problems
    assert problems == ["SHA256SUMS cannot be used: it lists '0.zip' twice with different sha256"]
