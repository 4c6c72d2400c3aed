"""procesar_ventas's work with polars' streaming engine: the CSV to the raw table, the raw
table to the clean one, the clean one to the three summaries, each a lazy query sunk to parquet.

    python bench/peers/peer_polars.py ventas.csv OUTPUT_DIR
"""

import sys
from pathlib import Path

import polars as pl

source, out = sys.argv[1], Path(sys.argv[2])
schema = {
    "fecha": pl.Date,
    "producto": pl.String,
    "categoria": pl.String,
    "precio": pl.Float64,
    "cantidad": pl.Int64,
    "usuario_id": pl.Int64,
}
pl.scan_csv(source, schema=schema).sink_parquet(out / "ventas_raw.parquet")

clean = pl.scan_parquet(out / "ventas_raw.parquet").drop_nulls()
clean = clean.with_columns(total=pl.col("precio") * pl.col("cantidad"))
clean.sink_parquet(out / "ventas_procesadas.parquet")

clean = pl.scan_parquet(out / "ventas_procesadas.parquet")
por_categoria = clean.group_by("categoria").agg(pl.col("total").sum()).sort("categoria")
por_producto = (
    clean.group_by("categoria", "producto")
    .agg(pl.col("cantidad", "total").sum())
    .sort("total", descending=True)
)
por_dia = (
    clean.group_by("fecha")
    .agg(pl.len().alias("ventas"), pl.col("cantidad", "total").sum())
    .sort("fecha")
)
pl.collect_all(  # one pass over the clean table for the three
    [
        por_categoria.sink_parquet(out / "ventas_por_categoria.parquet", lazy=True),
        por_producto.sink_parquet(out / "ventas_por_producto.parquet", lazy=True),
        por_dia.sink_parquet(out / "ventas_por_dia.parquet", lazy=True),
    ],
    engine="streaming",
)
