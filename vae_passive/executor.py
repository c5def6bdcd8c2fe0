"""Run many keyed calls on local processes or a Dask cluster: the one execution layer of ``analyze`` and ``train``.

A caller hands over ``Call``s (a module-level function and its arguments, picklable) and gets back one
``Finished`` per call, in the order they finish. This module owns what is common to every batch: the
executor choice and its errors, the core split between local processes, a bounded window of work in
flight, Ctrl-C and SIGTERM (workers ignore Ctrl-C, the client cancels and stops them), a call that raises
or a worker that dies (a ``Finished`` with an error, the other calls go on), and a regular ``tick`` for a
caller's progress display. What a call does, and what is written where, belongs to the caller.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from vae_passive import config
from vae_passive.errors import VaePassiveError

SCHEDULER_ENV = config.SCHEDULER
#: Seconds between ``tick`` calls while waiting for calls to finish.
TICK_SECONDS = 2.0


@dataclass(frozen=True)
class Call:
    """One unit of work: ``function(*args)`` in a worker; ``resources`` are Dask resources it needs."""

    key: str
    function: Callable[..., Any]
    args: tuple = ()
    resources: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Finished:
    """A call's return value, or the error it (or its worker) ended with."""

    key: str
    value: Any = None
    error: str | None = None


def threads_per_job(jobs: int) -> int:
    """The cores of this machine split evenly between ``jobs`` local processes (at least one each)."""
    return max(1, (os.cpu_count() or 1) // jobs)


def execute(
    calls: Sequence[Call],
    *,
    executor: str = "local",
    jobs: int = 1,
    scheduler: str | None = None,
    initializer: Callable[[int], None] | None = None,
    inline: bool = False,
    tick: Callable[[], None] | None = None,
) -> Iterator[Finished]:
    """Run ``calls``; checks the choice of executor at once (one-line errors), then yields as calls finish.

    ``local``: ``jobs`` spawned processes (no more than there are calls), each running ``initializer(threads)``
    first with its share of the cores; with ``inline`` and one job, the calls run in this process instead.
    ``dask``: one task per call on the scheduler at ``scheduler`` (or ``$VAE_PASSIVE_SCHEDULER``), with each
    call's resources.
    """
    address = check_choice(executor, jobs, scheduler)
    if address is not None:
        return _dask(list(calls), address, tick)
    if not calls:
        return iter(())
    if inline and jobs == 1:
        return (_run_inline(call) for call in calls)
    # fewer calls than jobs: fewer processes, each with a bigger share of the cores
    return _local(list(calls), min(jobs, len(calls)), initializer, tick)


def check_choice(executor: str, jobs: int, scheduler: str | None) -> str | None:
    """One-line errors for a bad choice of executor, before any work; the Dask scheduler's address, if Dask."""
    if executor == "dask":
        address = scheduler or config.text(SCHEDULER_ENV) or None
        if not address:
            raise VaePassiveError(f"--executor dask needs --scheduler ADDRESS or {SCHEDULER_ENV}")
        return address
    if executor != "local":
        raise VaePassiveError(f"unknown executor {executor!r}; choose local or dask")
    if jobs < 1:
        raise VaePassiveError(f"--jobs must be at least 1, not {jobs}")
    return None


def _run_inline(call: Call) -> Finished:
    try:
        return Finished(call.key, value=call.function(*call.args))
    except VaePassiveError as error:
        return Finished(call.key, error=str(error))


def _start_worker(threads: int, initializer: Callable[[int], None] | None) -> None:
    """Worker start-up: ignore Ctrl-C (the client handles it), then the caller's set-up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(threads)


def _error_of(error: BaseException) -> str:
    return str(error) if isinstance(error, VaePassiveError) else f"{type(error).__name__}: {error}"


def _local(
    calls: list[Call], jobs: int, initializer: Callable[[int], None] | None, tick: Callable[[], None] | None
) -> Iterator[Finished]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    initargs = (threads_per_job(jobs), initializer)
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=initargs) as pool:
        keys: dict[Future, str] = {}
        queue = iter(calls)

        def submit(call: Call) -> None:
            keys[pool.submit(call.function, *call.args)] = call.key

        try:
            for call in queue:  # keep a bounded window of work in flight
                submit(call)
                if len(keys) >= 2 * jobs:
                    break
            while keys:
                done, _ = wait(list(keys), timeout=TICK_SECONDS, return_when=FIRST_COMPLETED)
                if not done and tick is not None:
                    tick()
                for future in done:
                    key = keys.pop(future)
                    error = future.exception()
                    yield Finished(key, error=_error_of(error)) if error else Finished(key, value=future.result())
                    following = next(queue, None)
                    if following is not None:
                        submit(following)
        except BaseException:
            for future in keys:
                future.cancel()
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            raise


def dask_client(scheduler: str):
    """A Dask client of ``scheduler``; a ``tls://`` address gets Dask's TLS settings (``distributed.comm.tls.*``
    from its config files or ``DASK_DISTRIBUTED__COMM__TLS__...`` variables), without which it cannot connect."""
    try:
        from distributed import Client
    except ImportError:
        raise VaePassiveError(
            "--executor dask needs the distributed package: pip install 'vae-passive[dask]'"
        ) from None
    options = {}
    if scheduler.startswith("tls://"):
        from distributed.security import Security

        security = Security()  # loads distributed.comm.tls.* from Dask's configuration
        if not getattr(security, "tls_ca_file", None):
            raise VaePassiveError(
                f"the Dask scheduler {scheduler} needs TLS settings: set DASK_DISTRIBUTED__COMM__TLS__CA_FILE, "
                "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY "
                "(or distributed.comm.tls.* in Dask's config); see docs/running.md"
            )
        options["security"] = security
    try:
        return Client(scheduler, timeout="20s", **options)
    except (OSError, TimeoutError) as error:
        raise VaePassiveError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None


def _dask(calls: list[Call], scheduler: str, tick: Callable[[], None] | None) -> Iterator[Finished]:
    client = dask_client(scheduler)
    from distributed import wait as dask_wait

    try:
        keys = {}
        for i, call in enumerate(calls):
            name = f"vae-passive-{call.key}-{i}"
            future = client.submit(call.function, *call.args, key=name, pure=False, resources=call.resources or None)
            keys[future] = call.key
        try:
            while keys:
                try:
                    done, _ = dask_wait(list(keys), timeout=TICK_SECONDS, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
                if not done and tick is not None:
                    tick()
                for future in done:
                    key = keys.pop(future)
                    if future.status == "finished":
                        yield Finished(key, value=future.result())
                    else:  # the call raised, or its workers died too often (KilledWorker)
                        yield Finished(key, error=_error_of(future.exception()))
        except BaseException:
            client.cancel(list(keys))
            raise
    finally:
        client.close()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C so that a batch job stopped by its scheduler stops cleanly."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
