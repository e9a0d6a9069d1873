"""How a flow's batch tasks run: one after another in the flow's process (the embedded
default), or all submitted at once to a Dask cluster.

Prefect's DaskTaskRunner ships each task to a worker; a task there costs ~150 ms of
Prefect overhead, so tasks carry batches of 5-10 s of work. Task arguments and results
are plain data (an ArchiveLayout, ids, counts); each task opens its own connections.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def run_all(
    step: Callable[..., Any], calls: Sequence[tuple[Any, ...]], parallel: bool
) -> list[Any]:
    """Run `step` once per argument tuple; with `parallel`, `step` is a Prefect task and
    every call is submitted before any result is awaited."""
    if not parallel:
        return [step(*args) for args in calls]
    futures = [step.submit(*args) for args in calls]  # type: ignore[attr-defined]
    return [future.result() for future in futures]


def dask_runner(address: str):  # type: ignore[no-untyped-def]
    """A task runner for the Dask scheduler at `address` (tcp://host:port)."""
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=address)


def on_dask(flow_fn, address: str | None):  # type: ignore[no-untyped-def]
    """The flow as it runs on the Dask cluster at `address` (unchanged when None)."""
    if not address:
        return flow_fn
    return flow_fn.with_options(task_runner=dask_runner(address))
