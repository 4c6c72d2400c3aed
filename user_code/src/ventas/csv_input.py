"""Read the CSV files people really have, or say exactly what is wrong with them.

`inspect_csv` works out a file's format from its first bytes (encoding,
delimiter, decimal mark, how dates are written, where each expected column is)
and rejects what cannot be read: a missing or empty file, a binary file,
missing columns. `stream_csv` then reads it in typed pyarrow batches, so memory
stays flat however large the file is. A value that does not convert (a word
where a number belongs, an impossible date), a line with the wrong number of
fields, a quote out of place or bytes that are not text stop the read with the
file, the line, the column and what to do about it. `line_numbers` tells on
which line of the file a record starts.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import chain
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from locationkit.failures import UserError

VENTAS_COLUMNS: Mapping[str, pa.DataType] = {
    "fecha": pa.date32(),
    "producto": pa.string(),
    "categoria": pa.string(),
    "precio": pa.float64(),
    # Read as a number of any kind: the asset check, not the parser, judges
    # whether every quantity is a whole number.
    "cantidad": pa.float64(),
    "usuario_id": pa.int64(),
}
USUARIOS_COLUMNS: Mapping[str, pa.DataType] = {
    "usuario_id": pa.int64(),
    "nombre": pa.string(),
    "ciudad": pa.string(),
    "segmento": pa.string(),
}

HEAD_BYTES = 64 * 1024
# A record must fit in one block. pyarrow's streaming reader reads the file on a thread of
# its own up to 32 blocks ahead of the batches taken from it, however slowly they are
# written (256 MB at 8 MB blocks): _Paced keeps it AHEAD_BLOCKS ahead.
BLOCK_BYTES = 8 * 1024 * 1024
AHEAD_BLOCKS = 4
DELIMITERS = (",", ";", "\t", "|")
# Line 1 is the header. Record i is on line i + FIRST_DATA_LINE unless blank lines or values
# holding line breaks come before it: line_numbers counts those.
FIRST_DATA_LINE = 2
MAX_EXAMPLES = 5
ISO_DATE = "YYYY-MM-DD"
# How dates may be written. Excel writes day and month with one or two digits; ISO dates are
# read by pyarrow itself, which wants two.
DATE_PATTERNS = {
    date_format: re.compile(pattern, re.ASCII)
    for date_format, pattern in {
        ISO_DATE: r"(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)",
        "DD/MM/YYYY": r"(?P<d>\d\d?)/(?P<m>\d\d?)/(?P<y>\d{4})",
        "DD-MM-YYYY": r"(?P<d>\d\d?)-(?P<m>\d\d?)-(?P<y>\d{4})",
        "MM/DD/YYYY": r"(?P<m>\d\d?)/(?P<d>\d\d?)/(?P<y>\d{4})",
        "MM-DD-YYYY": r"(?P<m>\d\d?)-(?P<d>\d\d?)-(?P<y>\d{4})",
    }.items()
}
DAY_AND_MONTH = re.compile(r"(\d\d?)([/-])(\d\d?)\2\d{4}", re.ASCII)
INTEGER = re.compile(r"-?\d+", re.ASCII)
# As pyarrow reads a float: {point} is the file's decimal mark.
FLOAT = r"[+-]?(?:(?:\d+(?:{point}\d*)?|{point}\d+)(?:e[+-]?\d+)?|inf(?:inity)?)"
END = "\ue000"  # a private-use character, which no sales file holds
NOT_TEXT = {
    "utf8": "is not valid UTF-8",
    "cp1252": "is neither UTF-8 nor Windows-1252",
    "utf-16": "is not valid UTF-16",
}


class InputFileError(UserError):
    """An input file that cannot be read as it is. The message says why and how to fix it."""


@dataclass(frozen=True)
class CsvFormat:
    """How to read one file, and what was adjusted to read it."""

    encoding: str
    delimiter: str
    decimal_point: str
    columns: Mapping[str, str]  # expected name -> the cell in the file's header
    names: tuple[str, ...]  # a name for every column of the file, by position
    date_format: str = ISO_DATE  # a key of DATE_PATTERNS
    notes: tuple[str, ...] = field(default=())


def normalize_name(name: str) -> str:
    """'  Categoría ' -> 'categoria': what a header cell means, without case, accents or spaces."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[\s\-]+", "_", plain.strip().lower())


def _guess_encoding(head: bytes, path: Path) -> tuple[str, str | None]:
    """The encoding to read the file with, and a note if it is not plain UTF-8."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", f"{path.name} is UTF-16 (Excel's 'Unicode text'); read it as such."
    if b"\x00" in head:
        raise InputFileError(
            f"{path} is not a text file (it contains NUL bytes; an Excel .xlsx renamed to "
            ".csv looks like this). Export it as CSV (in Excel: Save As > 'CSV UTF-8')."
        )
    # Bytes that are not UTF-8 come out as lone surrogates, U+DC80 to U+DCFF.
    text = codecs.getincrementaldecoder("utf-8")("surrogateescape").decode(head, final=False)
    undecoded = len(re.findall("[\udc80-\udcff]", text))
    if not undecoded:
        return "utf8", None
    # Windows-1252 accents are almost never valid UTF-8: a head that starts with UTF-8's byte
    # order mark, or has at least as much valid UTF-8 beyond ASCII as bytes that are not, is
    # UTF-8 with a few stray bytes (a line pasted from another file).
    beyond_ascii = len(re.findall("[^\x00-\x7f\udc80-\udcff]", text))
    if text.startswith("\ufeff") or beyond_ascii >= undecoded:
        raise InputFileError(_undecodable(path, "utf8"))
    return "cp1252", (
        f"{path.name} is not UTF-8; read it as Windows-1252, the encoding "
        "Excel uses on Windows. Save it as 'CSV UTF-8' to make this explicit."
    )


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def inspect_csv(path: Path, expected: Mapping[str, pa.DataType]) -> CsvFormat:
    """Find how to read `path` so that it yields the `expected` columns, or raise InputFileError."""
    if not path.is_file():
        raise InputFileError(
            f"{path} does not exist. Put the file in the data directory ({path.parent}), "
            "or point the data directory setting (VENTAS_DATA_DIR) at the folder that holds it."
        )
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    if not head.strip():
        raise InputFileError(
            f"{path} is empty. It needs a header line ({','.join(expected)}) and one line "
            "per record."
        )

    encoding, note = _guess_encoding(head, path)
    notes = [note] if note else []
    text = io.StringIO(head.decode(encoding, errors="replace").lstrip("\ufeff"), newline="")
    header = text.readline().rstrip("\r\n")

    def matches(delimiter: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for cell in _split(header, delimiter):
            name = normalize_name(cell)
            if name in expected:
                if name in found:
                    raise InputFileError(
                        f"{path}: the header has two columns that both mean '{name}': "
                        f"'{found[name]}' and '{cell}'. Remove or rename one."
                    )
                found[name] = cell
        return found

    delimiter = max(DELIMITERS, key=lambda d: len(matches(d)))
    columns = matches(delimiter)
    missing = [name for name in expected if name not in columns]
    if missing:
        raise InputFileError(
            f"{path} lacks the column(s) {', '.join(missing)}. Its header is: {header[:300]!r}. "
            f"The file needs a header line with {', '.join(expected)} (in any order; case, "
            "accents and extra columns do not matter)."
        )
    cells = _split(header, delimiter)
    names = tuple(
        normalize_name(cell) if columns.get(normalize_name(cell)) == cell else f"_other_{position}"
        for position, cell in enumerate(cells)
    )
    extra = [cell for cell in cells if normalize_name(cell) not in expected and cell.strip()]
    if extra:
        notes.append(f"{path.name}: ignored the extra column(s) {', '.join(extra)}.")

    # The records of the head, counted as pyarrow counts them; the last one may be cut off.
    sample = [row for row in csv.reader(text, delimiter=delimiter) if row]
    if len(head) == HEAD_BYTES:
        sample = sample[:-1]
    decimal_point = "."
    if delimiter != ",":
        decimal_point = _guess_decimal_point(sample, names, expected)
        if decimal_point == ",":
            notes.append(
                f"{path.name} uses {delimiter!r} between fields and ',' for decimals; read it so."
            )
    fmt = CsvFormat(encoding, delimiter, decimal_point, columns, names, notes=tuple(notes))
    return _with_date_format(path, expected, fmt, sample)


def _guess_decimal_point(
    sample: list[list[str]], names: tuple[str, ...], expected: Mapping[str, pa.DataType]
) -> str:
    """',' when the sample's decimal numbers all use a comma, else '.'."""
    positions = [
        i
        for i, name in enumerate(names)
        if name in expected and pa.types.is_floating(expected[name])
    ]
    marks = {
        mark for row in sample for i in positions if i < len(row) for mark in ",." if mark in row[i]
    }
    return "," if marks == {","} else "."


def _with_date_format(
    path: Path, expected: Mapping[str, pa.DataType], fmt: CsvFormat, sample: list[list[str]]
) -> CsvFormat:
    """`fmt` with how its dates are written: from the sample, or the whole file if need be."""
    positions = {
        name: fmt.names.index(name) for name, kind in expected.items() if pa.types.is_date(kind)
    }
    table = pa.table(
        {
            name: pa.array([row[i] if i < len(row) else None for row in sample], pa.string())
            for name, i in positions.items()
        }
    )
    values = [
        value.strip(" \t") for name in positions for value in table[name].to_pylist() if value
    ]
    written = next(
        (
            match
            for value in values
            if (match := DAY_AND_MONTH.fullmatch(value) or DATE_PATTERNS[ISO_DATE].fullmatch(value))
        ),
        None,
    )
    if written is None or written.re is not DAY_AND_MONTH:  # ISO dates, or none to go by
        return fmt
    separator = written[2]
    found = _orders(table, separator)
    if not found:  # the sample fits both orders: look at every date before deciding
        offset = 0
        for batch in stream_csv(path, dict.fromkeys(positions, pa.string()), fmt):
            for order, (name, index, value) in _orders(batch, separator).items():
                found.setdefault(order, (name, offset + index, value))
            offset += batch.num_rows
            if len(found) == 2:
                break
    lines = line_numbers(path, fmt, (index for _, index, _ in found.values()))
    shown = {
        order: f"line {lines.get(index, '?')}: {value!r}"
        for order, (_, index, value) in found.items()
    }
    if len(found) == 2:
        raise InputFileError(
            f"{path}: column '{fmt.columns[found['DD'][0]]}' writes dates both day first "
            f"({shown['DD']}) and month first ({shown['MM']}). Write every date the same way, "
            "best as YYYY-MM-DD."
        )
    note: str | None
    if "MM" in found:
        date_format = f"MM{separator}DD{separator}YYYY"
        note = (
            f"{path.name}: read the dates month first, as {date_format} ({shown['MM']}). "
            "Write them as YYYY-MM-DD to make this explicit."
        )
    else:
        date_format = f"DD{separator}MM{separator}YYYY"
        note = (
            None
            if found
            else (
                f"{path.name}: every date reads as day/month or month/day; read them day first, "
                f"as {date_format}. Write them as YYYY-MM-DD to make this explicit."
            )
        )
    return replace(fmt, date_format=date_format, notes=fmt.notes + ((note,) if note else ()))


def _orders(table: pa.Table, separator: str) -> dict[str, tuple[str, int, str]]:
    """Where `table`'s dates first show the day first ('DD', as in 25/03/2026) or the month
    first ('MM', as in 03/25/2026): column, row and value."""
    found: dict[str, tuple[str, int, str]] = {}
    for name in table.column_names:
        values = table[name]
        showing: dict[str, list[str]] = {}
        for value in pc.unique(values).drop_null().to_pylist():
            match = DAY_AND_MONTH.fullmatch(value.strip(" \t"))
            if match and match[2] == separator:
                first, second = int(match[1]), int(match[3])
                if first > 12 >= second:
                    showing.setdefault("DD", []).append(value)
                elif second > 12 >= first:
                    showing.setdefault("MM", []).append(value)
        for order, shown in showing.items():
            index = pc.index(pc.is_in(values, value_set=pa.array(shown)), True).as_py()
            found.setdefault(order, (name, index, values[index].as_py()))
    return found


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
                if problem := _shape_problem(path, fmt, block_size):
                    raise InputFileError(problem)
            for name in as_text:
                text = batch.column(name)
                dates = _dates(text, fmt.date_format)
                if dates.null_count > text.null_count:
                    raise _diagnose(
                        path,
                        expected,
                        fmt,
                        block_size,
                        f"column {name} has values that are not dates",
                    )
                batch = batch.set_column(batch.schema.get_field_index(name), name, dates)
            yield pa.Table.from_batches([batch]).select(list(expected))
        if empty:  # a header and no records: still a table, with the right columns
            yield pa.schema(list(expected.items())).empty_table()
    except UnicodeDecodeError as error:  # from pyarrow's decoding of other encodings than UTF-8
        raise InputFileError(_undecodable(path, fmt.encoding)) from error
    except pa.ArrowInvalid as error:
        raise _diagnose(path, expected, fmt, block_size, str(error)) from error
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
    fmt = inspect_csv(path, expected)
    return pa.concat_tables(stream_csv(path, expected, fmt)).to_pandas()


def line_numbers(path: Path, fmt: CsvFormat, records: Iterable[int]) -> dict[int, int]:
    """The line (from 1) on which each of `records` starts. Records count from 0 as pyarrow
    counts them: the header and empty lines are not records; a record may span lines."""
    wanted = set(records)
    found: dict[int, int] = {}
    if wanted:
        last = max(wanted)
        for index, first, _, _ in _records(path, fmt):
            if index in wanted:
                found[index] = first
            if index == last:
                break
    return found


def _records(
    path: Path, fmt: CsvFormat, strict: bool = False
) -> Iterator[tuple[int, int, int, list[str] | None]]:
    """Every record of `path`: its index, its first and last line, its fields. A value whose
    quote is still open at the end of the file ends with END. If `strict`, a record where
    a quoted value is followed by more text has no fields (None)."""
    limit = csv.field_size_limit(2**31 - 1)  # a value may be as long as pyarrow's block
    try:
        with path.open(encoding=fmt.encoding, errors="replace", newline="") as f:
            next(f, None)  # the header: pyarrow skips one line
            # One line more: it closes a quote left open, or else is a record of its own.
            reader = csv.reader(chain(f, [END + '"']), delimiter=fmt.delimiter, strict=strict)
            index, first = 0, FIRST_DATA_LINE
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error:  # only if strict
                    fields = None
                if fields == [END + '"']:
                    break
                last = reader.line_num + 1
                if fields != []:  # an empty line
                    yield index, first, last, fields
                    index += 1
                first = last + 1
    finally:
        csv.field_size_limit(limit)


def _diagnose(
    path: Path, expected: Mapping[str, pa.DataType], fmt: CsvFormat, block_size: int, message: str
) -> InputFileError:
    """Turn pyarrow's terse error into the line, column and a fix, by re-reading the file."""
    problem: str | None
    if "invalid UTF8" in message:
        problem = _undecodable(path, fmt.encoding)
    elif message.startswith("CSV parse error") or "straddling object" in message:
        problem = _shape_problem(path, fmt, block_size)
    else:
        problem = _invalid_values(path, expected, fmt)
    return InputFileError(problem or f"{path} could not be read: {message}")


def _undecodable(path: Path, encoding: str) -> str:
    """Where `path` first has bytes that are not text in `encoding`."""
    fix = "Save the file as UTF-8 (in Excel: Save As > 'CSV UTF-8')."
    # What does not decode becomes lone surrogates, which decoded text never holds otherwise.
    errors = "surrogatepass" if encoding == "utf-16" else "surrogateescape"
    try:
        with path.open(encoding=encoding, errors=errors, newline="") as f:
            for number, line in enumerate(f, start=1):
                if bad := re.search("[\ud800-\udfff]", line):
                    what = (
                        f"the byte 0x{ord(bad[0]) - 0xDC00:02x}"
                        if errors == "surrogateescape"
                        else f"an unpaired surrogate 0x{ord(bad[0]):04x}"
                    )
                    return f"{path} {NOT_TEXT[encoding]}: line {number} has {what}. {fix}"
    except UnicodeDecodeError:  # UTF-16 cut in the middle of a character
        return f"{path} {NOT_TEXT[encoding]}: it ends in the middle of a character. {fix}"
    return f"{path} {NOT_TEXT[encoding]}. {fix}"


def _shape_problem(path: Path, fmt: CsvFormat, block_size: int) -> str | None:
    """The first record with a quote out of place or the wrong number of fields, or too long to
    read, said with its line and how to fix it."""
    for _, first, last, fields in _records(path, fmt, strict=True):
        if fields is None and last > first:
            return (
                f'{path}, line {first}: a double quote (") opens a value that only closes on '
                f"line {last}, where more text follows. Close the quote where the value ends, "
                'and write a quote inside a value as two ("").'
            )
        if fields is None:
            return (
                f'{path}, line {first}: a value in double quotes (") is followed by more '
                'text. Quote the whole value, and write a quote inside it as two ("").'
            )
        if fields[-1].endswith(END):
            return (
                f'{path}, line {first}: a double quote (") opens a value that never closes, '
                "so the rest of the file would be read into it. Close the quote, or write a "
                'quote inside a value as two ("").'
            )
        if len(fields) != len(fmt.names):
            wrong = (
                f"{path}, line {first} has the wrong number of fields: {len(fields)} where "
                f"the header has {len(fmt.names)}"
            )
            if last > first:
                return (
                    f'{wrong} (the record runs to line {last}). A double quote (") on line '
                    f"{first} probably opens a value that does not close: close it, or write "
                    'a quote inside a value as two ("").'
                )
            if len(fields) > len(fmt.names):
                return (
                    f"{wrong}. A value probably contains the delimiter {fmt.delimiter!r}: put "
                    "that value in double quotes."
                )
            return (
                f"{wrong}. Add the missing fields (an empty field is fine, but keep its delimiter)."
            )
        size = len(fmt.delimiter.join(fields).encode())
        if size > block_size:
            return (
                f"{path}, line {first} starts a record of {size / 2**20:.1f} MB, more than "
                f"the {block_size / 2**20:g} MB this reader takes at a time. If a double quote "
                "on that line opens a value that should have closed, close it; otherwise "
                "shorten that value."
            )
    return None


def _invalid_values(path: Path, expected: Mapping[str, pa.DataType], fmt: CsvFormat) -> str | None:
    """The first value that does not convert, with its line and column; then, per column, how
    many do not and the first few lines; then the fix."""
    as_text = {name: pa.string() for name in expected}
    examples: dict[str, list[tuple[int, str]]] = {}
    counts: dict[str, int] = {}
    first_record = 0
    for table in stream_csv(path, as_text, fmt):
        frame = table.to_pandas()
        for name, kind in expected.items():
            bad = _unconvertible(frame[name], kind, fmt)
            if bad.any():
                counts[name] = counts.get(name, 0) + int(bad.sum())
                shown = examples.setdefault(name, [])
                shown += [
                    (first_record + index, value)
                    for index, value in frame[name][bad].head(MAX_EXAMPLES - len(shown)).items()
                ]
        first_record += len(frame)
    if not counts:
        return None
    lines = line_numbers(path, fmt, (index for shown in examples.values() for index, _ in shown))
    index, value, name = min(
        (index, value, name) for name, shown in examples.items() for index, value in shown
    )
    first = (
        f"{path}, line {lines.get(index, '?')}, column '{fmt.columns[name]}': {value!r} "
        f"{_wanted(expected[name], fmt, one=True)}."
    )
    in_all = "; ".join(
        f"{counts[name]} value(s) in column '{fmt.columns[name]}' {_wanted(kind, fmt)} ("
        + "; ".join(f"line {lines.get(index, '?')}: {value!r}" for index, value in examples[name])
        + ")"
        for name, kind in expected.items()
        if name in counts
    )
    return f"{first} In all: {in_all}. Correct them, or empty those fields to drop the rows."


def _unconvertible(values: pd.Series, kind: pa.DataType, fmt: CsvFormat) -> pd.Series:
    """Where `values` (text) do not read as `kind`."""
    if pa.types.is_string(kind):
        return pd.Series(False, index=values.index)
    return values.isin(
        [value for value in values.dropna().unique() if not _readable(value, kind, fmt)]
    )


def _readable(value: str, kind: pa.DataType, fmt: CsvFormat) -> bool:
    """Whether pyarrow reads `value` as `kind` (or `fmt`'s dates, as stream_csv does)."""
    if pa.types.is_date(kind):
        return _date(value, fmt.date_format) is not None
    text = value.strip(" \t")
    if pa.types.is_integer(kind):
        return bool(INTEGER.fullmatch(text)) and -(2**63) <= int(text) < 2**63
    point = re.escape(fmt.decimal_point)
    return bool(re.fullmatch(FLOAT.format(point=point), text, re.ASCII | re.IGNORECASE))


def _wanted(kind: pa.DataType, fmt: CsvFormat, one: bool = False) -> str:
    are = "is not a" if one else "are not"
    if pa.types.is_date(kind):
        return f"{are} date{'' if one else 's'} written {fmt.date_format}"
    if pa.types.is_integer(kind):
        return f"{are} whole number{'' if one else 's'}"
    return f"{are} number{'' if one else 's'} written like 12{fmt.decimal_point}50"


def _dates(text: pa.Array, date_format: str) -> pa.Array:
    """`text` as dates written `date_format`; null where a value is not such a date."""
    # A file has few distinct dates, however many rows: convert each once.
    encoded = pc.dictionary_encode(text)
    parsed = [_date(value, date_format) for value in encoded.dictionary.to_pylist()]
    return pa.array(parsed, pa.date32()).take(encoded.indices)


def _date(value: str, date_format: str) -> date | None:
    match = DATE_PATTERNS[date_format].fullmatch(value.strip(" \t"))
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"])) if match else None
    except ValueError:  # 31/02/2026
        return None
