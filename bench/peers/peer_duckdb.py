"""procesar_ventas's work with DuckDB: the CSV loaded once into an in-memory table, typed;
the raw and clean tables and the three summaries written with COPY.

    python bench/peers/peer_duckdb.py ventas.csv OUTPUT_DIR
"""

import sys
from pathlib import Path

import duckdb

source, out = sys.argv[1], Path(sys.argv[2])
con = duckdb.connect()
con.execute(
    """
    CREATE TABLE raw AS FROM read_csv($source, header = true, columns = {
        'fecha': 'DATE', 'producto': 'VARCHAR', 'categoria': 'VARCHAR',
        'precio': 'DOUBLE', 'cantidad': 'BIGINT', 'usuario_id': 'BIGINT'
    })
    """,
    {"source": source},
)
con.execute(
    "CREATE TABLE clean AS SELECT *, precio * cantidad AS total FROM raw "
    "WHERE COLUMNS(*) IS NOT NULL"
)
outputs = {
    "ventas_raw": "FROM raw",
    "ventas_procesadas": "FROM clean",
    "ventas_por_categoria": "SELECT categoria, sum(total) AS total FROM clean "
    "GROUP BY categoria ORDER BY categoria",
    "ventas_por_producto": "SELECT categoria, producto, sum(cantidad) AS cantidad, "
    "sum(total) AS total FROM clean GROUP BY categoria, producto ORDER BY total DESC",
    "ventas_por_dia": "SELECT fecha, count(*) AS ventas, sum(cantidad) AS cantidad, "
    "sum(total) AS total FROM clean GROUP BY fecha ORDER BY fecha",
}
for name, query in outputs.items():
    con.execute(f"COPY ({query}) TO '{out / name}.parquet' (FORMAT parquet)")
