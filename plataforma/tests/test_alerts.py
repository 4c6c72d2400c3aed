"""Alerts on failed runs: the message, the settings, sending to a real HTTP server and a real
SMTP server (plain, STARTTLS, TLS) started here, and the two sensors on a real instance with
real failed runs: one alert per run, retried with backoff, never sent twice to a channel."""

import json
import ssl
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from dagster._core.remote_origin import (
    GrpcServerCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)

import plataforma.definitions
from locationkit.failures import SettingError, UserError, reported
from plataforma.alerts import (
    DETAILS_TAG,
    FORMER_DETAILS_TAG,
    FORMER_STATUS_TAG,
    PENDING,
    SENT,
    STATUS_TAG,
    Alert,
    Delivery,
    alert_for,
    deliver,
)
from plataforma.settings import Settings
from stack.notify import (
    EMAIL,
    WEBHOOK,
    DeliveryError,
    SmtpServer,
    first_line,
    post_webhook,
    send_email,
)
from tests.e2e.compose_stack import free_port

DATA = "/opt/dagster/data"


class InputFileError(UserError):
    """What a location's bad input file raises (ventas' CSV reader, say)."""


@dg.op
def leer_ventas() -> None:
    with reported():
        raise InputFileError(
            f"{DATA}/ventas.csv, line 3, column 'precio': 'trescientos' is not a number written "
            "like 12.50."
        )


@dg.job
def procesar_ventas() -> None:
    """A job of some location that fails on bad input, with its first line."""
    leer_ventas()


# --- receivers ------------------------------------------------------------------------


class Webhook:
    """A real HTTP server on 127.0.0.1 that records every POST; it answers each with the next
    of `statuses` (200 once they run out)."""

    def __init__(self, port: int | None = None):
        self.posts: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append(
                    {
                        "at": time.time(),
                        "path": self.path,
                        "content_type": self.headers["Content-Type"],
                        "json": json.loads(body),
                    }
                )
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/alertas"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> "Webhook":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def texts(self) -> list[str]:
        return [post["json"]["text"] for post in self.posts]


class Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records every mail; it answers DATA with
    the next of `replies` ("250 OK" once they run out). Extra arguments go to aiosmtpd."""

    def __init__(self, **smtp):
        self.mails: list[dict] = []
        self.replies: list[str] = []
        self.logins: list[tuple[bytes, bytes]] = []
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:
                reply = mailbox.replies.pop(0) if mailbox.replies else "250 OK"
                if reply.startswith("250"):
                    mailbox.mails.append(
                        {
                            "from": envelope.mail_from,
                            "to": envelope.rcpt_tos,
                            # As it travelled: lines end in CRLF.
                            "message": message_from_bytes(envelope.content, policy=policy.default),
                            "tls": session.ssl is not None,
                            "logged_in": session.authenticated,
                        }
                    )
                return reply

        def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
            self.logins.append((auth_data.login, auth_data.password))
            return AuthResult(success=(auth_data.login, auth_data.password) == (b"ana", b"s3cr@t"))

        self.port = free_port()
        self.controller = Controller(
            Handler(), hostname="127.0.0.1", port=self.port, authenticator=authenticator, **smtp
        )

    def __enter__(self) -> "Mailbox":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def body(mail: dict) -> str:
    return mail["message"].get_content().replace("\r\n", "\n").strip()


@pytest.fixture
def ca(tmp_path, monkeypatch) -> trustme.CA:
    """A certificate authority that the code's default TLS context trusts, as it would trust
    the system's (SSL_CERT_FILE is how OpenSSL is told of another one)."""
    authority = trustme.CA()
    pem = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(pem))
    monkeypatch.setenv("SSL_CERT_FILE", str(pem))
    return authority


def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


ALERT = Alert(
    job="procesar_ventas",
    run_id="0f4c5a1e-8a41-4c2e-9d0b-6f1e2d3c4b5a",
    problem="InputFileError: /opt/dagster/data/ventas.csv, line 3, column 'precio': bad",
    location="ventas",
    link="https://dagster.example.com/runs/0f4c5a1e-8a41-4c2e-9d0b-6f1e2d3c4b5a",
)


# --- the message ----------------------------------------------------------------------


def fail_a_run(instance, **kwargs) -> dg.ExecuteInProcessResult:
    result = procesar_ventas.execute_in_process(instance=instance, raise_on_error=False, **kwargs)
    assert not result.success
    return result


def run_failure(instance, run_id: str) -> dg.DagsterEvent:
    (record,) = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.RUN_FAILURE
    ).records
    return record.event_log_entry.dagster_event


def test_the_alert_names_the_job_the_run_the_first_line_of_its_error_and_links_to_it():
    with dg.instance_for_test() as instance:
        result = fail_a_run(instance)
        failure = run_failure(instance, result.run_id)
        alert = alert_for(result.dagster_run, failure, "https://dagster.example.com/")
    run_id = result.run_id
    job, run, problem, link = alert.text.split("\n")
    assert job == "Run failed: procesar_ventas"
    assert run == f"Run ID: {run_id}"
    assert problem.startswith(
        f"InputFileError: {DATA}/ventas.csv, line 3, column 'precio': 'trescientos'"
    )
    # The event's own message says only that a step failed; the error says what to fix.
    assert "Steps failed" in failure.message
    assert link == f"https://dagster.example.com/runs/{run_id}"
    assert alert.subject == f"Run failed: procesar_ventas ({run_id[:8]})"


def test_without_a_public_url_the_alert_has_no_link():
    with dg.instance_for_test() as instance:
        result = fail_a_run(instance)
        alert = alert_for(result.dagster_run, run_failure(instance, result.run_id), None)
    assert alert.link is None
    assert len(alert.text.split("\n")) == 3
    assert "http" not in alert.text


def test_a_failure_without_an_error_gives_the_first_line_of_its_message():
    with dg.instance_for_test() as instance:
        run = instance.add_run(dg.DagsterRun(job_name="otro_job", run_id="a" * 36))
        instance.report_run_failed(run, "Run timed out after 3600 seconds.\nMore details here.")
        alert = alert_for(run, run_failure(instance, run.run_id), None)
    assert alert.problem == "Run timed out after 3600 seconds."


def test_first_line_is_trimmed_and_cut_when_very_long():
    assert first_line("\n  ValueError: bad  \nTraceback ...") == "ValueError: bad"
    assert first_line(None) == first_line("") == ""
    long = first_line("x" * 2000)
    assert len(long) == 500 and long.endswith("…")


# --- the settings ---------------------------------------------------------------------


def test_alerts_are_off_and_define_no_sensor_when_unset():
    assert not Settings.from_env({}).alerts_on
    assert not list(plataforma.definitions.defs().sensors or [])


def alert_sensors(monkeypatch, **env: str) -> dg.Definitions:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return plataforma.definitions.defs()


def test_a_webhook_or_an_address_defines_both_sensors_running(monkeypatch):
    defs = alert_sensors(
        monkeypatch,
        DAGSTER_ALERT_WEBHOOK_URL="https://hooks.example.com/x",
        DAGSTER_ALERT_INTERVAL="7",
    )
    failures = defs.resolve_sensor_def("alertar_fallos")
    retries = defs.resolve_sensor_def("reintentar_alertas")
    for sensor in (failures, retries):
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        assert sensor.minimum_interval_seconds == 7
    assert isinstance(failures, dg.RunStatusSensorDefinition)


def test_the_email_settings_are_read():
    settings = Settings.from_env(
        {
            "DAGSTER_ALERT_EMAIL_TO": " ana@example.com, ops@example.org ",
            "DAGSTER_ALERT_SMTP_URL": "smtp://ana%40example.com:p%40ss%3Aw@mail.example.com:587"
            "?starttls=true",
            "DAGSTER_PUBLIC_URL": "https://dagster.example.com",
        }
    )
    assert settings.alerts_on and settings.alert_webhook_url is None
    assert settings.alert_email_to == ("ana@example.com", "ops@example.org")
    assert settings.alert_smtp == SmtpServer(
        host="mail.example.com",
        port=587,
        security="starttls",
        username="ana@example.com",
        password="p@ss:w",
    )
    # A server that logs you in mostly wants you as the sender.
    assert settings.alert_email_from == "ana@example.com"
    assert settings.public_url == "https://dagster.example.com"
    assert settings.alert_interval == 30
    assert "p@ss:w" not in repr(settings)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("smtp://mail.example.com", SmtpServer("mail.example.com", 25)),
        ("smtp://relay:2525/", SmtpServer("relay", 2525)),
        ("smtps://u:p@mail.example.com", SmtpServer("mail.example.com", 465, "tls", "u", "p")),
        ("smtp://mail.example.com?starttls=false", SmtpServer("mail.example.com", 25)),
        ("smtp://h:587?starttls=yes", SmtpServer("h", 587, "starttls")),
    ],
)
def test_smtp_urls(url, expected):
    assert SmtpServer.parse(url) == expected


def test_without_a_user_the_sender_is_the_default_or_the_one_set():
    email = {"DAGSTER_ALERT_EMAIL_TO": "ops@example.com", "DAGSTER_ALERT_SMTP_URL": "smtp://relay"}
    assert Settings.from_env(email).alert_email_from == "ventas-dagster@localhost"
    chosen = {**email, "DAGSTER_ALERT_EMAIL_FROM": "Ventas <ventas@example.com>"}
    assert Settings.from_env(chosen).alert_email_from == "Ventas <ventas@example.com>"


@pytest.mark.parametrize(
    "env, named",
    [
        ({"DAGSTER_ALERT_WEBHOOK_URL": "hooks.example.com/T0/s3cr3t"}, "DAGSTER_ALERT_WEBHOOK_URL"),
        ({"DAGSTER_ALERT_WEBHOOK_URL": "ftp://example.com/s3cr3t"}, "DAGSTER_ALERT_WEBHOOK_URL"),
        ({"DAGSTER_ALERT_WEBHOOK_URL": "https://x:99999/s3cr3t"}, "DAGSTER_ALERT_WEBHOOK_URL"),
        ({"DAGSTER_ALERT_WEBHOOK_URL": "https://x/s3cr3t y"}, "DAGSTER_ALERT_WEBHOOK_URL"),
        ({"DAGSTER_ALERT_EMAIL_TO": "ops@example.com"}, "DAGSTER_ALERT_SMTP_URL"),
        ({"DAGSTER_ALERT_SMTP_URL": "smtp://u:s3cr3t@relay"}, "DAGSTER_ALERT_EMAIL_TO"),
        (
            {
                "DAGSTER_ALERT_EMAIL_TO": "ops@example.com;ana@example.com",
                "DAGSTER_ALERT_SMTP_URL": "smtp://relay",
            },
            "DAGSTER_ALERT_EMAIL_TO",
        ),
        (
            {"DAGSTER_ALERT_EMAIL_TO": "ops", "DAGSTER_ALERT_SMTP_URL": "smtp://relay"},
            "DAGSTER_ALERT_EMAIL_TO",
        ),
        (
            {"DAGSTER_ALERT_EMAIL_TO": "o@x.es", "DAGSTER_ALERT_SMTP_URL": "http://u:s3cr3t@relay"},
            "DAGSTER_ALERT_SMTP_URL",
        ),
        (
            {"DAGSTER_ALERT_EMAIL_TO": "o@x.es", "DAGSTER_ALERT_SMTP_URL": "smtp://u:s3cr3t@:25"},
            "DAGSTER_ALERT_SMTP_URL",
        ),
        (
            {"DAGSTER_ALERT_EMAIL_TO": "o@x.es", "DAGSTER_ALERT_SMTP_URL": "smtp://u:s3cr3t@h:x"},
            "DAGSTER_ALERT_SMTP_URL",
        ),
        (
            {
                "DAGSTER_ALERT_EMAIL_TO": "o@x.es",
                "DAGSTER_ALERT_SMTP_URL": "smtp://u:s3cr3t@h?tls=1",
            },
            "DAGSTER_ALERT_SMTP_URL",
        ),
        (
            {
                "DAGSTER_ALERT_EMAIL_TO": "o@x.es",
                "DAGSTER_ALERT_SMTP_URL": "smtps://h?starttls=true",
            },
            "DAGSTER_ALERT_SMTP_URL",
        ),
        (
            {"DAGSTER_ALERT_EMAIL_TO": "o@x.es", "DAGSTER_ALERT_SMTP_URL": "smtp://s3cr3t@h/inbox"},
            "DAGSTER_ALERT_SMTP_URL",
        ),
        ({"DAGSTER_ALERT_EMAIL_FROM": "dagster"}, "DAGSTER_ALERT_EMAIL_FROM"),
        ({"DAGSTER_ALERT_INTERVAL": "0"}, "DAGSTER_ALERT_INTERVAL"),
        ({"DAGSTER_ALERT_INTERVAL": "1m"}, "DAGSTER_ALERT_INTERVAL"),
        ({"DAGSTER_PUBLIC_URL": "dagster.example.com"}, "DAGSTER_PUBLIC_URL"),
    ],
)
def test_a_bad_setting_fails_the_definitions_naming_it_and_keeping_secrets(monkeypatch, env, named):
    with pytest.raises(SettingError, match=named) as raised:
        alert_sensors(monkeypatch, **env)
    assert "s3cr3t" not in str(raised.value)


# --- sending --------------------------------------------------------------------------


def test_the_webhook_gets_slack_compatible_json():
    with Webhook() as hook:
        post_webhook(hook.url, ALERT)
    (post,) = hook.posts
    assert post["path"] == "/hooks/alertas"
    assert post["content_type"] == "application/json"
    assert post["json"] == {
        "text": "Run failed: procesar_ventas in ventas\n"
        "Run ID: 0f4c5a1e-8a41-4c2e-9d0b-6f1e2d3c4b5a\n"
        "InputFileError: /opt/dagster/data/ventas.csv, line 3, column 'precio': bad\n"
        "https://dagster.example.com/runs/0f4c5a1e-8a41-4c2e-9d0b-6f1e2d3c4b5a"
    }


def test_a_webhook_that_answers_an_error_or_is_not_there_fails_the_delivery():
    with Webhook() as hook:
        hook.statuses = [503]
        with pytest.raises(DeliveryError, match="HTTP 503"):
            post_webhook(hook.url, ALERT)
    with pytest.raises(DeliveryError, match="ConnectionRefused"):
        post_webhook(f"http://127.0.0.1:{free_port()}/x", ALERT)


def test_the_mail_goes_to_every_address_with_the_alert():
    with Mailbox() as mailbox:
        server = SmtpServer("127.0.0.1", mailbox.port)
        send_email(server, "Ventas <ventas@example.com>", ("ana@example.com", "ops@x.es"), ALERT)
    (mail,) = mailbox.mails
    assert mail["from"] == "ventas@example.com"
    assert mail["to"] == ["ana@example.com", "ops@x.es"]
    message = mail["message"]
    assert message["Subject"] == "Run failed: procesar_ventas (0f4c5a1e)"
    assert message["To"] == "ana@example.com, ops@x.es"
    assert message["Message-ID"] == "<0f4c5a1e-8a41-4c2e-9d0b-6f1e2d3c4b5a.failure@ventas-dagster>"
    assert body(mail) == ALERT.text
    assert not mail["tls"] and not mail["logged_in"]


def test_starttls_then_login_when_the_url_asks_for_it(ca):
    tls = server_tls(ca)
    with Mailbox(tls_context=tls, require_starttls=True, auth_required=True) as mailbox:
        url = f"smtp://ana:s3cr%40t@127.0.0.1:{mailbox.port}?starttls=true"
        send_email(SmtpServer.parse(url), "ana@example.com", ("ops@x.es",), ALERT)
    (mail,) = mailbox.mails
    assert mail["tls"] and mail["logged_in"]
    assert mailbox.logins == [(b"ana", b"s3cr@t")]
    assert mailbox.logins == [(b"ana", b"s3cr@t")]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtps_speaks_tls_from_the_start(ca):
    """The server speaks nothing but TLS, so a mail that arrives came over TLS. (aiosmtpd
    offers AUTH there only when told that it need not wait for its own STARTTLS.)"""
    tls_only = {"ssl_context": server_tls(ca), "auth_required": True, "auth_require_tls": False}
    with Mailbox(**tls_only) as mailbox:
        url = f"smtps://ana:s3cr%40t@127.0.0.1:{mailbox.port}"
        send_email(SmtpServer.parse(url), "ana@example.com", ("ops@x.es",), ALERT)
    (mail,) = mailbox.mails
    assert mail["logged_in"]
    assert mailbox.logins == [(b"ana", b"s3cr@t")]


def test_a_certificate_nobody_vouches_for_is_refused():
    with (
        Mailbox(ssl_context=server_tls(trustme.CA())) as mailbox,  # a CA nobody trusts
        pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        send_email(SmtpServer("127.0.0.1", mailbox.port, "tls"), "a@x.es", ("o@x.es",), ALERT)
    assert mailbox.mails == []


def test_a_mail_server_that_defers_or_is_not_there_fails_the_delivery():
    with Mailbox() as mailbox:
        mailbox.replies = ["451 4.3.0 Try again later"]
        with pytest.raises(DeliveryError, match=r"SMTP 451 4\.3\.0 Try again later"):
            send_email(SmtpServer("127.0.0.1", mailbox.port), "a@x.es", ("o@x.es",), ALERT)
    with pytest.raises(DeliveryError, match="ConnectionRefused"):
        send_email(SmtpServer("127.0.0.1", free_port()), "a@x.es", ("o@x.es",), ALERT)


def test_each_failed_attempt_waits_twice_as_long_up_to_thirty_intervals():
    """Against a receiver that refuses six times, then comes back: each attempt is one
    request, the waits double from the interval up to 30 of it, and once it is back the
    alert is sent and nothing more is tried."""
    with Webhook() as hook:
        hook.statuses = [503] * 7
        senders = {WEBHOOK: lambda alert: post_webhook(hook.url, alert)}
        delivery, now, waits = Delivery(ALERT.run_id), 1_000.0, []
        while not delivery.done({WEBHOOK}):
            delivery = deliver(senders, ALERT, delivery, now, interval=10)
            waits.append(delivery.next_at - now)
            now = delivery.next_at
    assert len(hook.posts) == 8
    assert waits == [10, 20, 40, 80, 160, 300, 300, 0]
    assert delivery.failures == 7 and delivery.error == ""


def test_a_channel_that_cannot_even_be_tried_fails_like_any_other():
    """A URL that http.client refuses (a space in it), so no request is made at all: a failed
    attempt, retried, never an error escaping into the sensor."""
    senders = {WEBHOOK: lambda alert: post_webhook("http://127.0.0.1:9/a b", alert)}
    delivery = deliver(senders, ALERT, Delivery(ALERT.run_id), now=0.0, interval=5)
    assert not delivery.done({WEBHOOK})
    assert (delivery.failures, delivery.next_at) == (1, 5.0)
    assert delivery.error == "webhook: InvalidURL"

    def broken(alert: Alert) -> None:  # a channel with a bug of its own
        raise KeyError(alert.run_id)

    delivery = deliver({EMAIL: broken}, ALERT, Delivery(ALERT.run_id), now=0.0, interval=5)
    assert (delivery.failures, delivery.error) == (1, "email: KeyError")


def test_when_one_channel_fails_the_other_is_not_sent_again():
    with Webhook() as hook, Mailbox() as mailbox:
        hook.statuses = [500, 500]
        senders = {
            WEBHOOK: lambda alert: post_webhook(hook.url, alert),
            EMAIL: lambda alert: send_email(
                SmtpServer("127.0.0.1", mailbox.port), "a@x.es", ("o@x.es",), alert
            ),
        }
        delivery = Delivery(ALERT.run_id)
        for attempt in range(3):
            delivery = deliver(senders, ALERT, delivery, now=float(attempt), interval=1)
    assert delivery.done({WEBHOOK, EMAIL})
    assert len(hook.posts) == 3
    assert len(mailbox.mails) == 1


# --- the sensors, on a real instance --------------------------------------------------


def evaluate(sensor, instance, cursor: str | None = None):
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))


@pytest.fixture
def receivers(monkeypatch):
    """A webhook and a mailbox, and the plataforma location's definitions sending to both,
    looking every second."""
    with Webhook() as hook, Mailbox() as mailbox:
        defs = alert_sensors(
            monkeypatch,
            DAGSTER_ALERT_WEBHOOK_URL=hook.url,
            DAGSTER_ALERT_EMAIL_TO="ops@example.com",
            DAGSTER_ALERT_SMTP_URL=f"smtp://127.0.0.1:{mailbox.port}",
            DAGSTER_ALERT_INTERVAL="1",
            DAGSTER_PUBLIC_URL="http://dagster.internal:3000",
        )
        yield defs, hook, mailbox


def delivery_of(instance, run_id: str) -> tuple[str, Delivery | None]:
    run = instance.get_run_by_id(run_id)
    return run.tags.get(STATUS_TAG, ""), Delivery.of(run)


def test_dagster_hands_a_failure_to_a_run_failure_sensor_once_even_if_it_raises():
    """Why a failed delivery is written down rather than raised: the evaluation that raised
    still moves the cursor past the failure (the daemon stores it although the tick fails:
    `set_should_update_cursor_on_failure`), so raising would drop the alert. And why the
    sensor checks the run's tags first: evaluated again from the same cursor (a daemon that
    died before storing the tick), the same failure is handed over again."""
    handed: list[str] = []

    def raising(context: dg.RunFailureSensorContext) -> None:
        handed.append(context.dagster_run.run_id)
        raise ConnectionError("the receiver is down")

    sensor = dg.run_failure_sensor(name="raising", monitor_all_code_locations=True)(raising)
    with dg.instance_for_test() as instance:
        started = evaluate(sensor, instance)
        run_id = fail_a_run(instance).run_id
        raised = evaluate(sensor, instance, started.cursor)
        evaluate(sensor, instance, started.cursor)
        after = evaluate(sensor, instance, raised.cursor)
    (reaction,) = raised.dagster_run_reactions
    assert reaction.error is not None and "the receiver is down" in reaction.error.to_string()
    assert raised.cursor != started.cursor
    assert after.dagster_run_reactions == []
    assert handed == [run_id, run_id]


def test_a_failed_run_is_alerted_once_also_when_its_failure_is_handed_over_again(receivers):
    defs, hook, mailbox = receivers
    sensor = defs.resolve_sensor_def("alertar_fallos")
    with dg.instance_for_test() as instance:
        started = evaluate(sensor, instance)  # the first tick starts after the latest failure
        run_id = fail_a_run(instance).run_id
        first = evaluate(sensor, instance, started.cursor)
        # A daemon that died before storing that tick evaluates from the same cursor again.
        again = evaluate(sensor, instance, started.cursor)
        later = evaluate(sensor, instance, first.cursor)
        status, delivery = delivery_of(instance, run_id)
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    assert [r.dagster_run.run_id for r in first.dagster_run_reactions] == [run_id]
    assert [r.dagster_run.run_id for r in again.dagster_run_reactions] == [run_id]
    assert later.dagster_run_reactions == []
    (text,) = hook.texts
    assert f"Run ID: {run_id}" in text
    assert f"\nInputFileError: {DATA}/ventas.csv, line 3, column 'precio'" in text
    assert text.endswith(f"\nhttp://dagster.internal:3000/runs/{run_id}")
    (mail,) = mailbox.mails
    assert mail["to"] == ["ops@example.com"]
    assert body(mail) == text
    assert status == SENT and delivery is not None
    assert delivery.sent == {WEBHOOK, EMAIL} and delivery.failures == 0


def test_a_receiver_that_is_down_gets_the_alert_once_it_is_back_and_the_other_only_once(
    receivers,
):
    defs, hook, mailbox = receivers
    failures = defs.resolve_sensor_def("alertar_fallos")
    retries = defs.resolve_sensor_def("reintentar_alertas")
    hook.statuses = [503]
    with dg.instance_for_test() as instance:
        cursor = evaluate(failures, instance).cursor
        run_id = fail_a_run(instance).run_id
        evaluate(failures, instance, cursor)
        status, delivery = delivery_of(instance, run_id)
        assert (status, len(hook.posts), len(mailbox.mails)) == (PENDING, 1, 1)
        assert delivery is not None and delivery.sent == {EMAIL} and delivery.failures == 1
        assert "webhook: HTTP 503" in delivery.error

        # Not due yet: nothing is sent.
        assert "none due yet" in evaluate(retries, instance).skip_message
        assert len(hook.posts) == 1
        time.sleep(max(0.0, delivery.next_at - time.time()) + 0.05)
        assert "1 sent" in evaluate(retries, instance).skip_message
        status, delivery = delivery_of(instance, run_id)
        # Sent: nothing more to retry.
        assert evaluate(retries, instance).skip_message == "No alert waiting."
    assert status == SENT and delivery is not None and delivery.sent == {WEBHOOK, EMAIL}
    assert len(hook.posts) == 2 and f"Run ID: {run_id}" in hook.texts[1]
    assert len(mailbox.mails) == 1
    assert hook.posts[1]["at"] - hook.posts[0]["at"] >= 1  # the interval, at least


def test_a_channel_that_fails_is_tried_once_per_tick(receivers):
    defs, hook, mailbox = receivers
    failures = defs.resolve_sensor_def("alertar_fallos")
    retries = defs.resolve_sensor_def("reintentar_alertas")
    hook.statuses = [503] * 3
    with dg.instance_for_test() as instance:
        cursor = evaluate(failures, instance).cursor
        runs = [fail_a_run(instance).run_id for _ in range(2)]
        evaluate(failures, instance, cursor)
        assert len(hook.posts) == 2
        time.sleep(1.1)
        evaluate(retries, instance)
        assert len(hook.posts) == 3  # the second run's attempt waits for the next tick
        assert all(delivery_of(instance, r)[0] == PENDING for r in runs)
    assert len(mailbox.mails) == 2


def test_a_re_executed_run_gets_its_own_alert_despite_its_parents_tags(receivers):
    """A re-execution inherits its parent's tags: the parent's "sent" is not the child's."""
    defs, hook, _ = receivers
    failures = defs.resolve_sensor_def("alertar_fallos")
    inherited = {
        STATUS_TAG: SENT,
        DETAILS_TAG: json.dumps(
            {
                "run_id": "parent",
                "sent_to": [WEBHOOK, EMAIL],
                "failures": 0,
                "next_attempt": "2026-01-01T00:00:00+00:00",
                "error": "",
            }
        ),
    }
    with dg.instance_for_test() as instance:
        cursor = evaluate(failures, instance).cursor
        run_id = fail_a_run(instance, tags=inherited).run_id
        evaluate(failures, instance, cursor)
        status, delivery = delivery_of(instance, run_id)
    assert len(hook.posts) == 1 and f"Run ID: {run_id}" in hook.texts[0]
    assert status == SENT and delivery is not None and delivery.run_id == run_id


def test_runs_of_other_code_locations_are_alerted_too(receivers):
    """A run launched from another code location (its origin names it)."""
    defs, hook, _ = receivers
    failures = defs.resolve_sensor_def("alertar_fallos")
    other = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            GrpcServerCodeLocationOrigin(host="otro", port=4000, location_name="finanzas"),
            "__repository__",
        ),
        "cierre_mensual",
    )
    with dg.instance_for_test() as instance:
        cursor = evaluate(failures, instance).cursor
        run = instance.add_run(
            dg.DagsterRun(job_name="cierre_mensual", run_id="b" * 36, remote_job_origin=other)
        )
        instance.report_run_failed(run, "Run failed: the worker was lost.")
        evaluate(failures, instance, cursor)
    (text,) = hook.texts
    assert text.startswith("Run failed: cierre_mensual in finanzas\n")
    assert "\nRun failed: the worker was lost.\n" in text


def test_an_alert_pending_under_the_tags_former_names_is_retried_once(receivers):
    """A run whose alert waited when the tags were ventas/alert and ventas/alert_details: it
    is found, sent to the channel that lacked it only, and then reads as sent under both."""
    defs, hook, mailbox = receivers
    retries = defs.resolve_sensor_def("reintentar_alertas")
    with dg.instance_for_test() as instance:
        run_id = fail_a_run(instance).run_id
        details = {
            "run_id": run_id,
            "sent_to": [EMAIL],
            "failures": 1,
            "next_attempt": "2026-01-01T00:00:00+00:00",
            "error": "webhook: HTTP 503",
        }
        former = {FORMER_STATUS_TAG: PENDING, FORMER_DETAILS_TAG: json.dumps(details)}
        instance.add_run_tags(run_id, former)
        assert "1 sent" in evaluate(retries, instance).skip_message
        assert evaluate(retries, instance).skip_message == "No alert waiting."
        tags = instance.get_run_by_id(run_id).tags
    assert (len(hook.posts), len(mailbox.mails)) == (1, 0)
    assert tags[STATUS_TAG] == tags[FORMER_STATUS_TAG] == SENT
