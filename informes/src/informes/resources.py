"""Where reports read and write: the output folder of the data directory both locations share."""

import os
import uuid
from pathlib import Path

import dagster as dg
import duckdb


class Salidas(dg.ConfigurableResource):
    """The data directory's `output/`: the ventas location's tables, and this location's
    reports in `output/informes/`."""

    data_dir: str

    def table(self, asset: str) -> Path:
        """The parquet file of an asset of the ventas location."""
        return Path(self.data_dir, "output", f"{asset}.parquet")

    def report(self, name: str) -> Path:
        return Path(self.data_dir, "output", "informes", f"{name}.parquet")

    def write(self, query: str, name: str) -> Path:
        """Write what `query` (DuckDB SQL) returns as the report `name`, atomically: to a hidden
        temporary file first, renamed into place, so a failed run leaves the last good one."""
        path = self.report(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            duckdb.execute(f"COPY ({query}) TO '{tmp}' (FORMAT parquet)")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path
