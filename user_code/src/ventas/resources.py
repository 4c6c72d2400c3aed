"""The resources the definitions use. Where the data lives comes from the settings, never
from the code."""

from pathlib import Path

import dagster as dg


class DataDirectory(dg.ConfigurableResource):
    """The data directory: input CSVs at its top, new files in `incoming/`, ingested ones in
    `archive/`, outputs under `output/`."""

    path: str

    def file(self, name: str) -> Path:
        return Path(self.path, name)

    @property
    def incoming(self) -> Path:
        return Path(self.path, "incoming")

    @property
    def archive(self) -> Path:
        return Path(self.path, "archive")


# The I/O manager of the tutorial's ops: DataFrames passed in memory, nothing stored.
IN_MEMORY = "in_memory_io_manager"
