"""Alerts on failed runs: the message, sending it, and where each run's alert stands.

The sensors in defs/alertas/ call these; nothing here defines anything for Dagster.

A run's alert goes to every channel that is set (a webhook, e-mail), each at most once: the
channels that have it are written down with the run (`Delivery`, stored as the run's tags),
so a channel that failed is tried again later, with backoff, without sending the others a
second time.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qsl, unquote, urlsplit

import dagster as dg

WEBHOOK, EMAIL = "webhook", "email"
# Seconds a receiver has to accept a connection and answer; a sensor's tick waits that long.
TIMEOUT = 10
# The longest first line an alert carries; the run's page has the rest.
MAX_PROBLEM = 500
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


class DeliveryError(Exception):
    """A channel did not take an alert. The message says why, without any secret."""


# --- the message ----------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    job: str
    run_id: str
    # The first line of the run's error, as the UI shows it first.
    problem: str
    location: str | None = None
    link: str | None = None

    @property
    def subject(self) -> str:
        return f"Run failed: {self.job} ({self.run_id[:8]})"

    @property
    def text(self) -> str:
        where = f" in {self.location}" if self.location else ""
        lines = [f"Run failed: {self.job}{where}", f"Run ID: {self.run_id}", self.problem]
        if self.link:
            lines.append(self.link)
        return "\n".join(lines)


def first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines()]
    line = lines[0] if lines else ""
    return line if len(line) <= MAX_PROBLEM else line[: MAX_PROBLEM - 1] + "…"


def run_link(public_url: str | None, run_id: str) -> str | None:
    return f"{public_url.rstrip('/')}/runs/{run_id}" if public_url else None


def alert_for(run: dg.DagsterRun, failure: dg.DagsterEvent | None, public_url: str | None) -> Alert:
    """The alert of a failed run, from its RUN_FAILURE event: the first line of the event's
    error when it has one (where the user's problem is, such as `InputFileError: ...`), else
    of its message."""
    error = getattr(failure.event_specific_data, "error", None) if failure else None
    problem = first_line(error.message if error is not None else None) or first_line(
        failure.message if failure else None
    )
    origin = run.remote_job_origin
    return Alert(
        job=run.job_name,
        run_id=run.run_id,
        problem=problem or "The run failed without a message.",
        location=origin.repository_origin.code_location_origin.location_name if origin else None,
        link=run_link(public_url, run.run_id),
    )


# --- the channels ---------------------------------------------------------------------


def post_webhook(url: str, alert: Alert, timeout: float = TIMEOUT) -> None:
    """POST `{"text": ...}`, as Slack's incoming webhooks (and Mattermost's, Teams'
    workflows, Rocket.Chat's) take it. Anything but a 2xx answer is a failure."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": alert.text}).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "ventas-dagster"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryError(f"{type(reason).__name__}: {reason}") from None
    except (http.client.HTTPException, ValueError) as error:
        # InvalidURL, BadStatusLine, ...: named only, as their messages may quote the URL.
        raise DeliveryError(type(error).__name__) from None


@dataclass(frozen=True)
class SmtpServer:
    """Where mail is sent through, from a URL: `smtp://[user:password@]host[:25]`, with
    `?starttls=true` to switch to TLS before logging in, or `smtps://...[:465]` for TLS from
    the start. The user and password are percent-encoded, as in any URL."""

    host: str
    port: int
    security: str = "none"  # "none", "starttls" or "tls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """The server of `url`; a ValueError that never repeats the password otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"the scheme is {parts.scheme + '://' if parts.scheme else 'missing'}")
        if not parts.hostname:
            raise ValueError("it has no host")
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("it has a path; only a host, a port and ?starttls=true may follow")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise ValueError("its port is not a number from 1 to 65535") from None
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        starttls = query.pop("starttls", "false").lower()
        if query or starttls not in TRUE + FALSE:
            raise ValueError("the only option it takes is ?starttls=true")
        if starttls in TRUE and parts.scheme == "smtps":
            raise ValueError("smtps:// is TLS already; ?starttls=true is for smtp://")
        if (parts.username is None) != (parts.password is None):
            raise ValueError("it has a user without a password")
        security = "tls" if parts.scheme == "smtps" else "starttls" if starttls in TRUE else "none"
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )


def email_message(alert: Alert, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    # The same for every attempt of one run's alert: a mail client can tell them apart.
    message["Message-ID"] = f"<{alert.run_id}.failure@ventas-dagster>"
    message.set_content(alert.text + "\n")
    return message


def send_email(
    server: SmtpServer,
    sender: str,
    recipients: tuple[str, ...],
    alert: Alert,
    timeout: float = TIMEOUT,
) -> None:
    """Send the alert through `server`, checking its TLS certificate against the system's
    trusted authorities (or SSL_CERT_FILE's) when it speaks TLS."""
    message = email_message(alert, sender, recipients)
    tls = ssl.create_default_context()
    try:
        smtp = (
            smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=tls)
            if server.security == "tls"
            else smtplib.SMTP(server.host, server.port, timeout=timeout)
        )
        with smtp:
            if server.security == "starttls":
                smtp.starttls(context=tls)
            if server.username is not None:
                smtp.login(server.username, server.password or "")
            smtp.send_message(message)
    except smtplib.SMTPResponseException as error:
        reply = error.smtp_error
        if isinstance(reply, bytes):
            reply = reply.decode(errors="replace")
        raise DeliveryError(f"SMTP {error.smtp_code} {first_line(reply)}") from None
    except smtplib.SMTPRecipientsRefused as error:
        raise DeliveryError(f"SMTP refused {', '.join(error.recipients)}") from None
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(f"{type(error).__name__}: {first_line(str(error))}") from None


# --- where a run's alert stands -------------------------------------------------------

# `pending` or `sent`: runs with a pending alert are found by this tag.
STATUS_TAG = "stack/alert"
# The details, as JSON: the run they belong to (a re-executed run inherits its parent's
# tags), the channels that have the alert, the failed attempts, when to try next, why the
# last attempt failed.
DETAILS_TAG = "stack/alert_details"
# Their names when the alerts were the ventas location's: read, and kept in step with the new.
FORMER_STATUS_TAG, FORMER_DETAILS_TAG = "ventas/alert", "ventas/alert_details"
PENDING, SENT = "pending", "sent"
# How long an attempt may take before another may start: longer than sending to every
# channel can take, so that an attempt that died mid-way is taken up again, once.
LEASE = 120


def retry_delay(failures: int, interval: int) -> int:
    """Seconds to wait after the `failures`-th failed attempt: 1, 2, 4, ... intervals, at
    most 30 (15 minutes with the default interval of 30 s)."""
    return min(interval * 2 ** max(failures - 1, 0), interval * 30)


@dataclass(frozen=True)
class Delivery:
    """Where one run's alert stands."""

    run_id: str
    # The channels that have it.
    sent: frozenset[str] = frozenset()
    # Attempts that left a channel without it.
    failures: int = 0
    # Unix time before which nobody tries again.
    next_at: float = 0.0
    error: str = ""

    def done(self, channels: set[str] | frozenset[str]) -> bool:
        return set(channels) <= self.sent

    def tags(
        self, channels: set[str] | frozenset[str], run: dg.DagsterRun | None = None
    ) -> dict[str, str]:
        """The run's tags for where its alert stands; for a run that has the former tags, its
        former status tag too, so that the former query finds it no longer pending."""
        status = SENT if self.done(channels) else PENDING
        former = {FORMER_STATUS_TAG: status} if run and FORMER_STATUS_TAG in run.tags else {}
        details = {
            "run_id": self.run_id,
            "sent_to": sorted(self.sent),
            "failures": self.failures,
            "next_attempt": datetime.fromtimestamp(self.next_at, UTC).isoformat(),
            "error": self.error,
        }
        return {
            STATUS_TAG: status,
            DETAILS_TAG: json.dumps(details, ensure_ascii=False),
            **former,
        }

    @classmethod
    def of(cls, run: dg.DagsterRun) -> Delivery | None:
        """The run's own delivery, or None if its alert was never attempted (tags inherited
        from the run it re-executes do not count)."""
        try:
            details = json.loads(run.tags.get(DETAILS_TAG) or run.tags.get(FORMER_DETAILS_TAG, ""))
            if details["run_id"] != run.run_id:
                return None
            return cls(
                run_id=run.run_id,
                sent=frozenset(details["sent_to"]),
                failures=int(details["failures"]),
                next_at=datetime.fromisoformat(details["next_attempt"]).timestamp(),
                error=str(details["error"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


Sender = Callable[[Alert], None]


def deliver(
    senders: Mapping[str, Sender],
    alert: Alert,
    delivery: Delivery,
    now: float,
    interval: int,
    down: set[str] | None = None,
) -> Delivery:
    """Send `alert` to each channel that does not have it yet, once; return where it then
    stands. A channel in `down` (one that failed a moment ago) is not tried, and counts as
    failed. A failure schedules the next attempt by `retry_delay`."""
    sent, errors = set(delivery.sent), []
    for channel, send in senders.items():
        if channel in sent:
            continue
        if down is not None and channel in down:
            errors.append(f"{channel}: not tried, it failed a moment ago")
            continue
        try:
            send(alert)
        except DeliveryError as error:
            errors.append(f"{channel}: {error}")
        # Whatever else a channel raises is its failure too, retried like the others: it must
        # not escape into the sensor, which would then drop the alert.
        except Exception as error:  # noqa: BLE001 - see above
            errors.append(f"{channel}: {type(error).__name__}")
        else:
            sent.add(channel)
            continue
        if down is not None:
            down.add(channel)
    if not errors:
        return replace(delivery, sent=frozenset(sent), next_at=now, error="")
    failures = delivery.failures + 1
    return Delivery(
        run_id=delivery.run_id,
        sent=frozenset(sent),
        failures=failures,
        next_at=now + retry_delay(failures, interval),
        error="; ".join(errors),
    )


def channels_from(
    webhook_url: str | None,
    smtp: SmtpServer | None,
    sender: str,
    recipients: tuple[str, ...],
) -> dict[str, Sender]:
    """The channels that are set, each a function that sends an alert or raises
    DeliveryError."""
    senders: dict[str, Sender] = {}
    if webhook_url:
        senders[WEBHOOK] = lambda alert: post_webhook(webhook_url, alert)
    if smtp is not None and recipients:
        senders[EMAIL] = lambda alert: send_email(smtp, sender, recipients, alert)
    return senders
