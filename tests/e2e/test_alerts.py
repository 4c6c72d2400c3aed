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
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.compose_stack import (
    Stack,
    crash,
    running_stack,
    sales_from,
    tags_of,
    wait_until,
)
from tests.e2e.receiver import RECEIVER, Receiver
from tests.e2e.test_code_location import failures
from tests.sales import BAD_SALES

pytestmark = pytest.mark.usefixtures("docker_ready")

PUBLIC_URL = "https://dagster.example.com"
TO = ["ops@example.com", "ana@example.com"]


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


def ticks(stack: Stack, sensor: str) -> list[dict]:
    return stack.instigator("sensor", sensor, "plataforma")["ticks"]


def ticks_after(stack: Stack, since: float, count: int = 2) -> None:
    """Both alert sensors have ticked `count` times since `since`."""
    for sensor in ("alertar_fallos", "reintentar_alertas"):
        stack.wait_for_ticks("sensor", sensor, since, count, "plataforma")


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
        assert stack.instigator("sensor", sensor, "plataforma")["status"] == "RUNNING"
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
    stack.wait_restarted("daemon", daemon)
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
