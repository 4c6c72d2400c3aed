"""The data directory every code location mounts: input files at its top, new sales files in
`incoming/`, ingested ones in `archive/`, and each asset's output at `output/<key>.parquet`,
which one location writes (its I/O manager) and another may read, by the asset's key."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

# The setting that names it (in the images, the mount point; docker-compose.yml).
SETTING = "VENTAS_DATA_DIR"
# Without the setting: the checkout's data/ folder, beside this package's.
CHECKOUT_DATA = Path(__file__).resolve().parents[3] / "data"


def data_dir_from(environ: Mapping[str, str] = os.environ) -> str:
    """Where the data directory is: the setting, or the checkout's data/ folder."""
    return environ.get(SETTING, "").strip() or str(CHECKOUT_DATA)


def output_path(data_dir: str | Path, key: Sequence[str]) -> Path:
    """Where the output of the asset with this key path is: `output/<a>/<b>.parquet`."""
    *folders, name = key
    return Path(data_dir, "output", *folders, f"{name}.parquet")


class DataDirectory(dg.ConfigurableResource):
    """The data directory, as a resource (`data_dir` in every location's definitions)."""

    path: str

    def file(self, name: str) -> Path:
        return Path(self.path, name)

    @property
    def incoming(self) -> Path:
        return Path(self.path, "incoming")

    @property
    def archive(self) -> Path:
        return Path(self.path, "archive")

    def output(self, *key: str) -> Path:
        """The parquet file of the asset with this key path, whichever location wrote it."""
        return output_path(self.path, key)
