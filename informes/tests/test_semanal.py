"""The weekly report, materialized from a ventas_por_dia file as the ventas location writes it,
against an independent pandas computation."""

from datetime import date, timedelta

import dagster as dg
import pandas as pd
import pytest

import informes.definitions


@pytest.fixture
def defs(tmp_path, monkeypatch) -> dg.Definitions:
    monkeypatch.setenv("VENTAS_DATA_DIR", str(tmp_path))
    return informes.definitions.defs()


def ventas_por_dia(tmp_path) -> pd.DataFrame:
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(40)]  # from a Monday
    frame = pd.DataFrame(
        {
            "fecha": pd.to_datetime(days),
            "ventas": range(1, 41),
            "cantidad": [2 * n for n in range(1, 41)],
            "total": [10.5 * n for n in range(1, 41)],
        }
    )
    (tmp_path / "output").mkdir()
    frame.to_parquet(tmp_path / "output" / "ventas_por_dia.parquet", index=False)
    return frame


def test_the_weekly_report_sums_each_week_of_ventas_por_dia(defs, tmp_path):
    daily = ventas_por_dia(tmp_path)
    result = defs.resolve_job_def("informe_semanal").execute_in_process()
    assert result.success

    report = pd.read_parquet(tmp_path / "output" / "informes" / "resumen_semanal.parquet")
    weeks = daily.assign(semana=daily["fecha"].dt.to_period("W-SUN").dt.start_time)
    expected = weeks.groupby("semana", as_index=False)[["ventas", "cantidad", "total"]].sum()
    assert report["semana"].astype(str).tolist() == expected["semana"].dt.date.astype(str).tolist()
    assert report["ventas"].tolist() == expected["ventas"].tolist()
    assert report["total"].tolist() == pytest.approx(expected["total"].tolist())
    (materialization,) = result.asset_materializations_for_node("resumen_semanal")
    assert materialization.metadata["dagster/row_count"].value == len(expected) == 6


def test_without_ventas_por_dia_the_report_says_what_to_run_first(defs, tmp_path):
    result = defs.resolve_job_def("informe_semanal").execute_in_process(raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    first_line = failure.step_failure_data.error.message.splitlines()[0]
    assert first_line.startswith("FileNotFoundError: ") and "ventas_por_dia first" in first_line


def test_the_report_depends_on_the_ventas_locations_asset(defs):
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey("resumen_semanal")).parent_keys
    assert parents == {dg.AssetKey("ventas_por_dia")}
