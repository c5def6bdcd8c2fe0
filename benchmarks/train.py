"""Training steps per second on this machine, per method, at the spec's batch size.

    .venv/bin/python benchmarks/train.py [--steps 100] [--batch-size 64]

Each method trains model ``dsprites_full / <method> / level 5 / seed 0`` on procedural dSprites;
the first 10 iterations (tracing, warm-up) are not timed. Rates are iterations (updates) per second; the
hours for 300,000 steps count global steps as upstream did (a FactorVAE's 300,000 are 150,000
iterations). The ratio column compares each method with beta_vae, measured in the same run.

    .venv/bin/python benchmarks/train.py --logging [--log-every 1000] [--log-samples 10000] [--rounds 3]

measures what ``train --log-every`` adds: in one process, alternately, 100 training steps and one
logged step (encode the probe sample, statistics, scores, tables, TensorBoard), ``--rounds`` times;
the overhead is the median logged step over ``--log-every`` median steps.

    .venv/bin/python benchmarks/train.py --profile [--steps 100]

profiles (cProfile) the step loop of ``train`` over ``--steps`` beta_vae steps: the share of its time
inside TensorFlow's compiled step (``TFE_Py_Execute``), tracing, the data draw and everything else.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from vae_passive.data import get_dataset
from vae_passive.training.objectives import global_steps_per_iteration
from vae_passive.training.train import TrainConfig, train
from vae_passive.zoo.catalogue import METHOD_NAMES, model_id

WARMUP = 10


def steps_per_second(method: str, steps: int, batch_size: int, root: Path) -> float:
    """Iterations per second of ``method`` (``steps`` timed iterations after the warm-up)."""
    data = get_dataset("procedural_dsprites", 1)
    global_steps = (WARMUP + steps) * global_steps_per_iteration(method)
    config = TrainConfig.for_model(model_id("dsprites_full", method, 5, 0), data, global_steps, batch_size)
    train(config, data, root, stop_after=WARMUP, checkpoint_every=10**9)
    started = time.perf_counter()
    train(config, data, root, stop_after=steps, checkpoint_every=10**9)
    return steps / (time.perf_counter() - started)


def profile_steps(steps: int, batch_size: int, root: Path) -> dict:
    """Where the training loop's time goes over ``steps`` beta_vae steps, by cProfile.

    ``train`` runs as always; only its step loop (``_run_steps``) is profiled, so setup and the export
    of the finished model are left out. Tracing the step (``_train_step``'s Python body) happens inside
    the loop, once, and is reported apart from the compiled step's executions (``TFE_Py_Execute``).
    """
    import cProfile
    import pstats

    from vae_passive.training import train as training

    data = get_dataset("procedural_dsprites", 1)
    config = TrainConfig.for_model(model_id("dsprites_full", "beta_vae", 5, 0), data, steps, batch_size)
    profiler, loop = cProfile.Profile(), training._run_steps

    def profiled_loop(*args, **kwargs):
        return profiler.runcall(loop, *args, **kwargs)

    training._run_steps = profiled_loop
    try:
        train(config, data, root, checkpoint_every=10**9)
    finally:
        training._run_steps = loop
    stats = pstats.Stats(profiler).stats

    def seconds(test, column: int = 3) -> float:  # column 2: own time, 3: cumulative
        return sum(row[column] for (path, _, name), row in stats.items() if test(path.replace("\\", "/"), name))

    total = seconds(lambda path, name: name == "_run_steps")
    compiled = seconds(lambda path, name: "TFE_Py_Execute" in name, column=2)
    tracing = seconds(lambda path, name: name == "_train_step" and path.endswith("training/train.py"))
    draw = seconds(lambda path, name: name == "sample" and "vae_passive/data/" in path)
    return {
        "steps": steps,
        "loop_s": round(total, 2),
        "compiled_share": round(compiled / total, 3),
        "compiled_share_without_tracing": round(compiled / (total - tracing), 3),
        "compiled_ms_per_step": round(1000 * compiled / steps, 1),
        "tracing_s": round(tracing, 2),
        "draw_ms_per_step": round(1000 * draw / steps, 2),
        "rest_ms_per_step": round(1000 * (total - compiled - tracing - draw) / steps, 2),
    }


def logging_overhead(every: int, samples: int, rounds: int, batch_size: int, root: Path) -> dict:
    """Median seconds of one logged step and of one training step, measured alternately."""
    import numpy as np

    from vae_passive.tfhub.runtime import tensorflow
    from vae_passive.training.logs import LogSettings
    from vae_passive.training.train import _Logger, _Model

    tf = tensorflow()
    data = get_dataset("procedural_dsprites", 1)
    config = TrainConfig.for_model(model_id("dsprites_full", "beta_vae", 5, 0), data, 10**6, batch_size)
    model, random_state = _Model(config), np.random.RandomState(0)
    started = time.perf_counter()
    logger = _Logger(model, data, root, LogSettings(every, samples), 0)
    probe_draw = time.perf_counter() - started
    logged, step = [], []
    for i in range(rounds + 1):  # round 0 warms up (tracing) and is not counted
        tick = time.perf_counter()
        for _ in range(100):
            model.train_step(tf.constant(data.sample(batch_size, random_state)[1]))
        float(model.step.numpy())
        steps_s = (time.perf_counter() - tick) / 100
        tick = time.perf_counter()
        logger.record(i, {})
        if i:
            step.append(steps_s)
            logged.append(time.perf_counter() - tick)
    logger.log.close()
    per_step, per_log = float(np.median(step)), float(np.median(logged))
    return {
        "log_every": every,
        "log_samples": samples,
        "probe_draw_s": round(probe_draw, 2),
        "logged_step_s": round(per_log, 2),
        "training_step_s": round(per_step, 4),
        "overhead": round(per_log / (every * per_step), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--logging", action="store_true", help="Measure train --log-every's overhead instead.")
    parser.add_argument("--log-every", type=int, default=1000)
    parser.add_argument("--log-samples", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="Profile beta_vae's steps instead.")
    args = parser.parse_args()
    if args.profile:
        with tempfile.TemporaryDirectory() as tmp:
            result = profile_steps(args.steps, args.batch_size, Path(tmp))
        print(
            f"{args.steps} steps' loop in {result['loop_s']} s: {100 * result['compiled_share']:.1f} % in the compiled"
            f" step ({100 * result['compiled_share_without_tracing']:.1f} % without tracing;"
            f" {result['compiled_ms_per_step']} ms a step), tracing it once {result['tracing_s']} s, data draw"
            f" {result['draw_ms_per_step']} ms a step, the rest {result['rest_ms_per_step']} ms a step"
        )
        print(json.dumps(result))
        return
    if args.logging:
        with tempfile.TemporaryDirectory() as tmp:
            result = logging_overhead(args.log_every, args.log_samples, args.rounds, args.batch_size, Path(tmp))
        print(
            f"one logged step {result['logged_step_s']} s vs {args.log_every} steps x {result['training_step_s']} s:"
            f" +{100 * result['overhead']:.1f} % wall time"
        )
        print(json.dumps(result))
        return
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for method in METHOD_NAMES:
            rates[method] = steps_per_second(method, args.steps, args.batch_size, Path(tmp))
            ratio = rates[method] / rates["beta_vae"]
            print(f"{method:<13} {rates[method]:6.1f} iterations/s  ({ratio:.2f}x beta_vae)")
    hours = {m: round(300_000 / global_steps_per_iteration(m) / r / 3600, 1) for m, r in rates.items()}
    print(json.dumps({"batch_size": args.batch_size, "steps_per_second": rates, "hours_for_300k_steps": hours}))


if __name__ == "__main__":
    main()
