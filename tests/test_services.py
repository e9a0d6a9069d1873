"""Smoke tests for the real services of tests/services.py, all on 127.0.0.1.

The servers are session fixtures (tests/conftest.py): they start once, so each test here
is quick. Later scale-out tests build on the same fixtures.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
import s3fs
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, TaskRun
from services import DaskCluster, PostgresServer, PrefectServer, S3Server


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_postgres_fresh_database_round_trip(postgres_server: PostgresServer) -> None:
    dsn = postgres_server.create_database(unique("smoke").replace("-", "_"))
    assert dsn.startswith("postgresql://postgres@127.0.0.1:")
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE pages (url text PRIMARY KEY, status integer)")
        conn.execute("INSERT INTO pages VALUES (%s, %s)", ("https://example.org/é", 200))
        rows = conn.execute("SELECT url, status, lower('ÉCOLE') FROM pages").fetchall()
    assert rows == [("https://example.org/é", 200, "école")]


def s3(server: S3Server, **overrides: object) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(skip_instance_cache=True, **{**server.storage_options(), **overrides})


def test_s3_put_list_and_ranged_read(s3_server: S3Server) -> None:
    bucket = unique("smoke")
    assert s3_server.create_bucket(bucket) == f"s3://{bucket}"
    fs = s3(s3_server)
    payload = bytes(range(256)) * 64
    fs.pipe(f"{bucket}/warcs/a.warc.gz", payload)

    assert fs.ls(f"{bucket}/warcs", detail=False) == [f"{bucket}/warcs/a.warc.gz"]
    with fs.open(f"{bucket}/warcs/a.warc.gz") as remote:
        remote.seek(1000)
        assert remote.read(100) == payload[1000:1100]
    assert fs.cat_file(f"{bucket}/warcs/a.warc.gz", start=10, end=20) == payload[10:20]
    assert (s3_server.data_dir / bucket / "warcs" / "a.warc.gz").read_bytes() == payload


def test_s3_enforces_the_secret(s3_server: S3Server) -> None:
    bucket = unique("smoke")
    s3_server.create_bucket(bucket)
    with pytest.raises(PermissionError):
        s3(s3_server, secret="wrong").ls(bucket)


def worker_pid(_: int) -> int:
    return os.getpid()


def test_dask_runs_on_two_worker_processes(
    dask_cluster: DaskCluster, prefect_server: PrefectServer
) -> None:
    pids = dask_cluster.worker_pids()
    assert len(pids) == 2
    with dask_cluster.client() as client:
        futures = [client.submit(worker_pid, i, workers=[a]) for i, a in enumerate(pids)]
        assert sorted(client.gather(futures)) == sorted(pids.values())
        api_urls = client.run(os.getenv, "PREFECT_API_URL")
    assert os.getpid() not in pids.values()
    assert set(api_urls.values()) == {prefect_server.api_url}


@task
def square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@flow
def squares(xs: list[int]) -> list[tuple[int, int]]:
    return [future.result() for future in square.map(xs)]


def flow_run_and_tasks(flow_run_id: uuid.UUID | None) -> tuple[FlowRun, list[TaskRun]]:
    """The flow run and its task runs, as the server recorded them."""
    assert flow_run_id is not None
    runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id), client.read_task_runs(flow_run_filter=runs)


def test_prefect_server_records_a_flow_run(prefect_server: PrefectServer) -> None:
    with prefect_server.use():
        state = squares([1, 2, 3], return_state=True)
        run, task_runs = flow_run_and_tasks(state.state_details.flow_run_id)
    assert [value for value, _ in state.result()] == [1, 4, 9]
    assert run.state is not None and run.state.is_completed()
    assert len(task_runs) == 3


def test_prefect_tasks_on_dask_record_into_the_same_server(
    prefect_server: PrefectServer, dask_cluster: DaskCluster
) -> None:
    from prefect_dask import DaskTaskRunner

    on_dask = squares.with_options(task_runner=DaskTaskRunner(address=dask_cluster.address))
    with prefect_server.use():
        state = on_dask([1, 2, 3, 4], return_state=True)
        _, task_runs = flow_run_and_tasks(state.state_details.flow_run_id)
    results = state.result()
    assert [value for value, _ in results] == [1, 4, 9, 16]
    assert {pid for _, pid in results} <= set(dask_cluster.worker_pids().values())
    assert [t.state_name for t in task_runs] == ["Completed"] * 4


def test_dask_kill_worker_and_replace_it(dask_cluster: DaskCluster) -> None:
    """Last in this module: the replacement worker has not imported the tests yet."""
    address, other = sorted(dask_cluster.worker_pids())
    pid = dask_cluster.kill_worker(address)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert dask_cluster.worker_addresses() == [other]
    dask_cluster.ensure_workers()
    assert len(dask_cluster.worker_pids()) == 2
