"""Small ``.npz`` files that would take large memory: caps on rows, latents, compression and headers (issue 26.8).

Each hostile file is built here without ever holding its inflated arrays in memory, and each refusal is
checked to come early: fast, with bounded memory, before any array is read or converted to float64.
"""

import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from support.helpers import one_line_error

import vae_passive
from vae_passive.analysis.codes import read_codes
from vae_passive.errors import VaePassiveError


def write_member(archive, name, shape, dtype="|i1", data_bytes=None, chunk=1 << 20):
    """An ``.npy`` member declaring ``shape`` and ``dtype``, holding ``data_bytes`` zero bytes (default: all)."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    total = int(np.prod(shape)) * np.dtype(dtype).itemsize if data_bytes is None else data_bytes
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array_header_1_0(member, header)
        zeros = bytes(chunk)
        for start in range(0, total, chunk):
            member.write(zeros[: min(chunk, total - start)])


def npz(path, members, compression=zipfile.ZIP_DEFLATED):
    """An .npz of ``{name: (shape, dtype, data_bytes)}`` members, streamed."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, (shape, dtype, data_bytes) in members.items():
            write_member(archive, name, shape, dtype, data_bytes)
    return path


def refused_early(call, match, seconds=2.0, peak_bytes=16 << 20):
    """``call()`` raises a VaePassiveError matching ``match`` within ``seconds`` and ``peak_bytes`` of Python memory
    (numpy's allocations are traced too); the message is returned."""
    tracemalloc.start()
    began = time.perf_counter()
    try:
        with pytest.raises(VaePassiveError, match=match) as raised:
            call()
        elapsed, (_, peak) = time.perf_counter() - began, tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < seconds and peak < peak_bytes, (elapsed, peak)
    assert "\n" not in str(raised.value)
    return str(raised.value)


def test_the_issues_file_is_refused_fast_and_small(tmp_path):
    """The audit's 195 kB file of 400,000 x 250 int8 zeros took 4 GB and > 300 s in `analyze --codes`."""
    shape = (400_000, 250)
    path = npz(tmp_path / "bomb.npz", {"mean": (shape, "|i1", None), "logvar": (shape, "|i1", None)})
    assert path.stat().st_size < 1 << 20
    refused_early(lambda: read_codes(path), "inflate")


def test_a_member_that_inflates_too_much_is_refused_before_it_is_read(tmp_path):
    """Within the row and latent caps, 2 MB of zeros from 2 kB is still no codes file."""
    path = npz(tmp_path / "zeros.npz", {"mean": ((2_000, 1_000), "|i1", None), "logvar": ((2, 2), "<f8", None)})
    message = refused_early(lambda: read_codes(path), "inflate")
    assert "mean" in message and "over the limit of 200" in message


def test_a_header_that_declares_more_than_the_member_holds_is_refused(tmp_path):
    """numpy would allocate the declared 400 MB before finding the member short."""
    path = npz(tmp_path / "lying.npz", {"mean": ((50_000, 1_000), "<f8", 80), "logvar": ((2, 2), "<f8", None)})
    refused_early(lambda: read_codes(path), "declares .* holds fewer bytes")


def test_rows_are_capped_by_default_and_configurable(tmp_path, monkeypatch, cli):
    rows = 100_001
    path = npz(
        tmp_path / "tall.npz",
        {"mean": ((rows, 1), "<f4", None), "logvar": ((rows, 1), "<f4", None)},
        zipfile.ZIP_STORED,
    )
    refused_early(lambda: read_codes(path), "mean has 100,001 rows, more than the 100,000 allowed")
    result = cli("analyze", "--codes", path, "--results", tmp_path / "r")
    assert "VAE_PASSIVE_MAX_CODES_ROWS" in one_line_error(result)
    assert not (tmp_path / "r").exists()
    monkeypatch.setenv("VAE_PASSIVE_MAX_CODES_ROWS", str(rows))
    assert read_codes(path).mean.shape == (rows, 1)
    monkeypatch.setenv("VAE_PASSIVE_MAX_CODES_ROWS", "many")
    with pytest.raises(VaePassiveError, match="VAE_PASSIVE_MAX_CODES_ROWS='many' is not a positive number"):
        read_codes(path)


def test_latents_are_capped_before_any_float64_copy():
    """3 x 30,000 latents asked for a 6.7 GiB covariance; int8 codes are refused before they become float64."""
    with pytest.raises(VaePassiveError):  # imports the API's modules outside the measurement
        vae_passive.analyze_codes(np.zeros((1, 1)), np.zeros((1, 1)))
    codes = np.zeros((3, 30_000), np.int8)
    small = 256 * 1024  # one float64 copy of the codes would take 720 kB
    message = "30,000 columns, more than the 1,000 allowed"
    refused_early(lambda: vae_passive.analyze_codes(codes, codes), message, peak_bytes=small)
    refused_early(lambda: vae_passive.scores(codes, {"all": [0, 1]}), "VAE_PASSIVE_MAX_CODES_LATENTS", peak_bytes=small)


def test_factors_and_score_files_are_held_to_the_same_caps(tmp_path, monkeypatch, cli):
    monkeypatch.setenv("VAE_PASSIVE_MAX_CODES_ROWS", "10")
    monkeypatch.setenv("VAE_PASSIVE_MAX_CODES_LATENTS", "3")
    rng = np.random.default_rng(0)
    wide_factors = tmp_path / "f.npz"
    np.savez(wide_factors, mean=rng.normal(size=(5, 2)), logvar=np.zeros((5, 2)), factors=np.zeros((5, 4), int))
    with pytest.raises(VaePassiveError, match="factors has 4 columns"):
        read_codes(wide_factors)
    tall = tmp_path / "s.npz"
    np.savez(tall, codes=rng.normal(size=(11, 2)), factors=np.zeros((11, 1), int))
    assert "codes has 11 rows, more than the 10 allowed" in one_line_error(cli("score", "--codes", tall))


def test_a_huge_key_array_is_refused_from_its_header(tmp_path):
    path = tmp_path / "key.npz"
    np.savez(path, mean=np.zeros((3, 2)), logvar=np.zeros((3, 2)), key=np.array("k" * 100_000))
    with pytest.raises(VaePassiveError, match="key must be one short string"):
        read_codes(path)
