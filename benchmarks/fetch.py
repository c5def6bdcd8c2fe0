"""Throughput of `vae-passive fetch` against `curl` fetching the same zips one after another, in the same run,
and of a mirror round trip: `mirror build` from a cache of --count models, served, fetched back.

    .venv/bin/python benchmarks/fetch.py [--count 40] [--size-mb 15] [--workers 8] [--rate-mb 10] [--mirror-only]

Zips with the zoo's layout and a random payload are served from 127.0.0.1 by tests/support/http_server.py,
in its own process, twice: with each connection limited to --rate-mb MB/s (as a remote server or
a long path limits one TCP stream), then unlimited. `fetch` is timed end to end as a user runs it
(process start, download, sha256, CRC check, extraction into models/); curl only downloads, so
`curl + unzip` (each zip extracted after the downloads, as by hand) is shown too, for context.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CURL = shutil.which("curl") or "/usr/bin/curl"
UNZIP = shutil.which("unzip")


def write_zips(folder: Path, count: int, size: int) -> int:
    """``count`` zips ``<id>.zip`` (top folder ``<id>/``, a module's files, ``size`` random bytes); total bytes."""
    folder.mkdir(parents=True)
    payload = os.urandom(size)
    for model_id in range(count):
        with zipfile.ZipFile(folder / f"{model_id}.zip", "w", zipfile.ZIP_STORED) as archive:
            top = f"{model_id}/model/tfhub/"
            archive.writestr(top + "saved_model.pb", b"graph")
            archive.writestr(top + "tfhub_module.pb", b"\x08\x03")
            archive.writestr(top + "variables/variables.index", b"index")
            # a fresh prefix per zip, so no two zips are byte-identical
            archive.writestr(top + "variables/variables.data-00000-of-00001", model_id.to_bytes(8, "big") + payload)
    return sum(p.stat().st_size for p in folder.iterdir())


def start_server(folder: Path, rate: float | None) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, str(ROOT / "tests" / "support" / "http_server.py"), str(folder)]
    if rate:
        command += ["--rate", str(rate)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def time_curl(url: str, count: int, out: Path) -> tuple[float, float | None]:
    """Seconds for one curl process fetching every zip in turn (one kept-alive connection), then to unzip them."""
    out.mkdir()
    command = [CURL, "--silent", "--show-error", "--fail"]
    for model_id in range(count):
        command += [f"{url}/{model_id}.zip", "-o", str(out / f"{model_id}.zip")]
    began = time.perf_counter()
    subprocess.run(command, check=True)
    curl_s = time.perf_counter() - began
    unzip_s = None
    if UNZIP:
        began = time.perf_counter()
        for model_id in range(count):
            subprocess.run([UNZIP, "-q", str(out / f"{model_id}.zip"), "-d", str(out / "x")], check=True)
        unzip_s = time.perf_counter() - began
    shutil.rmtree(out)
    return curl_s, unzip_s


def time_fetch(url: str, count: int, workers: int, home: Path) -> float:
    env = {**os.environ, "VAE_PASSIVE_HOME": str(home)}
    command = [sys.executable, "-m", "vae_passive", "fetch", "--ids", f"0-{count - 1}", "--mirror", url]
    command += ["--workers", str(workers), "--quiet"]
    began = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    elapsed = time.perf_counter() - began
    models = [p for p in (home / "models").iterdir() if p.name.isdigit()]
    assert len(models) == count, f"fetch cached {len(models)} of {count} models"
    shutil.rmtree(home)
    return elapsed


def cli(home: Path, *args: str) -> float:
    """Run ``vae-passive ARGS`` with ``home`` as its home folder; return the seconds it took."""
    env = {**os.environ, "VAE_PASSIVE_HOME": str(home)}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vae_passive", *args], check=True, env=env)
    return time.perf_counter() - began


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` but the cache manifest (which names the source), by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != ".vae-passive.json"
    }


def time_mirror(zips: Path, count: int, workers: int, jobs: int, tmp: Path) -> dict:
    """A cache of ``count`` models (imported from ``zips``) built into a mirror, served, fetched back into a fresh
    home with ``workers``; the fetched folders are checked byte for byte against the cache."""
    ids = f"0-{count - 1}"
    lab, other, out = tmp / "lab-home", tmp / "other-home", tmp / "mirror"
    cli(lab, "import", str(zips), "--quiet")
    build_s = cli(lab, "mirror", "build", "--out", str(out), "--jobs", str(jobs), "--quiet")
    rebuild_s = cli(lab, "mirror", "build", "--out", str(out), "--jobs", str(jobs), "--quiet")
    verify_s = cli(lab, "mirror", "verify", str(out), "--quiet")
    mirror_bytes = sum(p.stat().st_size for p in out.glob("*.zip"))
    server, url = start_server(out, None)
    try:
        fetch_s = cli(other, "fetch", "--ids", ids, "--mirror", url, "--workers", str(workers), "--quiet")
    finally:
        server.terminate()
        server.wait()
    for model_id in range(count):
        same = tree(lab / "models" / str(model_id)) == tree(other / "models" / str(model_id))
        assert same, f"model {model_id} differs after the round trip"
    shutil.rmtree(lab), shutil.rmtree(other), shutil.rmtree(out)
    return {
        "models": count,
        "mirror_mb": round(mirror_bytes / 1e6, 1),
        "build_s": round(build_s, 2),
        "build_mb_s": round(mirror_bytes / build_s / 1e6, 1),
        "rebuild_unchanged_s": round(rebuild_s, 2),
        "verify_s": round(verify_s, 2),
        "fetch_s": round(fetch_s, 2),
        "fetch_mb_s": round(mirror_bytes / fetch_s / 1e6, 1),
        "round_trip_identical": True,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--size-mb", type=float, default=15)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rate-mb", type=float, default=10, help="Per-connection limit of the limited server, MB/s.")
    parser.add_argument("--jobs", type=int, default=4, help="mirror build --jobs.")
    parser.add_argument("--mirror-only", action="store_true", help="Only the mirror round trip, not the curl races.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fetch-bench-") as tmp:
        tmp = Path(tmp)
        total = write_zips(tmp / "zips", args.count, int(args.size_mb * 1e6))
        results = {"mirror": time_mirror(tmp / "zips", args.count, args.workers, args.jobs, tmp)}
        for name, rate in () if args.mirror_only else (("limited", args.rate_mb * 1e6), ("unlimited", None)):
            server, url = start_server(tmp / "zips", rate)
            try:
                curl_s, unzip_s = time_curl(url, args.count, tmp / "curl")
                fetch_s = time_fetch(url, args.count, args.workers, tmp / "home")
            finally:
                server.terminate()
                server.wait()
            results[name] = {
                "per_connection_mb_s": args.rate_mb if rate else None,
                "curl_s": round(curl_s, 2),
                "fetch_s": round(fetch_s, 2),
                "curl_mb_s": round(total / curl_s / 1e6, 1),
                "fetch_mb_s": round(total / fetch_s / 1e6, 1),
                "ratio": round(curl_s / fetch_s, 2),
                "curl_unzip_s": round(curl_s + unzip_s, 2) if unzip_s is not None else None,
                "ratio_to_curl_unzip": round((curl_s + unzip_s) / fetch_s, 2) if unzip_s is not None else None,
            }
    print(f"{args.count} zips, {total / 1e6:.0f} MB in all, fetch --workers {args.workers}, {os.cpu_count()} CPUs")
    m = results.pop("mirror")
    print(
        f"mirror    ({m['models']} cached models, {m['mirror_mb']:.0f} MB): build --jobs {args.jobs} "
        f"{m['build_s']:6.2f} s {m['build_mb_s']:7.1f} MB/s | rebuild, nothing changed {m['rebuild_unchanged_s']:.2f} s"
        f" | verify {m['verify_s']:.2f} s | fetch back --workers {args.workers} {m['fetch_s']:6.2f} s "
        f"{m['fetch_mb_s']:7.1f} MB/s | folders identical"
    )
    for name, r in results.items():
        limit = f"{r['per_connection_mb_s']:g} MB/s per connection" if r["per_connection_mb_s"] else "no limit"
        print(
            f"{name:<9} ({limit}): curl {r['curl_s']:6.2f} s {r['curl_mb_s']:7.1f} MB/s | "
            f"fetch {r['fetch_s']:6.2f} s {r['fetch_mb_s']:7.1f} MB/s | ratio {r['ratio']:.2f}x"
        )
        if r["curl_unzip_s"] is not None:
            print(f"{'':<9}  curl + unzip {r['curl_unzip_s']:6.2f} s | ratio {r['ratio_to_curl_unzip']:.2f}x")
    print(json.dumps({"mirror": m, **results}))


if __name__ == "__main__":
    main()
