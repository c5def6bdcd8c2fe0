"""Time and peak memory of ``vae-passive report`` over many synthetic analysis documents.

    .venv/bin/python benchmarks/report.py [--documents 10000] [--keep DIR]

Documents come from ``tests/support/report_docs.py`` (the first N released model ids, 10 latents, scores,
metrics, the truncated downstream tasks' rows and upstream metrics). The report runs as its own
process (``python -m vae_passive report``), so its wall time, CPU time and peak resident memory are
measured alone. The target is under 60 s and 2 GB for 10,000 documents.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.report_docs import make_document

from vae_passive.zoo import catalogue

WALL_LIMIT_S = 60.0
MEMORY_LIMIT_MB = 2048.0


def write_documents(root: Path, count: int) -> None:
    """``count`` documents for the first released ids, one folder each."""
    for model_id in range(min(count, catalogue.NUM_RELEASED)):
        folder = root / str(model_id)
        folder.mkdir(parents=True)
        (folder / "analysis.json").write_text(json.dumps(make_document(model_id, downstream=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="Write results and report here instead of a temporary folder.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        results, out = base / "results", base / "report"
        start = time.perf_counter()
        write_documents(results, args.documents)
        print(f"wrote {args.documents:,} documents in {time.perf_counter() - start:.1f} s", file=sys.stderr)

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        command = [sys.executable, "-m", "vae_passive", "report", "--results", str(results), "--out", str(out)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures = len(list((out / "figures").glob("*.png")))
        html_mb = (out / "index.html").stat().st_size / 2**20

    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of children is the largest single descendant (KiB on Linux): the report process or a
    # figure worker; forked workers share most pages with it, so the sum overstates real use.
    peak_mb = after.ru_maxrss / 1024
    result = {
        "documents": args.documents,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_rss_mb": round(peak_mb),
        "figures_png": figures,
        "index_html_mb": round(html_mb, 1),
        "within_limits": wall < WALL_LIMIT_S and peak_mb < MEMORY_LIMIT_MB,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
