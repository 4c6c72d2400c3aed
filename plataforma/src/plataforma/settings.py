"""The plataforma location's settings: where alerts on failed runs go, from the DAGSTER_ALERT_*
variables and DAGSTER_PUBLIC_URL, which only this location's service gets; and how long runs
are kept (DAGSTER_RUN_RETENTION_DAYS).

They are read when the definitions are built (`Settings.from_env()`), never at import. A bad
value stops the location from loading with a message naming the variable and what it accepts,
never repeating a secret; the UI shows that message as the load error, and the other locations
run on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from locationkit.failures import SettingError
from stack import retention
from stack.notify import ChannelSettingError, SmtpServer, channel_settings, http_url


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
    # Days finished runs are kept (purge_history); 0 keeps every run.
    run_retention_days: int = retention.DEFAULT_DAYS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        def get(name: str, default: object) -> str:
            return environ.get(name, "").strip() or str(default)

        try:
            days = retention.retention_days(environ)
        except retention.RetentionError as error:
            raise SettingError(str(error)) from None
        return cls(**alert_settings(get), run_retention_days=days)

    @property
    def alerts_on(self) -> bool:
        return bool(self.alert_webhook_url or self.alert_email_to)


def alert_settings(get: Callable[[str, object], str]) -> dict:
    """The DAGSTER_ALERT_* settings and DAGSTER_PUBLIC_URL, as `Settings` fields. The webhook
    URL and the SMTP URL hold secrets: their messages never repeat them."""
    try:
        settings = channel_settings(get)
    except ChannelSettingError as error:
        raise SettingError(str(error)) from None
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
