"""The same work as procesar_ventas, as one short script per library: the benchmark's peers.

Each is a standalone program, `python bench/peers/<peer>.py SALES.csv OUTPUT_DIR`, writing
to OUTPUT_DIR what the job writes to data/output/ (the tutorial's pandas code writes less).
"""

from pathlib import Path

HERE = Path(__file__).parent
# name -> script; the order in which the benchmark runs them.
PEERS = {
    "pyarrow": HERE / "peer_pyarrow.py",
    "polars": HERE / "peer_polars.py",
    "duckdb": HERE / "peer_duckdb.py",
    "pandas (tutorial)": HERE / "peer_pandas_tutorial.py",
}
