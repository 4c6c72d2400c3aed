"""Tables stored as parquet files, read and written in batches so that memory is set by
the batches, not by the file.

- `Batches`: a table as a stream of pandas DataFrames (or Arrow tables or record
  batches), produced lazily; `write_parquet` writes it batch by batch.
- `Table`: a stored parquet file; it reads itself whole (or some columns), streams
  batches a row group at a time, maps a pandas function over them, or has DuckDB
  summarize it.

Row-by-row transforms stay plain pandas functions of one DataFrame, and summaries
DuckDB relations; these classes only decide how much of the data is in memory at
once.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# A run holds about a row group and two batches of a table at once: small enough that a run
# of 10M sales peaks at about 440 MB, large enough to cost no speed (docs/benchmarks.md).
BATCH_ROWS = 250_000
ROW_GROUP_ROWS = 500_000
QUEUED_BATCHES = 1  # converted batches waiting for the writer thread
PREVIEW_ROWS = 5
Frame: TypeAlias = pd.DataFrame | pa.Table | pa.RecordBatch


class Batches:
    """A table as a lazy stream of batches: nothing is read until it is iterated."""

    def __init__(self, produce: Callable[[], Iterable[Frame]]):
        self._produce = produce

    def __iter__(self) -> Iterator[Frame]:
        return iter(self._produce())

    def map(self, transform: Callable[[pd.DataFrame], pd.DataFrame]) -> Batches:
        return Batches(lambda: (transform(_to_pandas(batch)) for batch in self))


@dataclass(frozen=True)
class Table:
    """A parquet file written by `write_parquet`."""

    path: Path

    @property
    def _file(self) -> pq.ParquetFile:
        # Text columns arrive as pandas categoricals: no Python string per row,
        # half the read time, and faster group-bys.
        return pq.ParquetFile(self.path, read_dictionary=self._text_columns)

    @property
    def _text_columns(self) -> list[str]:
        return [
            f.name
            for f in self.schema
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        ]

    @property
    def num_rows(self) -> int:
        return pq.read_metadata(self.path).num_rows

    @property
    def schema(self) -> pa.Schema:
        return pq.read_schema(self.path)

    def null_counts(self) -> dict[str, int]:
        """Missing values per column, from the file's statistics where it has them (no data is
        read then), else by reading the column."""
        meta = pq.read_metadata(self.path)
        counts = dict.fromkeys(self.schema.names, 0)
        for group in range(meta.num_row_groups):
            for index in range(meta.num_columns):
                column = meta.row_group(group).column(index)
                stats = column.statistics
                if stats is not None and stats.has_null_count:
                    counts[column.path_in_schema] += stats.null_count
                elif column.num_values:
                    values = self._file.read_row_group(group, columns=[column.path_in_schema])
                    counts[column.path_in_schema] += values.column(0).null_count
        return counts

    def read(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        return _to_pandas(
            pq.read_table(self.path, columns=columns, read_dictionary=self._text_columns)
        )

    def batches(
        self, columns: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS
    ) -> Batches:
        """The table in batches; an empty table gives one empty batch, so it keeps its schema."""

        def produce() -> Iterator[Frame]:
            if self.num_rows == 0:
                empty = self.schema.empty_table()
                yield empty.select(list(columns)) if columns else empty
                return
            # A reader per row group: one reader of the whole file keeps memory as it goes
            # (6 MB more for every million sales) and reads them two to three times slower.
            file = self._file
            for group in range(file.num_row_groups):
                yield from file.iter_batches(batch_rows, row_groups=[group], columns=columns)

        return Batches(produce)

    def map_batches(self, transform: Callable[[pd.DataFrame], pd.DataFrame]) -> Batches:
        """`transform` applied to each batch: for row-by-row work (filters, new columns, joins)."""
        return self.batches().map(transform)

    def summarize(
        self, summary: Callable[[duckdb.DuckDBPyRelation], duckdb.DuckDBPyRelation]
    ) -> pa.Table:
        """`summary` (a function of a DuckDB relation) of the whole table, which DuckDB reads
        in parallel and only the columns it needs of."""
        with duckdb.connect() as connection:
            return summary(connection.read_parquet(str(self.path))).to_arrow_table()


def _to_pandas(batch: Frame) -> pd.DataFrame:
    if isinstance(batch, pd.DataFrame):
        return batch
    # Dates become datetime64 columns, not Python date objects.
    return batch.to_pandas(date_as_object=False)


def _uniform(table: pa.Table) -> pa.Table:
    """One schema for every batch, whatever it holds: categoricals get 32-bit codes (pandas
    picks 8 or 16 bits by how many categories a batch has), and no pandas metadata."""
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type) and field.type.index_type != pa.int32():
            kind = pa.dictionary(pa.int32(), field.type.value_type)
            table = table.set_column(
                index, pa.field(field.name, kind), table.column(index).cast(kind)
            )
    return table.replace_schema_metadata(None)


def _to_arrow(batch: Frame, schema: pa.Schema | None) -> pa.Table:
    if isinstance(batch, pd.DataFrame):
        batch = pa.Table.from_pandas(batch, preserve_index=False)
    elif isinstance(batch, pa.RecordBatch):  # what Table.batches gives
        batch = pa.Table.from_batches([batch])
    batch = _uniform(batch)
    if schema is not None and batch.schema != schema:
        try:
            batch = batch.cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as error:
            raise TypeError(
                f"a batch does not match the table's schema: {error}\n"
                f"expected:\n{schema}\ngot:\n{batch.schema}"
            ) from error
    return batch


@dataclass
class WriteSummary:
    rows: int
    schema: pa.Schema
    preview: pd.DataFrame


def write_parquet(
    data: Frame | Batches, path: Path, schema: pa.Schema | None = None
) -> WriteSummary:
    """Write `data` to `path` atomically; the last good file survives any failure.

    Batches are converted on this thread and written on another, so parsing
    and compression overlap. The schema is the first batch's (or `schema`);
    later batches are cast to it, and one that cannot be cast stops the write.
    """
    with _temporary_file_for(path) as tmp:
        return _write(data, path, tmp, schema)


def _write(data: Frame | Batches, path: Path, tmp: Path, schema: pa.Schema | None) -> WriteSummary:
    batches = data if isinstance(data, Batches) else [data]
    pending: queue.Queue = queue.Queue(maxsize=QUEUED_BATCHES)
    failure: list[BaseException] = []
    writer: pq.ParquetWriter | None = None

    def consume() -> None:
        nonlocal writer
        group: list[pa.Table] = []
        ended = False
        try:
            while True:
                table = pending.get()
                ended = table is None
                if table is not None and table.num_rows:
                    group.append(table)
                # Row groups of ROW_GROUP_ROWS, the last one excepted: reading many small ones
                # is slower. What is left over waits for the next batches.
                if group and (table is None or sum(t.num_rows for t in group) >= ROW_GROUP_ROWS):
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, group[0].schema)
                    whole = pa.concat_tables(group)
                    cut = whole.num_rows
                    if table is not None:
                        cut -= cut % ROW_GROUP_ROWS
                    writer.write_table(whole.slice(0, cut), row_group_size=ROW_GROUP_ROWS)
                    group = [whole.slice(cut)] if cut < whole.num_rows else []
                if table is None:
                    return
        except BaseException as error:  # noqa: BLE001 - re-raised on the calling thread
            failure.append(error)
            # Unblock the producer, unless it is done: the last row group is written after the
            # end of the batches, and a failure there (a full disk) would wait here for ever.
            while not ended and pending.get() is not None:
                pass

    rows = 0
    head: list[pa.Table] = []  # the first rows, for the preview
    thread = threading.Thread(target=consume, name=f"write {path.name}", daemon=True)
    thread.start()
    try:
        try:
            for batch in batches:
                table = _to_arrow(batch, schema)
                schema = table.schema
                if rows < PREVIEW_ROWS:
                    head.append(table.slice(0, PREVIEW_ROWS - rows))
                rows += table.num_rows
                if failure:
                    break
                pending.put(table)
        finally:
            pending.put(None)
            thread.join()
        if failure:
            raise failure[0]
        if writer is None:  # no batch at all: an empty table
            if schema is None:
                raise ValueError(f"nothing to write to {path}: no batches and no schema")
            writer = pq.ParquetWriter(tmp, schema)
        writer.close()
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.close()
    assert schema is not None  # the first batch's, or the one given
    preview = pa.concat_tables(head or [schema.empty_table()]).to_pandas(date_as_object=False)
    return WriteSummary(rows=rows, schema=schema, preview=preview)


@contextlib.contextmanager
def _temporary_file_for(path: Path) -> Iterator[Path]:
    """A hidden temporary file beside `path` (`.<name>.<uuid>.tmp`), locked while in use and
    removed afterwards; leftovers of dead writers of `path` are removed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    while True:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        lock = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Another writer's clean-up may have taken it between its creation and the lock.
        if tmp.exists() and os.stat(tmp).st_ino == os.fstat(lock).st_ino:
            break
        os.close(lock)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)
        os.close(lock)


def remove_leftovers(path: Path) -> list[Path]:
    """Remove the temporary files that writers of `path` left when they died mid-write (a
    killed run). A writer holds a lock on its file while it lives, so a file nobody holds is
    a leftover; a file a live writer holds is never touched. Returns what it removed."""
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except FileNotFoundError:  # its writer finished meanwhile
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
        except BlockingIOError:  # a live writer holds it
            pass
        finally:
            os.close(fd)
    return removed
