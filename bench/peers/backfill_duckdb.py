"""ventas_diarias's backfill of 2024 with DuckDB: the year's sales from ventas_procesadas, one
parquet file per day (COPY ... PARTITION_BY). Not one of PEERS: it does the backfill's work,
not procesar_ventas's.

    python bench/peers/backfill_duckdb.py ventas_procesadas.parquet OUTPUT_DIR
"""

import sys

import duckdb

source, out = sys.argv[1], sys.argv[2]
duckdb.connect().execute(
    f"COPY (FROM '{source}' WHERE fecha BETWEEN DATE '2024-01-01' AND DATE '2024-12-31') "
    f"TO '{out}/ventas_diarias' (FORMAT parquet, PARTITION_BY (fecha))"
)
