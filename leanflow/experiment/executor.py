"""Run independent tasks on a local process pool, results in task order whatever the pool size."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from leanflow.errors import LeanflowError


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _progress(total: int, label: str) -> Progress | None:
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True)
    )
    bar.add_task(label, total=total)
    return bar


def run_tasks(fn: Callable[..., Any], tasks: Sequence[tuple], jobs: int | None = None, label: str = "running") -> list:
    """``[fn(*t) for t in tasks]``, on ``jobs`` processes (default: all cores), with a progress bar on a terminal."""
    jobs = max(1, min(jobs or default_jobs(), len(tasks) or 1))
    bar = _progress(len(tasks), label)
    results: list[Any] = [None] * len(tasks)
    if bar:
        bar.start()
    try:
        if jobs == 1:
            for i, t in enumerate(tasks):
                results[i] = fn(*t)
                if bar:
                    bar.advance(0)
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = {pool.submit(fn, *t): i for i, t in enumerate(tasks)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    if bar:
                        bar.advance(0)
    finally:
        if bar:
            bar.stop()
    return results


def run_points(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    jobs: int | None = None,
    scheduler: str | None = None,
    on_result: Callable[[Any, Any], None] | None = None,
    label: str = "running",
) -> None:
    """Call ``fn(task)`` for every task on a local process pool (default: all cores) or a Dask cluster
    (``scheduler``: its address), handing each result to ``on_result(task, result)`` in this process as it
    finishes, so results stream to disk instead of piling up in memory."""
    started = time.perf_counter()
    bar = _progress(len(tasks), label)
    if bar:
        bar.start()

    def done(task: Any, result: Any) -> None:
        if on_result:
            on_result(task, result)
        if bar:
            bar.advance(0)

    try:
        if scheduler:
            _dask(fn, tasks, scheduler, done)
        else:
            workers = max(1, min(jobs or default_jobs(), len(tasks) or 1))
            if workers == 1:
                for task in tasks:
                    done(task, fn(task))
            else:
                with ProcessPoolExecutor(max_workers=workers) as pool:
                    futures = {pool.submit(fn, task): task for task in tasks}
                    for fut in as_completed(futures):
                        done(futures[fut], fut.result())
    finally:
        if bar:
            bar.stop()
    if not sys.stderr.isatty():
        print(f"{label}: {len(tasks)} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _dask(fn: Callable[[Any], Any], tasks: Sequence[Any], scheduler: str, done: Callable[[Any, Any], None]) -> None:
    """The same work on a dask.distributed cluster."""
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise LeanflowError("--scheduler needs dask.distributed: pip install 'leanflow[dask]'") from None
    try:
        client = Client(scheduler, timeout="20s")
    except OSError as exc:
        raise LeanflowError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        futures = client.map(fn, tasks, pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        for fut in dask_completed(futures):
            done(by_key[fut.key], fut.result())
            fut.release()
