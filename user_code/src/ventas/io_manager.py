"""The I/O managers: every asset's output a parquet file under the data directory; the
tutorial's ops' DataFrames passed in memory (IN_MEMORY), nothing stored."""

import os
from pathlib import Path

import dagster as dg
import pandas as pd

from locationkit.data import output_path
from locationkit.failures import reported, user_failure
from ventas.tables import Batches, Frame, Table, WriteSummary, write_days, write_parquet

# The I/O manager of the tutorial's ops: DataFrames passed in memory, nothing stored.
IN_MEMORY = "in_memory_io_manager"


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores each asset as `<base_dir>/output/<asset>.parquet`.

    A partitioned asset is one file per partition: `output/<asset>/<partition>.parquet`.
    A run of several days is split on the column named by the asset's
    `partition_column` metadata.

    Assets may return a DataFrame, an Arrow table (what DuckDB gives) or a stream of
    `Batches`; all are written atomically. Downstream, an input annotated `pd.DataFrame`
    is read whole and one annotated `Table` arrives as a handle to read in batches or by
    column.
    """

    base_dir: str

    def _path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        return self._partition_dir(context).with_suffix(".parquet")

    def _partition_dir(self, context: dg.OutputContext | dg.InputContext) -> Path:
        return output_path(self.base_dir, context.asset_key.path).with_suffix("")

    def handle_output(self, context: dg.OutputContext, obj: Frame | Batches) -> None:
        # Batches are read while they are written: bad input shows up here, not in the asset.
        with reported():
            try:
                if context.has_asset_partitions:
                    self._write_partitions(context, obj)
                    return
                path = self._path(context)
                written = write_parquet(obj, path)
            except PermissionError as error:
                raise user_failure("PermissionError", _cannot_write(error)) from error
        context.add_output_metadata(
            {**_describe([written], path), "size_bytes": path.stat().st_size}
        )

    def _write_partitions(self, context: dg.OutputContext, obj: Frame | Batches) -> None:
        directory = self._partition_dir(context)
        files = {key: directory / f"{key}.parquet" for key in context.asset_partition_keys}
        column = context.definition_metadata.get("partition_column")
        if column is None:  # the output is one partition, whole
            (path,) = files.values()
            written = [write_parquet(obj, path)]
        else:  # days of a backfill run: split the output on its date column
            written = list(write_days(obj, files, column).values())
        if len(files) == 1:
            context.add_output_metadata(_describe(written, *files.values()))
            return
        # Dagster gives every partition of a run the same metadata (dagster-io/dagster#18123),
        # so the row count is labelled as the whole run's, not each day's.
        described = _describe(written, directory)
        described["rows in this run"] = described.pop("dagster/row_count")
        context.add_output_metadata({**described, "partitions in this run": len(files)})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | Table:
        path = self._path(context)
        if not path.exists():
            raise user_failure(
                "FileNotFoundError",
                (
                    f"{path} does not exist: materialize {context.asset_key.to_user_string()} "
                    "first (the Materialize button on its page in the UI, or a job that "
                    "selects it)."
                ),
            )
        if context.dagster_type.typing_type is Table:
            return Table(path)
        return Table(path).read()


def _describe(written: list[WriteSummary], path: Path) -> dict:
    """What the UI shows of a materialization: rows, columns, the first rows and where it is.
    For several partitions, the rows of all of them and the preview of the first non-empty."""
    first = next((w for w in written if w.rows), written[0])
    return {
        "dagster/row_count": sum(w.rows for w in written),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(field.name, str(field.type)) for field in first.schema]
        ),
        "preview": dg.MetadataValue.md(first.preview.to_markdown(index=False)),
        "path": dg.MetadataValue.path(str(path)),
    }


def _cannot_write(error: PermissionError) -> str:
    """What is not writable, whose it is, and how to fix it."""
    target = Path(error.filename or ".")
    where = next((p for p in (target, *target.parents) if p.exists()), target)
    owner = where.stat()
    return (
        f"cannot write {target}: {where} belongs to uid {owner.st_uid} (gid {owner.st_gid}) "
        f"and is not writable by this run, which writes as uid {os.getuid()} (gid "
        f"{os.getgid()}), the owner of the data directory. Give the data directory and "
        'everything in it to one user, on the host: `sudo chown -R "$(id -u):$(id -g)" '
        "data/` (or the folder VENTAS_DATA_DIR names)."
    )
