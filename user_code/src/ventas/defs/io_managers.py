"""A parquet I/O manager: each asset's output is one file under the data directory."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import dagster as dg
import pandas as pd


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores DataFrames as `<base_dir>/output/<asset key>.parquet`.

    Writes go to a temporary file in the same directory and are renamed into
    place, so a failed write never leaves a half-written file and never
    replaces the last good output.
    """

    base_dir: str

    def _path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        return Path(self.base_dir, "output", *context.asset_key.path).with_suffix(".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        path = self._path(context)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            obj.to_parquet(tmp, index=False)
            os.replace(tmp, path)
        except PermissionError as error:
            raise PermissionError(
                f"Cannot write {path}: permission denied for user {os.getuid()}:{os.getgid()}. "
                "Make the data directory writable for that user; with Docker Compose, set "
                "VENTAS_UID and VENTAS_GID in .env to the owner of the data directory "
                "(`id -u`, `id -g`)."
            ) from error
        finally:
            tmp.unlink(missing_ok=True)
        context.add_output_metadata({"path": str(path), "rows": len(obj)})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return pd.read_parquet(self._path(context))
