"""All metrics on one model, this project vs disentanglement_lib's metric code, same encoder.

    # the reference environment (once): see tests/reference/metrics_golden.py
    python3 -m venv /tmp/refenv
    /tmp/refenv/bin/pip install disentanglement-lib==1.5 --no-deps
    /tmp/refenv/bin/pip install numpy scipy scikit-learn gin-config six absl-py
    .venv/bin/python benchmarks/metrics_vs_reference.py [--preset full] [--jobs 2] [--metrics all]

The model is written by the project's exporter (random weights, 1 channel, 10 latents); data are
procedural dSprites. Both sides get a representation function that calls ``Module.encode``
(the reference: per batch, as upstream; sampled codes draw numpy noise per call). The reference
modules are imported from ``--refenv``'s site-packages behind the golden script's stubs. Ours
encodes each needed image once for all metrics and both representations (``EncodedData``), so
the first metric to need an image pays for it; the time inside the encoder is measured on both
sides and the table shows each metric with and without it. Each (representation, metric) uses the
study's seed.

The authors' truncated downstream tasks (``truncated_downstream_task_*``) are not in
disentanglement_lib: for them both sides get the **same codes** (one draw of ``num_train`` then
``num_test`` points with the authors' seed, classified with the default rule) of a designed model
with active, mixed and passive latents (``tests/support/designed.py``), and ours
(``compute_truncated_downstream``, ``--jobs`` processes) is timed against the restatement of the
authors' function in ``tests/reference/truncated.py`` (sequential, as theirs). No reference
environment is needed for them (``--metrics truncated_downstream_task_logistic_regression,...
--skip-reference``). ``effective_rank`` has no reference timing.
"""

from __future__ import annotations

import argparse
import glob
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from vae_passive.data import get_dataset
from vae_passive.metrics import registry
from vae_passive.metrics.encoded import EncodedData
from vae_passive.tfhub.architecture import random_weights
from vae_passive.tfhub.exporter import write_model_folder
from vae_passive.tfhub.module import Module

ROOT = Path(__file__).resolve().parents[1]


class UpstreamView:
    """A vae_passive data set with the extra names disentanglement_lib's metrics call."""

    def __init__(self, data):
        self.data = data
        self.num_factors = len(data.factor_sizes)
        self.factors_num_values = list(data.factor_sizes)

    def __getattr__(self, name):
        return getattr(self.data, name)

    def sample_observations(self, num, random_state):
        return self.data.sample(num, random_state)[1]


class Clock:
    """Seconds spent inside the wrapped encoder, so encoding can be told apart from the metric."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def timed(self, func):
        def wrapper(*args, **kwargs):
            tick = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - tick

        return wrapper


def reference_represent(module: Module, representation: str, clock: Clock):
    encode = clock.timed(module.encode)

    def represent(images: np.ndarray) -> np.ndarray:
        codes = encode(images, batch_size=len(images))
        if representation == "mean":
            return codes.mean
        return codes.mean + np.exp(codes.logvar / 2) * np.random.normal(size=codes.mean.shape)

    return represent


TRUNCATED = ("truncated_downstream_task_logistic_regression", "truncated_downstream_task_boosted_trees")


def time_truncated(module: Module, data, names: list[str], preset: str, jobs: int) -> None:
    """Ours vs the restatement of the authors' function, on the same codes, per representation."""
    sys.path.insert(0, str(ROOT / "tests"))
    from reference import truncated as authors

    from vae_passive.latents.variables import classify, latent_statistics
    from vae_passive.metrics.common import sample_codes
    from vae_passive.metrics.truncated import compute_truncated_downstream

    reference_predictor = {
        "logistic_regression": authors.logistic_regression_cv,
        "boosted_trees": authors.gradient_boosting_classifier,
    }
    for name in names:
        predictor = name.removeprefix("truncated_downstream_task_")
        params = registry.params(name, preset)
        for representation in ("mean", "sampled"):
            seed = registry.seed_for(representation, name)
            state, rng = np.random.RandomState(seed), np.random.default_rng(seed)

            def represent(images: np.ndarray, representation: str = representation, rng=rng) -> np.ndarray:
                codes = module.encode(images, batch_size=1024)
                if representation == "mean":
                    return codes.mean
                return codes.mean + np.exp(codes.logvar / 2) * rng.standard_normal(codes.mean.shape)

            train, train_y = sample_codes(data, represent, params["num_train"], state)
            test, test_y = sample_codes(data, represent, params["num_test"], state)
            encoded = module.encode(data.sample(2_000, np.random.RandomState(0))[1], batch_size=1024)
            kinds = classify(latent_statistics(encoded.mean, encoded.logvar))
            tick = time.perf_counter()
            compute_truncated_downstream(
                train, train_y, test, test_y, kinds, predictor, jobs, "current"
            )  # as the reference
            ours = time.perf_counter() - tick
            index = {kind: [j for j, k in enumerate(kinds) if k == kind] for kind in ("active", "mixed", "passive")}
            tick = time.perf_counter()
            authors.truncated_downstream(
                train.T, train_y.T, test.T, test_y.T, index["active"], index["mixed"], index["passive"],
                reference_predictor[predictor],
            )  # fmt: skip
            theirs = time.perf_counter() - tick
            counts = ", ".join(f"{kind} {len(v)}" for kind, v in index.items())
            print(
                f"{name:<46} {representation:<8} ours {ours:8.2f} s  authors {theirs:8.2f} s  "
                f"ratio {theirs / ours:5.2f}x  (N {params['num_train']}/{params['num_test']}; {counts})",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="full", choices=registry.PRESETS)
    parser.add_argument("--jobs", type=int, default=2, help="processes for the per-factor models (ours)")
    parser.add_argument("--metrics", default="all")
    parser.add_argument("--refenv", default="/tmp/refenv")
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    names = [name for name in registry.parse_metrics(args.metrics) if name != "effective_rank"]
    folder = write_model_folder(
        tempfile.mkdtemp(), 0, random_weights(1, 10, seed=0), dataset="dsprites_full", channels=1, num_latents=10
    )
    module = Module(folder)
    data = get_dataset("procedural_dsprites", 1)
    if any(name in TRUNCATED for name in names):
        sys.path.insert(0, str(ROOT / "tests"))
        from support.designed import designed_weights  # 3 active, 3 mixed, 4 passive latents: every subset

        designed = write_model_folder(
            tempfile.mkdtemp(), 0, designed_weights(), dataset="dsprites_full", channels=1, num_latents=10
        )
        time_truncated(Module(designed), data, [n for n in names if n in TRUNCATED], args.preset, args.jobs)
    names = [name for name in names if name not in TRUNCATED]
    if not names:
        return

    clock = Clock()

    @clock.timed
    def encode(images):
        codes = module.encode(images, batch_size=1024)
        return codes.mean, codes.logvar

    ours: dict[tuple[str, str], float] = {}
    ours_encoding: dict[tuple[str, str], float] = {}
    started = time.perf_counter()
    cached = EncodedData(data, encode)
    for representation in ("mean", "sampled"):
        for name in names:
            seed = registry.seed_for(representation, name)
            represent = cached.represent(representation, np.random.default_rng(seed))
            tick, encoding = time.perf_counter(), clock.seconds
            registry.evaluate(name, cached, represent, np.random.RandomState(seed), args.preset, args.jobs)
            ours[representation, name] = time.perf_counter() - tick
            ours_encoding[representation, name] = clock.seconds - encoding
            print(
                f"ours       {representation:<8} {name:<36} {ours[representation, name]:8.2f} s"
                f"  (encoding {ours_encoding[representation, name]:.2f} s)",
                flush=True,
            )
    ours_total = time.perf_counter() - started
    print(f"ours: {ours_total:.1f} s in all, {cached.encoded} images encoded", flush=True)
    if args.skip_reference:
        return

    sys.path.append(str(ROOT / "tests" / "reference"))
    sys.path.extend(glob.glob(f"{args.refenv}/lib/python*/site-packages"))
    import metrics_golden

    ref = metrics_golden._import_reference()
    theirs: dict[tuple[str, str], float] = {}
    theirs_encoding: dict[tuple[str, str], float] = {}
    started = time.perf_counter()
    for representation in ("mean", "sampled"):
        for name in names:
            params = registry.params(name, args.preset)
            if name.startswith("downstream_task"):
                params["predictor"] = name.removeprefix("downstream_task_")
                params["num_train"] = list(params["num_train"])
            seed = registry.seed_for(representation, name)
            np.random.seed(seed)
            ref_clock = Clock()
            tick = time.perf_counter()
            represent = reference_represent(module, representation, ref_clock)
            metrics_golden.run_reference(ref, name, UpstreamView(data), represent, seed, params)
            theirs[representation, name] = time.perf_counter() - tick
            theirs_encoding[representation, name] = ref_clock.seconds
            print(
                f"reference  {representation:<8} {name:<36} {theirs[representation, name]:8.2f} s"
                f"  (encoding {ref_clock.seconds:.2f} s)"
                f"   ratio {theirs[representation, name] / ours[representation, name]:7.1f}x",
                flush=True,
            )
    theirs_total = time.perf_counter() - started
    both = ("mean", "sampled")
    print(
        "\nseconds for mean + sampled; 'without encoding' leaves out the time inside the encoder"
        " (ours encodes each image once, paid by the first metric that needs it)"
    )
    header = f"{'ours':>8} {'reference':>10} {'ratio':>7} {'ours w/o enc':>13} {'ref w/o enc':>12} {'ratio':>7}"
    print(f"{'metric':<36} {header}")
    for name in names:
        a, b = sum(ours[r, name] for r in both), sum(theirs[r, name] for r in both)
        a_own = a - sum(ours_encoding[r, name] for r in both)
        b_own = b - sum(theirs_encoding[r, name] for r in both)
        print(f"{name:<36} {a:8.2f} {b:10.2f} {b / a:7.1f} {a_own:13.2f} {b_own:12.2f} {b_own / a_own:7.1f}")
    a_enc, b_enc = sum(ours_encoding.values()), sum(theirs_encoding.values())
    print(f"{'encoding (all metrics)':<36} {a_enc:8.2f} {b_enc:10.2f} {b_enc / max(a_enc, 1e-9):7.1f}")
    print(f"{'suite':<36} {ours_total:8.2f} {theirs_total:10.2f} {theirs_total / ours_total:7.1f}")


if __name__ == "__main__":
    main()
