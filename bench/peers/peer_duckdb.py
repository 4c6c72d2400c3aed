"""procesar_ventas's work with DuckDB: COPY the CSV, typed, to the raw table's parquet file;
COPY from it the clean table; COPY from that the three summaries.

    python bench/peers/peer_duckdb.py ventas.csv OUTPUT_DIR
"""

import sys
from pathlib import Path

import duckdb

source, out = sys.argv[1], Path(sys.argv[2])
raw, clean = out / "ventas_raw.parquet", out / "ventas_procesadas.parquet"
columns = (
    "{'fecha': 'DATE', 'producto': 'VARCHAR', 'categoria': 'VARCHAR', "
    "'precio': 'DOUBLE', 'cantidad': 'BIGINT', 'usuario_id': 'BIGINT'}"
)
con = duckdb.connect()
con.execute(
    f"COPY (FROM read_csv('{source}', header = true, columns = {columns})) TO '{raw}' "
    "(FORMAT parquet)"
)
con.execute(
    f"COPY (SELECT *, precio * cantidad AS total FROM '{raw}' WHERE COLUMNS(*) IS NOT NULL) "
    f"TO '{clean}' (FORMAT parquet)"
)
summaries = {
    "ventas_por_categoria": "SELECT categoria, sum(total) AS total FROM clean "
    "GROUP BY categoria ORDER BY categoria",
    "ventas_por_producto": "SELECT categoria, producto, sum(cantidad) AS cantidad, "
    "sum(total) AS total FROM clean GROUP BY categoria, producto ORDER BY total DESC",
    "ventas_por_dia": "SELECT fecha, count(*) AS ventas, sum(cantidad) AS cantidad, "
    "sum(total) AS total FROM clean GROUP BY fecha ORDER BY fecha",
}
con.execute(f"CREATE VIEW clean AS FROM '{clean}'")
for name, query in summaries.items():
    con.execute(f"COPY ({query}) TO '{out / name}.parquet' (FORMAT parquet)")
