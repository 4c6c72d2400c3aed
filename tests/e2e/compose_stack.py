"""Drive one ventas stack: docker compose with its own project name, port and data directory.

Used by the end-to-end tests and the benchmarks. Everything a stack creates
(containers, run containers, volumes, networks, image tags) is removed by
`Stack.destroy()`, which `running_stack()` calls even when the body fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests
import yaml
from cryptography import x509

from stack import standby

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO / "data"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
BACKFILL_GOING = {"REQUESTED", "CANCELING", "FAILING"}  # a backfill's states before its end
LOCATION = "ventas"
# The code locations, as workspace.yaml lists them: every test stack waits for each to load.
LOCATIONS = tuple(
    entry["grpc_server"]["location_name"]
    for entry in yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"]
)

RUN_QUERY = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId jobName status startTime endTime tags { key value } }
  }
}"""

LAUNCH_MUTATION = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}"""

BACKFILL_MUTATION = """mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) { __typename
    ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
BACKFILL_STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status } } }"""

LOCATION_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message stack errorChain { error { message } } }
          ... on RepositoryLocation {
            repositories {
              name
              jobs { name }
              assetNodes { assetKey { path } }
            }
          }
        }
      }
    }
  }
}"""


def project_copy(parent: Path) -> Path:
    """A copy of the project in `parent`, to edit as a user edits their checkout."""
    target = parent / "ventas"
    shutil.copytree(
        REPO,
        target,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv*",
            "__pycache__",
            ".pytest_cache",
            "output",
            "archive",
            ".tmp_dagster_home_*",
        ),
    )
    return target


# A new domain folder in a copy's defs/, as a user adds one: two assets, one whose output
# names the deployed version, one that stays in flight until the test lets it end (by
# creating the file `seguir` in the data directory), so a run is surely going on meanwhile.
DEPLOY_ASSETS = '''import time

import dagster as dg
import pandas as pd

from locationkit.data import DataDirectory

VERSION = "v1"


@dg.asset(group_name="despliegue")
def version_desplegada() -> pd.DataFrame:
    return pd.DataFrame({"version": [VERSION]})


@dg.asset(group_name="despliegue")
def espera_lenta(data_dir: DataDirectory) -> pd.DataFrame:
    """Runs until the test lets it finish (or ten minutes pass)."""
    deadline = time.monotonic() + 600
    while not data_dir.file("seguir").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return pd.DataFrame({"version": [VERSION]})
'''


def add_deploy_assets(source: Path) -> Path:
    """DEPLOY_ASSETS as the domain `despliegue` of the ventas location of the copy `source`;
    returns the file, for the test to edit."""
    domain = source / "user_code/src/ventas/defs/despliegue"
    domain.mkdir()
    (domain / "__init__.py").touch()
    assets = domain / "assets.py"
    assets.write_text(DEPLOY_ASSETS, encoding="utf-8")
    return assets


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docker(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args], check=check, capture_output=True, text=True, timeout=timeout
    )


def as_root(directory: Path, *command: str) -> None:
    """Run `command` as root on `directory`, mounted at /data: to hand it to another user, or
    to remove what another user wrote, whether or not the tests run as root."""
    docker("run", "--rm", "--volume", f"{directory}:/data", "python:3.13-slim", *command)


def execution_params(
    job: str = "procesar_ventas",
    run_config: dict | None = None,
    tags: dict[str, str] | None = None,
    assets: list[str] | None = None,
    checks: dict[str, list[str]] | None = None,
    location: str = LOCATION,
) -> dict:
    """launchRun's `executionParams` for `job` of `location`, or with `assets` (and `checks`:
    asset -> check names) what the UI's "Materialize" button launches."""
    params: dict = {
        "selector": {
            "repositoryLocationName": location,
            "repositoryName": "__repository__",
            "jobName": job,
        },
        "runConfigData": run_config or {},
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]},
    }
    if assets is not None:
        params["selector"].update(
            jobName="__ASSET_JOB",
            assetSelection=[{"path": [asset]} for asset in assets],
            assetCheckSelection=[
                {"assetKey": {"path": [asset]}, "name": name}
                for asset, names in (checks or {}).items()
                for name in names
            ],
        )
    return params


def https_get(
    port: int, name: str | None, cafile: Path | None, address: str = "127.0.0.1"
) -> tuple[set[str], int]:
    """GET / over HTTPS from `address`:`port`, sending `name` as the server's name (None: no
    name, as browsers do for an IP address), verifying the certificate against `cafile` and
    that name (None: no verification). Returns the names the certificate is for, and the HTTP
    status."""
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if cafile is None:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection((address, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        certificate = x509.load_der_x509_certificate(der)
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {name or address}\r\n\r\n".encode())
        status = int(tls.recv(4096).split(b" ", 2)[1])
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {*names.get_values_for_type(x509.DNSName)} | {
        str(ip) for ip in names.get_values_for_type(x509.IPAddress)
    }, status


class GraphQLError(AssertionError):
    pass


@dataclass
class Stack:
    """One compose project. `project_dir` holds docker-compose.yml (the repo or a copy)."""

    project: str
    project_dir: Path = REPO
    port: int = field(default_factory=free_port)
    # Compose profiles to enable ("public"), in every compose call, tear-down included.
    profiles: tuple[str, ...] = ()
    # The public profile's HTTPS port (DAGSTER_PUBLIC_PORT), published on 127.0.0.1.
    public_port: int = field(default_factory=free_port)
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ventas-data-")))
    extra_env: dict[str, str] = field(default_factory=dict)
    # (uid, gid) to give the data directory to; None leaves it to whoever runs the tests.
    data_owner: tuple[int, int] | None = None
    data_mode: int = 0o755

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def public_url(self) -> str:
        """The public profile's HTTPS address, under the name its certificate is for."""
        return f"https://localhost:{self.public_port}"

    @property
    def env(self) -> dict[str, str]:
        """Only what Docker needs from the caller's environment, and no .env file: a user's
        own settings (exported, or in the checkout's .env) never reach a test's stack."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k in ("PATH", "HOME", "TMPDIR", "XDG_RUNTIME_DIR")
            or k.startswith(("DOCKER_", "BUILDKIT_", "BUILDX_"))
        }
        env.update(
            COMPOSE_ENV_FILES=os.devnull,
            COMPOSE_PROJECT_NAME=self.project,
            DAGSTER_WEBSERVER_PORT=str(self.port),
            VENTAS_DATA_DIR=str(self.data_dir),
            DAGSTER_PUBLIC_PORT=str(self.public_port),
            # A test's stack is reachable from this machine only, whatever its profiles.
            DAGSTER_PUBLIC_ADDRESS="127.0.0.1",
        )
        env.update(self.extra_env)
        return env

    # --- docker compose -------------------------------------------------------------

    def compose(
        self, *args: str, check: bool = True, timeout: float = 900
    ) -> subprocess.CompletedProcess:
        profiles = [f"--profile={profile}" for profile in self.profiles]
        result = subprocess.run(
            ["docker", "compose", *profiles, *args],
            cwd=self.project_dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"docker compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def prepare_data(self) -> None:
        """Copy the sample inputs into this stack's own data directory, as a user's checkout
        has them (owned by the user, not writable by others)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(self.data_mode)
        for csv in SAMPLE_DATA.glob("*.csv"):
            shutil.copy(csv, self.data_dir / csv.name)
        (self.data_dir / "incoming").mkdir(exist_ok=True)
        if self.data_owner is not None:
            uid, gid = self.data_owner
            as_root(self.data_dir, "chown", "-R", f"{uid}:{gid}", "/data")

    def build(self) -> None:
        self.compose("build", "--quiet")

    def up(self, *services: str) -> None:
        self.compose("up", "--detach", "--wait", *services)

    def containers(self) -> dict[str, dict]:
        """docker inspect of this project's service containers, by service name."""
        ids = docker(
            "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}"
        ).stdout.split()
        if not ids:
            return {}
        # A run's container may go between the listing and the inspection: the rest is read.
        info = json.loads(docker("inspect", *ids, check=False).stdout or "[]")
        return {c["Config"]["Labels"]["com.docker.compose.service"]: c for c in info}

    def run_containers(self) -> list[str]:
        """The containers of this stack's runs (a standby that took a run is one)."""
        return [id for id, name in self._launched() if not name.startswith(standby.WAITING)]

    def standbys(self) -> list[str]:
        """The containers started ahead of a run that still wait for one (stack.standby)."""
        return [id for id, name in self._launched() if name.startswith(standby.WAITING)]

    def _launched(self) -> list[tuple[str, str]]:
        """Every container the daemon started for this stack: its id and name."""
        listed = docker(
            "ps",
            "-a",
            "--filter",
            f"label=stack.project={self.project}",
            "--format",
            "{{.ID}} {{.Names}}",
        ).stdout.split("\n")
        return [(line.split()[0], line.split()[1]) for line in listed if line.strip()]

    def resources_left(self) -> dict[str, list[str]]:
        """Whatever of this stack still exists in Docker."""
        label = f"label=com.docker.compose.project={self.project}"
        return {
            "containers": docker("ps", "-aq", "--filter", label).stdout.split(),
            "run containers": self.run_containers(),
            "standbys": self.standbys(),
            "volumes": docker("volume", "ls", "-q", "--filter", label).stdout.split(),
            "networks": docker("network", "ls", "-q", "--filter", label).stdout.split(),
            "images": self.images(),
        }

    def images(self) -> list[str]:
        """The images Compose built for this stack: the current ones and any a rebuild
        replaced (Compose labels them with the project)."""
        label = f"label=com.docker.compose.project={self.project}"
        return sorted(set(docker("images", "-q", "--filter", label).stdout.split()))

    def destroy(self) -> None:
        """Remove everything this stack made, whatever state it is in."""
        # Stop what launches runs, then the runs: they hold the network and the data volume.
        self.compose("stop", "--timeout", "5", "daemon", "webserver", check=False)
        runs = [id for id, _ in self._launched()]
        if runs:
            docker("rm", "--force", "--volumes", *runs, check=False)
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)
        if images := self.images():
            docker("image", "rm", "--force", *images, check=False)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.data_dir.exists():  # files of another user, which only root may remove
            as_root(self.data_dir, "sh", "-c", "rm -rf /data/* /data/.[!.]*")
            shutil.rmtree(self.data_dir)

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "200", check=False).stdout

    # --- GraphQL --------------------------------------------------------------------

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        response = requests.post(
            f"{self.url}/graphql",
            timeout=timeout,
            json={"query": query, "variables": variables or {}},
        )
        if response.status_code != 200:
            raise GraphQLError(f"HTTP {response.status_code} from /graphql: {response.text[:3000]}")
        body = response.json()
        if body.get("errors"):
            raise GraphQLError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def location(self, name: str = LOCATION) -> dict:
        workspace = self.graphql(LOCATION_QUERY)["workspaceOrError"]
        entries = {e["name"]: e for e in workspace["locationEntries"]}
        return entries[name]

    def wait_for_location(self, name: str = LOCATION, timeout: float = 120) -> dict:
        """The loaded location. `loadStatus` says LOADED even for a failed load: check the type."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                entry = self.location(name)
                if entry["locationOrLoadError"]["__typename"] == "RepositoryLocation":
                    return entry["locationOrLoadError"]
            except (requests.RequestException, GraphQLError, KeyError, TypeError):
                entry = None
            if time.monotonic() > deadline:
                raise TimeoutError(f"location {name} not loaded after {timeout}s: {entry}")
            time.sleep(0.2)

    def launch(
        self,
        job: str = "procesar_ventas",
        run_config: dict | None = None,
        tags: dict[str, str] | None = None,
        assets: list[str] | None = None,
        checks: dict[str, list[str]] | None = None,
        location: str = LOCATION,
    ) -> str:
        """Launch `job` of `location`, or with `assets` (and `checks`: asset -> check names)
        what the UI's "Materialize" button launches. Returns the run ID."""
        params = execution_params(job, run_config, tags, assets, checks, location)
        result = self.graphql(LAUNCH_MUTATION, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise GraphQLError(f"launchRun returned {result}")
        return result["run"]["runId"]

    def backfill(self, asset: str, partitions: list[str]) -> str:
        """Launch a backfill of `asset`'s `partitions`, as the UI's "Materialize" dialog does;
        returns the backfill's ID."""
        params = {"assetSelection": [{"path": [asset]}], "partitionNames": partitions}
        result = self.graphql(BACKFILL_MUTATION, {"params": params})["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise GraphQLError(f"launchPartitionBackfill returned {result}")
        return result["backfillId"]

    def backfill_status(self, backfill_id: str) -> str:
        """REQUESTED while it goes on; COMPLETED_SUCCESS, FAILED, ... once it has ended."""
        answer = self.graphql(BACKFILL_STATUS, {"id": backfill_id})
        return answer["partitionBackfillOrError"]["status"]

    def runs(self, job: str | None = None, tags: dict[str, str] | None = None) -> list[dict]:
        """Runs, newest first, of `job` and/or with these tags."""
        run_filter: dict = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        if job:
            run_filter["pipelineName"] = job
        query = """query Runs($filter: RunsFilter!) { runsOrError(filter: $filter) {
            ... on Runs { results { runId jobName status startTime endTime
                                    tags { key value } } } } }"""
        return self.graphql(query, {"filter": run_filter})["runsOrError"]["results"]

    def run(self, run_id: str) -> dict:
        return self.graphql(RUN_QUERY, {"runId": run_id})["runOrError"]

    def run_log(self, run_id: str) -> str:
        """Every message of a run's event log, errors and their causes included."""
        query = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
            ... on MessageEvent { message }
            ... on ErrorEvent { error { message cause { message cause { message } } } } } } } }"""
        lines = []
        for event in self.graphql(query, {"id": run_id})["logsForRun"]["events"]:
            lines.append(event.get("message") or "")
            error = event.get("error")
            while error:
                lines.append(error["message"])
                error = error.get("cause")
        return "\n".join(lines)

    def instigator(self, kind: str, name: str, location: str = LOCATION) -> dict:
        """A schedule's or sensor's state (`kind`: schedule or sensor): its status and its
        last ticks, newest first."""
        selector = {
            "repositoryLocationName": location,
            "repositoryName": "__repository__",
            f"{kind}Name": name,
        }
        field, state = (kind + "OrError", kind + "State")
        query = f"""query($s: {kind.capitalize()}Selector!) {{ {field}({kind}Selector: $s) {{
            ... on {kind.capitalize()} {{ {state} {{ status ticks(limit: 200) {{
                status timestamp runIds originRunIds skipReason error {{ message }} }} }} }}
        }} }}"""
        return self.graphql(query, {"s": selector})[field][state]

    def wait_for_ticks(
        self, kind: str, name: str, since: float, count: int = 2, location: str = LOCATION
    ) -> None:
        """Wait until the schedule or sensor has ticked `count` times since `since` (a Unix
        time): whatever it would do about what came before, it has had the chance to do."""
        wait_until(
            lambda: (
                len(
                    [
                        t
                        for t in self.instigator(kind, name, location)["ticks"]
                        if t["timestamp"] > since
                    ]
                )
                >= count
            ),
            60,
            f"{count} ticks of {name}",
            interval=0.5,
        )

    def wait_restarted(self, service: str, before: dict, timeout: float = 60) -> None:
        """Wait until Docker has restarted `service`'s container since `before` (its inspect)."""
        wait_until(
            lambda: self.containers()[service]["RestartCount"] > before["RestartCount"],
            timeout,
            f"{service} to restart",
        )

    def wait_for_run(self, run_id: str, timeout: float = 180, interval: float = 0.25) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            if run["status"] in FINISHED:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run['status']} after {timeout}s")
            time.sleep(interval)


class ApiLoad:
    """`clients` threads each polling the runs list as the UI's Runs page does, recording each
    request's latency; use as a context manager around the work to load."""

    QUERY = """{ runsOrError(limit: 25) { ... on Runs { results { runId status jobName
                startTime endTime tags { key value } } } } }"""

    def __init__(self, stack: Stack, clients: int = 10, interval: float = 1.0):
        self.stack, self.interval = stack, interval
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._poll, daemon=True) for _ in range(clients)]

    def _poll(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            start = time.perf_counter()
            try:
                response = session.post(
                    f"{self.stack.url}/graphql", json={"query": self.QUERY}, timeout=30
                )
                if response.status_code != 200 or "errors" in response.json():
                    self.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
            except requests.RequestException as error:
                self.errors.append(str(error))
            self.latencies.append(time.perf_counter() - start)
            self._stop.wait(self.interval)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def __enter__(self) -> ApiLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


@contextlib.contextmanager
def sales_from(stack: Stack, source: Path) -> Iterator[None]:
    """The stack's ventas.csv replaced by `source` for the block, the sample put back after."""
    target = stack.data_dir / "ventas.csv"
    shutil.copy(source, target)
    try:
        yield
    finally:
        shutil.copy(SAMPLE_DATA / "ventas.csv", target)


def writing(stack: Stack, asset: str, timeout: float = 120) -> Path:
    """Wait until a run is writing `asset` and return its hidden temporary file: proof that a
    run is in the middle of its work. Only a file whose writer lives counts (it holds a lock
    on it, ventas.tables): not what a killed run left."""

    def held(path: Path) -> bool:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # its writer finished meanwhile
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    output = stack.data_dir / "output"
    return wait_until(
        lambda: next((p for p in output.glob(f".{asset}.parquet.*.tmp") if held(p)), None),
        timeout,
        f"a run writing {asset}",
        interval=0.05,
    )


@contextlib.contextmanager
def docker_events(*filters: str) -> Iterator[list[dict]]:
    """Docker's events while the block runs, as they happen (Docker keeps only its last 256
    for later), with these `--filter`s. They are read as they come: a pipe left unread fills
    (each event carries its container's labels) and Docker then stops sending."""
    arguments = [arg for f in filters for arg in ("--filter", f)]
    watcher = subprocess.Popen(
        ["docker", "events", *arguments, "--format", "{{json .}}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    events: list[dict] = []

    def read() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            events.append(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield events
        time.sleep(0.5)  # what the block did reaches the stream
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
        reader.join(timeout=10)


def docker_seconds(timestamp: str) -> float:
    """Unix seconds of a timestamp in Docker's state (nanoseconds, UTC)."""
    return datetime.fromisoformat(timestamp[:26].rstrip("Z") + "+00:00").timestamp()


def tags_of(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def crash(container: dict) -> None:
    """SIGKILL a container's main process from outside, as a crash would. (`docker kill`
    counts as a deliberate stop, which the restart policy leaves alone.)"""
    docker(
        "run",
        "--rm",
        "--pid",
        "host",
        "python:3.13-slim",
        "python",
        "-c",
        f"import os, signal; os.kill({container['State']['Pid']}, signal.SIGKILL)",
    )


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    """Call `predicate` until it returns something true, and return that; give up after
    `timeout` seconds, naming `what` was awaited."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout:.0f}s still waiting for {what}")
        time.sleep(interval)
    return value


def most_at_once(runs: list[dict]) -> int:
    """The most runs in progress at the same moment, from their start and end times."""
    edges = sorted([(r["startTime"], 1) for r in runs] + [(r["endTime"], -1) for r in runs])
    current = peak = 0
    for _, step in edges:  # at equal times an end (-1) sorts before a start (+1)
        current += step
        peak = max(peak, current)
    return peak


def new_project_name(prefix: str = "ventas-test") -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


@contextlib.contextmanager
def running_stack(prefix: str = "ventas-test", **kwargs) -> Iterator[Stack]:
    """Build and start a stack; destroy it afterwards, even if the body fails."""
    with running_stack_on(prefix, **kwargs) as (stack, _):
        yield stack


@contextlib.contextmanager
def running_stack_on(prefix: str, before_up=None, **kwargs) -> Iterator[tuple[Stack, object]]:
    """Like running_stack, but first starts Postgres alone and calls `before_up(stack)` on it
    (to prepare its database); yields the stack and what `before_up` returned."""
    stack = Stack(project=new_project_name(prefix), **kwargs)
    try:
        stack.prepare_data()
        stack.build()
        prepared = None
        if before_up is not None:
            stack.up("postgres")
            prepared = before_up(stack)
        stack.up()
        for name in LOCATIONS:
            stack.wait_for_location(name)
        yield stack, prepared
    except BaseException:
        print(f"--- logs of {stack.project} ---\n{stack.logs()}")
        raise
    finally:
        stack.destroy()
