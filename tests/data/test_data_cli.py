"""`vae-passive data ls / fetch / sample`, file lookup, and the analysis picking the model's data set."""

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from support.data_files import cars_tar, smallnorb_files, write_dsprites, write_mpi3d, write_smallnorb
from support.helpers import one_line_error
from support.http_server import Drop, ZipServer

from vae_passive.analysis.analyze import Settings, analyze_model, locate_model
from vae_passive.data import draw_batches, get_dataset, resolve_dataset
from vae_passive.data import fetch as data_fetch
from vae_passive.data.files import DSPRITES, MissingData
from vae_passive.errors import VaePassiveError
from vae_passive.tfhub.architecture import random_weights
from vae_passive.tfhub.exporter import write_model_folder

GOLDEN = json.loads((Path(__file__).parents[1] / "reference" / "golden" / "data_sampling.json").read_text())


@pytest.fixture
def dlib_data(tmp_path, monkeypatch):
    """An upstream-style data folder named by DISENTANGLEMENT_LIB_DATA."""
    folder = tmp_path / "dlib"
    folder.mkdir()
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(folder))
    return folder


def test_missing_files_stop_the_analysis_with_the_fix(cli, tmp_path, isolated_home):
    folder = write_model_folder(tmp_path, 0, random_weights(1, 10), dataset="dsprites_full", channels=1, num_latents=10)
    message = one_line_error(cli("analyze", "--model-dir", folder, "--num-samples", 50, "--results", tmp_path / "r"))
    assert str(isolated_home / "data" / DSPRITES) in message
    assert "vae-passive data fetch dsprites_full" in message and "--data procedural_dsprites to analyse with" in message
    assert "stand-in" in message
    result = cli("analyze", "--model-dir", folder, "--num-samples", 50, "--data", "procedural_dsprites")
    assert result.exit_code == 0, result.output
    assert "stand-in for dsprites_full" in result.stderr and "(stand-in, not the published data)" in result.stdout


def test_lookup_order_and_channels(dlib_data, isolated_home):
    with pytest.raises(MissingData, match=str(dlib_data / "mpi3d_toy" / "mpi3d_toy.npz")):
        get_dataset("mpi3d_toy")
    write_mpi3d(isolated_home / "data" / "mpi3d_toy" / "mpi3d_toy.npz")  # found under home data/ too
    assert get_dataset("mpi3d_toy").path == isolated_home / "data" / "mpi3d_toy" / "mpi3d_toy.npz"
    write_mpi3d(dlib_data / "mpi3d_toy" / "mpi3d_toy.npz")  # DISENTANGLEMENT_LIB_DATA comes first
    assert get_dataset("mpi3d_toy").path == dlib_data / "mpi3d_toy" / "mpi3d_toy.npz"
    with pytest.raises(VaePassiveError, match="3-channel images but the model takes 1"):
        resolve_dataset("mpi3d_toy", None, 1)
    assert resolve_dataset(None, None, 1)[1].startswith("the model's data set is unknown")


def test_analysis_uses_the_models_own_data(dlib_data, tmp_path):
    write_smallnorb(dlib_data / "small_norb")
    folder = write_model_folder(tmp_path, 1234, random_weights(1, 10), dataset="smallnorb", channels=1, num_latents=10)
    result = analyze_model(locate_model(model_dir=folder), Settings(num_samples=100))
    assert result.document["data"]["source"] == "smallnorb" and result.document["data"]["real"] is True
    assert result.notes == [] and result.codes["factors"].shape == (100, 4)


def test_sample_command(cli, dlib_data, tmp_path):
    write_smallnorb(dlib_data / "small_norb")
    out = tmp_path / "s.npz"
    result = cli("data", "sample", "smallnorb", "--num", 32, "--data-seed", 0, "--out", out)
    assert result.exit_code == 0, result.output
    sample = np.load(out)
    assert sample["factors"].tolist() == GOLDEN["smallnorb"]["0"]["factors"][:32]  # upstream's draw
    assert sample["images"].shape == (32, 64, 64, 1) and sample["images"].dtype == np.float32
    stand_in = cli("data", "sample", "procedural_dsprites", "--num", 20, "--data-seed", 3, "--out", tmp_path / "p.npz")
    assert "stand-in" in stand_in.stdout
    factors, images = draw_batches(get_dataset("procedural_dsprites"), 20, np.random.RandomState(3))
    written = np.load(tmp_path / "p.npz")
    assert np.array_equal(written["factors"], factors) and np.array_equal(written["images"], images)
    message = one_line_error(cli("data", "sample", "cars3d", "--out", tmp_path / "c.npz"))
    assert str(dlib_data / "cars") in message and "vae-passive data fetch cars3d" in message
    assert "unknown data set 'mnist'" in one_line_error(cli("data", "sample", "mnist", "--out", out))


def test_ls(cli, dlib_data):
    write_smallnorb(dlib_data / "small_norb")
    write_dsprites(dlib_data / DSPRITES)  # a small grid: the wrong shape for dsprites_full
    rows = {row["name"]: row for row in json.loads(cli("data", "ls", "--json").stdout)}
    assert rows["smallnorb"]["status"] == "ok" and rows["smallnorb"]["size"] > 0
    assert (
        rows["dsprites_full"]["status"] == "damaged"
        and "expected uint8 (737280, 64, 64)" in rows["dsprites_full"]["where"]
    )
    assert rows["cars3d"]["status"] == "missing" and str(dlib_data / "cars") in rows["cars3d"]["where"]
    table = cli("data", "ls").stdout
    assert "smallnorb" in table and "missing" in table and str(dlib_data) in table


def published(files: dict[str, bytes]) -> dict[str, tuple[int, str]]:
    """``data.fetch.KNOWN`` entries (size, sha256) of these files."""
    return {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in files.items()}


def test_fetch_retries_unpacks_and_records(cli, dlib_data, monkeypatch):
    """Three files checked against their published hash (one resumed after a drop), three trusted on first use."""
    monkeypatch.setenv("VAE_PASSIVE_RETRY_BASE", "0.01")
    packed = smallnorb_files(gzipped=True)
    monkeypatch.setattr(data_fetch, "KNOWN", published(dict(list(packed.items())[:3])))
    with ZipServer() as server:
        for name, data in packed.items():
            server.files[f"/m/{name}"] = data
        first = next(iter(packed))
        server.faults[f"/m/{first}"] = [Drop(after=len(packed[first]) // 2)]
        result = cli("data", "fetch", "smallnorb", "--url", server.url + "/m", "--quiet")
        assert result.exit_code == 0, result.output
        assert len(server.gets(f"/m/{first}")) == 2  # the dropped download was tried again
        again = cli("data", "fetch", "smallnorb", "--url", server.url + "/m")
        assert again.stdout.count("present") == 6
    manifest = json.loads((dlib_data / "small_norb" / ".vae-passive.json").read_text())["files"]
    for name, data in packed.items():
        target = f"small_norb/{name.removesuffix('.gz')}"
        assert (dlib_data / target).read_bytes() == gzip.decompress(data)
        assert manifest[target]["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest[target]["url"].endswith(name) and manifest[target]["size"] == len(data)
    assert not list((dlib_data / ".staging").iterdir())


def test_fetch_refuses_a_file_unlike_its_published_hash(cli, dlib_data, monkeypatch):
    """Other bytes under a name with a published sha256: a one-line error naming the file; nothing lands."""
    monkeypatch.setenv("VAE_PASSIVE_RETRY_BASE", "0.01")
    packed = smallnorb_files(gzipped=True)
    monkeypatch.setattr(data_fetch, "KNOWN", published(packed))
    first = data_fetch.PUBLISHED["smallnorb"][0]
    with ZipServer() as server:
        for name, data in packed.items():
            server.files[f"/m/{name}"] = data
        server.files[f"/m/{first.file_name}"] = gzip.compress(b"not the published file")
        message = one_line_error(cli("data", "fetch", "smallnorb", "--url", server.url + "/m", "--quiet"))
    size, sha256 = published(packed)[first.file_name]
    assert message.startswith(f"Error: {first.file_name} from {server.url}/m/{first.file_name} has sha256 ")
    assert f"but the published file has {sha256} ({size} bytes)" in message
    assert not (dlib_data / first.target).exists() and not (dlib_data / "small_norb").exists()
    assert not list((dlib_data / ".staging").iterdir())  # the download and its resume sidecar are gone


@pytest.mark.slow
def test_fetch_cars_tar_and_refuse_a_wrong_file(cli, dlib_data, monkeypatch):
    monkeypatch.setenv("VAE_PASSIVE_RETRY_BASE", "0.01")
    with ZipServer() as server:
        server.files["/m/nips2015-analogy-data.tar.gz"] = cars_tar()
        assert cli("data", "fetch", "cars3d", "--url", server.url + "/m", "--quiet").exit_code == 0
        assert len(list((dlib_data / "cars").glob("*.mat"))) == 183
        small = write_dsprites(dlib_data.parent / "small.npz").read_bytes()
        server.files["/m/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"] = small
        message = one_line_error(cli("data", "fetch", "dsprites_full", "--url", server.url + "/m", "--quiet"))
        assert "does not check out" in message and "expected uint8 (737280, 64, 64)" in message
        missing = one_line_error(cli("data", "fetch", "shapes3d", "--url", server.url + "/m", "--quiet"))
        assert "3dshapes.h5" in missing and "404" in missing
    monkeypatch.setenv("VAE_PASSIVE_OFFLINE", "1")
    assert "VAE_PASSIVE_OFFLINE=1" in one_line_error(cli("data", "fetch", "mpi3d_toy", "--quiet"))
