"""End-to-end fixtures: a real stack in Docker, shared by the tests of a session. Every test
under tests/e2e/ is marked `e2e`: `./scripts/test -m "not e2e"` leaves them out."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.compose_stack import REPO, Stack, docker, free_port, project_copy, running_stack
from tests.e2e.receiver import RECEIVER, Receiver

BROWSER_IMAGE = "ventas-test-browser"
BROWSER_DIR = Path(__file__).parent / "browser"
RECEIVER_IMAGE = "ventas-test-alerts"
RECEIVER_DIR = Path(__file__).parent / "alerts"


# The shared stack goes down after the last test that uses it, not at the session's end: the
# tests after it start stacks of their own, which its idle services would slow down.
_shared = contextlib.ExitStack()
_last_user: dict[str, pytest.Item] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)

    def order(item: pytest.Item) -> tuple[bool, bool, bool]:
        # The shared stack's tests first, the platform stack's last, each one after the other:
        # a stack is up only while its tests run.
        uses = getattr(item, "fixturenames", ())
        return here in item.path.parents, "stack" not in uses, "platform" in uses

    items.sort(key=order)
    users = [item for item in items if "stack" in getattr(item, "fixturenames", ())]
    if users:
        _last_user["stack"] = users[-1]


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    if _last_user.get("stack") is item:
        _shared.close()


def build_test_image(tag: str, directory: Path) -> str:
    """Build a test's own image (a browser, a receiver) from `directory`; its cached layers make
    later builds quick. A failed build fails the test with Docker's output."""
    try:
        # --force-rm: a step that fails leaves no container behind
        build = docker("build", "--quiet", "--force-rm", "--tag", tag, str(directory), check=False)
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(f"building {directory} took over {timeout.timeout}s", pytrace=False)
    if build.returncode != 0:
        pytest.fail(
            f"building {directory}/Dockerfile failed ({build.returncode}):\n"
            f"{build.stdout[-3000:]}\n{build.stderr[-3000:]}",
            pytrace=False,
        )
    return tag


@pytest.fixture(scope="session")
def browser_image(docker_ready) -> str:
    return build_test_image(BROWSER_IMAGE, BROWSER_DIR)


@pytest.fixture(scope="session")
def receiver_image(docker_ready) -> str:
    """The alert receiver's: an HTTP and an SMTP server recording what they get as files."""
    return build_test_image(RECEIVER_IMAGE, RECEIVER_DIR)


@pytest.fixture(scope="session")
def stack(docker_ready) -> Iterator[Stack]:
    with _shared:
        yield _shared.enter_context(running_stack("ventas-e2e"))


@dataclass(frozen=True)
class Platform:
    """A stack with the monitoring profile and an alert receiver, for what serves every
    location: metrics and alerts (test_monitoring), history retention (test_history)."""

    stack: Stack
    receiver: Receiver
    prometheus_url: str


# The shipped monitoring configuration with its waits shortened, so that alerts arrive in
# seconds: (file, shipped text, the test's). promtool tests the shipped rules' timing
# (tests/deploy/test_monitoring_config.py); the end-to-end tests, that alerts get through.
DAEMON_STALLED_AFTER = 45  # seconds without a heartbeat (shipped: 120; Dagster's every 30 s)
SHORTER_WAITS = (
    ("prometheus.yml", "scrape_interval: 15s", "scrape_interval: 2s"),
    ("prometheus.yml", "evaluation_interval: 15s", "evaluation_interval: 2s"),
    ("prometheus.yml", "scrape_timeout: 10s", "scrape_timeout: 2s"),
    (
        "rules.yml",
        "dagster_daemon_heartbeat_timestamp_seconds > 120)",
        f"dagster_daemon_heartbeat_timestamp_seconds > {DAEMON_STALLED_AFTER})",
    ),
    (
        "rules.yml",
        "expr: dagster_code_location_up == 0\n        for: 1m",
        "expr: dagster_code_location_up == 0\n        for: 5s",
    ),
    ("alertmanager.yml", "group_wait: 10s", "group_wait: 1s"),
    ("alertmanager.yml", "group_interval: 1m", "group_interval: 5s"),
)


def with_shorter_waits(project: Path) -> Path:
    """`project` with SHORTER_WAITS in its deploy/monitoring/; each must change its file."""
    for name, shipped, shorter in SHORTER_WAITS:
        path = project / "deploy" / "monitoring" / name
        text = path.read_text()
        assert text.count(shipped) == 1, f"{path} no longer has {shipped!r} once"
        path.write_text(text.replace(shipped, shorter))
    return project


@pytest.fixture(scope="session")
def platform(receiver_image, tmp_path_factory) -> Iterator[Platform]:
    port = free_port()
    with running_stack(
        "ventas-e2e-platform",
        project_dir=with_shorter_waits(project_copy(tmp_path_factory.mktemp("platform"))),
        profiles=("monitoring",),
        extra_env={
            "DAGSTER_ALERT_WEBHOOK_URL": f"http://{RECEIVER}:8080/hooks/platform",
            "DAGSTER_PROMETHEUS_PORT": str(port),
            "DAGSTER_METRICS_INTERVAL": "2",
            "VENTAS_SENSOR_INTERVAL": "5",
            # Nothing starts runs by itself while the tests count them: the schedules fire on
            # January 1st only, and purge_history is launched by the tests (no daily schedule).
            "VENTAS_DAILY_CRON": "0 0 1 1 *",
            "VENTAS_HOURLY_CRON": "0 0 1 1 *",
            "DAGSTER_RUN_RETENTION_DAYS": "0",
        },
    ) as stack:
        receiver = Receiver(stack, receiver_image)
        try:
            receiver.run()
            yield Platform(stack, receiver, f"http://127.0.0.1:{port}")
        finally:
            receiver.remove()


def generated_sales(tmp_path_factory, rows: int) -> Path:
    path = tmp_path_factory.mktemp("sales") / "ventas.csv"
    subprocess.run(
        [sys.executable, "-m", "bench.generate_ventas", "--rows", str(rows), "--out", str(path)],
        check=True,
        cwd=REPO,
    )
    return path


@pytest.fixture(scope="session")
def big_sales(tmp_path_factory) -> Path:
    """3M sales: a run of several seconds, long enough to hit in the middle."""
    return generated_sales(tmp_path_factory, 3_000_000)


@pytest.fixture(scope="session")
def sales_1m(tmp_path_factory) -> Path:
    """1M sales: a run of a few seconds, with every step long enough to see."""
    return generated_sales(tmp_path_factory, 1_000_000)
