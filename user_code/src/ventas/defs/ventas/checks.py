"""Data-quality checks on the sales as they arrive, shown beside ventas_raw in the UI.

The blocking ones stop a run before bad numbers reach the totals. Rows in their metadata
are named by their line in ventas.csv.
"""

import dagster as dg
import pandas as pd

from ventas.csv_input import VENTAS_COLUMNS, InputFileError, inspect_csv, line_numbers
from ventas.defs.ventas.assets import ventas_raw
from ventas.resources import DataDirectory
from ventas.tables import Table

MAX_NULL_SHARE = 0.05


def _lines(rows: pd.Series, sales_data: DataDirectory) -> dg.MetadataValue:
    """The first offending rows as a table of their line in ventas.csv and value."""
    shown = rows.head(10)
    path = sales_data.file("ventas.csv")
    try:
        lines = line_numbers(path, inspect_csv(path, VENTAS_COLUMNS), shown.index)
    except InputFileError:  # the file changed since: say which record it was
        lines = {}
    table = pd.DataFrame(
        {"line": [lines.get(i, f"record {i + 1}") for i in shown.index], "value": shown.to_numpy()}
    )
    return dg.MetadataValue.md(table.to_markdown(index=False))


@dg.asset_check(
    asset=ventas_raw,
    blocking=True,
    description="Every column the pipeline needs is there, with its type.",
)
def columnas_requeridas(ventas_raw: Table) -> dg.AssetCheckResult:
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


@dg.asset_check(asset=ventas_raw, blocking=True, description="No price is negative.")
def precio_no_negativo(ventas_raw: Table, sales_data: DataDirectory) -> dg.AssetCheckResult:
    precio = ventas_raw.read(["precio"])["precio"]
    negativos = precio[precio < 0]
    return dg.AssetCheckResult(
        passed=negativos.empty,
        metadata={
            "negative prices": len(negativos),
            **({"lowest price": float(precio.min())} if precio.notna().any() else {}),
            **({"first rows": _lines(negativos, sales_data)} if len(negativos) else {}),
        },
    )


@dg.asset_check(
    asset=ventas_raw, blocking=True, description="Every quantity is a whole number of at least 1."
)
def cantidad_entera_positiva(ventas_raw: Table, sales_data: DataDirectory) -> dg.AssetCheckResult:
    cantidad = ventas_raw.read(["cantidad"])["cantidad"].dropna()
    malas = cantidad[(cantidad < 1) | (cantidad % 1 != 0)]
    return dg.AssetCheckResult(
        passed=malas.empty,
        metadata={
            "bad quantities": len(malas),
            **({"first rows": _lines(malas, sales_data)} if len(malas) else {}),
        },
    )


@dg.asset_check(
    asset=ventas_raw,
    description=f"At most {MAX_NULL_SHARE:.0%} of any column is empty; "
    "incomplete rows are dropped from ventas_procesadas.",
)
def proporcion_de_nulos(ventas_raw: Table) -> dg.AssetCheckResult:
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
