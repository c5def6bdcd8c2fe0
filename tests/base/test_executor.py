"""The execution layer: local processes with the cores split, a failing call among good ones, bad choices."""

import os

import pytest

from vae_passive import executor
from vae_passive.errors import VaePassiveError


def remember_threads(threads: int) -> None:
    os.environ["TEST_EXECUTOR_THREADS"] = str(threads)


def threads_given(value: int) -> tuple[int, str]:
    if value < 0:
        raise VaePassiveError(f"bad value {value}")
    return value, os.environ["TEST_EXECUTOR_THREADS"]


def test_local_processes_split_the_cores_and_a_failing_call_does_not_stop_the_others(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)  # the split is computed here, in the client
    calls = [executor.Call(str(v), threads_given, (v,)) for v in (1, -1, 2)]
    finished = {f.key: f for f in executor.execute(calls, jobs=2, initializer=remember_threads)}
    assert finished["1"].value == (1, "2") and finished["2"].value == (2, "2")  # 4 cores, 2 processes
    assert finished["-1"].error == "bad value -1" and finished["-1"].value is None
    # one call and two jobs: one process, with all the cores
    (only,) = executor.execute([executor.Call("5", threads_given, (5,))], jobs=2, initializer=remember_threads)
    assert only.value == (5, "4")


def test_bad_choices_are_one_line_errors_before_any_work(monkeypatch):
    monkeypatch.delenv(executor.SCHEDULER_ENV, raising=False)
    with pytest.raises(VaePassiveError, match="--jobs must be at least 1, not 0"):
        executor.execute([], jobs=0)
    with pytest.raises(VaePassiveError, match="choose local or dask"):
        executor.execute([], executor="slurm")
    with pytest.raises(VaePassiveError, match="--scheduler ADDRESS or VAE_PASSIVE_SCHEDULER"):
        executor.execute([], executor="dask")
