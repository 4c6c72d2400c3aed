"""What every part of reading a CSV file shares: the error a file that cannot be read raises,
the format found for a file (CsvFormat), and how dates may be written in one."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from locationkit.failures import UserError

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


def dates(text: pa.Array, date_format: str) -> pa.Array:
    """`text` as dates written `date_format`; null where a value is not such a date."""
    # A file has few distinct dates, however many rows: convert each once.
    encoded = pc.dictionary_encode(text)
    parsed = [parse_date(value, date_format) for value in encoded.dictionary.to_pylist()]
    return pa.array(parsed, pa.date32()).take(encoded.indices)


def parse_date(value: str, date_format: str) -> date | None:
    match = DATE_PATTERNS[date_format].fullmatch(value.strip(" \t"))
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"])) if match else None
    except ValueError:  # 31/02/2026
        return None
