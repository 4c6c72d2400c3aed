"""The weekly report, materialized from a ventas_por_dia file as the ventas location writes it,
against an independent pandas computation."""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

import informes.definitions


@pytest.fixture(params=["datos", "datos de O'Brien"])  # a quote in the path: no SQL breaks
def data_dir(request, tmp_path) -> Path:
    directory = tmp_path / request.param
    directory.mkdir()
    return directory


@pytest.fixture
def defs(data_dir, monkeypatch) -> dg.Definitions:
    monkeypatch.setenv("VENTAS_DATA_DIR", str(data_dir))
    return informes.definitions.defs()


def ventas_por_dia(data_dir: Path) -> pd.DataFrame:
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(40)]  # from a Monday
    frame = pd.DataFrame(
        {
            "fecha": pd.to_datetime(days),
            "ventas": range(1, 41),
            "cantidad": [2 * n for n in range(1, 41)],
            "total": [10.5 * n for n in range(1, 41)],
        }
    )
    (data_dir / "output").mkdir()
    frame.to_parquet(data_dir / "output" / "ventas_por_dia.parquet", index=False)
    return frame


def test_the_weekly_report_sums_each_week_of_ventas_por_dia(defs, data_dir):
    daily = ventas_por_dia(data_dir)
    result = defs.resolve_job_def("informe_semanal").execute_in_process()
    assert result.success

    report = pd.read_parquet(data_dir / "output" / "informes" / "resumen_semanal.parquet")
    weeks = daily.assign(semana=daily["fecha"].dt.to_period("W-SUN").dt.start_time)
    expected = weeks.groupby("semana", as_index=False)[["ventas", "cantidad", "total"]].sum()
    assert report["semana"].astype(str).tolist() == expected["semana"].dt.date.astype(str).tolist()
    assert report["ventas"].tolist() == expected["ventas"].tolist()
    assert report["total"].tolist() == pytest.approx(expected["total"].tolist())
    (materialization,) = result.asset_materializations_for_node("resumen_semanal")
    assert materialization.metadata["dagster/row_count"].value == len(expected) == 6
    assert [p.name for p in (data_dir / "output" / "informes").iterdir()] == [
        "resumen_semanal.parquet"
    ]


def test_without_ventas_por_dia_the_report_says_what_to_run_first(defs):
    result = defs.resolve_job_def("informe_semanal").execute_in_process(raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    first_line = failure.step_failure_data.error.message.splitlines()[0]
    assert first_line.startswith("FileNotFoundError: ") and "ventas_por_dia first" in first_line


def test_the_report_depends_on_the_ventas_locations_asset(defs):
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey("resumen_semanal")).parent_keys
    assert parents == {dg.AssetKey("ventas_por_dia")}
