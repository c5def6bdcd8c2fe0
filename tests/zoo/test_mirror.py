"""mirror build and verify, and fetching from mirrors of every shape: round trips on a loopback server,
origins carried end to end, incremental builds, hashes, several mirrors, and unreachable mirrors failing fast."""

from __future__ import annotations

import io
import json
import shutil
import socket
import time
import zipfile
from pathlib import Path

import pytest
from support.http_server import Status, ZipServer

from vae_passive import home
from vae_passive.tfhub.folder import TRAINING_DATA_BINDING
from vae_passive.zoo import origin
from vae_passive.zoo.cache import read_manifest
from vae_passive.zoo.checks import MANIFEST
from vae_passive.zoo.mirror import build_items, build_mirror
from vae_passive.zoo.mirror_index import INDEX_FILE, SUMS_FILE, parse_index, parse_sums
from vae_passive.zoo.progress import Outcome, Progress
from vae_passive.zoo.sources import CLOSED_BUCKET_HELP, MIRROR_ENV, OFFLINE_ENV, UPSTREAM_ENV, parse_source

TRAINED = 5  # the model "trained here" in these tests


@pytest.fixture(autouse=True)
def fast_and_local(monkeypatch):
    monkeypatch.setenv("VAE_PASSIVE_RETRY_BASE", "0.01")
    monkeypatch.setenv(UPSTREAM_ENV, "http://127.0.0.1:9/upstream")  # a closed port, never the real bucket
    monkeypatch.delenv(OFFLINE_ENV, raising=False)


@pytest.fixture
def cache(cli, tmp_path, model_folder_1ch, zip_of):
    """A cache with originals 0-2 (imported zips) and model 5 trained here (as `train` leaves it: no manifest,
    train.gin binding the training data, train_results.json with the steps)."""
    for model_id in range(3):
        (tmp_path / f"{model_id}.zip").write_bytes(zip_of(model_id))
    assert cli("import", *(str(tmp_path / f"{i}.zip") for i in range(3))).exit_code == 0
    trained = shutil.copytree(model_folder_1ch, home.model_dir(TRAINED))
    with open(trained / origin.TRAIN_GIN, "a") as gin:
        gin.write(f"{TRAINING_DATA_BINDING} = 'procedural_dsprites'\n")
    results = {"steps": 40, "spec_steps": 300_000, "training_data": "procedural_dsprites"}
    (trained / origin.TRAIN_RESULTS).write_text(json.dumps(results))
    return home.models_dir()


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def fresh_home(monkeypatch, tmp_path: Path, name: str) -> Path:
    new = tmp_path / name
    monkeypatch.setenv("VAE_PASSIVE_HOME", str(new))
    return new


def test_build_serve_fetch_gives_identical_folders_and_keeps_the_origin(cli, cache, tmp_path, monkeypatch):
    out = tmp_path / "mirror"
    result = cli("mirror", "build", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [m["status"] for m in summary["models"]] == ["written"] * 4 and summary["trained_here"] == [TRAINED]
    index = parse_index((out / INDEX_FILE).read_bytes())
    assert sorted(index) == [0, 1, 2, TRAINED]
    assert index[0].origin == origin.Origin("original")
    assert index[TRAINED].origin == origin.Origin("trained", 40, "procedural_dsprites")
    raw = json.loads((out / INDEX_FILE).read_text())["models"][0]
    assert (raw["dataset"], raw["method"], raw["seed"], raw["file"]) == ("dsprites_full", "beta_vae", 0, "0.zip")
    with zipfile.ZipFile(out / "0.zip") as archive:  # the upstream layout: one top folder, no manifest
        assert {n.split("/")[0] for n in archive.namelist()} == {"0"} and f"0/{MANIFEST}" not in archive.namelist()
    before = {i: files_of(cache / str(i)) for i in (0, 1, 2, TRAINED)}

    with ZipServer(folder=out) as server:
        fresh_home(monkeypatch, tmp_path, "elsewhere")
        fetched = cli("fetch", "--ids", f"0-2,{TRAINED},7", "--mirror", server.url)
        assert fetched.exit_code == 1  # 7 is in no mirror
        assert "not in its index.json" in fetched.stderr
        assert server.gets("/7.zip") == []  # the index said so: no request
        assert len(server.gets("/" + INDEX_FILE)) == len(server.gets("/" + SUMS_FILE)) == 1
    for model_id, files in before.items():
        after = files_of(home.model_dir(model_id))
        files.pop(MANIFEST, None), after.pop(MANIFEST)
        assert after == files, model_id
    assert read_manifest(home.model_dir(TRAINED))["origin"] == {
        "kind": "trained",
        "steps": 40,
        "data": "procedural_dsprites",
    }
    assert read_manifest(home.model_dir(0))["origin"] == {"kind": "original"}


def test_the_origin_reaches_the_analysis_document(cache, tmp_path):
    from vae_passive.analysis.analyze import locate_model, model_fields

    assert model_fields(locate_model(model_id=TRAINED), 10)["origin"] == {
        "kind": "trained",
        "steps": 40,
        "data": "procedural_dsprites",
    }
    assert model_fields(locate_model(model_id=0), 10)["origin"] == {"kind": "original"}
    # A model whose own markers were stripped still counts as trained when its mirror said so at fetch time.
    manifest = read_manifest(home.model_dir(1))
    manifest["origin"] = {"kind": "trained", "steps": 7, "data": "dsprites_full"}
    (home.model_dir(1) / MANIFEST).write_text(json.dumps(manifest))
    assert model_fields(locate_model(model_id=1), 10)["origin"]["kind"] == "trained"


def test_markers_and_unknown_origins_never_pass_for_originals(tmp_path):
    assert origin.TRAINING_DATA_BINDING == TRAINING_DATA_BINDING  # zoo may not import tfhub: kept equal here
    assert origin.Origin.from_value({"kind": "retrained-elsewhere"}) == origin.Origin("trained")
    assert origin.Origin("original").merged(origin.Origin("trained", 3)).trained
    gin = tmp_path / "m" / origin.TRAIN_GIN
    gin.parent.mkdir(parents=True)
    gin.write_text(f"{TRAINING_DATA_BINDING} = 'cars3d'\n")
    assert origin.folder_origin(tmp_path / "m") == origin.Origin("trained", None, "cars3d")


def test_builds_are_reproducible_and_incremental(cli, cache, tmp_path, zip_of):
    out = tmp_path / "mirror"
    assert cli("mirror", "build", "--out", str(out), "--ids", "0-2").exit_code == 0
    first = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir() if not p.name.startswith(".")}
    again = cli("mirror", "build", "--out", str(out), "--ids", "0-2")
    assert again.exit_code == 0 and again.stdout.startswith("wrote 0 zips, unchanged 3, failed 0")
    for name, (data, mtime) in first.items():
        assert (out / name).read_bytes() == data
        if name.endswith(".zip"):
            assert (out / name).stat().st_mtime_ns == mtime  # not rewritten

    (tmp_path / "3.zip").write_bytes(zip_of(3))
    assert cli("import", str(tmp_path / "3.zip")).exit_code == 0
    third = cli("mirror", "build", "--out", str(out), "--json")
    statuses = {m["id"]: m["status"] for m in json.loads(third.stdout)["models"]}
    assert statuses == {0: "unchanged", 1: "unchanged", 2: "unchanged", 3: "written", TRAINED: "written"}
    assert all((out / f"{i}.zip").stat().st_mtime_ns == first[f"{i}.zip"][1] for i in range(3))

    # From scratch, the same models give the same bytes.
    other = tmp_path / "again"
    assert cli("mirror", "build", "--out", str(other), "--ids", "0-2").exit_code == 0
    assert all((other / f"{i}.zip").read_bytes() == first[f"{i}.zip"][0] for i in range(3))
    assert (other / SUMS_FILE).read_bytes() == first[SUMS_FILE][0]


def test_an_interrupted_build_lists_its_finished_zips_and_resumes(cache, tmp_path):
    class StopAfterOne(Progress):
        def model_done(self, outcome: Outcome) -> None:
            raise KeyboardInterrupt

    out = tmp_path / "mirror"
    with pytest.raises(KeyboardInterrupt):
        build_mirror(out, build_items(), jobs=1, progress=StopAfterOne())
    listed = parse_index((out / INDEX_FILE).read_bytes())
    assert sorted(listed) == [0]  # the finished zip, and only it
    assert sorted(p.name for p in out.glob("*.zip")) == ["0.zip"]
    assert not list(out.glob(".*.part"))
    result = build_mirror(out, build_items(), jobs=2)
    assert {o.model_id: o.status for o in result.outcomes} == {0: "unchanged", 1: "written", 2: "written", 5: "written"}


def test_a_corrupted_zip_is_caught_by_its_hash(cli, cache, tmp_path, monkeypatch, zip_of):
    out = tmp_path / "mirror"
    assert cli("mirror", "build", "--out", str(out), "--ids", "0-2").exit_code == 0
    assert cli("mirror", "verify", str(out)).exit_code == 0
    # A valid zip of the same model, but not the one the mirror published: only the hash can tell.
    (out / "1.zip").write_bytes(zip_of(1))
    verify = cli("mirror", "verify", str(out))
    assert verify.exit_code == 1
    assert "1.zip has sha256 " in verify.stderr and "but SHA256SUMS says" in verify.stderr
    with ZipServer(folder=out) as server:
        fresh_home(monkeypatch, tmp_path, "elsewhere")
        result = cli("fetch", "--ids", "0-2", "--mirror", server.url)
    assert result.exit_code == 1
    assert "failed 1: " in result.stderr and "but the mirror's SHA256SUMS says" in result.stderr
    assert not home.model_dir(1).exists() and home.model_dir(2).is_dir()


def test_verify_names_missing_unlisted_and_unsafe_zips(cli, cache, tmp_path):
    out = tmp_path / "mirror"
    assert cli("mirror", "build", "--out", str(out), "--ids", "0-1").exit_code == 0
    (out / "0.zip").unlink()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../9/model/tfhub/saved_model.pb", b"x")
    (out / "9.zip").write_bytes(buffer.getvalue())
    result = cli("mirror", "verify", str(out), "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert "0.zip is listed but missing" in problems
    assert any(p.startswith("9.zip is not listed in SHA256SUMS") for p in problems)
    assert any(p.startswith("9.zip zip member '../9/model") for p in problems)


def test_static_host_url_shapes(cli, cache, tmp_path, monkeypatch):
    """A bucket's HTTPS endpoint, a Hugging Face dataset's resolve/main/ (302 to a CDN), Zenodo's files?download=1."""
    out = tmp_path / "mirror"
    assert cli("mirror", "build", "--out", str(out), "--ids", "0-2").exit_code == 0
    published = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}
    zenodo = "/records/123/files"
    assert parse_source("https://zenodo.org/records/123/files?download=1").zip_location(0) == (
        "https://zenodo.org/records/123/files/0.zip?download=1"
    )
    with ZipServer() as server:
        hf = "/datasets/lab/dlib-zoo/resolve/main"
        for name, data in published.items():
            server.files[f"/bucket/zoo/{name}"] = data
            server.files[f"{zenodo}/{name}"] = data
            if name.endswith(".zip"):  # LFS files: resolve/main redirects to the CDN
                server.files[f"/cdn/{name}"] = data
                server.faults[f"{hf}/{name}"] = [Status(302, {"Location": f"{server.url}/cdn/{name}"})]
            else:
                server.files[f"{hf}/{name}"] = data
        shapes = {"bucket": "/bucket/zoo", "hf": hf, "zenodo": zenodo + "?download=1"}
        for shape, path in shapes.items():
            fresh_home(monkeypatch, tmp_path, f"home-{shape}")
            result = cli("fetch", "--ids", "0-2", "--mirror", server.url + path)
            assert result.exit_code == 0, (shape, result.stderr)
            assert read_manifest(home.model_dir(2))["sha256"] == parse_sums(published[SUMS_FILE].decode())["2.zip"]
        assert [entry.status for entry in server.gets(f"{hf}/0.zip")] == [302]


def test_several_mirrors_first_that_has_it_wins_with_fallback(cli, cache, tmp_path, monkeypatch, zip_of):
    small, full = tmp_path / "small", tmp_path / "full"
    assert cli("mirror", "build", "--out", str(small), "--ids", "0-1").exit_code == 0
    assert cli("mirror", "build", "--out", str(full), "--ids", "0-2").exit_code == 0
    (small / "1.zip").write_bytes(zip_of(1))  # damaged on the first mirror
    with ZipServer(folder=small) as first, ZipServer(folder=full) as second:
        fresh_home(monkeypatch, tmp_path, "elsewhere")
        monkeypatch.setenv(MIRROR_ENV, f"{first.url} {second.url}")
        result = cli("fetch", "--ids", "0-2")
        assert result.exit_code == 0, result.stderr
        assert first.gets("/2.zip") == []  # its index does not list 2
        assert len(second.gets("/0.zip")) == 0 and len(second.gets("/1.zip")) == 1
    sources = {i: read_manifest(home.model_dir(i))["source"] for i in range(3)}
    assert sources[0].startswith(first.url) and sources[1].startswith(second.url)
    assert sources[2].startswith(second.url)


def refused_url() -> str:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/zoo"


@pytest.mark.parametrize("mirror", [refused_url(), "http://zoo-mirror.invalid/zoo"], ids=["refused", "no-such-host"])
def test_an_unreachable_mirror_fails_fast_naming_it(cli, monkeypatch, mirror):
    monkeypatch.setenv("VAE_PASSIVE_RETRY_BASE", "2")  # retrying would take many seconds
    began = time.perf_counter()
    result = cli("fetch", "--ids", "0-3", "--mirror", mirror, "--workers", "1")
    elapsed = time.perf_counter() - began
    assert result.exit_code == 1
    assert elapsed < 3, elapsed
    host = mirror.split("/")[2]
    why = "does not resolve" if host.endswith(".invalid") else "refuses connections"
    # One cause, one group: the models after the first repeat its reason, not "given up earlier".
    assert f"failed 0-3: {mirror}: cannot connect: {host} {why}" in result.stderr
    assert result.stderr.count("failed ") == 1 and "given up earlier" not in result.stderr
    # The upstream (a refused port here, not a 403) failed too, but it did not say it is closed: no such sentence.
    assert CLOSED_BUCKET_HELP not in result.stderr


def test_a_mirror_with_an_unusable_index_is_not_used(cli, cache, tmp_path, monkeypatch):
    out = tmp_path / "mirror"
    assert cli("mirror", "build", "--out", str(out), "--ids", "0").exit_code == 0
    (out / INDEX_FILE).write_text(json.dumps({"format": "vae-passive/mirror/1", "models": [{"id": 0, "size": -1}]}))
    with ZipServer(folder=out) as server:
        fresh_home(monkeypatch, tmp_path, "elsewhere")
        result = cli("fetch", "--ids", "0", "--mirror", server.url)
        assert server.gets("/0.zip") == []
    assert result.exit_code == 1 and "its index.json cannot be used: model 0 has the size -1" in result.stderr


def test_build_needs_models_and_a_matching_selection(cli, tmp_path):
    result = cli("mirror", "build", "--out", str(tmp_path / "m"))
    assert result.exit_code == 1 and "no cached model to put on the mirror" in result.stderr
    assert "Traceback" not in result.output
