"""Generated sales tables, written every way the reader claims to read, read back to the same
values; broken copies of them fail with InputFileError naming the file and the right line.

The expected values and lines come from what the test wrote, never from the reader's helpers.
"""

import codecs
import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ventas.csv import InputFileError, inspect_csv, stream_csv
from ventas.schemas import VENTAS_COLUMNS

COLUMNS = ["fecha", "producto", "categoria", "precio", "cantidad", "usuario_id"]
SPELLINGS = {
    "fecha": ["fecha", "Fecha", "FECHA", " fecha "],
    "producto": ["producto", "Producto", "PRODUCTO"],
    "categoria": ["categoria", "Categoría", "CATEGORÍA", "categoría"],
    "precio": ["precio", "Precio", "PRECIO "],
    "cantidad": ["cantidad", "Cantidad", "CANTIDAD"],
    "usuario_id": ["usuario_id", "Usuario ID", "usuario-id", "USUARIO_ID"],
}
# Encoding -> (byte order mark, codec). Windows-1252 text here has no character it writes as
# 0x80-0xBF, so its bytes are never also valid UTF-8 (the reader would take them as UTF-8).
ENCODINGS = {
    "utf-8": (b"", "utf-8"),
    "utf-8-sig": (codecs.BOM_UTF8, "utf-8"),
    "cp1252": (b"", "cp1252"),
    "utf-16": (codecs.BOM_UTF16_LE, "utf-16-le"),
}
# 0x81 is neither UTF-8 nor Windows-1252; 0xD800 alone is no UTF-16 character.
BAD_BYTES = {"utf-8": b"\x81", "utf-8-sig": b"\x81", "cp1252": b"\x81", "utf-16": b"\x00\xd8"}
# pyarrow reads these as empty values, as it does "".
NULL_MARKERS = {"NA", "NaN", "nan", "NULL", "null"}
MARK = "§"  # where the invalid byte goes; never generated

TEXT = st.text('abcxyz ABCXYZ 0189 áéíóúüñÁÉÍÓÚÑ,;|\t"\n', max_size=10).filter(
    lambda text: text not in NULL_MARKERS
)
ROW = st.fixed_dictionaries(
    {
        "fecha": st.none() | st.dates(date(1990, 1, 1), date(2039, 12, 31)),
        "producto": TEXT,
        "categoria": TEXT,
        "precio": st.none() | st.integers(-(10**8), 10**8),  # cents
        "cantidad": st.none() | st.integers(0, 10**4),
        "usuario_id": st.none() | st.integers(-(2**63), 2**63 - 1),
    }
)


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    decimal_point: str
    encoding: str
    dates: str  # "iso", "/" or "-" (day, month, year)
    padded: bool  # 01/03/2026 rather than 1/3/2026
    newline: str
    quoting: int
    order: tuple[str, ...]
    header: tuple[str, ...]
    blank_after: tuple[int, ...]  # rows followed by an empty line (past the end: at the end)


@st.composite
def dialects(draw) -> Dialect:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    order = tuple(draw(st.permutations(COLUMNS)))
    return Dialect(
        delimiter=delimiter,
        decimal_point=draw(st.sampled_from("." if delimiter == "," else ".,")),
        encoding=draw(st.sampled_from(sorted(ENCODINGS))),
        dates=draw(st.sampled_from(["iso", "/", "-"])),
        padded=draw(st.booleans()),
        newline=draw(st.sampled_from(["\n", "\r\n"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        order=order,
        header=tuple(draw(st.sampled_from(SPELLINGS[name])) for name in order),
        blank_after=tuple(draw(st.lists(st.integers(0, 8), max_size=3))),
    )


def written_date(day: date, dialect: Dialect) -> str:
    if dialect.dates == "iso":
        return day.isoformat()
    width = 2 if dialect.padded else 1
    return dialect.dates.join([f"{day.day:0{width}}", f"{day.month:0{width}}", str(day.year)])


def cells(row: dict, dialect: Dialect) -> list[str]:
    """The row's fields as the file writes them, in the file's column order."""

    def written(name: str) -> str:
        value = row[name]
        if value is None:
            return ""
        if name == "fecha":
            return written_date(value, dialect)
        if name == "precio":
            sign = "-" if value < 0 else ""
            return f"{sign}{abs(value) // 100}{dialect.decimal_point}{abs(value) % 100:02}"
        return str(value)

    return [written(name) for name in dialect.order]


def render(
    rows: list[dict], dialect: Dialect, broken: int = -1, change=lambda fields: fields
) -> tuple[str, list[int]]:
    """The file's text, and the line on which each row starts; `change` alters row `broken`."""
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=dialect.delimiter, quoting=dialect.quoting, lineterminator=dialect.newline
    )
    writer.writerow(dialect.header)
    starts = []
    for index, row in enumerate(rows):
        starts.append(out.getvalue().count("\n") + 1)
        written = cells(row, dialect)
        writer.writerow(change(written) if index == broken else written)
        out.write(dialect.newline * dialect.blank_after.count(index))
    out.write(dialect.newline * sum(index >= len(rows) for index in dialect.blank_after))
    return out.getvalue(), starts


def encoded(text: str, dialect: Dialect) -> bytes:
    bom, codec = ENCODINGS[dialect.encoding]
    return bom + text.encode(codec)


def expected(row: dict) -> dict:
    return {
        "fecha": row["fecha"],
        "producto": row["producto"] or None,
        "categoria": row["categoria"] or None,
        "precio": None if row["precio"] is None else row["precio"] / 100,
        "cantidad": None if row["cantidad"] is None else float(row["cantidad"]),
        "usuario_id": row["usuario_id"],
    }


def read(path: Path) -> list[dict]:
    fmt = inspect_csv(path, VENTAS_COLUMNS)
    return pa.concat_tables(stream_csv(path, VENTAS_COLUMNS, fmt)).to_pylist()


@pytest.fixture(scope="module")
def path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("properties") / "ventas.csv"


@settings(deadline=None, max_examples=1000)
@given(rows=st.lists(ROW, max_size=8), dialect=dialects())
def test_a_generated_file_reads_back_to_its_values(path, rows, dialect):
    path.write_bytes(encoded(render(rows, dialect)[0], dialect))
    assert read(path) == [expected(row) for row in rows]


FAULTS = ["not a number", "impossible date", "extra field", "unclosed quote", "invalid byte"]


@settings(deadline=None, max_examples=1000)
@given(
    rows=st.lists(ROW, min_size=1, max_size=8),
    dialect=dialects(),
    fault=st.sampled_from(FAULTS),
    data=st.data(),
)
def test_a_broken_file_fails_naming_the_file_and_line(path, rows, dialect, fault, data):
    broken = data.draw(st.integers(0, len(rows) - 1))

    def change(written: list[str]) -> list[str]:
        if fault == "not a number":
            column = data.draw(st.sampled_from(["precio", "cantidad", "usuario_id"]))
            written[dialect.order.index(column)] = data.draw(st.sampled_from(["abc", "1O", "12a"]))
        elif fault == "impossible date":
            y, m, d = data.draw(st.sampled_from([(2026, 2, 30), (2025, 2, 29), (2026, 4, 31)]))
            written[dialect.order.index("fecha")] = (
                f"{y}-{m:02}-{d:02}"
                if dialect.dates == "iso"
                else dialect.dates.join([str(d), f"{m:0{2 if dialect.padded else 1}}", str(y)])
            )
        elif fault == "extra field":
            written.append("x")
        elif fault == "invalid byte":
            position = dialect.order.index("producto")
            written[position] = MARK + written[position]
        return written

    text, starts = render(rows, dialect, broken, change)
    line = starts[broken]
    if fault == "unclosed quote":  # a last row whose quote never closes
        line = text.count("\n") + 1
        unclosed = {
            "fecha": written_date(date(2026, 3, 1), dialect),
            "producto": '"abierto',
            "categoria": "Hogar",
            "precio": "1",
            "cantidad": "1",
            "usuario_id": "1",
        }
        text += dialect.delimiter.join(unclosed[name] for name in dialect.order) + dialect.newline
    if fault == "invalid byte":
        before, after = text.split(MARK)
        line = before.count("\n") + 1
        content = (
            encoded(before, dialect)
            + BAD_BYTES[dialect.encoding]
            + after.encode(ENCODINGS[dialect.encoding][1])
        )
    else:
        content = encoded(text, dialect)
    path.write_bytes(content)

    with pytest.raises(InputFileError) as raised:
        read(path)
    message = str(raised.value)
    assert str(path) in message
    assert re.search(rf"\bline {line}\b", message), message
