"""Data-quality checks on the sales as they arrive, shown beside ventas_raw in the UI.

The blocking ones stop a run before bad numbers reach the totals. Rows in their metadata
are named by their line in ventas.csv.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from locationkit.data import DataDirectory
from ventas.csv import InputFileError, inspect_csv, line_numbers
from ventas.defs.ventas.assets import ventas_raw
from ventas.schemas import VENTAS_COLUMNS
from ventas.tables import Table

MAX_NULL_SHARE = 0.05


SHOWN = 10


@dataclass
class _Found:
    """The rows (records, from 0) where a check found a bad value: how many, and the first
    SHOWN of them with their values."""

    count: int = 0
    rows: list[int] = field(default_factory=list)
    values: list = field(default_factory=list)

    def add(self, start: int, values: pa.ChunkedArray, bad: pa.ChunkedArray) -> None:
        """The rows of one batch, the first of which is row `start`, where `bad` is true (null
        counts as false)."""
        hits = pc.indices_nonzero(pc.fill_null(bad, False))
        self.count += len(hits)
        shown = hits[: SHOWN - len(self.rows)]
        self.rows += [start + i for i in shown.to_pylist()]
        self.values += values.take(shown).to_pylist()

    def lines(self, data_dir: DataDirectory) -> dg.MetadataValue:
        """The rows found as a table of their line in ventas.csv and their value."""
        path = data_dir.file("ventas.csv")
        try:
            lines = line_numbers(path, inspect_csv(path, VENTAS_COLUMNS), self.rows)
        except InputFileError:  # the file changed since: say which record it was
            lines = {}
        table = pd.DataFrame(
            {"line": [lines.get(i, f"record {i + 1}") for i in self.rows], "value": self.values}
        )
        return dg.MetadataValue.md(table.to_markdown(index=False))


def _column(ventas_raw: Table, name: str) -> Iterator[tuple[int, pa.ChunkedArray]]:
    """One column of ventas_raw in batches, each with the row it starts at: memory stays
    that of a batch however large the file."""
    start = 0
    for batch in ventas_raw.batches(columns=[name]):
        values = pa.table(batch).column(0)  # a record batch as a table: no copy
        yield start, values
        start += len(values)


def columnas_requeridas(ventas_raw: Table, data_dir: DataDirectory) -> dg.AssetCheckResult:
    found = {field.name: field.type for field in ventas_raw.schema}
    missing = [name for name in VENTAS_COLUMNS if name not in found]
    mistyped = [
        name for name, kind in VENTAS_COLUMNS.items() if name in found and found[name] != kind
    ]
    return dg.AssetCheckResult(
        passed=not missing and not mistyped,
        metadata={
            "missing": ", ".join(missing) or "none",
            "wrong type": ", ".join(mistyped) or "none",
        },
    )


def precio_no_negativo(ventas_raw: Table, data_dir: DataDirectory) -> dg.AssetCheckResult:
    negativos, lows = _Found(), []
    for start, precio in _column(ventas_raw, "precio"):
        negativos.add(start, precio, pc.less(precio, 0))
        lows.append(pc.min(precio).as_py())
    lowest = min((low for low in lows if low is not None), default=None)
    return dg.AssetCheckResult(
        passed=negativos.count == 0,
        metadata={
            "negative prices": negativos.count,
            **({"lowest price": float(lowest)} if lowest is not None else {}),
            **({"first rows": negativos.lines(data_dir)} if negativos.count else {}),
        },
    )


def cantidad_entera_positiva(ventas_raw: Table, data_dir: DataDirectory) -> dg.AssetCheckResult:
    malas = _Found()
    for start, cantidad in _column(ventas_raw, "cantidad"):
        entera = pc.and_(pc.is_finite(cantidad), pc.equal(cantidad, pc.floor(cantidad)))
        # NaN is a missing value, as empty fields are: ventas_procesadas drops those rows.
        mala = pc.and_not(pc.or_(pc.less(cantidad, 1), pc.invert(entera)), pc.is_nan(cantidad))
        malas.add(start, cantidad, mala)
    return dg.AssetCheckResult(
        passed=malas.count == 0,
        metadata={
            "bad quantities": malas.count,
            **({"first rows": malas.lines(data_dir)} if malas.count else {}),
        },
    )


def proporcion_de_nulos(ventas_raw: Table, data_dir: DataDirectory) -> dg.AssetCheckResult:
    rows = ventas_raw.num_rows
    shares = {
        name: (count / rows if rows else 0.0) for name, count in ventas_raw.null_counts().items()
    }
    worst = max(shares, key=lambda name: shares[name])
    return dg.AssetCheckResult(
        passed=shares[worst] <= MAX_NULL_SHARE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "worst column": worst,
            "worst share": dg.MetadataValue.float(shares[worst]),
            **{f"empty {name}": dg.MetadataValue.float(s) for name, s in shares.items()},
        },
    )


# What each check asserts, and whether a failure stops the run before ventas_procesadas.
CHECKS = {
    columnas_requeridas: (True, "Every column the pipeline needs is there, with its type."),
    precio_no_negativo: (True, "No price is negative."),
    cantidad_entera_positiva: (True, "Every quantity is a whole number of at least 1."),
    proporcion_de_nulos: (
        False,
        f"At most {MAX_NULL_SHARE:.0%} of any column is empty; "
        "incomplete rows are dropped from ventas_procesadas.",
    ),
}
_BY_NAME = {check.__name__: check for check in CHECKS}


# One step runs the checks that are selected (all of them when ventas_raw is materialized):
# one step instead of four spares a run three steps' start-up and event writes. The UI
# still shows, runs and blocks on each check on its own.
@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(check.__name__, asset=ventas_raw, blocking=blocking, description=text)
        for check, (blocking, text) in CHECKS.items()
    ],
    can_subset=True,
)
def controles_ventas_raw(
    context: dg.AssetCheckExecutionContext, ventas_raw: Table, data_dir: DataDirectory
) -> Iterator[dg.AssetCheckResult]:
    for key in context.selected_asset_check_keys:
        yield _BY_NAME[key.name](ventas_raw, data_dir)._replace(check_name=key.name)
