"""Render one example of each report figure into docs/figures/ (embedded by docs/report.md).

    .venv/bin/python benchmarks/render_doc_figures.py [--out docs/figures]

The inputs are synthetic: analysis documents from ``tests/support/report_docs.py`` for dsprites_full and
smallnorb (6 methods x 6 levels x 5 seeds), and for model 0 a codes.npz drawn with numpy plus a
module written by the project's exporter. The module's weights are random, made visible by
scaling the decoder, and the decoder's input weights of model 0's passive latents are zeroed, as
a trained VAE learns to ignore them: the traversal figure shows the layout, not a trained model.
PNG files carry no timestamp, so re-running with the same library versions gives the same bytes.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.report_docs import make_codes, make_document, write_documents

from vae_passive.report.render import build_report
from vae_passive.tfhub.architecture import random_weights
from vae_passive.tfhub.exporter import write_model_folder
from vae_passive.zoo import catalogue

DATASETS = ("dsprites_full", "smallnorb")
SEEDS = 5
MODEL_KINDS = ["active"] * 6 + ["mixed"] + ["passive"] * 3
EXAMPLES = {  # docs/figures name -> the report's figure file
    "overview.png": "overview.png",
    "passive.png": "passive__beta_vae__dsprites_full.png",
    "scores.png": "scores__beta_vae__dsprites_full.png",
    "kinds.png": "kinds__beta_vae__dsprites_full.png",
    "metrics.png": "metrics__beta_vae__dsprites_full.png",
    "downstream.png": "downstream__beta_vae__dsprites_full.png",
    "histograms.png": "model_0__histograms.png",
    "correlation.png": "model_0__correlation.png",
    "traversals.png": "model_0__traversals.png",
}


def demo_weights() -> dict[str, np.ndarray]:
    """Random weights with a decoder scaled to draw visible shapes and passive latents disconnected."""
    weights = random_weights(1, len(MODEL_KINDS), seed=4)
    for name in weights:
        if name.startswith("decoder/") and name.endswith("/kernel"):
            weights[name] = weights[name] * np.float32(3.0)
    passive = [i for i, kind in enumerate(MODEL_KINDS) if kind == "passive"]
    weights["decoder/dense/kernel"][passive, :] = 0.0
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        module = write_model_folder(
            base / "zoo", 0, demo_weights(), dataset="dsprites_full", channels=1, num_latents=len(MODEL_KINDS)
        )
        documents = [
            make_document(model_id, kinds=MODEL_KINDS, path=str(module), downstream=True)
            if model_id == 0
            else make_document(model_id, downstream=True)
            for dataset in DATASETS
            for method in catalogue.METHOD_NAMES
            for level in range(catalogue.LEVELS)
            for seed in range(SEEDS)
            for model_id in [catalogue.model_id(dataset, method, level, seed)]
        ]
        results = write_documents(base / "results", documents)
        np.savez(results / "0" / "codes.npz", **make_codes(MODEL_KINDS, n=2000))
        report = base / "report"
        build_report(results, report, ("png",), ("0",), progress=lambda message: print(message, file=sys.stderr))
        args.out.mkdir(parents=True, exist_ok=True)
        for name, source in EXAMPLES.items():
            shutil.copyfile(report / "figures" / source, args.out / name)
            print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
