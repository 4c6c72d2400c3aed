"""procesar_ventas's work with polars: one lazy query plan, run by the streaming engine, with
the CSV scanned once for the raw and clean tables and the three summaries.

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
raw = pl.scan_csv(source, schema=schema)
clean = raw.drop_nulls().with_columns(total=pl.col("precio") * pl.col("cantidad"))
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
pl.collect_all(
    [
        raw.sink_parquet(out / "ventas_raw.parquet", lazy=True),
        clean.sink_parquet(out / "ventas_procesadas.parquet", lazy=True),
        por_categoria.sink_parquet(out / "ventas_por_categoria.parquet", lazy=True),
        por_producto.sink_parquet(out / "ventas_por_producto.parquet", lazy=True),
        por_dia.sink_parquet(out / "ventas_por_dia.parquet", lazy=True),
    ],
    engine="streaming",
)
