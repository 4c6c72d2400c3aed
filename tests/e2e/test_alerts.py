"""Alerts on failed runs, in a real stack: one POST and one e-mail per failed run, to a
receiver on the stack's network (tests/e2e/alerts/: an HTTP and an SMTP server recording
what they get as files); a receiver that is down gets the alert once it is back, and the
run's outcome is untouched; a daemon killed while an alert is being sent does not send it
again; with the ventas location broken, a failed run of informes is still alerted (the
alerts are the plataforma location's).

A stack of its own, with alerts looking every 2 seconds and the rest of the automation off.
"""

import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from email import message_from_string, policy
from pathlib import Path

import pytest

from tests.e2e.compose_stack import (
    Stack,
    crash,
    docker,
    running_stack,
    sales_from,
    tags_of,
    wait_until,
)
from tests.e2e.test_code_location import failures

pytestmark = pytest.mark.usefixtures("docker_ready")

RECEIVER_IMAGE = "ventas-test-alerts"
RECEIVER_DIR = Path(__file__).parent / "alerts"
# The receiver's name on the stack's network.
RECEIVER = "receptor"
PUBLIC_URL = "https://dagster.example.com"
TO = ["ops@example.com", "ana@example.com"]
BAD_SALES = (
    "fecha,producto,categoria,precio,cantidad,usuario_id\n"
    "2024-03-01,Café molido,Alimentación,4.60,2,17\n"
    "2024-03-02,Tableta,Electrónica,trescientos,1,3\n"
)

TICKS = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
    ... on Sensor { sensorState { status
        ticks(limit: 200) { status timestamp originRunIds skipReason error { message } } } } } }"""


class Receiver:
    """The receiver's container, on the stack's network as `receptor`, writing what it gets to
    a directory of the host."""

    def __init__(self, stack: Stack, image: str):
        self.records = Path(tempfile.mkdtemp(prefix="ventas-alerts-"))
        self.records.chmod(0o777)
        self.name = f"{stack.project}-receptor-{secrets.token_hex(3)}"
        self.network = f"{stack.project}_dagster"
        self.image = image

    def run(self) -> None:
        # No --rm: the tests stop and start it again; remove() takes it away.
        docker(
            "run",
            "--detach",
            "--name",
            self.name,
            "--network",
            self.network,
            "--network-alias",
            RECEIVER,
            "--volume",
            f"{self.records}:/records",
            # Its records belong to whoever runs the tests, who removes them.
            "--user",
            f"{os.getuid()}:{os.getgid()}",
            self.image,
        )
        self.wait_ready()

    def wait_ready(self) -> None:
        wait_until((self.records / "ready").exists, 30, "the receiver to listen")

    def stop(self) -> None:
        docker("stop", "--time", "5", self.name)
        (self.records / "ready").unlink(missing_ok=True)

    def start(self) -> None:
        docker("start", self.name)
        self.wait_ready()

    def hold_answers(self, seconds: float) -> None:
        """Answer each POST only `seconds` after it arrived (0: at once)."""
        (self.records / "delay").write_text(str(seconds), encoding="utf-8")

    def remove(self) -> None:
        docker("rm", "--force", self.name, check=False)
        shutil.rmtree(self.records, ignore_errors=True)

    def _read(self, kind: str) -> list[dict]:
        folder = self.records / kind
        if not folder.is_dir():
            return []
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]

    def posts(self, run_id: str) -> list[dict]:
        """The POSTs that name `run_id`, in the order they came."""
        return [p for p in self._read("webhook") if run_id in p["body"]]

    def mails(self, run_id: str) -> list:
        """The e-mails that name `run_id`, parsed."""
        return [
            (mail, message_from_string(mail["message"], policy=policy.default))
            for mail in self._read("mail")
            if run_id in mail["message"]
        ]


@pytest.fixture(scope="session")
def receiver_image(docker_ready) -> str:
    try:
        # --force-rm: a step that fails leaves no container behind
        build = docker(
            "build",
            "--quiet",
            "--force-rm",
            "--tag",
            RECEIVER_IMAGE,
            str(RECEIVER_DIR),
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(f"building {RECEIVER_DIR} took over {timeout.timeout}s", pytrace=False)
    if build.returncode != 0:
        pytest.fail(
            f"building the receiver image ({RECEIVER_DIR}/Dockerfile) failed:\n"
            f"{build.stdout[-3000:]}\n{build.stderr[-3000:]}",
            pytrace=False,
        )
    return RECEIVER_IMAGE


@pytest.fixture(scope="module")
def alerting(receiver_image) -> Iterator[tuple[Stack, Receiver]]:
    with running_stack(
        "ventas-e2e-alerts",
        extra_env={
            "DAGSTER_ALERT_WEBHOOK_URL": f"http://{RECEIVER}:8080/hooks/ventas",
            "DAGSTER_ALERT_EMAIL_TO": ",".join(TO),
            "DAGSTER_ALERT_SMTP_URL": f"smtp://{RECEIVER}:2525",
            "DAGSTER_ALERT_EMAIL_FROM": "Ventas <ventas@example.com>",
            "DAGSTER_ALERT_INTERVAL": "2",
            "DAGSTER_PUBLIC_URL": PUBLIC_URL,
            "VENTAS_AUTOMATION_ON": "false",
        },
    ) as stack:
        receiver = Receiver(stack, receiver_image)
        try:
            receiver.run()
            # A run-failure sensor starts at the latest failure when it first ticks: only
            # failures after that tick are its own.
            wait_until(lambda: ticks(stack, "alertar_fallos"), 60, "the first alert tick")
            yield stack, receiver
        finally:
            receiver.remove()


def sensor_state(stack: Stack, sensor: str) -> dict:
    selector = {
        "repositoryLocationName": "plataforma",
        "repositoryName": "__repository__",
        "sensorName": sensor,
    }
    return stack.graphql(TICKS, {"s": selector})["sensorOrError"]["sensorState"]


def ticks(stack: Stack, sensor: str) -> list[dict]:
    return sensor_state(stack, sensor)["ticks"]


def ticks_after(stack: Stack, since: float, count: int = 2) -> None:
    """Wait until both alert sensors have ticked `count` times since `since`: whatever they
    would do about what came before, they have had the chance to do."""
    for sensor in ("alertar_fallos", "reintentar_alertas"):
        wait_until(
            lambda sensor=sensor: (
                len([t for t in ticks(stack, sensor) if t["timestamp"] > since]) >= count
            ),
            60,
            f"{count} ticks of {sensor}",
            interval=0.5,
        )


def failed_run(stack: Stack, bad_sales: Path) -> tuple[str, str]:
    """A run of procesar_ventas that fails on a bad sales file: its ID and the first line of
    its failure, as the UI shows it."""
    with sales_from(stack, bad_sales):
        run = stack.wait_for_run(stack.launch("procesar_ventas"))
    assert run["status"] == "FAILURE"
    first_line = failures(stack, run["runId"])[1]["message"].splitlines()[0]
    assert first_line.startswith("InputFileError: /opt/dagster/data/ventas.csv, line 3, column")
    return run["runId"], first_line


def alert_tags(stack: Stack, run_id: str) -> tuple[str | None, dict]:
    tags = tags_of(stack.run(run_id))
    return tags.get("stack/alert"), json.loads(tags.get("stack/alert_details", "{}"))


@pytest.fixture(scope="module")
def bad_sales(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sales") / "ventas.csv"
    path.write_text(BAD_SALES, encoding="utf-8")
    return path


def test_a_failed_run_sends_one_post_and_one_email_with_what_to_fix(alerting, bad_sales):
    stack, receiver = alerting
    # Running, though the rest of the automation is off.
    for sensor in ("alertar_fallos", "reintentar_alertas"):
        assert sensor_state(stack, sensor)["status"] == "RUNNING"
    run_id, first_line = failed_run(stack, bad_sales)

    (post,) = wait_until(lambda: receiver.posts(run_id), 60, "the alert's POST")
    wait_until(lambda: receiver.mails(run_id), 60, "the alert's e-mail")
    ticks_after(stack, time.time())

    (post,) = receiver.posts(run_id)
    assert post["path"] == "/hooks/ventas"
    assert post["content_type"] == "application/json"
    text = json.loads(post["body"])["text"]
    assert text.split("\n") == [
        "Run failed: procesar_ventas in ventas",
        f"Run ID: {run_id}",
        first_line,
        f"{PUBLIC_URL}/runs/{run_id}",
    ]
    ((mail, message),) = receiver.mails(run_id)
    assert mail["from"] == "ventas@example.com"
    assert mail["to"] == TO
    assert message["Subject"] == f"Run failed: procesar_ventas ({run_id[:8]})"
    assert message.get_content().replace("\r\n", "\n").strip() == text
    status, details = alert_tags(stack, run_id)
    assert status == "sent" and details["sent_to"] == ["email", "webhook"]


def test_a_receiver_that_is_down_gets_the_alert_once_it_is_back(alerting, bad_sales):
    stack, receiver = alerting
    receiver.stop()
    try:
        run_id, first_line = failed_run(stack, bad_sales)
        # The run failed as it would have: the same first line, and no retry of it.
        assert "'trescientos'" in first_line
        status, details = wait_until(
            lambda: (tags := alert_tags(stack, run_id))[1].get("failures", 0) >= 1 and tags,
            60,
            "a failed attempt at the alert",
        )
        assert status == "pending" and details["sent_to"] == []
        assert receiver.posts(run_id) == [] and receiver.mails(run_id) == []
    finally:
        receiver.start()
    back = time.time()

    wait_until(lambda: receiver.posts(run_id), 120, "the alert's POST after the receiver is back")
    wait_until(lambda: receiver.mails(run_id), 60, "the alert's e-mail after the receiver is back")
    ticks_after(stack, time.time())

    assert len(receiver.posts(run_id)) == 1 and len(receiver.mails(run_id)) == 1
    assert receiver.posts(run_id)[0]["at"] >= back
    assert stack.run(run_id)["status"] == "FAILURE"
    assert stack.runs(tags={"dagster/parent_run_id": run_id}) == []
    status, details = alert_tags(stack, run_id)
    assert status == "sent" and details["failures"] >= 1


def test_a_daemon_killed_while_an_alert_is_sent_does_not_send_it_again(alerting, bad_sales):
    """The receiver holds its answer, the daemon is killed meanwhile: the code server finishes
    sending, and the restarted daemon, which never stored that tick, hands the same failure
    to the sensor again, which sends nothing more."""
    stack, receiver = alerting
    daemon = stack.containers()["daemon"]
    receiver.hold_answers(6)
    try:
        run_id, _ = failed_run(stack, bad_sales)
        wait_until(lambda: receiver.posts(run_id), 60, "the alert's POST")
        crash(daemon)
        crashed_at = time.time()
    finally:
        receiver.hold_answers(0)
    wait_until(
        lambda: stack.containers()["daemon"]["RestartCount"] > daemon["RestartCount"],
        60,
        "the daemon to restart",
    )
    ticks_after(stack, crashed_at + 6)

    assert len(receiver.posts(run_id)) == 1
    assert len(receiver.mails(run_id)) == 1
    status, details = alert_tags(stack, run_id)
    assert status == "sent" and details["sent_to"] == ["email", "webhook"]
    # The one tick that stored a reaction to the run started after the crash: the tick in
    # flight when the daemon died was lost, and the failure was handed over again.
    (reaction,) = [t for t in ticks(stack, "alertar_fallos") if run_id in t["originRunIds"]]
    assert reaction["timestamp"] > crashed_at and reaction["status"] == "SUCCESS"


def test_with_the_ventas_location_broken_a_failed_informes_run_is_still_alerted(alerting):
    """The alerts are the plataforma location's, and only its service has their settings: a
    broken ventas deploy (a setting it cannot load with) silences nothing."""
    stack, receiver = alerting
    env = {s: set(c["Config"]["Env"]) for s, c in stack.containers().items()}
    webhook = f"DAGSTER_ALERT_WEBHOOK_URL=http://{RECEIVER}:8080/hooks/ventas"
    assert [s for s, variables in env.items() if webhook in variables] == ["plataforma"]

    broken = dataclasses.replace(stack, extra_env={**stack.extra_env, "VENTAS_TIMEZONE": "Madrid"})
    broken.compose("up", "--detach", "--wait", "user_code")
    try:
        error = wait_until(
            lambda: (
                (e := stack.location("ventas")["locationOrLoadError"])["__typename"]
                == "PythonError"
                and e
            ),
            120,
            "the ventas location to fail to load",
        )
        assert "VENTAS_TIMEZONE='Madrid' is not a time zone" in str(error["errorChain"])
        run = stack.wait_for_run(stack.launch("informe_semanal", location="informes"))
        assert run["status"] == "FAILURE"
        (post,) = wait_until(lambda: receiver.posts(run["runId"]), 60, "the alert's POST")
    finally:
        stack.compose("up", "--detach", "--wait", "user_code")
    text = json.loads(post["body"])["text"].split("\n")
    assert text[0] == "Run failed: informe_semanal in informes"
    assert text[2].startswith("FileNotFoundError: ") and "ventas_por_dia first" in text[2]
