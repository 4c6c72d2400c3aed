"""Sales files as assets read them: checked before anything runs, streamed while stored."""

from pathlib import Path

import dagster as dg

from locationkit.failures import reported
from ventas.csv import inspect_csv, stream_csv
from ventas.schemas import VENTAS_COLUMNS
from ventas.tables import Batches


def sales_file(context: dg.AssetExecutionContext, path: Path) -> Batches:
    """A sales CSV as typed batches, after checking that it can be read at all; what was
    adjusted to read it goes to the run's log as warnings."""
    with reported():
        fmt = inspect_csv(path, VENTAS_COLUMNS)
    for note in fmt.notes:
        context.log.warning(note)
    return Batches(lambda: stream_csv(path, VENTAS_COLUMNS, fmt))
