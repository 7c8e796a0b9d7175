"""Run independent tasks on a local process pool, results in task order whatever the pool size."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress

_SHARED: Any = None  # in a pool worker: what every task shares, installed once when the worker starts


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


_SHOW = True  # progress bars wanted (``show_progress``)


@contextmanager
def show_progress(enabled: bool = True) -> Iterator[None]:
    """Within the block, progress bars show (where they can) or not."""
    global _SHOW
    before, _SHOW = _SHOW, enabled
    try:
        yield
    finally:
        _SHOW = before


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel, where rich draws its bar as a widget."""
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


HEARTBEAT_SECONDS = 30.0  # off a terminal, a long run says it is alive this often


class Heartbeat:
    """Off a terminal (a log file, nohup), a line on stderr every ``HEARTBEAT_SECONDS``: done of total, elapsed
    and an estimate of what is left; the same start/advance/stop as a rich progress bar."""

    def __init__(self, total: int, label: str, every: float = HEARTBEAT_SECONDS) -> None:
        self.total, self.label, self.every, self.done = total, label, every, 0
        self.started = self.last = time.monotonic()

    def start(self) -> None:
        self.started = self.last = time.monotonic()

    def advance(self, _task: int = 0) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last >= self.every and self.done < self.total:
            self.last = now
            spent = now - self.started
            left = spent / self.done * (self.total - self.done)
            print(f"{self.label}: {self.done:,} of {self.total:,} done, {spent / 60:.1f} min so far, about "
                  f"{left / 60:.1f} min left", file=sys.stderr, flush=True)  # fmt: skip

    def stop(self) -> None:
        """The closing line: how many and how long, so a log shows each step ended."""
        if self.done == self.total:  # not after an error: that is reported instead
            spent = time.monotonic() - self.started
            print(f"{self.label}: {self.done:,} done in {spent:.1f} s", file=sys.stderr, flush=True)


def _progress(total: int, label: str) -> Progress | Heartbeat | None:
    """A progress bar with ETA on a terminal or in a notebook; off a terminal a line every 30 s
    (``Heartbeat``); nothing in CI or when switched off (rich loads only when it shows)."""
    if not _SHOW or os.environ.get("CI"):
        return None
    if not (sys.stderr.isatty() or _in_notebook()):
        return Heartbeat(total, label)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

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


def _install(shared: Any) -> None:
    """Pool worker initializer: keep what every task shares (sent once per worker, not per task)."""
    global _SHARED
    _SHARED = shared


def _call(fn: Callable[[Any, Any], Any], task: Any) -> Any:
    """In a pool worker: ``fn(task, shared)`` with the worker's installed ``shared``."""
    return fn(task, _SHARED)


_POOL: tuple[Any, ProcessPoolExecutor] | None = None  # a pool kept across run_points calls (see shared_pool)


@contextmanager
def shared_pool(shared: Any, jobs: int | None = None) -> Iterator[None]:
    """Within the block, every ``run_points`` call with this ``shared`` reuses one process pool: many small
    batches (a sequential selection) then pay the workers' start-up once, not once per batch."""
    global _POOL
    workers = max(1, jobs or default_jobs())
    if workers == 1:
        yield
        return
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_install, initargs=(shared,))
    _POOL = (shared, pool)
    try:
        yield
    finally:
        _POOL = None
        pool.shutdown()


def run_points(
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    shared: Any,
    jobs: int | None = None,
    scheduler: str | None = None,
    on_result: Callable[[Any, Any], None] | None = None,
    label: str = "running",
) -> None:
    """Call ``fn(task, shared)`` for every task on a local process pool (default: all cores) or a Dask cluster
    (``scheduler``: its address), handing each result to ``on_result(task, result)`` in this process as it
    finishes, so results stream to disk instead of piling up in memory.

    ``shared`` (what every task needs, e.g. the base scenario) goes to each worker once: as the pool
    workers' initializer argument, or scattered to every Dask worker; a task carries only its own values."""
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
            from leanflow.experiment.dask_executor import run_on_dask

            run_on_dask(fn, tasks, shared, scheduler, done)
        else:
            workers = max(1, min(jobs or default_jobs(), len(tasks) or 1))
            if _POOL is not None and _POOL[0] is shared:
                futures = {_POOL[1].submit(_call, fn, task): task for task in tasks}
                for fut in as_completed(futures):
                    done(futures[fut], fut.result())
            elif workers == 1:
                for task in tasks:
                    done(task, fn(task, shared))
            else:
                with ProcessPoolExecutor(max_workers=workers, initializer=_install, initargs=(shared,)) as pool:
                    futures = {pool.submit(_call, fn, task): task for task in tasks}
                    for fut in as_completed(futures):
                        done(futures[fut], fut.result())
    finally:
        if bar:
            bar.stop()
