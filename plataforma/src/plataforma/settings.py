"""The plataforma location's settings: where alerts on failed runs go, from the DAGSTER_ALERT_*
variables and DAGSTER_PUBLIC_URL, which only this location's service gets.

They are read when the definitions are built (`Settings.from_env()`), never at import. A bad
value stops the location from loading with a message naming the variable and what it accepts,
never repeating a secret; the UI shows that message as the load error, and the other locations
run on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from urllib.parse import urlsplit

from locationkit.failures import SettingError
from plataforma.alerts import SmtpServer

ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")


@dataclass(frozen=True)
class Settings:
    # Alerts on failed runs: to a webhook and/or by e-mail; off while neither is set. The
    # webhook's URL and the SMTP server's password are secrets: never in a repr.
    alert_webhook_url: str | None = field(default=None, repr=False)
    alert_email_to: tuple[str, ...] = ()
    alert_smtp: SmtpServer | None = None
    alert_email_from: str = "ventas-dagster@localhost"
    # Seconds between two looks for failed runs; retries wait 1, 2, 4, ... of them.
    alert_interval: int = 30
    # The UI's address as people open it (behind a proxy, say), for links to runs.
    public_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        def get(name: str, default: object) -> str:
            return environ.get(name, "").strip() or str(default)

        return cls(**alert_settings(get))

    @property
    def alerts_on(self) -> bool:
        return bool(self.alert_webhook_url or self.alert_email_to)


def alert_settings(get: Callable[[str, object], str]) -> dict:
    """The DAGSTER_ALERT_* settings and DAGSTER_PUBLIC_URL, as `Settings` fields. The webhook
    URL and the SMTP URL hold secrets: their messages never repeat them."""
    settings: dict = {}
    if webhook := get("DAGSTER_ALERT_WEBHOOK_URL", ""):
        if not http_url(webhook):
            raise SettingError(
                "DAGSTER_ALERT_WEBHOOK_URL is not an http:// or https:// address; use the URL "
                "the chat tool gives for an incoming webhook."
            )
        settings["alert_webhook_url"] = webhook
    sender = get("DAGSTER_ALERT_EMAIL_FROM", "")
    if sender and not ADDRESS.fullmatch(parseaddr(sender)[1]):
        raise SettingError(
            f"DAGSTER_ALERT_EMAIL_FROM={sender!r} is not an e-mail address; use one such as "
            "dagster@example.com, or 'Dagster <dagster@example.com>'."
        )
    to, smtp_url = get("DAGSTER_ALERT_EMAIL_TO", ""), get("DAGSTER_ALERT_SMTP_URL", "")
    if to or smtp_url:
        if not to:
            raise SettingError(
                "DAGSTER_ALERT_SMTP_URL is set but DAGSTER_ALERT_EMAIL_TO is not: set the "
                "addresses to send alerts to, separated by commas."
            )
        if not smtp_url:
            raise SettingError(
                "DAGSTER_ALERT_EMAIL_TO is set but DAGSTER_ALERT_SMTP_URL is not: set the mail "
                "server to send through, such as smtp://user:password@mail.example.com:587"
                "?starttls=true."
            )
        recipients = tuple(a.strip() for a in to.split(",") if a.strip())
        for address in recipients:
            if not ADDRESS.fullmatch(address):
                raise SettingError(
                    f"DAGSTER_ALERT_EMAIL_TO: {address!r} is not an e-mail address; use "
                    "addresses separated by commas, such as ana@example.com,ops@example.com."
                )
        try:
            smtp = SmtpServer.parse(smtp_url)
        except ValueError as error:
            raise SettingError(
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
    interval = get("DAGSTER_ALERT_INTERVAL", Settings.alert_interval)
    if not interval.isdigit() or int(interval) < 1:
        raise SettingError(f"DAGSTER_ALERT_INTERVAL={interval!r}: use a whole number of seconds.")
    settings["alert_interval"] = int(interval)
    if public_url := get("DAGSTER_PUBLIC_URL", ""):
        if not http_url(public_url):
            raise SettingError(
                f"DAGSTER_PUBLIC_URL={public_url!r} is not an http:// or https:// address; use "
                "the address people open the UI at, such as https://dagster.example.com."
            )
        settings["public_url"] = public_url
    return settings


def http_url(value: str) -> bool:
    if any(c.isspace() or not c.isprintable() for c in value):
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number
        return False
