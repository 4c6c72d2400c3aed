"""Dagster's official Helm chart with deploy/kubernetes/values.yaml, proven as far as no cluster
allows: the chart renders, every object is valid Kubernetes, the values meet the chart's
own schema, each code location runs its own image and module, nothing runs as root, no
Docker socket, no bundled Postgres; the instance the chart writes loads in the pinned
Dagster with the same run queue, monitoring, retries and retention as dagster.yaml's; and
dagster-k8s builds the Job of a procesar_ventas run from it.

The chart is DAGSTER_HELM_CHART: a packaged chart, a folder, or a repository's chart
(dagster/dagster, at the version of the Dagster pin). Unset, the offline copy of
../shared/k8s-offline. Without helm or a chart the tests skip, saying why; with CI set,
they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml

pytestmark = pytest.mark.kubernetes

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "deploy" / "kubernetes" / "values.yaml"
VOLUMES = REPO / "deploy" / "kubernetes" / "volumes.yaml"
TOOLBOX = REPO / "deploy" / "kubernetes" / "toolbox.yaml"
OFFLINE_SETUP = REPO.parent / "shared" / "k8s-offline" / "setup"
RELEASE = NAMESPACE = "ventas"
# Each code location: its module, and the image it is built as (docker-compose.yml's name).
LOCATIONS = {
    "ventas": {"module": "ventas.definitions", "image": "user_code"},
    "informes": {"module": "informes.definitions", "image": "informes"},
    "plataforma": {"module": "plataforma.definitions", "image": "plataforma"},
}
PG_PASSWORD = "not-the-real-one"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, but the chart cannot be rendered: {reason}")
    pytest.skip(reason)


def dagster_pin() -> str:
    pins = (REPO / "pyproject.toml").read_text()
    return re.search(r'"dagster==([^"]+)"', pins)[1]  # type: ignore[index]


@pytest.fixture(scope="module")
def chart() -> str:
    if shutil.which("helm") is None:
        unavailable("helm is not installed (../shared/k8s-offline/setup installs it)")
    chart = os.environ.get("DAGSTER_HELM_CHART")
    if not chart and OFFLINE_SETUP.exists():
        chart = subprocess.run(
            [str(OFFLINE_SETUP), "--print-chart"], capture_output=True, text=True, check=True
        ).stdout.strip()
    if not chart:
        unavailable(
            "no chart: set DAGSTER_HELM_CHART (dagster/dagster after "
            "`helm repo add dagster https://dagster-io.github.io/helm`)"
        )
    return chart


def helm_template(chart: str, *extra: str) -> str:
    """`helm template` of the release with the project's values."""
    local = Path(chart).exists()
    command = ["helm", "template", RELEASE, chart, "--namespace", NAMESPACE, "-f", str(VALUES)]
    if not local:  # a repository's chart: the release matching the Dagster pin
        command += ["--version", dagster_pin()]
    result = subprocess.run([*command, *extra], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def manifest(chart, tmp_path_factory) -> Path:
    """The rendered release, in one file. The chart's schema names an online copy of the
    Kubernetes definitions: its check is test_the_values_meet_the_charts_schema's."""
    path = tmp_path_factory.mktemp("rendered") / "release.yaml"
    path.write_text(helm_template(chart, "--skip-schema-validation"))
    return path


@pytest.fixture(scope="module")
def objects(manifest) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(manifest.read_text()) if doc]


def one(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def pod_specs(objects: list[dict]) -> Iterator[tuple[str, dict]]:
    for o in objects:
        if o["kind"] in WORKLOADS:
            spec = o["spec"] if o["kind"] == "Pod" else o["spec"]["template"]["spec"]
            yield f"{o['kind']}/{o['metadata']['name']}", spec


def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def kubernetes_validate(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def instance_yaml(objects: list[dict]) -> str:
    return one(objects, "ConfigMap", f"{RELEASE}-dagster-instance")["data"]["dagster.yaml"]


def user_deployment(objects: list[dict], location: str) -> dict:
    return one(objects, "Deployment", f"{RELEASE}-dagster-user-deployments-{location}")


def container_env(container: dict) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


# --- The objects ---------------------------------------------------------------------------


def test_every_object_is_valid_kubernetes(manifest, objects):
    assert {o["kind"] for o in objects} >= {"Deployment", "Service", "ConfigMap"}
    for path in (manifest, VOLUMES, TOOLBOX):
        kubernetes_validate(path)


def test_the_values_meet_the_charts_schema(chart, tmp_path):
    """Helm checks the values against the chart's values.schema.json, which refers to an online
    copy of Kubernetes' definitions. A local chart is checked here with kubernetes-validate's
    offline copy in its place; a repository's chart, by helm itself, online."""
    if not Path(chart).exists():
        helm_template(chart)
        return
    if Path(chart).is_dir():
        shutil.copytree(chart, tmp_path / "dagster")
    else:
        with tarfile.open(chart) as archive:
            archive.extractall(tmp_path, filter="data")
    import kubernetes_validate

    schemas = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    oldest = min(schemas.glob("v*-local"), key=lambda p: [int(n) for n in p.name[1:-6].split(".")])
    text = (oldest / "_definitions.json").read_text().replace("#/$defs/", "#/definitions/")
    definitions = tmp_path / "definitions.json"
    definitions.write_text(json.dumps({"definitions": json.loads(text)["$defs"]}))
    online = re.compile(r"https://kubernetesjsonschema\.dev/[^\"#]*_definitions\.json")
    for schema in (tmp_path / "dagster").rglob("values.schema.json"):
        schema.write_text(online.sub(definitions.as_uri(), schema.read_text()))
    helm_template(str(tmp_path / "dagster"))  # fails if a value breaks the schema


def test_each_location_runs_its_own_image_and_module_on_its_port(objects):
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    deployments = {d["name"]: d for d in values()["dagster-user-deployments"]["deployments"]}
    workspace = yaml.safe_load(
        one(objects, "ConfigMap", f"{RELEASE}-dagster-workspace-yaml")["data"]["workspace.yaml"]
    )
    assert set(deployments) == set(LOCATIONS)
    for location, expected in LOCATIONS.items():
        image = deployments[location]["image"]
        # The image Compose builds for this location, pushed to a registry under its name.
        built = compose["services"][expected["image"]]["image"]
        assert built == "${COMPOSE_PROJECT_NAME}-" + expected["image"]
        assert image["repository"].endswith(f"/{expected['image']}")
        port = deployments[location]["port"]
        (container,) = user_deployment(objects, location)["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"{image['repository']}:{image['tag']}"
        assert container["args"] == [
            *["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", str(port)],
            *["--lazy-load-user-code", "--module-name", expected["module"]],
            *["--location-name", location],
        ]
        assert "command" not in container  # the image's entrypoint, as-data-owner, stays
        # Runs of this location start from the same image.
        assert container_env(container)["DAGSTER_CURRENT_IMAGE"] == container["image"]
        (service_port,) = one(objects, "Service", location)["spec"]["ports"]
        assert service_port["port"] == port
        assert {"host": location, "port": port, "location_name": location} in [
            server["grpc_server"] for server in workspace["load_from"]
        ]


def test_the_code_servers_and_runs_mount_the_data_directory(objects):
    for location in LOCATIONS:
        spec = user_deployment(objects, location)["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert {"name": "data", "persistentVolumeClaim": {"claimName": "ventas-data"}} in spec[
            "volumes"
        ]
        assert {"name": "data", "mountPath": "/opt/dagster/data"} in container["volumeMounts"]
    launcher = yaml.safe_load(instance_yaml(objects))["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    config = launcher["config"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "ventas-data"}} in config[
        "volumes"
    ]
    assert {"name": "data", "mountPath": "/opt/dagster/data"} in config["volume_mounts"]
    claims = {c["metadata"]["name"]: c["spec"] for c in yaml.safe_load_all(VOLUMES.read_text())}
    assert claims["ventas-data"]["accessModes"] == ["ReadWriteMany"]
    assert claims["ventas-compute-logs"]["accessModes"] == ["ReadWriteMany"]


def assert_nothing_runs_as_root(objects: list[dict]) -> None:
    """Every pod and container as Kubernetes' restricted Pod Security Standard asks, so that
    the namespace can enforce it."""
    for where, spec in pod_specs(objects):
        pod = spec.get("securityContext") or {}
        assert pod.get("runAsUser", 0) != 0 and pod.get("fsGroup", 0) != 0, where
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            own = container.get("securityContext") or {}
            context = {**pod, **own}
            name = f"{where}: {container['name']}"
            assert context.get("runAsNonRoot") is True and context["runAsUser"] != 0, name
            assert own.get("allowPrivilegeEscalation") is False, name
            assert own.get("capabilities", {}).get("drop") == ["ALL"], name
            assert not own.get("privileged"), name
            assert context.get("seccompProfile") == {"type": "RuntimeDefault"}, name


def test_nothing_runs_as_root(objects):
    """The chart's pods, their init containers included, and the toolbox pod."""
    assert_nothing_runs_as_root([*objects, yaml.safe_load(TOOLBOX.read_text())])


def test_the_parts_the_docs_turn_on_are_valid_and_not_root(chart, tmp_path):
    """The read-only webserver (for viewers) and the schema migration Job (for upgrades)."""
    path = tmp_path / "release.yaml"
    path.write_text(
        helm_template(
            chart,
            "--skip-schema-validation",
            *("--set", "dagsterWebserver.enableReadOnly=true", "--set", "migrate.enabled=true"),
        )
    )
    kubernetes_validate(path)
    objects = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    names = {o["metadata"]["name"] for o in objects if o["kind"] in WORKLOADS}
    assert {f"{RELEASE}-dagster-webserver-read-only"} <= names
    assert f"{RELEASE}-dagster-webserver-instance-migrate" in names
    assert_nothing_runs_as_root(objects)


def test_no_object_mounts_a_docker_socket_or_any_host_path(manifest, objects):
    assert "docker.sock" not in manifest.read_text()
    for where, spec in pod_specs(objects):
        assert not [v for v in spec.get("volumes", []) if "hostPath" in v], where


def test_the_bundled_postgres_is_off_and_the_password_comes_from_a_secret(manifest, objects):
    assert not [o for o in objects if o["kind"] == "StatefulSet"]
    assert not [o for o in objects if o["kind"] == "Secret"]  # the password Secret is yours
    assert not [o for o in objects if "postgresql" in o["metadata"]["name"]]
    storage = yaml.safe_load(instance_yaml(objects))["run_storage"]["config"]["postgres_db"]
    assert storage["hostname"] == values()["postgresql"]["postgresqlHost"]
    assert storage["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    secret = {"secretKeyRef": {"name": "ventas-postgresql", "key": "postgresql-password"}}
    for where, spec in pod_specs(objects):
        for container in spec["containers"]:
            assert container_env(container).get("DAGSTER_PG_PASSWORD") == secret, where


# --- The instance the chart writes, in the pinned Dagster ----------------------------------


@pytest.fixture
def without_database(monkeypatch):
    """Dagster's Postgres storages as `should_autocreate_tables: false` leaves them: built
    without connecting (their engines connect at first use, which these tests never make)."""
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    for storage in (PostgresRunStorage, PostgresEventLogStorage, PostgresScheduleStorage):

        def lazy(
            self,
            postgres_url,
            should_autocreate_tables=True,
            *args,
            _init=storage.__init__,
            **kwargs,
        ):
            _init(self, postgres_url, False, *args, **kwargs)

        monkeypatch.setattr(storage, "__init__", lazy)


@pytest.fixture
def in_a_pod(monkeypatch, tmp_path):
    """What Kubernetes gives a pod for the in-cluster configuration the run launcher loads:
    the API server's address in the environment, a service account's token and CA on disk.
    (Dummies: nothing here connects.)"""
    import kubernetes.config.incluster_config as incluster

    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("not-a-token")
    (account / "ca.crt").write_text("not-a-certificate")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(account / "token"))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", str(account / "ca.crt"))


def load_instance(monkeypatch, home: Path, dagster_yaml: str, env: dict[str, str]):
    from dagster import DagsterInstance

    home.mkdir()
    (home / "dagster.yaml").write_text(dagster_yaml)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return DagsterInstance.get()


@pytest.fixture
def k8s_instance(objects, monkeypatch, tmp_path, without_database, in_a_pod):
    """The daemon's instance: the chart's dagster.yaml, with what the daemon's pod gets."""
    env = {"DAGSTER_PG_PASSWORD": PG_PASSWORD}
    with load_instance(monkeypatch, tmp_path / "k8s", instance_yaml(objects), env) as instance:
        yield instance


@pytest.fixture
def compose_instance(monkeypatch, tmp_path, without_database):
    """Compose's instance: dagster.yaml, with .env.example's settings (every default)."""
    example = (REPO / ".env.example").read_text()
    settings = dict(re.findall(r"^(\w+)=(.*)$", example, re.MULTILINE))
    env = {
        "DAGSTER_POSTGRES_HOST": "postgres",
        "DAGSTER_POSTGRES_USER": settings["POSTGRES_USER"],
        "DAGSTER_POSTGRES_PASSWORD": settings["POSTGRES_PASSWORD"],
        "DAGSTER_POSTGRES_DB": settings["POSTGRES_DB"],
        **{k: v for k, v in settings.items() if k.startswith("DAGSTER_RUN_")},
        "DAGSTER_MAX_CONCURRENT_RUNS": settings["DAGSTER_MAX_CONCURRENT_RUNS"],
    }
    dagster_yaml = (REPO / "dagster.yaml").read_text()
    with load_instance(monkeypatch, tmp_path / "compose", dagster_yaml, env) as instance:
        yield instance


def shared_settings(instance) -> dict[str, Any]:
    """What Dagster makes of the settings that must not differ between Compose and
    Kubernetes: the run queue, run monitoring, run retries, retention, compute logs."""
    from dagster._core.definitions.run_request import InstigatorType

    queue = instance.run_coordinator
    logs = instance.get_ref().compute_logs_data
    return {
        "run queue": type(queue).__name__,
        "run queue config": queue.get_run_queue_config(),
        "dequeue": (
            queue.dequeue_interval_seconds,
            queue.dequeue_use_threads,
            queue.dequeue_num_workers,
        ),
        "run monitoring": (
            instance.run_monitoring_enabled,
            instance.run_monitoring_start_timeout_seconds,
            instance.run_monitoring_cancel_timeout_seconds,
            instance.run_monitoring_max_runtime_seconds,
            instance.run_monitoring_max_resume_run_attempts,
            instance.run_monitoring_poll_interval_seconds,
        ),
        "run retries": (
            instance.run_retries_enabled,
            instance.run_retries_max_retries,
            instance.run_retries_retry_on_asset_or_op_failure,
        ),
        "retention": {t: instance.get_tick_retention_settings(t) for t in InstigatorType},
        "compute logs": (logs.module_name, logs.class_name, yaml.safe_load(logs.config_yaml)),
        "telemetry": instance.get_settings("telemetry"),
    }


def test_the_chart_instance_loads_with_the_k8s_run_launcher(k8s_instance):
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_k8s import K8sRunLauncher

    launcher = k8s_instance.run_launcher
    assert isinstance(launcher, K8sRunLauncher)
    assert isinstance(k8s_instance.run_coordinator, QueuedRunCoordinator)
    assert launcher.job_namespace == NAMESPACE
    assert launcher.postgres_password_secret == "ventas-postgresql"


def test_the_shared_settings_are_dagster_yamls(k8s_instance, compose_instance):
    assert shared_settings(k8s_instance) == shared_settings(compose_instance)
    # And not by chance: dagster.yaml's own values.
    assert k8s_instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 4
    assert k8s_instance.run_retries_max_retries == 2


# --- The Job of a run ----------------------------------------------------------------------


def quantity(value: str) -> Decimal:
    """A Kubernetes quantity (2Gi, 1500m) or a Docker size or CPU count (2g, 1.5), as a number."""
    units = {"m": Decimal("0.001"), "k": 1024, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
    units |= {"g": 1024**3}
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value)).groups()  # type: ignore[union-attr]
    return Decimal(number) * Decimal(units[unit] if unit else 1)


@pytest.fixture(scope="module")
def procesar_ventas_run(objects):
    """A run of procesar_ventas, as the webserver makes it from the ventas code location that
    the chart starts: with the image and container context of the location's Deployment."""
    from dagster import DagsterInstance
    from dagster._cli import ENV_PREFIX
    from dagster._cli.api import grpc_command
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.utils import make_new_run_id

    (container,) = user_deployment(objects, "ventas")["spec"]["template"]["spec"]["containers"]
    env = container_env(container)
    # The container context as `dagster api grpc` reads it from the Deployment's environment
    # (the chart names it after the CLI's prefix for environment variables).
    strings = {name: value for name, value in env.items() if isinstance(value, str)}
    with mock.patch.dict(os.environ, strings, clear=True):
        server = grpc_command.make_context(
            "grpc", container["args"][3:], auto_envvar_prefix=f"{ENV_PREFIX}_API_GRPC"
        )
    assert server.params["container_context"], env
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path="/opt/venv/bin/python", module_name="ventas.definitions"
        ),
        container_image=env["DAGSTER_CURRENT_IMAGE"],
        container_context=json.loads(server.params["container_context"]),
        location_name="ventas",
    )
    with DagsterInstance.ephemeral() as scratch:
        location = origin.create_location(scratch)
        (repository,) = location.get_repositories().values()
        job = repository.get_full_job("procesar_ventas")
        return DagsterRun(
            job_name="procesar_ventas",
            run_id=make_new_run_id(),
            job_code_origin=job.get_python_origin(),
            remote_job_origin=job.get_remote_origin(),
        )


@pytest.fixture
def procesar_ventas_job(procesar_ventas_run, k8s_instance, monkeypatch) -> dict:
    """The Job dagster-k8s sends the cluster for that run, launched by the chart's run
    launcher. The call to the cluster's API is caught."""
    from dagster._core.launcher import LaunchRunContext
    from kubernetes.client import ApiClient

    sent = []
    launcher = k8s_instance.run_launcher
    monkeypatch.setattr(
        launcher._api_client,
        "create_namespaced_job_with_retries",
        lambda body, namespace: sent.append((body, namespace)),
    )
    # The two events it records about the launch go to the database: not here.
    monkeypatch.setattr(k8s_instance, "report_engine_event", lambda *args, **kwargs: None)
    monkeypatch.setattr(k8s_instance, "add_run_tags", lambda *args, **kwargs: None)
    launcher.launch_run(LaunchRunContext(dagster_run=procesar_ventas_run, workspace=None))
    ((body, namespace),) = sent
    assert namespace == NAMESPACE
    return ApiClient().sanitize_for_serialization(body)


def test_dagster_k8s_builds_a_valid_job(procesar_ventas_job, tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(procesar_ventas_job))
    kubernetes_validate(path)
    assert PG_PASSWORD not in json.dumps(procesar_ventas_job)  # only its Secret's name


def test_the_run_job_runs_the_ventas_image_with_the_instance_it_needs(
    procesar_ventas_job, objects, k8s_instance
):
    spec = procesar_ventas_job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    image = values()["dagster-user-deployments"]["deployments"][0]["image"]
    assert container["image"] == f"{image['repository']}:{image['tag']}"
    assert container["args"][:3] == ["dagster", "api", "execute_run"]
    assert "command" not in container  # the image's entrypoint, as-data-owner, stays
    env = container_env(container)
    assert env["DAGSTER_HOME"] == "/opt/dagster/dagster_home"
    assert env["DAGSTER_PG_PASSWORD"] == {
        "secretKeyRef": {"name": "ventas-postgresql", "key": "postgresql-password"}
    }
    assert env["DAGSTER_RUN_JOB_NAME"] == "procesar_ventas"
    assert env["VENTAS_TIMEZONE"] == "UTC"  # the location's settings
    # The run loads the daemon's instance, which its arguments carry: the chart's storage
    # and settings, with the password read from DAGSTER_PG_PASSWORD.
    from dagster._cli.api import ExecuteRunArgs
    from dagster._serdes import deserialize_value

    run = deserialize_value(container["args"][3], ExecuteRunArgs)
    assert run.job_origin.job_name == "procesar_ventas"
    assert run.instance_ref.settings == k8s_instance.get_ref().settings
    storage = yaml.safe_load(run.instance_ref.run_storage_data.config_yaml)["postgres_db"]
    chart = yaml.safe_load(instance_yaml(objects))["run_storage"]["config"]["postgres_db"]
    assert storage == chart and storage["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    assert spec["serviceAccountName"] == f"{RELEASE}-dagster-user-deployments-user-deployments"


def test_the_run_job_mounts_the_data_and_compute_logs_once(procesar_ventas_job, k8s_instance):
    spec = procesar_ventas_job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    names = [v["name"] for v in spec["volumes"]]
    assert len(names) == len(set(names)), names
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in spec["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims == {"data": "ventas-data", "compute-logs": "ventas-compute-logs"}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    base_dir = yaml.safe_load(k8s_instance.get_ref().compute_logs_data.config_yaml)["base_dir"]
    assert (mounts["data"], mounts["compute-logs"]) == ("/opt/dagster/data", base_dir)


def test_the_run_job_has_the_run_limits_of_compose(procesar_ventas_job, compose_instance):
    (container,) = procesar_ventas_job["spec"]["template"]["spec"]["containers"]
    limits = container["resources"]["limits"]
    compose = compose_instance.run_launcher.limits  # DAGSTER_RUN_MEMORY, DAGSTER_RUN_CPUS
    assert quantity(limits["memory"]) == quantity(compose.memory) == 2 * 1024**3
    assert quantity(limits["cpu"]) == Decimal(str(compose.cpus)) == Decimal("1.5")


def test_the_run_job_runs_as_no_root(procesar_ventas_job):
    spec = procesar_ventas_job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "fsGroup": 1000,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
