"""Where records are in a CSV file, read as Python's csv module reads it: the line each
record starts on (which pyarrow's errors do not say), and records whose quotes are out of
place."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path

from ventas.csv.format import CsvFormat

# Line 1 is the header. Record i is on line i + FIRST_DATA_LINE unless blank lines or values
# holding line breaks come before it: line_numbers counts those.
FIRST_DATA_LINE = 2
END = "\ue000"  # a private-use character, which no sales file holds


def line_numbers(path: Path, fmt: CsvFormat, records: Iterable[int]) -> dict[int, int]:
    """The line (from 1) on which each of `records` starts. Records count from 0 as pyarrow
    counts them: the header and empty lines are not records; a record may span lines."""
    wanted = set(records)
    found: dict[int, int] = {}
    if wanted:
        last = max(wanted)
        for index, first, _, _ in each_record(path, fmt):
            if index in wanted:
                found[index] = first
            if index == last:
                break
    return found


def each_record(
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
