"""Run a sweep's tasks on a dask.distributed cluster: shared data scattered once, workers' profiler paused.

A Dask worker samples its task thread's stack every 10 ms by default
(``distributed.worker.profile``), which costs a pure-Python simulation about
10% of its speed. While a sweep runs, leanflow stops that sampler on every
worker it finds and starts it again afterwards. Workers that join later keep
their own setting: start them with ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``
to turn it off for good. Dask is imported only here, and this module loads
nothing heavy, so workers can unpickle its functions on the cheap path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from leanflow.errors import LeanflowError

PROFILER_CALLBACKS = ("profile", "profile-cycle")  # the worker's periodic callbacks that sample and roll stacks


def pause_profiler(dask_worker: Any) -> bool:
    """On a worker: stop its statistical profiler; True if it was running (to start it again later)."""
    callbacks = [dask_worker.periodic_callbacks.get(name) for name in PROFILER_CALLBACKS]
    running = [pc for pc in callbacks if pc is not None and pc.is_running()]
    for pc in running:
        pc.stop()
    return bool(running)


def resume_profiler(dask_worker: Any) -> None:
    """On a worker: start its statistical profiler again."""
    for name in PROFILER_CALLBACKS:
        if (pc := dask_worker.periodic_callbacks.get(name)) and not pc.is_running():
            pc.start()


def run_on_dask(
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    shared: Any,
    scheduler: str,
    done: Callable[[Any, Any], None],
) -> None:
    """``fn(task, shared)`` for every task on the cluster at ``scheduler``; ``done(task, result)`` here as each ends."""
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise LeanflowError("--scheduler needs dask.distributed: pip install 'leanflow[dask]'") from None
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, ValueError, TypeError) as exc:  # unreachable, or not an address at all
        raise LeanflowError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        paused = [addr for addr, was in client.run(pause_profiler).items() if was]
        try:
            try:
                [job] = client.scatter([shared], broadcast=True, hash=False)
            except TimeoutError:
                raise LeanflowError(f"the Dask cluster at {scheduler} has no workers; start some with: "
                                    f"dask worker {scheduler} --nthreads 1") from None  # fmt: skip
            futures = client.map(fn, tasks, [job] * len(tasks), pure=False)
            by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
            for fut in dask_completed(futures):
                done(by_key[fut.key], fut.result())
                fut.release()
        finally:
            if paused:
                client.run(resume_profiler, workers=paused, on_error="ignore")  # gone workers: nothing to resume
