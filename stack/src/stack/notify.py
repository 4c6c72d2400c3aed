"""Telling the people who run the stack: a webhook and/or e-mail, as the DAGSTER_ALERT_*
variables set them. The plataforma location's alerts on failed runs and the monitoring
profile's alerts (Alertmanager's, relayed by stack.metrics) both go out through here.

Nothing here repeats a secret (the webhook's URL, the SMTP password) in a message or a repr.
"""

from __future__ import annotations

import http.client
import json
import re
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

WEBHOOK, EMAIL = "webhook", "email"
# Seconds a receiver has to accept a connection and answer.
TIMEOUT = 10
# The longest first line a message carries.
MAX_LINE = 500
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")


class DeliveryError(Exception):
    """A channel did not take a message. The message says why, without any secret."""


class ChannelSettingError(ValueError):
    """A DAGSTER_ALERT_* variable with a value that cannot be used; the message names it."""


class Message(Protocol):
    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    # Stable across attempts to send the same message: mail clients fold repeats.
    @property
    def message_id(self) -> str: ...


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str
    message_id: str


def first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines()]
    line = lines[0] if lines else ""
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def http_url(value: str) -> bool:
    if any(c.isspace() or not c.isprintable() for c in value):
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number
        return False


def post_webhook(url: str, alert: Message, timeout: float = TIMEOUT) -> None:
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


def email_message(alert: Message, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    # The same for every attempt of one alert: a mail client can tell them apart.
    message["Message-ID"] = f"<{alert.message_id}@ventas-dagster>"
    message.set_content(alert.text + "\n")
    return message


def send_email(
    server: SmtpServer,
    sender: str,
    recipients: tuple[str, ...],
    alert: Message,
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


Sender = Callable[[Message], None]


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


def channel_settings(get: Callable[[str, object], str]) -> dict:
    """The channels the DAGSTER_ALERT_* variables set, as keyword arguments of `channels_from`
    under their settings' names: alert_webhook_url, alert_email_to, alert_smtp,
    alert_email_from. Raises ChannelSettingError, naming the variable, for a value that cannot
    be used."""
    settings: dict = {}
    if webhook := get("DAGSTER_ALERT_WEBHOOK_URL", ""):
        if not http_url(webhook):
            raise ChannelSettingError(
                "DAGSTER_ALERT_WEBHOOK_URL is not an http:// or https:// address; use the URL "
                "the chat tool gives for an incoming webhook."
            )
        settings["alert_webhook_url"] = webhook
    sender = get("DAGSTER_ALERT_EMAIL_FROM", "")
    if sender and not ADDRESS.fullmatch(parseaddr(sender)[1]):
        raise ChannelSettingError(
            f"DAGSTER_ALERT_EMAIL_FROM={sender!r} is not an e-mail address; use one such as "
            "dagster@example.com, or 'Dagster <dagster@example.com>'."
        )
    to, smtp_url = get("DAGSTER_ALERT_EMAIL_TO", ""), get("DAGSTER_ALERT_SMTP_URL", "")
    if to or smtp_url:
        if not to:
            raise ChannelSettingError(
                "DAGSTER_ALERT_SMTP_URL is set but DAGSTER_ALERT_EMAIL_TO is not: set the "
                "addresses to send alerts to, separated by commas."
            )
        if not smtp_url:
            raise ChannelSettingError(
                "DAGSTER_ALERT_EMAIL_TO is set but DAGSTER_ALERT_SMTP_URL is not: set the mail "
                "server to send through, such as smtp://user:password@mail.example.com:587"
                "?starttls=true."
            )
        recipients = tuple(a.strip() for a in to.split(",") if a.strip())
        for address in recipients:
            if not ADDRESS.fullmatch(address):
                raise ChannelSettingError(
                    f"DAGSTER_ALERT_EMAIL_TO: {address!r} is not an e-mail address; use "
                    "addresses separated by commas, such as ana@example.com,ops@example.com."
                )
        try:
            smtp = SmtpServer.parse(smtp_url)
        except ValueError as error:
            raise ChannelSettingError(
                f"DAGSTER_ALERT_SMTP_URL cannot be used: {error}. Use "
                "smtp://[user:password@]host[:port][?starttls=true] or "
                "smtps://[user:password@]host[:port], with special characters of the user "
                "and password percent-encoded (@ as %40)."
            ) from None
        if not sender and smtp.username and ADDRESS.fullmatch(smtp.username):
            sender = smtp.username  # servers that log you in mostly want you as the sender
        settings.update(alert_email_to=recipients, alert_smtp=smtp)
        if sender:
            settings["alert_email_from"] = sender
    return settings


def channels_from_env(get: Callable[[str, object], str]) -> dict[str, Sender]:
    found = channel_settings(get)
    return channels_from(
        found.get("alert_webhook_url"),
        found.get("alert_smtp"),
        found.get("alert_email_from", "ventas-dagster@localhost"),
        found.get("alert_email_to", ()),
    )
