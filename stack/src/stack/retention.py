"""DAGSTER_RUN_RETENTION_DAYS, read without Dagster: `migrate` checks it before anything
loads, the plataforma location when its definitions are built (stack.history purges)."""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_DAYS = 90


class RetentionError(ValueError):
    """DAGSTER_RUN_RETENTION_DAYS holds something else than a whole number of days."""


def retention_days(environ: Mapping[str, str] = os.environ) -> int:
    value = environ.get("DAGSTER_RUN_RETENTION_DAYS", "").strip() or str(DEFAULT_DAYS)
    if not value.isdigit():
        raise RetentionError(
            f"DAGSTER_RUN_RETENTION_DAYS={value!r} is not a whole number of days; use one such "
            f"as {DEFAULT_DAYS} (the default), or 0 to keep every run."
        )
    return int(value)
