"""procesar_ventas's work with pyarrow: the CSV read whole (multi-threaded), typed; the raw and
clean tables and the three summaries written to parquet.

    python bench/peers/peer_pyarrow.py ventas.csv OUTPUT_DIR
"""

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv
import pyarrow.parquet as pq

source, out = sys.argv[1], Path(sys.argv[2])
types = {
    "fecha": pa.date32(),
    "producto": pa.string(),
    "categoria": pa.string(),
    "precio": pa.float64(),
    "cantidad": pa.int64(),
    "usuario_id": pa.int64(),
}
raw = csv.read_csv(
    source, convert_options=csv.ConvertOptions(column_types=types, strings_can_be_null=True)
)
pq.write_table(raw, out / "ventas_raw.parquet")

clean = raw.drop_null()
clean = clean.append_column("total", pc.multiply(clean["precio"], clean["cantidad"]))
pq.write_table(clean, out / "ventas_procesadas.parquet")

por_categoria = (
    clean.group_by("categoria").aggregate([("total", "sum")]).rename_columns(["categoria", "total"])
)
pq.write_table(por_categoria.sort_by("categoria"), out / "ventas_por_categoria.parquet")

por_producto = clean.group_by(["categoria", "producto"]).aggregate(
    [("cantidad", "sum"), ("total", "sum")]
)
por_producto = por_producto.select(["categoria", "producto", "cantidad_sum", "total_sum"])
por_producto = por_producto.rename_columns(["categoria", "producto", "cantidad", "total"])
pq.write_table(por_producto.sort_by([("total", "descending")]), out / "ventas_por_producto.parquet")

por_dia = clean.group_by("fecha").aggregate(
    [("fecha", "count"), ("cantidad", "sum"), ("total", "sum")]
)
por_dia = por_dia.select(["fecha", "fecha_count", "cantidad_sum", "total_sum"])
por_dia = por_dia.rename_columns(["fecha", "ventas", "cantidad", "total"])
pq.write_table(por_dia.sort_by("fecha"), out / "ventas_por_dia.parquet")
