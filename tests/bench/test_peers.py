"""procesar_ventas and the benchmark's peers (bench/peers/) do the same work: each one's
outputs, on a generated file of 20,000 sales of the realistic mix with empty fields, equal an
independent pandas computation, row for row."""

import shutil
import subprocess
import sys
from pathlib import Path

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
    run = (
        "from ventas.definitions import defs\n"
        "assert defs().resolve_job_def('procesar_ventas').execute_in_process().success"
    )
    subprocess.run(
        [sys.executable, "-c", run],
        check=True,
        timeout=300,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "VENTAS_DATA_DIR": str(tmp_path)},
    )
    assert_outputs_equal(tmp_path / "output", OUTPUTS, expected)
