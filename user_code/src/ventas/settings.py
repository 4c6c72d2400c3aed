"""The ventas location's settings, from environment variables with working defaults.

They are read when the definitions are built (`Settings.from_env()`), never at import: a
test builds the definitions under other settings without reloading anything. A bad value
stops the code location from loading with a message naming the variable and what it
accepts; the UI shows that message as the load error.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from locationkit.data import data_dir_from
from locationkit.failures import SettingError

TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


@dataclass(frozen=True)
class Settings:
    # The data directory: input CSVs at its top, outputs under output/.
    data_dir: str
    # The IANA time zone of the schedules and of the daily partitions.
    timezone: str = "UTC"
    # Whether schedules and sensors start running; turning one on or off in the UI is kept.
    automation_on: bool = True
    daily_cron: str = "0 0 * * *"
    hourly_cron: str = "0 * * * *"
    # Seconds between two looks at data/incoming/.
    sensor_interval: int = 15

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        def get(name: str, default: object) -> str:
            return environ.get(name, "").strip() or str(default)

        timezone = get("VENTAS_TIMEZONE", cls.timezone)
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise SettingError(
                f"VENTAS_TIMEZONE={timezone!r} is not a time zone; use an IANA "
                "name such as UTC or Europe/Madrid."
            ) from error
        automation = get("VENTAS_AUTOMATION_ON", "true").lower()
        if automation not in TRUE + FALSE:
            raise SettingError(f"VENTAS_AUTOMATION_ON={automation!r}: use true or false.")
        interval = get("VENTAS_SENSOR_INTERVAL", cls.sensor_interval)
        if not interval.isdigit() or int(interval) < 1:
            raise SettingError(
                f"VENTAS_SENSOR_INTERVAL={interval!r}: use a whole number of seconds."
            )
        return cls(
            data_dir=data_dir_from(environ),
            timezone=timezone,
            automation_on=automation in TRUE,
            # Dagster itself rejects an invalid cron expression, naming it.
            daily_cron=get("VENTAS_DAILY_CRON", cls.daily_cron),
            hourly_cron=get("VENTAS_HOURLY_CRON", cls.hourly_cron),
            sensor_interval=int(interval),
        )

    @property
    def schedule_status(self) -> dg.DefaultScheduleStatus:
        return (
            dg.DefaultScheduleStatus.RUNNING
            if self.automation_on
            else dg.DefaultScheduleStatus.STOPPED
        )

    @property
    def sensor_status(self) -> dg.DefaultSensorStatus:
        return (
            dg.DefaultSensorStatus.RUNNING if self.automation_on else dg.DefaultSensorStatus.STOPPED
        )
