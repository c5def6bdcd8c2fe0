"""fetch, import and cache against a loopback HTTP server: one test per fault, plus processes killed and racing."""

from __future__ import annotations

import hashlib
import io
import json
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from email.utils import formatdate
from pathlib import Path

import pytest
from support.helpers import one_line_error
from support.http_server import Drop, Status, ZipServer

from vae_passive import home
from vae_passive.errors import VaePassiveError
from vae_passive.zoo import checks
from vae_passive.zoo.cache import cache_entry, read_manifest
from vae_passive.zoo.checks import MANIFEST, check_zip_members
from vae_passive.zoo.fetcher import Fetcher, ensure_model
from vae_passive.zoo.limits import RETRY_BASE_ENV, RetryPolicy, retryable_status
from vae_passive.zoo.progress import Outcome, format_bytes, summarize
from vae_passive.zoo.sources import (
    CLOSED_BUCKET_HELP,
    MIRROR_ENV,
    OFFLINE_ENV,
    UPSTREAM_ENV,
    Source,
    parse_source,
    resolve_sources,
    sources_from_env,
)

# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_and_local(monkeypatch):
    """Short retry delays, and an upstream that is never the real bucket (a closed port)."""
    monkeypatch.setenv(RETRY_BASE_ENV, "0.01")
    monkeypatch.setenv(UPSTREAM_ENV, "http://127.0.0.1:9/upstream")
    monkeypatch.delenv(OFFLINE_ENV, raising=False)


@pytest.fixture
def server(monkeypatch, zip_of):
    """A server holding ``/mirror/<id>.zip`` for ids 0-5 and a closed ``/upstream/`` (403 for everything)."""
    with ZipServer() as srv:
        for model_id in range(6):
            srv.files[f"/mirror/{model_id}.zip"] = zip_of(model_id)
        srv.closed_prefixes["/upstream/"] = 403
        monkeypatch.setenv(UPSTREAM_ENV, srv.url + "/upstream")
        yield srv


def visible_models() -> list[str]:
    models = home.models_dir()
    return sorted(p.name for p in models.iterdir() if not p.name.startswith(".")) if models.is_dir() else []


def assert_complete(model_id: int, data: bytes) -> None:
    """models/<id>/ holds exactly the zip's files, and its manifest says so."""
    folder = home.model_dir(model_id)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["size"] == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        expected = {i.filename.split("/", 1)[1] for i in archive.infolist() if not i.is_dir()}
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {MANIFEST}
    assert on_disk == expected == set(manifest["files"])
    assert cache_entry(model_id, deep=True).status == "ok"


def fetch_with(server: ZipServer, model_id: int, **kwargs) -> Outcome:
    sources = [parse_source(server.url + "/mirror")]
    with Fetcher(sources, **kwargs) as fetcher:
        return fetcher.fetch_one(model_id)


# --- pure logic ---------------------------------------------------------------------------------------


def test_parse_source_kinds(tmp_path):
    assert parse_source("https://example.org/zoo/") == Source("http", "https://example.org/zoo")
    assert parse_source(f"file://{tmp_path}").kind == "folder"
    assert parse_source(str(tmp_path)) == Source("folder", str(tmp_path.resolve()))
    with pytest.raises(VaePassiveError, match="uses ftp://"):
        parse_source("ftp://example.org/zoo")
    with pytest.raises(VaePassiveError, match="does not exist"):
        parse_source(str(tmp_path / "nope"))
    with pytest.raises(VaePassiveError, match=r"pip install 'vae-passive\[gcs\]'"):
        parse_source("gs://bucket/zoo")


def test_sources_from_env_and_offline(monkeypatch, tmp_path):
    monkeypatch.setenv(MIRROR_ENV, f" https://a.example/zoo\n{tmp_path}  ")
    assert sources_from_env() == ["https://a.example/zoo", str(tmp_path)]
    kinds = [(s.kind, s.upstream) for s in resolve_sources()]
    assert kinds == [("http", False), ("folder", False), ("http", True)]
    assert [s.kind for s in resolve_sources([])] == ["http"]  # explicit: no mirrors, upstream only
    monkeypatch.setenv(OFFLINE_ENV, "1")
    assert [s.kind for s in resolve_sources()] == ["folder"]


def test_retry_delays():
    policy = RetryPolicy(base=1.0, cap=8.0, retry_after_cap=30.0)
    for failures, (low, high) in {1: (0.5, 1.0), 3: (2.0, 4.0), 10: (4.0, 8.0)}.items():
        assert low <= policy.delay(failures) <= high
    assert policy.delay(1, "7") == 7.0
    assert policy.delay(1, "3600") == 30.0  # capped
    now = 1_000_000.0
    assert policy.delay(1, formatdate(now + 12, usegmt=True), now=now) == pytest.approx(12.0)
    assert 0.5 <= policy.delay(1, "soon") <= 1.0  # unreadable: ignored
    assert [s for s in (403, 404, 408, 429, 500, 503) if retryable_status(s)] == [408, 429, 500, 503]


def make_zip(members: dict[str, bytes], symlinks: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            if name in symlinks:
                info.external_attr = 0o120777 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


LAYOUT = {
    "7/model/tfhub/saved_model.pb": b"x",
    "7/model/tfhub/tfhub_module.pb": b"\x08\x03",
    "7/model/tfhub/variables/variables.index": b"i",
}


@pytest.mark.parametrize(
    ("extra", "symlinks", "message"),
    [
        ({}, (), None),
        ({"7/../../evil": b"x"}, (), "'7/../../evil' climbs out"),
        ({"/etc/evil": b"x"}, (), "'/etc/evil' has an absolute path"),
        ({"7/model/link": b"/etc/passwd"}, ("7/model/link",), "'7/model/link' is a symlink"),
        ({"8/model/x": b"x"}, (), "one top folder 7/, but it holds 8/"),
    ],
)
def test_check_zip_members(extra, symlinks, message):
    with zipfile.ZipFile(io.BytesIO(make_zip({**LAYOUT, **extra}, symlinks))) as archive:
        infos = archive.infolist()
    if message is None:
        check_zip_members(infos, 7)
    else:
        with pytest.raises(VaePassiveError, match=re.escape(message)):
            check_zip_members(infos, 7)
    without_module = make_zip({"7/model/results/gin/train.gin": b""})
    with zipfile.ZipFile(io.BytesIO(without_module)) as archive, pytest.raises(VaePassiveError, match="lacks"):
        check_zip_members(archive.infolist(), 7)


def test_summary_groups_failures_and_names_the_closed_bucket_once():
    outcomes = [
        Outcome(0, "fetched", size=2_000_000),
        Outcome(1, "cached"),
        *[Outcome(i, "failed", reason="upstream: closed", upstream_closed=True) for i in (2, 3, 4, 9)],
    ]
    counts, problems = summarize(outcomes)
    assert counts == ["fetched 1 (2.0 MB), already cached 1, failed 4"]
    assert problems[0] == "failed 2-4,9: upstream: closed"
    assert problems[1:] == [CLOSED_BUCKET_HELP]
    assert format_bytes(None) == "-" and format_bytes(999) == "999 B"


# --- fetching over HTTP, one fault at a time --------------------------------------------------------------


def test_fetch_installs_with_manifest_and_skips_cached(cli, server, zip_of):
    result = cli("fetch", "--ids", "0-2", "--mirror", server.url + "/mirror", "--workers", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("fetched 3 (")
    for model_id in range(3):
        assert_complete(model_id, zip_of(model_id))
        manifest = read_manifest(home.model_dir(model_id))
        assert manifest["source"] == f"{server.url}/mirror/{model_id}.zip"
    assert visible_models() == ["0", "1", "2"]
    requests_before = len(server.log)
    again = cli("fetch", "--ids", "0-2", "--mirror", server.url + "/mirror")
    assert again.exit_code == 0 and "already cached 3" in again.stdout
    assert len(server.log) == requests_before


def test_dropped_connection_resumes_with_range(server, zip_of):
    server.faults["/mirror/0.zip"] = [Drop(after=1_000_000)]
    outcome = fetch_with(server, 0)
    assert outcome.status == "fetched", outcome.reason
    first, second = server.gets("/mirror/0.zip")
    assert (first.range, first.status, second.status) == (None, 200, 206)
    assert 0 < int(second.range.removeprefix("bytes=").rstrip("-")) <= 1_000_000  # from where the drop left it
    assert_complete(0, zip_of(0))


def test_server_that_ignores_range_restarts_cleanly(server, zip_of):
    server.faults["/mirror/0.zip"] = [Drop(after=1_000_000)]
    server.ignore_range.add("/mirror/0.zip")
    outcome = fetch_with(server, 0)
    assert outcome.status == "fetched", outcome.reason
    first, second = server.gets("/mirror/0.zip")
    assert (first.range, first.status, second.status) == (None, 200, 200)
    assert second.range.startswith("bytes=")  # asked to resume, got the whole body
    assert_complete(0, zip_of(0))  # not 1 MB of the old body glued to the whole new one


def test_503_twice_then_200(server, zip_of):
    server.faults["/mirror/0.zip"] = [Status(503), Status(503)]
    outcome = fetch_with(server, 0)
    assert outcome.status == "fetched", outcome.reason
    assert [g.status for g in server.gets("/mirror/0.zip")] == [503, 503, 200]
    assert_complete(0, zip_of(0))


def test_429_waits_for_retry_after(server, zip_of):
    server.faults["/mirror/0.zip"] = [Status(429, {"Retry-After": "1"})]
    began = time.perf_counter()
    outcome = fetch_with(server, 0)
    assert outcome.status == "fetched", outcome.reason
    assert time.perf_counter() - began >= 0.95  # the base delay is 0.01 s: only Retry-After explains this
    assert [g.status for g in server.gets("/mirror/0.zip")] == [429, 200]


def test_retries_give_up_after_the_policy(server):
    server.faults["/mirror/0.zip"] = [Status(500)] * 10
    outcome = fetch_with(server, 0, policy=RetryPolicy(attempts=3, base=0.01))
    assert outcome.status == "failed"
    assert "HTTP 500" in outcome.reason and "after 3 tries" in outcome.reason
    assert len(server.gets("/mirror/0.zip")) == 3
    assert visible_models() == []


def test_an_unreachable_mirror_is_given_up_once(server):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/zoo"
    sources = [Source("http", dead), parse_source(server.url + "/mirror")]
    with Fetcher(sources, workers=1, policy=RetryPolicy(attempts=2, base=0.01)) as fetcher:
        first, second = fetcher.fetch([0, 1])
    assert (first.status, second.status) == ("fetched", "fetched")
    assert first.source.startswith(server.url) and second.source.startswith(server.url)
    with Fetcher(sources[:1], workers=1, policy=RetryPolicy(attempts=2, base=0.01)) as fetcher:
        third, fourth = fetcher.fetch([3, 4])
    assert third.reason.startswith(f"{dead}: cannot connect: {dead.split('/')[2]} refuses connections")
    assert fourth.reason == third.reason  # given up, with the same words: one cause is one group in the summary


def test_upstream_403_says_the_bucket_is_closed_once(cli, server):
    result = cli("fetch", "--ids", "0-3", "--workers", "2")
    assert result.exit_code == 1
    assert result.stderr.count("403 AccessDenied since 2026") == 2  # the grouped reason line and the help, once
    assert "--mirror" in result.stderr and "vae-passive import" in result.stderr
    assert "failed 0-3: upstream: the bucket is closed" in result.stderr
    assert len([e for e in server.log if e.path.startswith("/upstream/")]) <= 2  # one per worker at most
    assert visible_models() == []


def test_404_is_not_retried_and_the_next_source_is_tried(cli, server, zip_of):
    server.files["/other/3.zip"] = zip_of(3)
    del server.files["/mirror/3.zip"]
    result = cli("fetch", "--ids", "3", "--mirror", server.url + "/mirror", "--mirror", server.url + "/other")
    assert result.exit_code == 0, result.output
    assert [g.status for g in server.gets("/mirror/3.zip")] == [404]
    assert read_manifest(home.model_dir(3))["source"].endswith("/other/3.zip")


def test_404_everywhere_fails_with_reasons(cli, server):
    result = cli("fetch", "--ids", "42", "--mirror", server.url + "/mirror")
    assert result.exit_code == 1
    assert f"failed 42: {server.url}/mirror: HTTP 404 Not Found (no such zip); upstream:" in result.stderr
    assert len(server.gets("/mirror/42.zip")) == 1


def corrupt(data: bytes) -> bytes:
    """Flip one byte inside the largest member's compressed data: the CRC check must catch it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = max(archive.infolist(), key=lambda i: i.compress_size)
    position = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    damaged = bytearray(data)
    damaged[position] ^= 0xFF
    return bytes(damaged)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda z: corrupt(z(0)), "corrupt zip 0.zip.part: "),
        (lambda z: b"junk, not a zip", "corrupt zip 0.zip.part: File is not a zip file"),
        (lambda z: b"<!DOCTYPE html><html>Home</html>", "0.zip is an HTML page, not a zip: the host answers 200 with"),
        (lambda z: make_zip({**LAYOUT, "7/../x": b"x"}).replace(b"7/", b"0/"), "zip member '0/../x' climbs out"),
        (lambda z: z(1), "zip of model 0 must have one top folder 0/, but it holds 1/"),
    ],
    ids=["bad-crc", "not-a-zip", "soft-404", "zip-slip", "wrong-top-folder"],
)
def test_invalid_zips_are_rejected(cli, server, zip_of, make, message):
    server.files["/mirror/0.zip"] = make(zip_of)
    result = cli("fetch", "--ids", "0", "--mirror", server.url + "/mirror")
    assert result.exit_code == 1
    assert message in result.stderr
    assert visible_models() == []
    assert not list((home.models_dir() / ".staging").iterdir())  # the bad download is not kept for resuming


def test_dry_run_prints_sources_and_sizes_and_touches_nothing(cli, server, zip_of):
    result = cli("fetch", "--ids", "0,1,40", "--mirror", server.url + "/mirror", "--dry-run")
    assert result.exit_code == 1  # 40 is in no source
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["0", "available"] and lines[0].endswith(f"{server.url}/mirror/0.zip")
    assert format_bytes(len(zip_of(1))) in lines[1]
    assert lines[2].split()[:2] == ["40", "missing"]
    assert "403 AccessDenied" in result.stderr
    assert not home.home().joinpath("models").exists()
    metadata = ("/mirror/SHA256SUMS", "/mirror/index.json")  # read once, absent here
    assert all(entry.method == "HEAD" or entry.path in metadata for entry in server.log)


def test_not_enough_disk_space_is_a_clear_failure(server, monkeypatch):
    class Usage:
        free = 1_000_000

    monkeypatch.setattr(checks.shutil, "disk_usage", lambda path: Usage())
    outcome = fetch_with(server, 0)
    assert outcome.status == "failed"
    assert "not enough free disk space" in outcome.reason and "VAE_PASSIVE_HOME" in outcome.reason
    assert len(server.gets("/mirror/0.zip")) == 1  # no other source tried, no retry


def test_fetch_needs_a_selection(cli):
    assert "--ids" in one_line_error(cli("fetch"))
    assert "vae-passive[gcs]" in one_line_error(cli("fetch", "--ids", "0", "--mirror", "gs://b/zoo"))


# --- import, offline, ensure_model, cache -----------------------------------------------------------------


def test_import_zips_and_extracted_folders(cli, tmp_path, zip_of, model_folder_1ch):
    shared = tmp_path / "shared"
    shared.mkdir()
    for model_id in (0, 1):
        (shared / f"{model_id}.zip").write_bytes(zip_of(model_id))
    (shared / "README.txt").write_text("zips from the lab server")
    extracted = tmp_path / "old" / "5"
    with zipfile.ZipFile(io.BytesIO(zip_of(5))) as archive:
        archive.extractall(tmp_path / "old")
    result = cli("import", shared, extracted)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("imported 3")
    assert_complete(0, zip_of(0))
    manifest = read_manifest(home.model_dir(5))
    assert manifest["sha256"] is None and manifest["source"] == str(extracted.resolve())
    assert cache_entry(5, deep=True).status == "ok"
    assert visible_models() == ["0", "1", "5"]

    bad = tmp_path / "bad" / "7.zip"
    bad.parent.mkdir()
    bad.write_bytes(make_zip({**LAYOUT, "7/../../x": b"x"}))
    result = cli("import", bad)
    assert result.exit_code == 1 and "zip member '7/../../x' climbs out" in result.stderr
    assert "no <id>.zip" in one_line_error(cli("import", tmp_path / "bad" / ".."))
    assert "does not exist" in one_line_error(cli("import", tmp_path / "nope.zip"))


def test_offline_uses_the_cache_and_never_the_network(cli, server, monkeypatch):
    assert fetch_with(server, 0).status == "fetched"
    requests_before = len(server.log)
    monkeypatch.setenv(OFFLINE_ENV, "1")
    monkeypatch.setenv(MIRROR_ENV, server.url + "/mirror")

    def no_network(*args, **kwargs):
        raise AssertionError("offline mode opened a connection")

    monkeypatch.setattr("requests.Session.send", no_network)
    assert ensure_model(0) == home.model_dir(0)
    with pytest.raises(VaePassiveError, match="model 1 not cached, and VAE_PASSIVE_OFFLINE=1 allows no download"):
        ensure_model(1)
    result = cli("fetch", "--ids", "0-1")
    assert result.exit_code == 1
    assert "already cached 1, failed 1" in result.stdout
    assert "VAE_PASSIVE_OFFLINE=1 allows no download" in result.stderr
    assert len(server.log) == requests_before


def test_ensure_model_fetches_on_demand_and_the_model_loads(server, monkeypatch, zip_of):
    from vae_passive.tfhub.module import Module

    monkeypatch.setenv(MIRROR_ENV, server.url + "/mirror")
    folder = ensure_model(4)
    assert folder == home.model_dir(4)
    assert Module(folder).num_latents == 10
    with pytest.raises(VaePassiveError, match=r"cannot fetch model 44 .*the upstream bucket is closed"):
        ensure_model(44)


def test_cache_ls_verify_rm(cli, server):
    assert cli("fetch", "--ids", "0-1", "--mirror", server.url + "/mirror").exit_code == 0
    listing = cli("cache", "ls").stdout.splitlines()
    assert listing[0].split() == ["id", "status", "size", "fetched", "at", "origin", "source"]  # a header row
    assert [line.split()[:2] for line in listing[1:3]] == [["0", "ok"], ["1", "ok"]]
    assert listing[3].startswith("2 models, ")
    assert cli("cache", "verify").exit_code == 0

    variables = home.model_dir(1) / "model/tfhub/variables/variables.index"
    variables.write_bytes(b"\0" * variables.stat().st_size)
    result = cli("cache", "verify", "--ids", "0-5")
    assert result.exit_code == 1
    assert "model/tfhub/variables/variables.index has changed" in result.stderr
    assert "vae-passive cache rm --ids 1" in result.stderr

    assert cli("cache", "rm", "--ids", "1").stdout.startswith("removed 1 model,")
    assert visible_models() == ["0"]
    assert json.loads(cli("cache", "ls", "--format", "json").stdout)["models"][0]["id"] == 0
    assert "--ids" in one_line_error(cli("cache", "rm"))


# --- processes: racing, and killed mid-download -------------------------------------------------------------


def run_fetch(server: ZipServer, ids: str, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "vae_passive", "fetch", "--ids", ids, "--mirror", server.url + "/mirror", *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_processes_fetching_the_same_ids(server, zip_of):
    server.rate = 2.5e6  # about 2 s per zip: much longer than a process takes to start, so the runs overlap
    first, second = run_fetch(server, "0-3", "--workers", "4"), run_fetch(server, "0-3", "--workers", "2")
    outputs = [process.communicate(timeout=60) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    for model_id in range(4):
        assert len(server.gets(f"/mirror/{model_id}.zip")) == 1  # downloaded and extracted once
        assert_complete(model_id, zip_of(model_id))
    cached = sum(int(out.split("already cached ")[1].split(",")[0]) for out, _ in outputs)
    assert cached == 4
    assert visible_models() == ["0", "1", "2", "3"]


def size_or_zero(path: Path) -> int:
    """The size of a file that the running fetch may delete at any moment."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_killed_mid_download_then_rerun(server, zip_of):
    server.rate = 4e6  # about 2 s per zip
    process = run_fetch(server, "0-5", "--workers", "2")
    staging = home.models_dir() / ".staging"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for name in visible_models():  # a model folder is visible only once complete
            assert (home.models_dir() / name / MANIFEST).is_file()
        partial = [p for p in staging.glob("*.zip.part") if size_or_zero(p)] if staging.is_dir() else []
        if len(visible_models()) >= 2 and partial:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the first run never had two models done and one in flight")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    finished = {int(name) for name in visible_models()}
    for model_id in finished:
        assert_complete(model_id, zip_of(model_id))
    in_flight = {int(p.name.split(".")[0]) for p in staging.glob("*.zip.part") if p.stat().st_size} - finished
    assert in_flight

    server.rate = None
    rerun = run_fetch(server, "0-5")
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert f"already cached {len(finished)}" in out
    for model_id in range(6):
        gets = server.gets(f"/mirror/{model_id}.zip")
        assert_complete(model_id, zip_of(model_id))
        if model_id in finished:
            assert len(gets) == 1  # not downloaded again
        if model_id in in_flight:
            assert gets[-1].range is not None and gets[-1].status == 206  # resumed
    assert visible_models() == [str(i) for i in range(6)]
    assert not [p for p in staging.iterdir() if p.is_dir()]
