"""Configuration: where the data lives and which timezone the calendar follows."""

import os
from pathlib import Path

import dagster as dg


def data_dir_setting() -> str:
    """VENTAS_DATA_DIR, or else the `data/` folder of this checkout (beside `user_code/`)."""
    return os.environ.get("VENTAS_DATA_DIR") or str(Path(__file__).resolve().parents[4] / "data")


class DataDirectory(dg.ConfigurableResource):
    """The data directory: input CSVs at its top, outputs under `output/`."""

    path: str

    def file(self, name: str) -> Path:
        return Path(self.path, name)


def timezone_setting() -> str:
    """VENTAS_TIMEZONE (an IANA name such as Europe/Madrid) for schedules and partitions; UTC."""
    return os.environ.get("VENTAS_TIMEZONE") or "UTC"
