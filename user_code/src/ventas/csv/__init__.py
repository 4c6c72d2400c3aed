"""Read the CSV files people really have, or say exactly what is wrong with them.

`inspect_csv` (sniff) works out a file's format from its first bytes and rejects what cannot
be read; `stream_csv` (stream) then reads it in typed Arrow batches, so memory stays bounded
however large the file is. A value that does not convert, a line with the wrong number of
fields, a quote out of place or bytes that are not text stop the read with the file, the
line, the column and what to do about it (diagnose). `line_numbers` (records) tells on which
line of the file a record starts.
"""

from ventas.csv.format import CsvFormat, InputFileError, normalize_name
from ventas.csv.records import line_numbers
from ventas.csv.sniff import inspect_csv
from ventas.csv.stream import AHEAD_BLOCKS, read_csv, stream_csv

__all__ = [
    "AHEAD_BLOCKS",
    "CsvFormat",
    "InputFileError",
    "inspect_csv",
    "line_numbers",
    "normalize_name",
    "read_csv",
    "stream_csv",
]
