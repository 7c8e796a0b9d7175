"""Run independent tasks on a local process pool, results in task order whatever the pool size."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


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
