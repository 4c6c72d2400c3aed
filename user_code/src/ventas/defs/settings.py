"""The code location's settings, from environment variables with working defaults.

A bad value stops the code location from loading with a message naming the
variable and what it accepts; the UI shows that message as the load error.
"""

import os
import zoneinfo
from pathlib import Path

import dagster as dg

from ventas.errors import UserError


class SettingError(UserError):
    """An environment variable with a value the code location cannot use."""


def _get(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def data_dir() -> str:
    """VENTAS_DATA_DIR, or else the `data/` folder of this checkout (beside `user_code/`)."""
    return _get("VENTAS_DATA_DIR", str(Path(__file__).resolve().parents[4] / "data"))


def timezone() -> str:
    """VENTAS_TIMEZONE: the IANA zone (such as Europe/Madrid) of schedules and partitions."""
    value = _get("VENTAS_TIMEZONE", "UTC")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise SettingError(
            f"VENTAS_TIMEZONE={value!r} is not a time zone; use an IANA name "
            "such as UTC or Europe/Madrid."
        ) from error
    return value


def cron(name: str, default: str) -> str:
    """A schedule's cron expression from `name`; Dagster itself rejects an invalid one."""
    return _get(name, default)


def automation_status() -> tuple[dg.DefaultScheduleStatus, dg.DefaultSensorStatus]:
    """VENTAS_AUTOMATION_ON: whether schedules and sensors start running (true by default).

    It sets the default only: turning one on or off in the UI is remembered.
    """
    value = _get("VENTAS_AUTOMATION_ON", "true").lower()
    if value not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        raise SettingError(f"VENTAS_AUTOMATION_ON={value!r}: use true or false.")
    if value in ("true", "1", "yes", "on"):
        return dg.DefaultScheduleStatus.RUNNING, dg.DefaultSensorStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED, dg.DefaultSensorStatus.STOPPED


def sensor_interval() -> int:
    """VENTAS_SENSOR_INTERVAL: seconds between two looks at data/incoming/ (15 by default)."""
    value = _get("VENTAS_SENSOR_INTERVAL", "15")
    if not value.isdigit() or int(value) < 1:
        raise SettingError(f"VENTAS_SENSOR_INTERVAL={value!r}: use a whole number of seconds.")
    return int(value)
