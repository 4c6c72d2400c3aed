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

import collections
import ctypes
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeAlias

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from locationkit.files import replacing

# A run holds about a row group and two batches of a table at once: small enough that a run
# of 10M sales peaks at about 440 MB, large enough to cost no speed (docs/benchmarks.md).
BATCH_ROWS = 250_000
ROW_GROUP_ROWS = 500_000
QUEUED_BATCHES = 1  # converted batches waiting for the writer thread
DAY_WRITERS = 2  # files of days written at once (write_days)
PREVIEW_ROWS = 5
# glibc's malloc keeps the memory of freed batches in its heap, in pieces later batches do not
# always fit, so a run's memory grew with the file: 570 MB at 100M sales against 440 at 10M.
# Handing the free pieces back every TRIM_ROWS rows written holds 100M sales to about what
# 10M take (470 MB). Each hand-back costs about half a second in pages touched again, so not
# more often (docs/benchmarks.md).
TRIM_ROWS = 10_000_000
# Each file records its missing values per column, counted as it is written: the statistics
# of text columns (their minimum and maximum) cost a quarter of a write, and nothing filters
# on them, so only numbers and dates have statistics (docs/benchmarks.md).
NULL_COUNTS = b"ventas.null_counts"
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
        return [f.name for f in self.schema if _is_text(f.type)]

    @property
    def num_rows(self) -> int:
        return pq.read_metadata(self.path).num_rows

    @property
    def schema(self) -> pa.Schema:
        return pq.read_schema(self.path)

    def null_counts(self) -> dict[str, int]:
        """Missing values per column, as `write_parquet` recorded them; for a file written
        before it did, from the statistics where it has them, else by reading the column."""
        meta = pq.read_metadata(self.path)
        if recorded := (meta.metadata or {}).get(NULL_COUNTS):
            return json.loads(recorded)
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

    def between(self, column: str, start: date, end: date) -> Batches:
        """The rows with `start <= column < end`, ordered by `column`, in Arrow batches: DuckDB
        filters (skipping the row groups whose statistics rule them out) and sorts in
        parallel, spilling to disk rather than holding a large range in memory. At least one
        batch, empty if no row matches, so the schema is known."""

        def produce() -> Iterator[Frame]:
            with duckdb.connect() as connection:
                reader = connection.sql(
                    f'SELECT * FROM read_parquet($path) WHERE "{column}" >= $start '
                    f'AND "{column}" < $end ORDER BY "{column}"',
                    params={"path": str(self.path), "start": start, "end": end},
                ).to_arrow_reader(BATCH_ROWS)
                empty = True
                for batch in reader:
                    empty = False
                    yield batch
                if empty:
                    yield reader.schema.empty_table()

        return Batches(produce)

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
    head: pa.Table  # the first PREVIEW_ROWS rows

    @property
    def preview(self) -> pd.DataFrame:
        # Made when asked for: a backfill writes hundreds of files and shows one preview.
        return self.head.to_pandas(date_as_object=False)


def write_parquet(
    data: Frame | Batches, path: Path, schema: pa.Schema | None = None
) -> WriteSummary:
    """Write `data` to `path` atomically; the last good file survives any failure.

    Batches are converted on this thread and written on another, so parsing
    and compression overlap. The schema is the first batch's (or `schema`);
    later batches are cast to it, and one that cannot be cast stops the write.
    """
    batches = data if isinstance(data, Batches) else [data]
    rows = 0
    nulls: collections.Counter[str] = collections.Counter()
    head: list[pa.Table] = []  # the first rows, for the preview
    with replacing(path) as tmp, _RowGroupWriter(tmp) as writer:
        for batch in batches:
            table = _to_arrow(batch, schema)
            schema = table.schema
            if rows < PREVIEW_ROWS:
                head.append(table.slice(0, PREVIEW_ROWS - rows))
            if rows // TRIM_ROWS != (rows + table.num_rows) // TRIM_ROWS:
                _give_back_free_memory()
            rows += table.num_rows
            for name, column in zip(table.column_names, table.columns, strict=True):
                nulls[name] += column.null_count
            writer.put(table)
        if schema is None:
            raise ValueError(f"nothing to write to {path}: no batches and no schema")
        writer.finish(schema, {name: nulls[name] for name in schema.names})
    return WriteSummary(
        rows=rows, schema=schema, head=pa.concat_tables(head or [schema.empty_table()])
    )


def _give_back_free_memory() -> None:
    """Return the free memory of malloc's heap to the system, where malloc is glibc's."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


def write_days(
    data: Frame | Batches, files: dict[str, Path], column: str
) -> dict[str, WriteSummary]:
    """Split `data` on the day of its date or timestamp `column` and write each day to its
    file in `files` (day "YYYY-MM-DD" -> path), an empty table for a day without rows; each
    file atomically. Batches must come ordered by `column` (as `Table.between` gives them),
    so that only one day's rows are held at a time; a DataFrame is ordered here."""
    if isinstance(data, pd.DataFrame):
        data = data.sort_values(column, kind="stable")
    batches = data if isinstance(data, Batches) else [data]
    written: dict[str, Future[WriteSummary]] = {}
    schema: pa.Schema | None = None
    day: str | None = None
    held: list[pa.Table] = []
    # Days complete and being written, on DAY_WRITERS threads: Arrow encodes without the GIL.
    pending: collections.deque[Future[WriteSummary]] = collections.deque()

    def flush() -> None:
        if day is not None:
            if day not in files or day in written:
                raise ValueError(f"rows of {day} are not among the days to write, or not in order")
            if len(pending) >= 2 * DAY_WRITERS:  # memory: a few days at a time
                pending.popleft().result()
            parts: list[Frame] = list(held)  # the day's rows, as `held` is a new list next
            written[day] = writers.submit(write_parquet, Batches(lambda: parts), files[day], schema)
            pending.append(written[day])

    with ThreadPoolExecutor(DAY_WRITERS, thread_name_prefix="write day") as writers:
        try:
            for batch in batches:
                table = _to_arrow(batch, schema)
                schema = table.schema
                # Days since 1970 of each row; the rows of a day are contiguous.
                numbers = (
                    table[column].cast(pa.date32()).to_numpy(zero_copy_only=False).astype("int64")
                )
                starts = [0, *(np.flatnonzero(np.diff(numbers)) + 1)]
                for first, last in zip(starts, [*starts[1:], table.num_rows], strict=True):
                    key = str(np.datetime64(int(numbers[first]), "D"))
                    if key != day:
                        flush()
                        day, held = key, []
                    held.append(table.slice(first, last - first))
            flush()
            if schema is None:
                raise ValueError("nothing to write: no batches")
            for key, path in files.items():
                if key not in written:
                    written[key] = writers.submit(write_parquet, Batches(list), path, schema)
            return {key: written[key].result() for key in files}
        except BaseException:
            writers.shutdown(cancel_futures=True)  # the days not begun are not written
            raise


class _RowGroupWriter:
    """A parquet file written on a thread of its own, in row groups of ROW_GROUP_ROWS (the
    last one excepted: reading many small ones is slower), from Arrow tables handed to it
    one at a time, at most QUEUED_BATCHES waiting.

    `put` raises what the writing thread raised; `finish` writes what is left, or an empty
    file with the schema if nothing came, and raises likewise. Leaving the block without
    `finish` (an error upstream) stops the thread and writes nothing more."""

    def __init__(self, path: Path):
        self.path = path
        self.pending: queue.Queue[pa.Table | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self.failure: BaseException | None = None
        self.writer: pq.ParquetWriter | None = None
        self.finished = False
        self.thread = threading.Thread(target=self._consume, name=f"write {path.name}")

    def __enter__(self) -> _RowGroupWriter:
        self.thread.daemon = True
        self.thread.start()
        return self

    def put(self, table: pa.Table) -> None:
        if self.failure is not None:
            raise self.failure
        self.pending.put(table)

    def finish(self, schema: pa.Schema, null_counts: dict[str, int]) -> None:
        self._end()
        if self.failure is not None:
            raise self.failure
        if self.writer is None:  # no rows at all: an empty table
            self.writer = _parquet_writer(self.path, schema)
        self.writer.add_key_value_metadata({NULL_COUNTS: json.dumps(null_counts)})
        self.writer.close()

    def __exit__(self, *exc: object) -> None:
        self._end()
        if self.writer is not None:
            self.writer.close()

    def _end(self) -> None:
        if not self.finished:
            self.finished = True
            self.pending.put(None)
            self.thread.join()

    def _consume(self) -> None:
        group: list[pa.Table] = []
        ended = False
        try:
            while not ended:
                table = self.pending.get()
                ended = table is None
                if table is not None and table.num_rows:
                    group.append(table)
                if group and (ended or sum(t.num_rows for t in group) >= ROW_GROUP_ROWS):
                    group = self._write(group, last=ended)
        except BaseException as error:  # noqa: BLE001 - raised on the calling thread
            self.failure = error
            # Unblock the producer, unless it is done: the last row group is written after the
            # end of the batches, and a failure there (a full disk) would wait here for ever.
            while not ended and self.pending.get() is not None:
                pass

    def _write(self, group: list[pa.Table], last: bool) -> list[pa.Table]:
        """Write whole row groups of `group` (all of it if `last`); return what is left."""
        if self.writer is None:
            self.writer = _parquet_writer(self.path, group[0].schema)
        whole = pa.concat_tables(group)
        cut = whole.num_rows if last else whole.num_rows - whole.num_rows % ROW_GROUP_ROWS
        self.writer.write_table(whole.slice(0, cut), row_group_size=ROW_GROUP_ROWS)
        return [whole.slice(cut)] if cut < whole.num_rows else []


def _parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A writer with statistics for the columns that are not text (see NULL_COUNTS)."""
    measured = [field.name for field in schema if not _is_text(field.type)]
    return pq.ParquetWriter(path, schema, write_statistics=measured)


def _is_text(kind: pa.DataType) -> bool:
    """Whether a column holds text: strings, or a dictionary of them (pandas' categoricals)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)
