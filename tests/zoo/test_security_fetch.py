"""Hostile zips, mirrors and selections: nothing lands outside its folder, nothing grows without bound,
no credential is shown or stored, and an empty selection selects nothing.

The zips here hold a module's file names with tiny payloads (the zoo never loads the module), built per test.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import threading
import time
import warnings
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support import http_server
from support.helpers import one_line_error
from support.http_server import ZipServer

from vae_passive import home
from vae_passive.analysis import runner
from vae_passive.errors import VaePassiveError
from vae_passive.zoo.cache import cache_entry, model_lock, read_manifest
from vae_passive.zoo.checks import MANIFEST, inside
from vae_passive.zoo.download import _sidecar, download
from vae_passive.zoo.fetcher import Fetcher
from vae_passive.zoo.install import _extract, install_zip
from vae_passive.zoo.limits import (
    DEADLINE_ENV,
    MAX_DOWNLOAD_ENV,
    MAX_MODEL_ENV,
    MAX_RATIO_ENV,
    RETRY_BASE_ENV,
    RetryPolicy,
)
from vae_passive.zoo.sources import OFFLINE_ENV, UPSTREAM_ENV, parse_source, redact_text, redact_url


def module_members(model_id: int) -> dict[str, bytes]:
    top = f"{model_id}/model/tfhub/"
    return {
        top + "saved_model.pb": b"graph",
        top + "tfhub_module.pb": b"\x08\x03",
        top + "variables/variables.index": b"index",
        top + "variables/variables.data-00000-of-00001": bytes(range(256)) * 64,
    }


def make_zip(members: dict[str, bytes] | list[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", compression) as archive:
        warnings.simplefilter("ignore")  # "Duplicate name" is what some tests want
        for name, data in members.items() if isinstance(members, dict) else members:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def model_zip(model_id: int, **extra: bytes) -> bytes:
    return make_zip({**module_members(model_id), **extra})


@pytest.fixture(autouse=True)
def fast_and_local(monkeypatch):
    monkeypatch.setenv(RETRY_BASE_ENV, "0.01")
    monkeypatch.setenv(UPSTREAM_ENV, "http://127.0.0.1:9/upstream")
    monkeypatch.delenv(OFFLINE_ENV, raising=False)
    for name in (MAX_DOWNLOAD_ENV, MAX_MODEL_ENV, MAX_RATIO_ENV, DEADLINE_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(monkeypatch):
    """``/mirror/<id>.zip`` for ids 0-5, a closed ``/upstream/``, and every Authorization header received."""
    with ZipServer() as srv:
        for model_id in range(6):
            srv.files[f"/mirror/{model_id}.zip"] = model_zip(model_id)
        srv.closed_prefixes["/upstream/"] = 403
        srv.authorizations = []
        original = http_server._Handler._serve

        def serve(handler, head):
            srv.authorizations.append(handler.headers.get("Authorization"))
            original(handler, head)

        monkeypatch.setattr(http_server._Handler, "_serve", serve)
        monkeypatch.setenv(UPSTREAM_ENV, srv.url + "/upstream")
        yield srv


def visible_models() -> list[str]:
    models = home.models_dir()
    return sorted(p.name for p in models.iterdir() if not p.name.startswith(".")) if models.is_dir() else []


def staging_entries() -> list[str]:
    staging = home.models_dir() / ".staging"
    return sorted(p.name for p in staging.iterdir()) if staging.is_dir() else []


# --- 1. zip-slip -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("5//{outside}/evil.txt", "has an empty or '.' path step"),
        ("5/./model/x", "has an empty or '.' path step"),
        ("5/model/../../evil.txt", "climbs out of its folder with '..'"),
        ("5\\..\\evil.txt", "climbs out of its folder with '..'"),
        ("C:/evil.txt", "has an absolute path"),
    ],
)
def test_import_refuses_members_that_leave_the_model_folder(cli, tmp_path, name, message):
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = name.format(outside=str(outside).lstrip("/"))
    path = tmp_path / "5.zip"
    path.write_bytes(model_zip(5, **{evil: b"pwned"}))
    result = cli("import", path)
    assert result.exit_code == 1
    assert f"zip member {evil!r} {message}" in result.stderr
    assert not list(outside.iterdir()) and visible_models() == []
    assert not [p for p in tmp_path.rglob("evil.txt")]


def test_fetch_refuses_an_empty_path_step_and_writes_nothing_outside(cli, server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = f"5//{str(outside).lstrip('/')}/evil.txt"
    server.files["/mirror/5.zip"] = model_zip(5, **{evil: b"pwned"})
    result = cli("fetch", "--ids", "5", "--mirror", server.url + "/mirror")
    assert result.exit_code == 1
    assert "has an empty or '.' path step" in result.stderr
    assert not list(outside.iterdir()) and visible_models() == [] and staging_entries() == []


def test_duplicate_members_are_refused(tmp_path):
    members = [*module_members(5).items(), ("5/model/tfhub/saved_model.pb", b"other graph")]
    path = tmp_path / "5.zip"
    path.write_bytes(make_zip(members))
    with pytest.raises(VaePassiveError, match=r"'5/model/tfhub/saved_model\.pb' appears twice"):
        install_zip(path, 5, str(path))
    assert visible_models() == []


def test_destinations_are_checked_after_resolving_links(tmp_path):
    root = (tmp_path / "root").resolve()
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    assert inside(root, "model/x") == root / "model/x"
    with pytest.raises(VaePassiveError, match="would land outside"):
        inside(root, "link/evil.txt")


def test_a_manifest_naming_files_outside_the_model_is_not_read(tmp_path):
    path = tmp_path / "5.zip"
    path.write_bytes(model_zip(5))
    install_zip(path, 5, str(path))
    folder = home.model_dir(5)
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    manifest = json.loads((folder / MANIFEST).read_text())
    for name, says in [("../../secret.txt", "climbs out"), (str(secret), "absolute path"), ("a//b", "empty")]:
        hostile = {**manifest, "files": {name: {"size": 9, "crc32": "00000000"}}}
        (folder / MANIFEST).write_text(json.dumps(hostile))
        entry = cache_entry(5, deep=True)
        assert entry.status == "damaged" and says in entry.problem and repr(name) in entry.problem
    (folder / "model" / "link").symlink_to(tmp_path)
    hostile = {**manifest, "files": {"model/link/secret.txt": {"size": 9, "crc32": "00000000"}}}
    (folder / MANIFEST).write_text(json.dumps(hostile))
    assert "lies outside the model folder" in cache_entry(5, deep=True).problem


# --- 3. limits --------------------------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_before_extracting(cli, tmp_path):
    path = tmp_path / "5.zip"
    bomb = "5/model/tfhub/variables/variables.data-00000-of-00001"
    path.write_bytes(make_zip({**module_members(5), bomb: bytes(4 << 20)}, zipfile.ZIP_DEFLATED))
    result = cli("import", path)
    assert result.exit_code == 1
    assert "zip of model 5 would inflate" in result.stderr and MAX_RATIO_ENV in result.stderr
    assert visible_models() == [] and not list((home.models_dir() / ".staging").glob("5.*"))


def test_the_uncompressed_total_is_capped(cli, tmp_path, monkeypatch):
    path = tmp_path / "5.zip"
    path.write_bytes(model_zip(5))
    monkeypatch.setenv(MAX_MODEL_ENV, "1000")
    result = cli("import", path)
    assert result.exit_code == 1
    assert "zip of model 5 would inflate to 16.4 kB, over the limit of 1.0 kB; raise VAE_PASSIVE_MAX_MODEL_BYTES" in (
        result.stderr
    )
    monkeypatch.setenv(MAX_MODEL_ENV, "lots")
    assert "VAE_PASSIVE_MAX_MODEL_BYTES='lots' is not a positive number" in one_line_error(cli("import", path))
    monkeypatch.delenv(MAX_MODEL_ENV)
    assert cli("import", path).exit_code == 0


def understate(data: bytes, name: str, size: int) -> bytes:
    """``data`` with the uncompressed size of ``name`` in the central directory set to ``size``."""
    patched = bytearray(data)
    position = patched.index(b"PK\x01\x02")
    while patched[position + 46 : position + 46 + struct.unpack_from("<H", patched, position + 28)[0]] != name.encode():
        position = patched.index(b"PK\x01\x02", position + 46)
    struct.pack_into("<I", patched, position + 24, size)
    return bytes(patched)


def test_a_member_larger_than_declared_is_refused(tmp_path):
    """A central directory that understates a member's size: refused, never written past the declared size."""
    name = "5/model/tfhub/variables/variables.data-00000-of-00001"
    path = tmp_path / "5.zip"
    path.write_bytes(understate(make_zip({**module_members(5), name: b"a" * 100_000}, zipfile.ZIP_DEFLATED), name, 10))
    with pytest.raises(VaePassiveError, match=r"corrupt zip 5\.zip|inflates past"):
        install_zip(path, 5, str(path))
    assert visible_models() == []

    class Info:
        filename, file_size = name, 10

    class Archive:
        def open(self, info):
            return io.BytesIO(b"a" * 100)

    with pytest.raises(VaePassiveError, match="inflates past the 10 bytes it declares"):
        _extract(Archive(), Info(), tmp_path / "out")
    assert (tmp_path / "out").stat().st_size == 0


def test_a_download_past_the_cap_is_stopped(server, monkeypatch):
    monkeypatch.setenv(MAX_DOWNLOAD_ENV, "5000")
    with Fetcher([parse_source(server.url + "/mirror")], workers=1) as fetcher:
        outcome = fetcher.fetch_one(0)
    assert outcome.status == "failed"
    assert f"{server.url}/mirror/0.zip sends more than 5.0 kB; raise VAE_PASSIVE_MAX_DOWNLOAD_BYTES" in outcome.reason
    assert len(server.gets("/mirror/0.zip")) == 1 and staging_entries() == []


class _Endless(BaseHTTPRequestHandler):
    """Chunked transfer encoding, no Content-Length, far more than any test's cap (stops at 64 MB)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:
        pass

    def do_GET(self) -> None:
        if not self.path.endswith(".zip"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        block = b"z" * 65536
        try:
            for _ in range(1024):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            self.wfile.write(b"0\r\n\r\n")
        except ConnectionError:
            pass


def test_a_chunked_download_without_length_is_capped(monkeypatch):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        monkeypatch.setenv(MAX_DOWNLOAD_ENV, str(1 << 20))
        url = f"http://127.0.0.1:{httpd.server_address[1]}/zoo"
        with Fetcher([parse_source(url)], workers=1) as fetcher:
            outcome = fetcher.fetch_one(3)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert outcome.status == "failed" and "sends more than 1.0 MB" in outcome.reason
    assert staging_entries() == []


def test_every_download_has_a_deadline(server, monkeypatch):
    server.files["/mirror/0.zip"] = model_zip(0) + bytes(1 << 20)  # a trailing megabyte, sent slowly
    server.rate = 50_000
    monkeypatch.setenv(DEADLINE_ENV, "0.5")
    began = time.perf_counter()
    with Fetcher([parse_source(server.url + "/mirror")], workers=1) as fetcher:
        outcome = fetcher.fetch_one(0)
    assert time.perf_counter() - began < 5  # cut at the deadline, not at the end of a blocked read
    assert outcome.status == "failed"
    assert "took longer than 0.5 s; raise VAE_PASSIVE_DOWNLOAD_DEADLINE" in outcome.reason


# --- 4. credentials -----------------------------------------------------------------------------------------


def test_redact_url():
    assert redact_url("https://user:s3cret@host:8/zoo") == "https://***@host:8/zoo"
    assert redact_url("https://token@host/zoo") == "https://***@host/zoo"
    # Every query value, whatever its name: no list of secret names is complete.
    assert redact_url("https://host/f?token=abc&x=1&Sig=z") == "https://host/f?token=***&x=***&Sig=***"
    for name in ("api_key", "apikey", "access_key", "X-Amz-Security-Token", "X-Amz-Credential", "anything"):
        assert redact_url(f"https://host/zoo?{name}=V4LUE&bare") == f"https://host/zoo?{name}=***&***"
    for plain in ("https://host/zoo", "/mnt/zoo", "gs://bucket/zoo"):
        assert redact_url(plain) == plain
    assert redact_text("cannot read http://u:p@h/0.zip: 500") == "cannot read http://***@h/0.zip: 500"


def test_mirror_credentials_are_used_but_never_shown_or_stored(cli, server, tmp_path):
    mirror = server.url.replace("http://", "http://alice:s3cret@") + "/mirror"
    result = cli("fetch", "--ids", "0,42", "--mirror", mirror)
    assert result.exit_code == 1  # 42 is on no source
    assert "s3cret" not in result.output and "http://***@127.0.0.1" in result.stderr
    assert "Basic YWxpY2U6czNjcmV0" in server.authorizations  # alice:s3cret, sent to the server
    manifest = read_manifest(home.model_dir(0))
    assert manifest["source"] == server.url.replace("http://", "http://***@") + "/mirror/0.zip"
    for args in (("cache", "ls"), ("cache", "ls", "--format", "json")):
        listing = cli(*args).stdout
        assert "s3cret" not in listing and "***@" in listing
    dry = cli("fetch", "--ids", "1", "--mirror", mirror, "--dry-run")
    assert "s3cret" not in dry.output and "***@" in dry.stdout
    assert "s3cret" not in one_line_error(cli("fetch", "--ids", "1", "--mirror", "http://a:s3cret@/zoo"))

    part = tmp_path / "1.zip.part"
    download(mirror + "/1.zip", part)  # the resume sidecar stays until the caller discards it
    assert json.loads(_sidecar(part).read_text())["url"] == redact_url(mirror + "/1.zip")


def test_error_json_redacts_urls(tmp_path):
    runner.write_error(tmp_path, "7", 7, "cannot fetch model 7 (http://bob:pw@h/zoo/7.zip: HTTP 500)", None)
    text = (tmp_path / "7" / "error.json").read_text()
    assert "pw" not in text and "http://***@h/zoo/7.zip" in text


# --- 5. empty selections ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["", "  "])
def test_an_empty_ids_selects_nothing(cli, tmp_path, spec):
    path = tmp_path / "5.zip"
    path.write_bytes(model_zip(5))
    assert cli("import", path).exit_code == 0
    for command in (("cache", "rm"), ("cache", "verify"), ("fetch",), ("list",), ("analyze",)):
        line = one_line_error(cli(*command, "--ids", spec))
        assert f"--ids {spec!r} selects nothing; give ids such as 0-99" in line, command
    assert visible_models() == ["5"]


# --- 9. staging, SHA256SUMS ---------------------------------------------------------------------------------


def leave_extraction_folder(model_id: int) -> Path:
    """What an import killed with SIGKILL leaves: a half-extracted ``.staging/<id>.XXXX/<id>/``."""
    folder = home.models_dir() / ".staging" / f"{model_id}.killed" / str(model_id) / "model"
    folder.mkdir(parents=True)
    (folder / "half.bin").write_bytes(bytes(1000))
    return folder.parents[1]


def test_stale_extraction_folders_are_named_and_cleaned(cli, tmp_path):
    for model_id in (5, 6):
        (tmp_path / f"{model_id}.zip").write_bytes(model_zip(model_id))
    assert cli("import", tmp_path / "5.zip").exit_code == 0
    stale_of_cached, stale = leave_extraction_folder(5), leave_extraction_folder(6)
    (home.models_dir() / ".staging" / "4.zip.part").write_bytes(bytes(300))
    listing = cli("cache", "ls").stdout
    assert "partial downloads: 1 file, 300 B" in listing
    assert "extraction folders left by killed runs: 2, 2.0 kB" in listing
    json_listing = json.loads(cli("cache", "ls", "--format", "json").stdout)
    assert json_listing["stale_extraction_bytes"] == 2000 and json_listing["partial_download_bytes"] == 300

    assert cli("import", tmp_path / "6.zip").exit_code == 0  # the holder of 6's lock cleans first
    assert not stale.exists()
    assert "already cached 1" in cli("fetch", "--ids", "5", "--mirror", str(tmp_path)).stdout
    assert not stale_of_cached.exists()  # cached already, and no run holds its lock

    busy = leave_extraction_folder(7)
    leave_extraction_folder(8)
    with model_lock(7):  # a running import of 7
        assert "extractions in progress: 1" in cli("cache", "ls").stdout
        result = cli("cache", "rm", "--partial")
    assert result.stdout.strip() == "removed 2 partial downloads and extraction folders, freed 1.3 kB"
    assert busy.exists() and staging_entries() == ["7.killed"]
    leave_extraction_folder(6)
    assert cli("cache", "rm", "--ids", "6").stdout.startswith("removed 1 model,")
    assert staging_entries() == ["7.killed"]


def sums_for(*entries: tuple[str, bytes]) -> bytes:
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in entries).encode()


def test_sha256sums_of_an_http_mirror(cli, server):
    server.files["/mirror/SHA256SUMS"] = sums_for(
        ("0.zip", server.files["/mirror/0.zip"]), ("1.zip", server.files["/mirror/1.zip"]), ("2.zip", b"other")
    )
    result = cli("fetch", "--ids", "0-3", "--mirror", server.url + "/mirror", "--workers", "4")
    assert result.exit_code == 1
    assert "fetched 3" in result.stdout  # 0 and 1 checked, 3 not listed
    assert "2.zip has sha256 " in result.stderr and "but the mirror's SHA256SUMS says" in result.stderr
    assert visible_models() == ["0", "1", "3"] and staging_entries() == []
    assert len(server.gets("/mirror/SHA256SUMS")) == 1  # once per mirror per run


def test_sha256sums_of_a_folder_mirror_and_a_redacted_mirror(cli, server, tmp_path):
    (tmp_path / "4.zip").write_bytes(model_zip(4))
    (tmp_path / "SHA256SUMS").write_bytes(sums_for(("4.zip", b"something else")))
    result = cli("fetch", "--ids", "4", "--mirror", tmp_path)
    assert result.exit_code == 1 and "4.zip has sha256" in result.stderr and visible_models() == []
    server.files["/mirror/SHA256SUMS"] = b"0" * 64 + b" *./5.zip\n"
    result = cli("fetch", "--ids", "5", "--mirror", server.url.replace("//", "//u:s3cret@") + "/mirror")
    assert result.exit_code == 1 and "SHA256SUMS says 000" in result.stderr and "s3cret" not in result.stderr


def test_a_mirror_whose_sha256sums_fails_is_not_used(server):
    server.faults["/mirror/SHA256SUMS"] = [http_server.Status(500)] * 10
    policy = RetryPolicy(attempts=2, base=0.01)
    with Fetcher([parse_source(server.url + "/mirror")], workers=1, policy=policy) as fetcher:
        first, second = fetcher.fetch([0, 1])
    assert "HTTP 500 Internal Server Error after 2 tries (reading its SHA256SUMS)" in first.reason
    assert first.reason in second.reason
    assert server.gets("/mirror/0.zip") == [] and len(server.gets("/mirror/SHA256SUMS")) == 2
