"""Reading a CSV file whose format is known in typed Arrow batches, with memory bounded by
the batches however large the file; what goes wrong is handed to ventas.csv.diagnose."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ventas.csv import diagnose
from ventas.csv.format import ISO_DATE, CsvFormat, InputFileError, dates

# A record must fit in one block. pyarrow's streaming reader reads the file on a thread of
# its own up to 32 blocks ahead of the batches taken from it, however slowly they are
# written (256 MB at 8 MB blocks): _Paced keeps it AHEAD_BLOCKS ahead.
BLOCK_BYTES = 8 * 1024 * 1024
AHEAD_BLOCKS = 4


def stream_csv(
    path: Path, expected: Mapping[str, pa.DataType], fmt: CsvFormat, block_size: int = BLOCK_BYTES
) -> Iterator[pa.Table]:
    """Typed batches of `path` with exactly the `expected` columns, in that order."""
    # pyarrow reads ISO dates itself; dates written otherwise are read as text and converted here.
    as_text = [
        name
        for name, kind in expected.items()
        if pa.types.is_date(kind) and fmt.date_format != ISO_DATE
    ]
    # Every column, the others as text: a line break in any value may be a quote left open.
    types = {
        **dict.fromkeys(fmt.names, pa.string()),
        **expected,
        **dict.fromkeys(as_text, pa.string()),
    }
    # UTF-16 takes up to two bytes of the file for each byte of text pyarrow parses.
    taken = block_size * (2 if fmt.encoding == "utf-16" else 1)
    source = _Paced(path, window=AHEAD_BLOCKS * block_size)
    try:
        reader = pacsv.open_csv(
            source,
            # Our names for the columns, by position, instead of the header's spelling.
            read_options=pacsv.ReadOptions(
                encoding=fmt.encoding,
                block_size=block_size,
                column_names=list(fmt.names),
                skip_rows=1,
            ),
            parse_options=pacsv.ParseOptions(delimiter=fmt.delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=list(types),
                strings_can_be_null=True,
                decimal_point=fmt.decimal_point,
            ),
        )
        empty, quotes_checked = True, False
        for batch in reader:
            source.take(taken)
            empty = False
            # pyarrow reads a quote left open as a value that runs to the next quote, or to the
            # end of the file: on several lines. The first value that is, check every quote.
            if not quotes_checked and _breaks_lines(batch):
                quotes_checked = True
                if problem := diagnose.shape_problem(path, fmt, block_size):
                    raise InputFileError(problem)
            for name in as_text:
                text = batch.column(name)
                converted = dates(text, fmt.date_format)
                if converted.null_count > text.null_count:
                    raise diagnose.diagnose(
                        path,
                        expected,
                        fmt,
                        block_size,
                        f"column {name} has values that are not dates",
                    )
                batch = batch.set_column(batch.schema.get_field_index(name), name, converted)
            yield pa.Table.from_batches([batch]).select(list(expected))
        if empty:  # a header and no records: still a table, with the right columns
            yield pa.schema(list(expected.items())).empty_table()
    except UnicodeDecodeError as error:  # from pyarrow's decoding of other encodings than UTF-8
        raise InputFileError(diagnose.undecodable(path, fmt.encoding)) from error
    except pa.ArrowInvalid as error:
        raise diagnose.diagnose(path, expected, fmt, block_size, str(error)) from error
    finally:
        source.close()


class _Paced(io.RawIOBase):
    """`path`, read at most `window` bytes ahead of what was `take`n. A wait ends after a
    second regardless, so a wrong count costs memory, never a stuck read."""

    def __init__(self, path: Path, window: int):
        super().__init__()
        self._file = path.open("rb", buffering=0)
        self._window: float = window
        self._read = self._taken = 0
        self._turn = threading.Condition()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        with self._turn:
            self._turn.wait_for(lambda: self._read - self._taken < self._window, timeout=1)
        data = self._file.read(size)
        with self._turn:
            self._read += len(data)
        return data

    def take(self, size: int) -> None:
        with self._turn:
            self._taken += size
            self._turn.notify_all()

    def close(self) -> None:
        with self._turn:  # a read still waiting goes on, and finds the file closed
            self._window = float("inf")
            self._turn.notify_all()
        self._file.close()
        super().close()


def _breaks_lines(batch: pa.RecordBatch) -> bool:
    """Whether a text value of `batch` holds a line break (a search of each column's bytes)."""
    for column in batch.columns:
        data = column.buffers()[2] if pa.types.is_string(column.type) else None
        if data is not None and (b"\n" in (raw := data.to_pybytes()) or b"\r" in raw):
            return True
    return False


def read_csv(path: Path, expected: Mapping[str, pa.DataType]) -> pd.DataFrame:
    """A small CSV file, whole, as a DataFrame with the `expected` columns."""
    from ventas.csv.sniff import inspect_csv

    fmt = inspect_csv(path, expected)
    return pa.concat_tables(stream_csv(path, expected, fmt)).to_pandas()
