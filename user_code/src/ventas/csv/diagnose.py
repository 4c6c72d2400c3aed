"""Saying what is wrong with a CSV file that did not read, where, and how to fix it: pyarrow's
errors name neither line nor column, so the file is read again to find them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ventas.csv import stream
from ventas.csv.format import CsvFormat, InputFileError, parse_date
from ventas.csv.records import END, each_record, line_numbers

MAX_EXAMPLES = 5
INTEGER = re.compile(r"-?\d+", re.ASCII)
# As pyarrow reads a float: {point} is the file's decimal mark.
FLOAT = r"[+-]?(?:(?:\d+(?:{point}\d*)?|{point}\d+)(?:e[+-]?\d+)?|inf(?:inity)?)"

NOT_TEXT = {
    "utf8": "is not valid UTF-8",
    "cp1252": "is neither UTF-8 nor Windows-1252",
    "utf-16": "is not valid UTF-16",
}


def diagnose(
    path: Path, expected: Mapping[str, pa.DataType], fmt: CsvFormat, block_size: int, message: str
) -> InputFileError:
    """Turn pyarrow's terse error into the line, column and a fix, by re-reading the file."""
    problem: str | None
    if "invalid UTF8" in message:
        problem = undecodable(path, fmt.encoding)
    elif message.startswith("CSV parse error") or "straddling object" in message:
        problem = shape_problem(path, fmt, block_size)
    else:
        problem = invalid_values(path, expected, fmt)
    return InputFileError(problem or f"{path} could not be read: {message}")


def undecodable(path: Path, encoding: str) -> str:
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


def shape_problem(path: Path, fmt: CsvFormat, block_size: int) -> str | None:
    """The first record with a quote out of place or the wrong number of fields, or too long to
    read, said with its line and how to fix it."""
    for _, first, last, fields in each_record(path, fmt, strict=True):
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


def invalid_values(path: Path, expected: Mapping[str, pa.DataType], fmt: CsvFormat) -> str | None:
    """The first value that does not convert, with its line and column; then, per column, how
    many do not and the first few lines; then the fix."""
    as_text = {name: pa.string() for name in expected}
    examples: dict[str, list[tuple[int, str]]] = {}
    counts: dict[str, int] = {}
    first_record = 0
    for table in stream.stream_csv(path, as_text, fmt):
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
        return parse_date(value, fmt.date_format) is not None
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
