"""The shared-cache threat model (issue 26): a colleague who can write into a shared home or a folder we read
plants links, FIFOs and hard links, or swaps a file between a check and its use. Nothing outside the cache may
be written, and no outside byte may enter the cache or a mirror. Tests run as root here, so ownership is
tested with ``os.chown`` to another user id."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from support.http_server import ZipServer

from vae_passive import home
from vae_passive.errors import VaePassiveError
from vae_passive.zoo.download import _sidecar, download
from vae_passive.zoo.fileguard import UnsafeFile, open_listed, read_small
from vae_passive.zoo.sources import OFFLINE_ENV, UPSTREAM_ENV

OTHER_UID = 4242  # a user id that is not ours
PAYLOAD = bytes(range(256)) * 400


@pytest.fixture(autouse=True)
def fast_and_local(monkeypatch):
    monkeypatch.setenv("VAE_PASSIVE_RETRY_BASE", "0.01")
    monkeypatch.setenv(UPSTREAM_ENV, "http://127.0.0.1:9/upstream")
    monkeypatch.delenv(OFFLINE_ENV, raising=False)


@pytest.fixture
def served():
    with ZipServer() as server:
        server.files["/f.bin"] = PAYLOAD
        yield server


def staging() -> Path:
    folder = home.models_dir() / ".staging"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    return folder


@pytest.fixture
def victim(tmp_path) -> Path:
    """A file of the user outside the cache (their ~/.bashrc)."""
    path = tmp_path / "bashrc"
    path.write_bytes(b"export PATH=/usr/bin\n")
    return path


# --- 1. planted partial downloads ----------------------------------------------------------------------


def plant_resumable(part: Path, target: Path, url: str) -> None:
    """A ``.part`` symlink with a sidecar matching ``url``: a resume would append the download to ``target``."""
    part.symlink_to(target)
    _sidecar(part).write_text(json.dumps({"url": url, "validator": ""}))


def test_a_symlinked_partial_download_is_refused_and_its_target_untouched(served, victim):
    part = staging() / "5.zip.part"
    plant_resumable(part, victim, served.url + "/f.bin")
    with pytest.raises(UnsafeFile, match="is a symlink"):
        download(served.url + "/f.bin", part)
    assert victim.read_bytes() == b"export PATH=/usr/bin\n"


def test_a_symlinked_sidecar_is_never_written_through(served, victim):
    part = staging() / "5.zip.part"
    _sidecar(part).symlink_to(victim)
    with pytest.raises(UnsafeFile, match="is a symlink"):
        download(served.url + "/f.bin", part)
    assert victim.read_bytes() == b"export PATH=/usr/bin\n"


def test_a_hard_linked_partial_download_is_refused(served, victim):
    part = staging() / "5.zip.part"
    os.link(victim, part)
    _sidecar(part).write_text(json.dumps({"url": served.url + "/f.bin", "validator": ""}))
    with pytest.raises(UnsafeFile, match="hard links"):
        download(served.url + "/f.bin", part)
    assert victim.read_bytes() == b"export PATH=/usr/bin\n"


def test_another_users_partial_download_is_refused(served):
    part = staging() / "5.zip.part"
    part.write_bytes(PAYLOAD[:1000])
    _sidecar(part).write_text(json.dumps({"url": served.url + "/f.bin", "validator": ""}))
    os.chown(part, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafeFile, match=f"belongs to user id {OTHER_UID}"):
        download(served.url + "/f.bin", part)


def test_a_fifo_sidecar_does_not_hang(served):
    part = staging() / "5.zip.part"
    os.mkfifo(_sidecar(part))
    with pytest.raises(UnsafeFile, match="not a regular file"):
        download(served.url + "/f.bin", part)


def test_a_planted_link_without_sidecar_is_replaced_not_followed(served, victim):
    """No sidecar: the download starts afresh; the link is removed, never written through."""
    part = staging() / "5.zip.part"
    part.symlink_to(victim)
    download(served.url + "/f.bin", part)
    assert part.read_bytes() == PAYLOAD and not part.is_symlink()
    assert victim.read_bytes() == b"export PATH=/usr/bin\n"


def test_own_partial_downloads_still_resume(served):
    part = staging() / "5.zip.part"
    part.write_bytes(PAYLOAD[:5000])
    _sidecar(part).write_text(json.dumps({"url": served.url + "/f.bin", "validator": ""}))
    download(served.url + "/f.bin", part)
    assert part.read_bytes() == PAYLOAD
    assert [g.range for g in served.gets("/f.bin")] == ["bytes=5000-"]


@pytest.mark.parametrize(
    ("mode", "uid", "refused"),
    [
        (0o775, None, "writable by other users"),
        (0o757, None, "writable by other users"),
        (0o755, OTHER_UID, f"belongs to user id {OTHER_UID}"),
        (0o1777, OTHER_UID, f"belongs to user id {OTHER_UID}"),
        (0o1777, None, None),  # sticky, ours: a shared staging folder as the docs describe
        (0o1777, 0, None),  # sticky, root's
        (0o700, None, None),
    ],
)
def test_the_staging_folder_must_be_private_or_sticky(served, mode, uid, refused):
    folder = staging()
    os.chmod(folder, mode)
    if uid is not None:
        os.chown(folder, uid, uid)
    part = folder / "5.zip.part"
    if refused:
        with pytest.raises(UnsafeFile, match=refused):
            download(served.url + "/f.bin", part)
        assert not part.exists()
    else:
        download(served.url + "/f.bin", part)
        assert part.read_bytes() == PAYLOAD


def test_a_symlinked_staging_folder_is_refused(served, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    home.models_dir().mkdir(parents=True)
    (home.models_dir() / ".staging").symlink_to(elsewhere)
    with pytest.raises(UnsafeFile, match="is a symlink"):
        download(served.url + "/f.bin", home.models_dir() / ".staging" / "5.zip.part")
    assert not list(elsewhere.iterdir())


def test_a_world_writable_models_folder_is_refused(served):
    staging()
    os.chmod(home.models_dir(), 0o777)
    with pytest.raises(UnsafeFile, match="writable by every user"):
        download(served.url + "/f.bin", home.models_dir() / ".staging" / "5.zip.part")


def test_fetch_names_the_planted_link_in_one_line(cli, victim, zip_of):
    with ZipServer() as server:
        server.files["/m/5.zip"] = zip_of(5)
        part = staging() / "5.zip.part"
        plant_resumable(part, victim, server.url + "/m/5.zip")
        result = cli("fetch", "--ids", "5", "--mirror", server.url + "/m")
    assert result.exit_code != 0 and "is a symlink" in result.output and "Traceback" not in result.output
    assert victim.read_bytes() == b"export PATH=/usr/bin\n"


# --- the readers of strangers' files -------------------------------------------------------------------


def test_open_listed_refuses_links_fifos_and_swapped_files(tmp_path):
    real = tmp_path / "real"
    real.write_bytes(b"abc")
    listed = os.lstat(real)
    with open_listed(real, listed) as (handle, found):
        assert handle.read() == b"abc" and stat.S_ISREG(found.st_mode)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(UnsafeFile, match="symlink"), open_listed(tmp_path / "link"):
        pass
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(UnsafeFile, match="not a regular file"), open_listed(tmp_path / "fifo"):
        pass
    (tmp_path / "other").write_bytes(b"abc")
    os.replace(tmp_path / "other", real)  # another file (inode) under the listed name
    with pytest.raises(UnsafeFile, match="replaced after it was listed"), open_listed(real, listed):
        pass


def test_read_small_caps_a_sparse_file(tmp_path):
    sparse = tmp_path / "SHA256SUMS"
    with open(sparse, "wb") as handle:
        handle.truncate(3 << 30)  # 3 GB, no blocks
    with pytest.raises(VaePassiveError, match="larger than"):
        read_small(sparse, 16 << 20)


# --- 2. files swapped between listing and copying --------------------------------------------------------

SECRET = b"the colleague's bytes: never in the cache"
SWAPPED = "model/tfhub/tfhub_module.pb"


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret"
    path.write_bytes(SECRET)
    return path


def swap_after_listing(monkeypatch, module, swap) -> None:
    """Run ``swap(folder)`` right after ``module.check_model_folder`` lists ``folder``: the race, made certain."""
    listing = module.check_model_folder

    def listed_then_swapped(folder, model_id):
        files = listing(folder, model_id)
        swap(folder)
        return files

    monkeypatch.setattr(module, "check_model_folder", listed_then_swapped)


def to_link(target: Path):
    def swap(folder: Path) -> None:
        (folder / SWAPPED).unlink()
        (folder / SWAPPED).symlink_to(target)

    return swap


def to_other_file(folder: Path) -> None:
    """Another regular file of the same size renamed over the listed one (what a hard link or copy would do)."""
    other = folder / "other"
    other.write_bytes(SECRET[:1] * (folder / SWAPPED).stat().st_size)
    os.replace(other, folder / SWAPPED)


def cache_holds(data: bytes) -> bool:
    return any(data in p.read_bytes() for p in home.home().rglob("*") if p.is_file() and not p.is_symlink())


@pytest.mark.parametrize("swap", ["link", "other file"])
def test_import_never_copies_a_file_swapped_after_listing(cli, tmp_path, model_folder_1ch, secret, monkeypatch, swap):
    from vae_passive.zoo import install

    folder = shutil.copytree(model_folder_1ch, tmp_path / "given" / "7")
    swap_after_listing(monkeypatch, install, to_link(secret) if swap == "link" else to_other_file)
    result = cli("import", str(folder))
    assert result.exit_code == 1
    assert ("is a symlink" if swap == "link" else "was replaced after it was listed") in result.stderr
    assert not home.model_dir(7).exists() and not cache_holds(SECRET) and not cache_holds(SECRET[:1] * 2)


@pytest.mark.parametrize("swap", ["link", "other file"])
def test_mirror_build_never_publishes_a_file_swapped_after_listing(
    cli, tmp_path, model_folder_1ch, secret, monkeypatch, swap
):
    from vae_passive.zoo import mirror

    given = tmp_path / "trained"
    shutil.copytree(model_folder_1ch, given / "7")
    swap_after_listing(monkeypatch, mirror, to_link(secret) if swap == "link" else to_other_file)
    out = tmp_path / "published"
    result = cli("mirror", "build", "--out", str(out), "--from", str(given))
    assert result.exit_code == 1 and "failed 7: " in result.stderr
    assert not (out / "7.zip").exists()
    assert not any(SECRET[:8] in p.read_bytes() for p in out.rglob("*") if p.is_file())


def test_a_folder_mirror_zip_is_read_once_not_through_a_link(cli, tmp_path, zip_of, secret):
    mirror_folder = tmp_path / "mirror"
    mirror_folder.mkdir()
    outside = tmp_path / "outside.zip"
    outside.write_bytes(zip_of(3))
    (mirror_folder / "3.zip").symlink_to(outside)
    result = cli("fetch", "--ids", "3", "--mirror", str(mirror_folder))
    assert result.exit_code == 1 and "is a symlink" in result.stderr
    assert not home.model_dir(3).exists()


def test_import_follows_a_link_named_by_the_user_but_not_one_inside_a_folder(cli, tmp_path, zip_of):
    (tmp_path / "real.zip").write_bytes(zip_of(7))
    (tmp_path / "given").mkdir()
    (tmp_path / "given" / "7.zip").symlink_to(tmp_path / "real.zip")
    result = cli("import", str(tmp_path / "given"))
    assert result.exit_code == 1 and "is a symlink" in result.stderr and not home.model_dir(7).exists()
    assert cli("import", str(tmp_path / "given" / "7.zip")).exit_code == 0  # the user's own argument
    assert home.model_dir(7).is_dir()
