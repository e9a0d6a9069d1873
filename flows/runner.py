"""How a flow's batch tasks run: one after another in the flow's process (the embedded
default), or all submitted at once to a Dask cluster.

The Dask runner is opened inside the flow run (not fixed on the flow's decorator), so the
same flows run on Dask from the CLI, from `warcflow serve` and from deployments: the
address is a flow parameter. Prefect's DaskTaskRunner ships each task to a worker; a
task there costs ~150 ms of Prefect overhead, so tasks carry batches of 5-10 s of work.
Task arguments and results are plain data (an ArchiveLayout, ids, counts); each task
opens its own connections.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class BatchRunner:
    """Runs a step once per argument tuple: in order here, or submitted to Dask."""

    def __init__(self, task_runner: Any = None) -> None:
        self.task_runner = task_runner

    @property
    def parallel(self) -> bool:
        return self.task_runner is not None

    @property
    def slots(self) -> int:
        """How many tasks run at once: the cluster's worker threads (1 here)."""
        if self.task_runner is None:
            return 1
        return max(1, sum(self.task_runner.client.nthreads().values()))

    def run_all(self, step: Callable[..., Any], calls: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Results in the order of `calls`; on Dask every call is submitted before any
        result is awaited (`step` is then a Prefect task)."""
        if self.task_runner is None:
            return [step(*args) for args in calls]
        futures = [self.task_runner.submit(step, parameters=_named(step, args)) for args in calls]
        return [future.result() for future in futures]


SEQUENTIAL = BatchRunner()


def even_batches(items: Sequence[T], max_size: int, slots: int = 1) -> list[list[T]]:
    """`items` in order, cut into batches of at most `max_size`, as many as a multiple of
    `slots` and of nearly equal size, so that no worker is left with the last batch alone."""
    if not items:
        return []
    count = -(-len(items) // max_size)
    count = min(len(items), -(-count // slots) * slots)
    size, extra = divmod(len(items), count)
    batches, start = [], 0
    for k in range(count):
        end = start + size + (1 if k < extra else 0)
        batches.append(list(items[start:end]))
        start = end
    return batches


def _named(step: Callable[..., Any], args: tuple[Any, ...]) -> dict[str, Any]:
    function = getattr(step, "fn", step)  # a Prefect task wraps the function
    return dict(inspect.signature(function).bind(*args).arguments)


@contextmanager
def batch_runner(dask: str | None) -> Iterator[BatchRunner]:
    """A runner for the Dask scheduler at `dask` (tcp://host:port), or the sequential one."""
    if not dask:
        yield SEQUENTIAL
        return
    from prefect_dask import DaskTaskRunner

    with DaskTaskRunner(address=dask) as task_runner:
        yield BatchRunner(task_runner)
