"""The tutorial's pandas code, as the tutorial writes it: read the CSV, drop incomplete rows,
add the total, write it to parquet, one groupby per categoria.

    python bench/peers/peer_pandas_tutorial.py ventas.csv OUTPUT_DIR

It does less than procesar_ventas: no typed raw table (fecha stays text), no per-product or
per-day summary; and it writes the DataFrame's index as a column.
"""

import sys
from pathlib import Path

import pandas as pd

source, out = sys.argv[1], Path(sys.argv[2])
df = pd.read_csv(source)
df = df.dropna()
df["total"] = df["precio"] * df["cantidad"]
df.to_parquet(out / "ventas_procesadas.parquet")

resumen = df.groupby("categoria")["total"].sum().reset_index()
resumen.to_parquet(out / "ventas_por_categoria.parquet")
