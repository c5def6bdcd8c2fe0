"""The shared-cache threat model (issue 26): a colleague who can write into a shared home or a folder we read
plants links, FIFOs and hard links, or swaps a file between a check and its use. Nothing outside the cache may
be written, and no outside byte may enter the cache or a mirror. Tests run as root here, so ownership is
tested with ``os.chown`` to another user id."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import threading
import zipfile
from pathlib import Path

import pytest
from support.http_server import ZipServer

from vae_passive import home
from vae_passive.errors import VaePassiveError
from vae_passive.zoo.checks import MANIFEST
from vae_passive.zoo.download import _sidecar, download
from vae_passive.zoo.fileguard import UnsafeFile, open_listed, read_small
from vae_passive.zoo.mirror_index import INDEX_FILE, SUMS_FILE, parse_index, parse_sums
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

    def refused() -> str:
        with pytest.raises(UnsafeFile, match="not a regular file") as caught:
            download(served.url + "/f.bin", part)
        return str(caught.value)

    within(60, refused)


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


# --- 7. mirror rebuilds keep only the zips they wrote ------------------------------------------------------


@pytest.fixture
def cached(cli, tmp_path, zip_of):
    """Models 0-2 in the cache (imported zips)."""
    for model_id in range(3):
        (tmp_path / f"{model_id}.zip").write_bytes(zip_of(model_id))
    assert cli("import", *(str(tmp_path / f"{i}.zip") for i in range(3))).exit_code == 0


def tamper(out: Path, model_id: int, data: bytes) -> None:
    """Replace ``<id>.zip`` and edit SHA256SUMS and index.json to match, as a hostile folder mirror would."""
    (out / f"{model_id}.zip").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    index = json.loads((out / INDEX_FILE).read_text())
    for entry in index["models"]:
        if entry["id"] == model_id:
            entry["sha256"], entry["size"] = digest, len(data)
    (out / INDEX_FILE).write_text(json.dumps(index))
    sums = [line for line in (out / SUMS_FILE).read_text().splitlines() if not line.endswith(f" {model_id}.zip")]
    (out / SUMS_FILE).write_text("\n".join([*sums, f"{digest}  {model_id}.zip"]) + "\n")


def hostile_zip(zip_of, model_id: int) -> bytes:
    """A valid zip of the model with one file of the same size and other bytes: same names and sizes."""
    source = io.BytesIO(zip_of(model_id))
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(buffer, "w") as archive:
        for info in original.infolist():
            data = original.read(info)
            archive.writestr(info.filename, b"!" * len(data) if info.filename.endswith(SWAPPED) else data)
    return buffer.getvalue()


def test_a_rebuild_rewrites_a_zip_whose_index_entry_was_edited_to_match(cli, cached, tmp_path, zip_of):
    out = tmp_path / "mirror"
    assert cli("mirror", "build", "--out", str(out)).exit_code == 0
    published = (out / "1.zip").read_bytes()
    tamper(out, 1, hostile_zip(zip_of, 1))
    rebuild = cli("mirror", "build", "--out", str(out), "--json")
    assert rebuild.exit_code == 0, rebuild.stderr
    statuses = {m["id"]: m["status"] for m in json.loads(rebuild.stdout)["models"]}
    assert statuses == {0: "unchanged", 1: "written", 2: "unchanged"}
    assert (out / "1.zip").read_bytes() == published
    assert cli("mirror", "verify", str(out)).exit_code == 0


def test_a_rebuild_never_keeps_a_link_and_drops_tampered_zips_it_does_not_rebuild(cli, cached, tmp_path, zip_of):
    out = tmp_path / "mirror"
    assert cli("mirror", "build", "--out", str(out)).exit_code == 0
    elsewhere = tmp_path / "0.zip"
    elsewhere.write_bytes((out / "0.zip").read_bytes())
    (out / "0.zip").unlink()
    (out / "0.zip").symlink_to(elsewhere)  # same bytes, same hash: still a link
    tamper(out, 2, hostile_zip(zip_of, 2))
    rebuild = cli("mirror", "build", "--out", str(out), "--ids", "0-1")
    assert rebuild.exit_code == 1 and "failed 2: 2.zip is not the zip an earlier build wrote" in rebuild.stderr
    assert not (out / "0.zip").is_symlink()
    assert sorted(parse_index((out / INDEX_FILE).read_bytes())) == [0, 1]
    assert "2.zip" not in parse_sums((out / SUMS_FILE).read_text())


def test_the_build_lock_is_not_published(cli, cached, tmp_path):
    out = tmp_path / "mirror"
    (out).mkdir()
    (out / ".vae-passive-mirror.lock").write_text("")  # left by an older version
    assert cli("mirror", "build", "--out", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(["0.zip", "1.zip", "2.zip", INDEX_FILE, SUMS_FILE])


# --- 11, 16. hostile mirror folders: FIFOs, devices, odd names, sparse files -------------------------------


def within(seconds: float, call):
    """``call()``'s result, failing (not hanging) when it takes longer: what a FIFO or /dev/zero would do to a
    reader that follows links or blocks. The call runs on a daemon thread, so a stuck one never holds pytest."""
    result: list = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s: hung on a hostile file"
    return result[0]


def test_mirror_verify_survives_fifos_devices_odd_names_and_sparse_listings(cli, cached, tmp_path):
    out = tmp_path / "mirror"
    assert cli("mirror", "build", "--out", str(out)).exit_code == 0
    (out / "0.zip").unlink()
    os.mkfifo(out / "0.zip")
    (out / "1.zip").unlink()
    (out / "1.zip").symlink_to("/dev/zero")
    (out / "².zip").write_bytes(b"not an id")
    with open(out / SUMS_FILE, "r+b") as handle:
        handle.truncate(3 << 30)  # 3 GB, sparse
    result = within(60, lambda: cli("mirror", "verify", str(out), "--json"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stdout.startswith("{\n")  # indented like the other --json outputs
    report = json.loads(result.stdout)
    problems = report["problems"]
    assert any(p.startswith(f"{SUMS_FILE} cannot be used") and "larger than" in p for p in problems)
    assert any(p.startswith("0.zip cannot be read safely") and "not a regular file" in p for p in problems)
    assert any(p.startswith("1.zip cannot be read safely") and "symlink" in p for p in problems)
    assert report["checked"] == 3  # 0, 1, 2: not ².zip


def test_mirror_build_from_a_folder_with_a_fifo_manifest_and_odd_names(cli, tmp_path, model_folder_1ch):
    given = tmp_path / "trained"
    shutil.copytree(model_folder_1ch, given / "7")
    os.mkfifo(given / "7" / MANIFEST)
    shutil.copytree(model_folder_1ch, given / "²")
    result = within(60, lambda: cli("mirror", "build", "--out", str(tmp_path / "out"), "--from", str(given), "--json"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{MANIFEST} is not a regular file" in result.stderr  # named, not read (no hang)
    assert [m["id"] for m in json.loads(result.stdout)["models"]] == [7]  # "²" is no id (no ValueError)


def test_mirror_build_refuses_a_fifo_among_the_model_files(cli, tmp_path, model_folder_1ch):
    given = tmp_path / "trained"
    shutil.copytree(model_folder_1ch, given / "7")
    os.mkfifo(given / "7" / "model" / "pipe")
    result = within(60, lambda: cli("mirror", "build", "--out", str(tmp_path / "out"), "--from", str(given)))
    assert result.exit_code == 1 and "is not a regular file" in result.stderr


def test_a_folder_mirror_zip_over_the_cap_is_refused_before_hashing(cli, tmp_path, zip_of, monkeypatch):
    from vae_passive.zoo import install

    hashed = []
    monkeypatch.setattr(install, "sha256_of", lambda handle: hashed.append(1) or "0" * 64)
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / "3.zip").write_bytes(zip_of(3))
    monkeypatch.setenv("VAE_PASSIVE_MAX_DOWNLOAD_BYTES", "1000")
    result = cli("fetch", "--ids", "3", "--mirror", str(folder))
    assert (
        result.exit_code == 1
        and "over the limit of" in result.stderr
        and "VAE_PASSIVE_MAX_DOWNLOAD_BYTES" in result.stderr
    )
    assert hashed == []


# --- 17. names that differ only in case ------------------------------------------------------------------


def test_zip_members_differing_only_in_case_are_refused(cli, tmp_path, zip_of):
    source = io.BytesIO(zip_of(4))
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(buffer, "w") as archive:
        for info in original.infolist():
            archive.writestr(info, original.read(info))
        archive.writestr(f"4/{SWAPPED.upper()}", b"the other file")
    (tmp_path / "4.zip").write_bytes(buffer.getvalue())
    result = cli("import", str(tmp_path / "4.zip"))
    assert result.exit_code == 1 and "differ only in case" in result.stderr
    assert not home.model_dir(4).exists()


def test_folder_files_differing_only_in_case_are_refused(cli, tmp_path, model_folder_1ch):
    folder = shutil.copytree(model_folder_1ch, tmp_path / "given" / "4")
    (folder / "model" / "TFHUB").mkdir()
    result = cli("import", str(folder))
    assert result.exit_code == 1 and "differ only in case" in result.stderr


def test_a_planted_lock_link_truncates_nothing(cli, victim, zip_of):
    """filelock >= 3.20.1 opens lock files without following links (older versions truncated the target)."""
    locks = home.models_dir() / ".locks"
    locks.mkdir(parents=True)
    (locks / "5.lock").symlink_to(victim)
    with ZipServer() as server:
        server.files["/m/5.zip"] = zip_of(5)
        result = cli("fetch", "--ids", "5", "--mirror", server.url + "/m")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert victim.read_bytes() == b"export PATH=/usr/bin\n"
