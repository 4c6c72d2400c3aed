"""Write the blocks of deploy/kubernetes/values.yaml that mirror dagster.yaml.

The run queue, run monitoring, run retries, tick retention, compute logs and every run's
memory and CPU limits are Dagster settings that Compose reads from dagster.yaml; Dagster's
Helm chart takes them as values of its own, and writes its own dagster.yaml from them. So
that there is one copy to edit, this script writes those values from dagster.yaml, between
the markers `# >>> dagster.yaml: NAME` and `# <<< NAME` of values.yaml, and leaves the rest
of that file (written by hand) as it is. A setting that dagster.yaml reads from the
environment ({env: NAME}) takes the default docker-compose.yml gives it.

    .venv/bin/python deploy/kubernetes/values.py           # rewrite the blocks
    .venv/bin/python deploy/kubernetes/values.py --check   # exit 1 if they are stale

A key of dagster.yaml this script does not know stops it: map it below, or add it to
NOT_MIRRORED with the reason it has no place on Kubernetes.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from stack.limits import Limits

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "deploy" / "kubernetes" / "values.yaml"

# What Compose does that the chart does otherwise, or that has no place in a pod.
NOT_MIRRORED = {
    "storage": "the chart writes the storage from postgresql.* and the password Secret",
    "run_launcher.module": "runs are Kubernetes Jobs: the chart's K8sRunLauncher",
    "run_launcher.class": "runs are Kubernetes Jobs: the chart's K8sRunLauncher",
    "run_launcher.config.env_vars": "a run's pod gets the instance in its arguments, the "
    "password from its Secret",
    "run_launcher.config.pids": "no per-pod setting: the kubelet's podPidsLimit",
    "run_launcher.config.standby_seconds": "a Job's pod is the scheduler's to start: no "
    "container waits ahead of a run",
}
# The tick statuses the chart's retention takes; one dagster.yaml leaves out keeps Dagster's
# default (the chart's schema wants all four).
TICK_STATUSES = ("started", "skipped", "success", "failure")


class SettingError(ValueError):
    """dagster.yaml holds something this script cannot mirror; the message says what."""


def compose_defaults(compose: Mapping[str, Any]) -> dict[str, str]:
    """The default of every variable the instance reads, from docker-compose.yml's
    `x-instance-env`: NAME: ${NAME:-default}."""
    defaults = {}
    for name, value in compose["x-instance-env"].items():
        match = re.fullmatch(r"\$\{(\w+):-(.*)\}", str(value))
        if match and match[1] == name:
            defaults[name] = match[2]
    return defaults


class Reader:
    """dagster.yaml's sections, read key by key: every key must be used or not mirrored."""

    def __init__(self, instance: Mapping[str, Any], defaults: Mapping[str, str]):
        self.instance = instance
        self.defaults = defaults
        self.used: set[str] = set()

    def get(self, path: str, convert: Callable[[Any], Any] = lambda value: value) -> Any:
        value: Any = self.instance
        for key in path.split("."):
            if not isinstance(value, Mapping) or key not in value:
                return None
            value = value[key]
        self.used.add(path)
        if isinstance(value, Mapping) and set(value) == {"env"}:
            if value["env"] not in self.defaults:
                raise SettingError(
                    f"dagster.yaml's {path} reads {value['env']}, which docker-compose.yml's "
                    "x-instance-env gives no default (${NAME:-default})."
                )
            value = self.defaults[value["env"]]
        return convert(value)

    def check_all_used(self) -> None:
        def leaves(value: Any, path: str) -> list[str]:
            if isinstance(value, Mapping) and value and set(value) != {"env"}:
                return [leaf for key in value for leaf in leaves(value[key], f"{path}.{key}")]
            return [path]

        def covered(path: str) -> bool:
            return any(
                path == done or path.startswith(done + ".") for done in (*self.used, *NOT_MIRRORED)
            )

        unknown = [
            leaf
            for section in self.instance
            for leaf in leaves(self.instance[section], section)
            if not covered(leaf)
        ]
        if unknown:
            raise SettingError(
                f"dagster.yaml has {', '.join(unknown)}, which deploy/kubernetes/values.py does "
                "not mirror: map it there, or list it in NOT_MIRRORED with the reason."
            )


def memory(value: Any) -> str:
    """Docker's memory size (2g: binary units) as a Kubernetes quantity (2Gi)."""
    size = Limits.parse(str(value), "1", 1, {"memory": "DAGSTER_RUN_MEMORY", "cpus": ""}).memory
    unit = {"k": "Ki", "m": "Mi", "g": "Gi"}.get(size[-1], "")
    return size.rstrip("bkmg") + unit


def cpus(value: Any) -> str:
    """Docker's CPUs (1.5) as a Kubernetes quantity (1500m)."""
    Limits.parse("1g", str(value), 1, {"memory": "", "cpus": "DAGSTER_RUN_CPUS"})
    millis = Decimal(str(value)) * 1000
    return str(int(millis // 1000)) if millis % 1000 == 0 else f"{int(millis)}m"


def purge_after_days(instigator: str, value: Any) -> Any:
    """A retention's days per tick status, with Dagster's default for a status left out."""
    if not isinstance(value, Mapping):
        return value
    from stack.compat import InstigatorType, get_default_tick_retention_settings

    defaults = {
        status.value.lower(): days
        for status, days in get_default_tick_retention_settings(
            InstigatorType[instigator.upper()]
        ).items()
    }
    return {status: value.get(status, defaults[status]) for status in TICK_STATUSES}


def chart_blocks(instance: Mapping[str, Any], defaults: Mapping[str, str]) -> dict[str, Any]:
    """The chart's values for each block of values.yaml, from dagster.yaml."""
    read = Reader(instance, defaults)

    def pick(
        section: str, keys: Mapping[str, tuple[str, Callable[[Any], Any]]], drop_defaults=False
    ) -> dict:
        """The chart's keys for a section's; with drop_defaults, a key dagster.yaml leaves out
        is null, which drops the chart's default: Dagster's own applies, as under Compose."""
        picked = {
            chart: read.get(f"{section}.{key}", convert) for key, (chart, convert) in keys.items()
        }
        return {
            chart: value for chart, value in picked.items() if drop_defaults or value is not None
        }

    if (read.get("run_coordinator.module"), read.get("run_coordinator.class")) != (
        "dagster.core.run_coordinator",
        "QueuedRunCoordinator",
    ):
        raise SettingError("dagster.yaml's run_coordinator is not Dagster's QueuedRunCoordinator.")
    queue = pick(
        "run_coordinator.config",
        {
            "max_concurrent_runs": ("maxConcurrentRuns", int),
            "dequeue_interval_seconds": ("dequeueIntervalSeconds", int),
            "dequeue_use_threads": ("dequeueUseThreads", bool),
            "dequeue_num_workers": ("dequeueNumWorkers", int),
            "tag_concurrency_limits": ("tagConcurrencyLimits", list),
        },
        drop_defaults=True,
    )
    monitoring = pick(
        "run_monitoring",
        {
            "enabled": ("enabled", bool),
            "start_timeout_seconds": ("startTimeoutSeconds", int),
            "cancel_timeout_seconds": ("cancelTimeoutSeconds", int),
            "poll_interval_seconds": ("pollIntervalSeconds", int),
            "max_resume_run_attempts": ("maxResumeRunAttempts", int),
        },
    )
    retries = pick(
        "run_retries",
        {
            "enabled": ("enabled", bool),
            "max_retries": ("maxRetries", int),
            "retry_on_asset_or_op_failure": ("retryOnAssetOrOpFailure", bool),
        },
    )
    limits = pick("run_launcher.config", {"memory": ("memory", memory), "cpus": ("cpu", cpus)})
    compute_logs = {
        "type": "CustomComputeLogManager",
        "config": {
            "customComputeLogManager": {
                "module": read.get("compute_logs.module"),
                "class": read.get("compute_logs.class"),
                "config": read.get("compute_logs.config"),
            }
        },
    }
    retention = {
        "enabled": True,
        **{
            chart: {"purgeAfterDays": purge_after_days(key, days)}
            if (days := read.get(f"retention.{key}.purge_after_days")) is not None
            else None
            for key, chart in (
                ("schedule", "schedule"),
                ("sensor", "sensor"),
                ("auto_materialize", "autoMaterialize"),
            )
        },
    }
    telemetry = {"enabled": read.get("telemetry.enabled", bool)}
    read.check_all_used()
    return {
        "run-launcher": {"resources": {"limits": limits}},
        "daemon": {
            "runCoordinator": {
                "enabled": True,
                "type": "QueuedRunCoordinator",
                "config": {"queuedRunCoordinator": queue},
            },
            "runMonitoring": monitoring,
            "runRetries": retries,
        },
        "instance": {
            "computeLogManager": compute_logs,
            "retention": retention,
            "telemetry": telemetry,
        },
    }


BLOCK = re.compile(
    r"^(?P<indent> *)# >>> dagster\.yaml: (?P<name>[\w-]+)(?P<note>.*)\n"
    r"(?P<body>(?:.*\n)*?)"
    r"(?P=indent)# <<< (?P=name)\n",
    re.MULTILINE,
)


def render(values_text: str, blocks: Mapping[str, Any]) -> str:
    """values.yaml with each block between its markers rewritten from `blocks`."""
    seen = []

    def block(match: re.Match[str]) -> str:
        name, indent = match["name"], match["indent"]
        if name not in blocks:
            raise SettingError(f"values.yaml has a block {name!r} that values.py does not write.")
        seen.append(name)
        body = yaml.safe_dump(blocks[name], sort_keys=False, default_flow_style=False, width=100)
        lines = "".join(f"{indent}{line}\n" for line in body.splitlines())
        return f"{indent}# >>> dagster.yaml: {name}{match['note']}\n{lines}{indent}# <<< {name}\n"

    text = BLOCK.sub(block, values_text)
    missing = sorted(set(blocks) - set(seen))
    if missing:
        raise SettingError(f"values.yaml lacks the block(s) {', '.join(missing)}.")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if values.yaml is stale")
    args = parser.parse_args(argv)
    instance = yaml.safe_load((REPO / "dagster.yaml").read_text())
    defaults = compose_defaults(yaml.safe_load((REPO / "docker-compose.yml").read_text()))
    current = VALUES.read_text()
    try:
        fresh = render(current, chart_blocks(instance, defaults))
    except SettingError as error:
        print(f"values.py: {error}", file=sys.stderr)
        return 2
    if fresh == current:
        return 0
    if args.check:
        sys.stderr.writelines(
            difflib.unified_diff(
                current.splitlines(keepends=True),
                fresh.splitlines(keepends=True),
                "deploy/kubernetes/values.yaml",
                "from dagster.yaml",
            )
        )
        print(
            "values.py: deploy/kubernetes/values.yaml does not match dagster.yaml: run "
            "`.venv/bin/python deploy/kubernetes/values.py`.",
            file=sys.stderr,
        )
        return 1
    VALUES.write_text(fresh)
    print("values.py: wrote deploy/kubernetes/values.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
