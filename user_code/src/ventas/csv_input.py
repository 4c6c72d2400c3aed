"""Read the CSV files people really have, or say exactly what is wrong with them.

`inspect_csv` works out a file's format from its first bytes (encoding,
delimiter, decimal mark, where each expected column is) and rejects what
cannot be read: a missing or empty file, a binary file, missing columns.
`stream_csv` then reads it in typed pyarrow batches, so memory stays flat
however large the file is. A value that does not convert (a word where a
number belongs, an impossible date) stops the read with the file, the lines,
the column and what to do about it.
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ventas.errors import UserError

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
BLOCK_BYTES = 16 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
FIRST_DATA_LINE = 2  # line 1 is the header; then one record per line
MAX_EXAMPLES = 5


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
            ".csv looks like this). Export it as CSV (in Excel: Save As > 'CSV UTF-8').")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf8", None
    except UnicodeDecodeError:
        return "cp1252", (f"{path.name} is not UTF-8; read it as Windows-1252, the encoding "
                          "Excel uses on Windows. Save it as 'CSV UTF-8' to make this explicit.")


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def inspect_csv(path: Path, expected: Mapping[str, pa.DataType]) -> CsvFormat:
    """Find how to read `path` so that it yields the `expected` columns, or raise InputFileError."""
    if not path.is_file():
        raise InputFileError(
            f"{path} does not exist. Put the file in the data directory ({path.parent}), "
            "or point the data directory setting (VENTAS_DATA_DIR) at the folder that holds it.")
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    if not head.strip():
        raise InputFileError(
            f"{path} is empty. It needs a header line ({','.join(expected)}) and one line "
            "per record.")

    encoding, note = _guess_encoding(head, path)
    notes = [note] if note else []
    text = head.decode(encoding, errors="replace")
    lines = text.lstrip("\ufeff").splitlines()
    header = lines[0]

    def matches(delimiter: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for cell in _split(header, delimiter):
            name = normalize_name(cell)
            if name in expected:
                if name in found:
                    raise InputFileError(
                        f"{path}: the header has two columns that both mean '{name}': "
                        f"'{found[name]}' and '{cell}'. Remove or rename one.")
                found[name] = cell
        return found

    delimiter = max(DELIMITERS, key=lambda d: len(matches(d)))
    columns = matches(delimiter)
    missing = [name for name in expected if name not in columns]
    if missing:
        raise InputFileError(
            f"{path} lacks the column(s) {', '.join(missing)}. Its header is: {header[:300]!r}. "
            f"The file needs a header line with {', '.join(expected)} (in any order; case, "
            "accents and extra columns do not matter).")
    cells = _split(header, delimiter)
    names = tuple(normalize_name(cell) if columns.get(normalize_name(cell)) == cell
                  else f"_other_{position}" for position, cell in enumerate(cells))
    extra = [cell for cell in cells if normalize_name(cell) not in expected and cell.strip()]
    if extra:
        notes.append(f"{path.name}: ignored the extra column(s) {', '.join(extra)}.")

    decimal_point = "."
    if delimiter != ",":
        decimal_point = _guess_decimal_point(lines[1:50], delimiter, header, columns, expected)
        if decimal_point == ",":
            notes.append(f"{path.name} uses ';' between fields and ',' for decimals; read it so.")
    return CsvFormat(encoding, delimiter, decimal_point, columns, names, tuple(notes))


def _guess_decimal_point(lines: list[str], delimiter: str, header: str,
                         columns: Mapping[str, str], expected: Mapping[str, pa.DataType]) -> str:
    """',' when the sample's decimal numbers all use a comma, else '.'."""
    positions = {i for i, cell in enumerate(_split(header, delimiter))
                 if columns.get(normalize_name(cell)) == cell
                 and pa.types.is_floating(expected[normalize_name(cell)])}
    marks = set()
    for line in lines:
        cells = _split(line, delimiter)
        for i in positions:
            if i < len(cells):
                marks.update(m for m in ",." if m in cells[i])
    return "," if marks == {","} else "."


def stream_csv(path: Path, expected: Mapping[str, pa.DataType], fmt: CsvFormat,
               block_size: int = BLOCK_BYTES) -> Iterator[pa.Table]:
    """Typed batches of `path` with exactly the `expected` columns, in that order."""
    try:
        reader = pacsv.open_csv(
            path,
            # Our names for the columns, by position, instead of the header's spelling.
            read_options=pacsv.ReadOptions(encoding=fmt.encoding, block_size=block_size,
                                           column_names=list(fmt.names), skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=fmt.delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types=dict(expected),
                include_columns=list(expected),
                strings_can_be_null=True,
                decimal_point=fmt.decimal_point,
            ),
        )
        empty = True
        for batch in reader:
            empty = False
            yield pa.Table.from_batches([batch])
        if empty:  # a header and no records: still a table, with the right columns
            yield pa.schema(list(expected.items())).empty_table()
    except pa.ArrowInvalid as error:
        raise _diagnose(path, expected, fmt, error) from error


def read_csv(path: Path, expected: Mapping[str, pa.DataType]) -> pd.DataFrame:
    """A small CSV file, whole, as a DataFrame with the `expected` columns."""
    fmt = inspect_csv(path, expected)
    return pa.concat_tables(stream_csv(path, expected, fmt)).to_pandas()


def _diagnose(path: Path, expected: Mapping[str, pa.DataType], fmt: CsvFormat,
              error: pa.ArrowInvalid) -> InputFileError:
    """Turn pyarrow's terse conversion error into lines, column and a fix, by re-reading as text."""
    message = str(error)
    if "invalid UTF8" in message:
        return InputFileError(_utf8_problem(path))
    if "Expected" in message and "columns" in message:
        return InputFileError(
            f"{path}: a line has the wrong number of fields ({message}). A value probably "
            f"contains the delimiter {fmt.delimiter!r}: put that value in double quotes.")
    problems = _invalid_values(path, expected, fmt)
    if not problems:
        return InputFileError(f"{path} could not be read: {message}")
    return InputFileError(f"{path} has values that cannot be read: " + " ".join(problems))


def _utf8_problem(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as bad:
                return (f"{path} is not valid UTF-8: line {number} has the byte "
                        f"0x{line[bad.start]:02x}. Save the file as UTF-8 (in Excel: Save As > "
                        "'CSV UTF-8').")
    return f"{path} is not valid UTF-8. Save it as UTF-8 (in Excel: Save As > 'CSV UTF-8')."


def _invalid_values(path: Path, expected: Mapping[str, pa.DataType], fmt: CsvFormat) -> list[str]:
    """One sentence per column with values that do not convert, naming the first few lines."""
    as_text = {name: pa.string() for name in expected}
    examples: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    first_line = FIRST_DATA_LINE
    for table in stream_csv(path, as_text, fmt):
        frame = table.to_pandas()
        for name, kind in expected.items():
            bad = _unconvertible(frame[name], kind, fmt.decimal_point)
            if bad.any():
                counts[name] = counts.get(name, 0) + int(bad.sum())
                for index, value in frame[name][bad].head(MAX_EXAMPLES).items():
                    if len(examples.setdefault(name, [])) < MAX_EXAMPLES:
                        examples[name].append(f"line {first_line + index}: {value!r}")
        first_line += len(frame)
    return [
        f"{counts[name]} value(s) in column '{fmt.columns[name]}' {_wanted(kind, fmt)} "
        f"({'; '.join(examples[name])}). Correct them, or empty those fields to drop the rows."
        for name, kind in expected.items() if name in counts
    ]


def _unconvertible(values: pd.Series, kind: pa.DataType, decimal_point: str) -> pd.Series:
    present = values.notna()
    if pa.types.is_date(kind):
        converted = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        text = values.str.strip()
        if decimal_point == ",":
            text = text.str.replace(",", ".", regex=False)
        converted = pd.to_numeric(text, errors="coerce")
        if pa.types.is_integer(kind):
            converted = converted.where(converted % 1 == 0)
    else:
        return pd.Series(False, index=values.index)
    return present & converted.isna()


def _wanted(kind: pa.DataType, fmt: CsvFormat) -> str:
    if pa.types.is_date(kind):
        return "are not dates written YYYY-MM-DD"
    if pa.types.is_integer(kind):
        return "are not whole numbers"
    return f"are not numbers (this file writes decimals as 12{fmt.decimal_point}50)"
