"""Finding how to read a CSV file from its first bytes: its encoding, delimiter, decimal mark,
how its dates are written and where each expected column is; and rejecting what cannot be
read at all (a missing or empty file, a binary one, missing columns)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ventas.csv import diagnose, stream
from ventas.csv.format import (
    DATE_PATTERNS,
    DAY_AND_MONTH,
    ISO_DATE,
    CsvFormat,
    InputFileError,
    normalize_name,
)
from ventas.csv.records import line_numbers

HEAD_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")


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
        raise InputFileError(diagnose.undecodable(path, "utf8"))
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
        for batch in stream.stream_csv(path, dict.fromkeys(positions, pa.string()), fmt):
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
