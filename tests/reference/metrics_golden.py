"""Write the metric golden files from disentanglement_lib's own metric code.

    python3 -m venv /tmp/refenv
    /tmp/refenv/bin/pip install disentanglement-lib==1.5 --no-deps
    /tmp/refenv/bin/pip install numpy scipy scikit-learn gin-config six absl-py
    /tmp/refenv/bin/python tests/reference/metrics_golden.py      # from the repository root

The reference runs without TensorFlow: ``gin.tf`` is stubbed and gin's old ``blacklist`` keyword
is mapped to ``denylist``. Each case runs an upstream ``compute_*`` with a ``RandomState(seed)`` on
``golden_data.GoldenData`` (noisy: observations consume the random state; fixed: indexed images
without noise) and its fixed representation, or on a fixed sample of codes handed out in order.
DCI and the boosted-tree downstream task are unseeded upstream, so they run ``REPEATS`` times
under different global numpy seeds; the file keeps every run. The output,
``tests/reference/golden/metrics.json``, records the package versions it came from.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from golden_data import GoldenData, fixed_arrays, represent  # noqa: E402

OUT = HERE / "golden" / "metrics.json"
REPEATS = 10
SEED = 20240611


def _import_reference() -> dict:
    """disentanglement_lib's metric modules, importable without TensorFlow."""
    import gin

    sys.modules["gin.tf"] = types.ModuleType("gin.tf")
    gin.tf = sys.modules["gin.tf"]
    configurable = gin.configurable

    def compatible(*args, blacklist=None, whitelist=None, **kwargs):
        if blacklist is not None:
            kwargs["denylist"] = blacklist
        if whitelist is not None:
            kwargs["allowlist"] = whitelist
        return configurable(*args, **kwargs)

    gin.configurable = compatible
    names = ("beta_vae", "dci", "downstream_task", "factor_vae", "irs", "mig", "modularity_explicitness")
    modules = {n: importlib.import_module(f"disentanglement_lib.evaluation.metrics.{n}") for n in names}
    modules["sap_score"] = importlib.import_module("disentanglement_lib.evaluation.metrics.sap_score")
    modules["unsupervised"] = importlib.import_module("disentanglement_lib.evaluation.metrics.unsupervised_metrics")
    return modules


def _bind(num_bins: int = 20, prune: float = 0.05, predictor: str | None = None) -> None:
    import gin

    gin.clear_config()
    bindings = [
        "discretizer.discretizer_fn = @histogram_discretizer",
        f"discretizer.num_bins = {num_bins}",
        f"prune_dims.threshold = {prune}",
    ]
    if predictor:
        bindings.append(f"predictor.predictor_fn = @{predictor}")
    gin.parse_config(bindings)


PREDICTORS = {"logistic_regression": "logistic_regression_cv", "boosted_trees": "gradient_boosting_classifier"}


def run_reference(ref: dict, metric: str, data, represent_fn, seed: int, params: dict) -> dict:
    """One upstream metric call; ``params`` use this project's names."""
    params = dict(params)
    _bind(params.pop("num_bins", 20), params.pop("prune_threshold", 0.05), PREDICTORS.get(params.pop("predictor", "")))
    params.pop("jobs", None)
    random_state = np.random.RandomState(seed)
    call = {
        "beta_vae_sklearn": ref["beta_vae"].compute_beta_vae_sklearn,
        "factor_vae_metric": ref["factor_vae"].compute_factor_vae,
        "mig": ref["mig"].compute_mig,
        "dci": ref["dci"].compute_dci,
        "sap_score": ref["sap_score"].compute_sap,
        "modularity_explicitness": ref["modularity_explicitness"].compute_modularity_explicitness,
        "irs": ref["irs"].compute_irs,
        "unsupervised": ref["unsupervised"].unsupervised_metrics,
        "downstream_task_logistic_regression": ref["downstream_task"].compute_downstream_task,
        "downstream_task_boosted_trees": ref["downstream_task"].compute_downstream_task,
    }[metric]
    if "num_train" in params and isinstance(params["num_train"], list):
        params["num_train"] = list(params["num_train"])
    result = call(data, represent_fn, random_state, **params)
    return {key: float(value) for key, value in result.items()}


class FixedSample:
    """Hands out rows of fixed (factors, codes) in order: runs upstream's wrappers on given arrays."""

    def __init__(self, arrays: dict):
        self.factors = np.concatenate([arrays["factors"], arrays["test_factors"]])
        self.codes = np.concatenate([arrays["codes"], arrays["test_codes"]])
        self.num_factors = self.factors.shape[1]
        self.position = 0

    def sample(self, num, random_state):
        rows = slice(self.position, self.position + num)
        self.position += num
        return self.factors[rows], self.codes[rows]


UNSEEDED = ("dci", "downstream_task_boosted_trees")
SAMPLED_CASES = {
    "beta_vae_sklearn": {"batch_size": 16, "num_train": 400, "num_eval": 200},
    "factor_vae_metric": {
        "batch_size": 16, "num_train": 400, "num_eval": 200, "num_variance_estimate": 1000, "prune_threshold": 0.05,
    },
    "mig": {"num_train": 2000, "num_bins": 20},
    "dci": {"num_train": 1000, "num_test": 500},
    "sap_score": {"num_train": 2000, "num_test": 1000, "continuous_factors": False},
    "modularity_explicitness": {"num_train": 2000, "num_test": 1000, "num_bins": 20},
    "irs": {"num_train": 2000, "batch_size": 16, "diff_quantile": 0.99, "num_bins": 20},
    "unsupervised": {"num_train": 2000, "num_bins": 20},
    "downstream_task_logistic_regression": {
        "predictor": "logistic_regression", "num_train": [10, 100, 1000], "num_test": 500,
    },
    "downstream_task_boosted_trees": {"predictor": "boosted_trees", "num_train": [10, 100, 1000], "num_test": 500},
}  # fmt: skip
FIXED_DATA_CASES = ("beta_vae_sklearn", "factor_vae_metric", "mig", "sap_score")
FIXED_ARRAY_CASES = {
    "mig": {"num_train": 1500, "num_bins": 20},
    "sap_score": {"num_train": 1500, "num_test": 750, "continuous_factors": False},
    "modularity_explicitness": {"num_train": 1500, "num_test": 750, "num_bins": 20},
    "irs": {"num_train": 1500, "batch_size": 1500, "diff_quantile": 0.99, "num_bins": 20},
    "unsupervised": {"num_train": 1500, "num_bins": 20},
    "dci": {"num_train": 1500, "num_test": 750},
    "downstream_task_logistic_regression": {"predictor": "logistic_regression", "num_train": [1500], "num_test": 750},
}


def main() -> None:
    import scipy
    import sklearn

    ref = _import_reference()
    cases = []
    for data_kind, metrics in (("noisy", SAMPLED_CASES), ("fixed", FIXED_DATA_CASES)):
        for metric in metrics:
            params = SAMPLED_CASES[metric]
            runs = []
            for repeat in range(REPEATS if metric in UNSEEDED else 1):
                np.random.seed(repeat)
                data = GoldenData(noise=data_kind == "noisy")
                runs.append(run_reference(ref, metric, data, represent, SEED, params))
            cases.append({"metric": metric, "data": data_kind, "seed": SEED, "params": params, "runs": runs})
            print(metric, data_kind, runs[0], flush=True)
    for metric, params in FIXED_ARRAY_CASES.items():
        runs = []
        for repeat in range(REPEATS if metric in UNSEEDED else 1):
            np.random.seed(repeat)
            runs.append(run_reference(ref, metric, FixedSample(fixed_arrays()), lambda x: x, SEED, params))
        cases.append({"metric": metric, "data": "fixed_arrays", "seed": SEED, "params": params, "runs": runs})
        print(metric, "fixed_arrays", runs[0], flush=True)
    versions = {
        "disentanglement_lib": "1.5",
        "scikit_learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"versions": versions, "repeats": REPEATS, "cases": cases}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
