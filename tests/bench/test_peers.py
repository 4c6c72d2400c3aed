"""procesar_ventas and the benchmark's peers (bench/peers/) do the same work: each one's
outputs, on a generated file of 20,000 sales of the realistic mix with empty fields, equal an
independent pandas computation, row for row; and on the benchmark's own file of 10M sales,
the job's equal the DuckDB script's, the one its speed is measured against."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench import generate_ventas
from bench.peers import PEERS
from tests.e2e.compose_stack import REPO
from tests.sales import tutorial_results

TUTORIAL = "pandas (tutorial)"
OUTPUTS = [
    "ventas_raw",
    "ventas_procesadas",
    "ventas_por_categoria",
    "ventas_por_producto",
    "ventas_por_dia",
]


@pytest.fixture(scope="module")
def sales(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("peers") / "ventas.csv"
    with path.open("wb") as out:
        generate_ventas.generate(20_000, out, seed=3, null_share=0.02)
    return path


@pytest.fixture(scope="module")
def expected(sales: Path) -> dict[str, pd.DataFrame]:
    return tutorial_results(sales)


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Values only: dates as text, numbers as floats, text as Python strings or None."""
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if name == "fecha":
            columns[name] = pd.to_datetime(values).dt.strftime("%Y-%m-%d").astype(object)
        elif pd.api.types.is_numeric_dtype(values):
            columns[name] = values.astype("float64")
        else:
            columns[name] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(columns)


def test_the_sample_has_incomplete_rows(expected):
    raw, clean = expected["ventas_raw"], expected["ventas_procesadas"]
    assert len(raw) == 20_000 and 200 < len(raw) - len(clean) < 800


@pytest.mark.parametrize("peer", list(PEERS))
def test_a_peer_writes_what_procesar_ventas_writes(peer, sales, expected, tmp_path):
    subprocess.run(
        [sys.executable, str(PEERS[peer]), str(sales), str(tmp_path)], check=True, timeout=120
    )

    written = {path.stem for path in tmp_path.glob("*.parquet")}
    wanted = ["ventas_procesadas", "ventas_por_categoria"] if peer == TUTORIAL else OUTPUTS
    assert written == set(wanted)
    assert_outputs_equal(tmp_path, wanted, expected)
    if peer != TUTORIAL:  # typed as the job types them
        schema = pq.read_schema(tmp_path / "ventas_raw.parquet")
        assert pa.types.is_date(schema.field("fecha").type)
        assert pa.types.is_integer(schema.field("usuario_id").type)
        assert pa.types.is_floating(schema.field("precio").type)


def assert_outputs_equal(out: Path, names: list[str], expected: dict[str, pd.DataFrame]) -> None:
    for name in names:
        got = pd.read_parquet(out / f"{name}.parquet").reset_index(drop=True)
        want = expected[name]  # (the tutorial's fecha is text: compared as a date here)
        assert list(got.columns) == list(want.columns), name
        pd.testing.assert_frame_equal(
            comparable(got), comparable(want), check_exact=False, rtol=1e-9, obj=name
        )


def test_procesar_ventas_writes_what_pandas_computes(sales, expected, tmp_path):
    """The job as the benchmark runs it: a fresh process, its definitions, the data directory
    holding the generated file."""
    shutil.copy(sales, tmp_path / "ventas.csv")
    run_job(tmp_path)
    assert_outputs_equal(tmp_path / "output", OUTPUTS, expected)


def run_job(data_dir: Path) -> None:
    run = (
        "from ventas.definitions import defs\n"
        "assert defs().resolve_job_def('procesar_ventas').execute_in_process().success"
    )
    subprocess.run(
        [sys.executable, "-c", run],
        check=True,
        timeout=600,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "VENTAS_DATA_DIR": str(data_dir)},
    )


def test_on_the_benchmarks_10m_sales_the_job_writes_what_the_duckdb_script_writes(tmp_path):
    with (tmp_path / "ventas.csv").open("wb") as out:
        generate_ventas.generate(10_000_000, out)  # the benchmark's file: its defaults
    run_job(tmp_path)
    peer = tmp_path / "duckdb"
    peer.mkdir()
    subprocess.run(
        [sys.executable, str(PEERS["duckdb"]), str(tmp_path / "ventas.csv"), str(peer)],
        check=True,
        timeout=600,
    )
    for name in ("ventas_raw", "ventas_procesadas"):  # every row, in the file's order
        got, want = (values(d / f"{name}.parquet") for d in (tmp_path / "output", peer))
        assert got.num_rows == want.num_rows > 9_000_000, name
        assert got.equals(want), name
    for name, keys in {
        "ventas_por_categoria": ["categoria"],
        "ventas_por_producto": ["categoria", "producto"],
        "ventas_por_dia": ["fecha"],
    }.items():
        got, want = (
            values(d / f"{name}.parquet").to_pandas().sort_values(keys, ignore_index=True)
            for d in (tmp_path / "output", peer)
        )
        assert list(got.columns) == list(want.columns), name
        assert got[keys].equals(want[keys]), name
        # Sums of the same floats in another order: equal to the last few bits.
        numbers = [c for c in got.columns if c not in keys]
        assert np.allclose(got[numbers], want[numbers], rtol=1e-12, atol=0), name


def values(path: Path) -> pa.Table:
    """A parquet file's values in one typing: text as plain strings, dates as dates, numbers
    as doubles, whichever way its writer typed them."""
    table = pq.read_table(path)
    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_dictionary(kind):
            column, kind = column.cast(kind.value_type), kind.value_type
        if pa.types.is_large_string(kind) or pa.types.is_string(kind):
            column = column.cast(pa.string())
        elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            column = column.cast(pa.date32())
        else:
            column = column.cast(pa.float64())
        columns.append(column)
    return pa.table(columns, names=table.column_names)
