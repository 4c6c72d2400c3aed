"""The ventas pipeline's transforms on Arrow tables: what the assets run, batch by batch, on
files of millions of rows. `transforms.py` has the tutorial's pandas versions, which the op
job runs; the tests hold the two to the same results.

No Dagster and no files here. Each function takes and returns a `pyarrow.Table`.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ventas.errors import UserError


def clean_sales(ventas: pa.Table) -> pa.Table:
    """Drop rows with any missing field and add `total = precio * cantidad`."""
    limpias = ventas.drop_null()
    cantidad = limpias["cantidad"]
    fraccionarias = pc.not_equal(pc.floor(cantidad), cantidad)
    if pc.any(fraccionarias).as_py():
        raise UserError(
            f"cantidad must be a whole number; found {cantidad.filter(fraccionarias)[0]}. Correct "
            "the quantities in the sales file (the check cantidad_entera_positiva lists every "
            "such row)."
        )
    enteras = pc.cast(cantidad, pa.int64())
    return limpias.set_column(
        limpias.schema.get_field_index("cantidad"), "cantidad", enteras
    ).append_column("total", pc.multiply(limpias["precio"], pc.cast(enteras, pa.float64())))


# The summaries are sums (a count is a sum of ones), so applying one to its own partial
# results gives the same answer as applying it to all rows: the assets compute them batch by
# batch. Text keys are grouped as plain text: each batch of a parquet file read as
# dictionaries has its own dictionary.


def _sums(ventas: pa.Table, keys: list[str], columns: list[str]) -> pa.Table:
    plain = ventas.select([*keys, *columns])
    for key in keys:
        if pa.types.is_dictionary(plain.schema.field(key).type):
            index = plain.schema.get_field_index(key)
            plain = plain.set_column(index, key, pc.cast(plain[key], pa.string()))
    summed = plain.group_by(keys).aggregate([(column, "sum") for column in columns])
    return pa.table({**{k: summed[k] for k in keys}, **{c: summed[f"{c}_sum"] for c in columns}})


def total_by_category(ventas: pa.Table) -> pa.Table:
    """Sum `total` per `categoria`, one row per category, sorted by category."""
    return _sums(ventas, ["categoria"], ["total"]).sort_by("categoria")


def total_by_product(ventas: pa.Table) -> pa.Table:
    """Units sold (`cantidad`) and `total` per product, best-selling first."""
    return _sums(ventas, ["categoria", "producto"], ["cantidad", "total"]).sort_by(
        [("total", "descending")]
    )


def total_by_day(ventas: pa.Table) -> pa.Table:
    """Number of sales (`ventas`), units and `total` per `fecha`, oldest first."""
    if "ventas" not in ventas.column_names:  # individual sales rather than partial sums
        ventas = ventas.append_column("ventas", pa.repeat(1, len(ventas)))
    return _sums(ventas, ["fecha"], ["ventas", "cantidad", "total"]).sort_by("fecha")
