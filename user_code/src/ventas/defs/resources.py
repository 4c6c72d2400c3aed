"""Where the data lives. The location comes from configuration, never from code."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class SalesData(dg.ConfigurableResource):
    """The data directory: input CSVs at its top, outputs under `output/`."""

    base_dir: str

    @property
    def root(self) -> Path:
        return Path(self.base_dir)

    def input_path(self, name: str) -> Path:
        return self.root / name

    @property
    def output_dir(self) -> Path:
        return self.root / "output"
