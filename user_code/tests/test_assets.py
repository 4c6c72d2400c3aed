"""Every asset materialized with its real I/O manager into a temporary data directory."""

import re

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.sales import HEADER, tutorial_results
from ventas import tables


def materialize(defs, resources, selection=None, **kwargs):
    """What the UI's Materialize button does: the selected assets (by default every
    unpartitioned one) with their checks."""
    assets = defs.assets if selection else [a for a in defs.assets if a.partitions_def is None]
    return dg.materialize(
        [*assets, *defs.asset_checks], resources=resources, selection=selection, **kwargs
    )


def metadata(result, asset: str) -> dict:
    (event,) = result.asset_materializations_for_node(asset)
    return event.metadata


def expected_clean(data_dir) -> pd.DataFrame:
    return tutorial_results(data_dir / "ventas.csv")["ventas_procesadas"]


def test_the_whole_graph_materializes_with_the_tutorials_results(defs, data_dir, resources):
    result = materialize(defs, resources)
    assert result.success

    out = data_dir / "output"
    clean = expected_clean(data_dir)
    procesadas = pd.read_parquet(out / "ventas_procesadas.parquet")
    assert len(procesadas) == len(clean) < len(pd.read_csv(data_dir / "ventas.csv"))
    assert not procesadas.isna().any(axis=None)
    assert procesadas["total"].sum() == pytest.approx(clean["total"].sum())

    por_categoria = pd.read_parquet(out / "ventas_por_categoria.parquet")
    expected = clean.groupby("categoria")["total"].sum().sort_index()
    assert por_categoria["categoria"].astype(str).tolist() == expected.index.tolist()
    assert por_categoria["total"].tolist() == pytest.approx(expected.tolist())

    por_producto = pd.read_parquet(out / "ventas_por_producto.parquet")
    assert por_producto["cantidad"].sum() == clean["cantidad"].sum()
    assert por_producto["total"].is_monotonic_decreasing
    por_dia = pd.read_parquet(out / "ventas_por_dia.parquet")
    assert por_dia["ventas"].sum() == len(clean) and por_dia["fecha"].is_monotonic_increasing

    completas = pd.read_parquet(out / "ventas_completas.parquet")
    assert len(completas) == len(clean) and completas["nombre"].notna().all()
    assert {"nombre", "ciudad", "segmento"} <= set(completas.columns)


def test_materializations_carry_what_a_user_wants_to_see(defs, data_dir, resources):
    result = materialize(defs, resources)
    procesadas = metadata(result, "ventas_procesadas")
    assert procesadas["dagster/row_count"].value > 0
    assert [c.name for c in procesadas["dagster/column_schema"].value.columns] == [
        "fecha",
        "producto",
        "categoria",
        "precio",
        "cantidad",
        "usuario_id",
        "total",
    ]
    assert "| fecha" in procesadas["preview"].value
    assert procesadas["path"].value.endswith("output/ventas_procesadas.parquet")

    expected = expected_clean(data_dir).groupby("categoria")["total"].sum()
    por_categoria = metadata(result, "ventas_por_categoria")
    assert "Electrónica" in por_categoria["totales"].value
    assert por_categoria["total Electrónica"].value == pytest.approx(expected["Electrónica"])
    assert por_categoria["total"].value == pytest.approx(expected.sum())


def test_the_checks_pass_on_the_sample(defs, data_dir, resources):
    result = materialize(defs, resources)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {
        "columnas_requeridas",
        "precio_no_negativo",
        "cantidad_entera_positiva",
        "proporcion_de_nulos",
    }
    assert all(e.passed for e in evaluations.values())
    empty_shares = pd.read_csv(data_dir / "ventas.csv").isna().mean()
    worst = evaluations["proporcion_de_nulos"].metadata
    assert worst["worst share"].value == pytest.approx(empty_shares.max())
    assert 0 < empty_shares.max() <= 0.05
    assert worst["worst column"].value == empty_shares.idxmax()


def logged(instance, result) -> str:
    return "\n".join(entry.user_message for entry in instance.all_logs(result.run_id))


def write_sales(data_dir, rows: list[str]) -> None:
    (data_dir / "ventas.csv").write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")


def checks_of(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_negative_price_fails_its_check_and_stops_the_totals(defs, data_dir, resources):
    write_sales(
        data_dir, ["2024-01-01,Café,Alimentación,4.5,2,1", "2024-01-02,Café,Alimentación,-4.5,2,1"]
    )
    result = materialize(defs, resources, raise_on_error=False)
    check = checks_of(result)["precio_no_negativo"]
    assert not check.passed and check.metadata["negative prices"].value == 1
    # line 3 of ventas.csv, the second sale
    assert re.search(r"\|\s+3 \|\s+-4.5 \|", check.metadata["first rows"].value)
    assert not result.success
    assert not (data_dir / "output" / "ventas_procesadas.parquet").exists()


def test_a_checks_lines_count_blank_lines_and_values_on_several_lines(defs, data_dir, resources):
    write_sales(
        data_dir,
        [
            '2024-01-01,"Café\nmolido",Alimentación,4.5,2,1',
            "",
            "2024-01-02,Café,Alimentación,-4.5,2,1",
        ],
    )
    result = materialize(defs, resources, raise_on_error=False)
    check = checks_of(result)["precio_no_negativo"]
    # header, a sale on lines 2 and 3, a blank line 4: the negative price is on line 5
    assert re.search(r"\|\s+5 \|\s+-4.5 \|", check.metadata["first rows"].value)


def test_a_fractional_or_zero_quantity_fails_its_check(defs, data_dir, resources):
    write_sales(
        data_dir,
        [
            "2024-01-01,Café,Alimentación,4.5,2.5,1",
            "2024-01-02,Café,Alimentación,4.5,0,1",
            "2024-01-03,Café,Alimentación,4.5,,1",
        ],
    )
    result = materialize(defs, resources, raise_on_error=False)
    check = checks_of(result)["cantidad_entera_positiva"]
    assert not check.passed and check.metadata["bad quantities"].value == 2


def test_the_checks_find_bad_rows_in_every_row_group(defs, data_dir, resources, monkeypatch):
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 2)  # ventas_raw in groups of two sales
    sales = [f"2024-01-0{day},Café,Alimentación,4.5,2,1" for day in range(1, 8)]
    sales[2] = "2024-01-03,Café,Alimentación,-1.5,2,1"
    sales[6] = "2024-01-07,Café,Alimentación,-4.5,0,1"
    write_sales(data_dir, sales)
    result = materialize(defs, resources, raise_on_error=False)
    assert pq.read_metadata(data_dir / "output" / "ventas_raw.parquet").num_row_groups == 4
    precio = checks_of(result)["precio_no_negativo"].metadata
    assert precio["negative prices"].value == 2 and precio["lowest price"].value == -4.5
    # lines 4 and 8 of ventas.csv, in the second and the fourth row group
    assert re.findall(r"\|\s+(\d+) \|\s+(-[\d.]+) \|", precio["first rows"].value) == [
        ("4", "-1.5"),
        ("8", "-4.5"),
    ]
    cantidad = checks_of(result)["cantidad_entera_positiva"].metadata
    assert cantidad["bad quantities"].value == 1 and "|      8 |" in cantidad["first rows"].value


def test_the_checks_hold_a_batch_of_a_column_not_the_column(data_dir, arrow_peak):
    rows = 2_000_000
    raw = pa.table(
        {
            "precio": pa.array([float(i % 100) for i in range(rows)]),
            "cantidad": pa.array([float(i % 20 + 1) for i in range(rows)]),
        }
    )
    pq.write_table(raw, data_dir / "raw.parquet", row_group_size=100_000)
    column_bytes = raw.column("precio").nbytes
    for check in ("precio_no_negativo", "cantidad_entera_positiva"):
        passed, peak = arrow_peak(
            f"""
            from pathlib import Path
            from locationkit.data import DataDirectory
            from ventas.defs.ventas.checks import {check}
            from ventas.tables import Table
            table = Table(Path({str(data_dir / "raw.parquet")!r}))
            result = {check}(table, DataDirectory(path={str(data_dir)!r})).passed
            """
        )
        assert passed
        assert 0 < peak < column_bytes / 4, check


def test_one_check_runs_on_its_own_as_the_uis_execute_button_runs_it(defs, data_dir, resources):
    assert materialize(defs, resources, selection=[dg.AssetKey("ventas_raw")]).success
    only = dg.AssetCheckKey(dg.AssetKey("ventas_raw"), "precio_no_negativo")
    result = materialize(defs, resources, selection=dg.AssetSelection.checks(only))
    assert set(checks_of(result)) == {"precio_no_negativo"}
    assert not result.asset_materializations_for_node("ventas_raw")


def test_many_empty_fields_only_warn(defs, data_dir, resources):
    write_sales(data_dir, ["2024-01-01,Café,Alimentación,4.5,2,1", "2024-01-02,Café,,4.5,2,1"])
    result = materialize(defs, resources)
    check = checks_of(result)["proporcion_de_nulos"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["worst column"].value == "categoria"
    assert result.success  # a warning does not stop the pipeline


BAD_INPUTS = {
    "missing": (None, "does not exist"),
    "empty": ("", "is empty"),
    "missing columns": ("fecha,producto,precio\n2024-01-01,Café,4.5\n", "lacks the column(s)"),
    "non-numeric": (
        HEADER + "2024-01-01,Café,Alimentación,cuatro,2,1\n",
        "line 2: 'cuatro'",
    ),
    "not UTF-8 mid-file": (
        (HEADER + "2024-01-01,Café,Alimentación,4.5,2,1\n" * 3000).encode()
        + "2024-01-01,Té,Alimentación,1,1,1\n".encode("cp1252"),
        "is not valid UTF-8: line 3002",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_sales_file_fails_the_run_with_a_clear_message_and_keeps_the_last_output(
    defs, case, data_dir, resources
):
    assert materialize(defs, resources, selection=["ventas_raw"]).success
    output = data_dir / "output" / "ventas_raw.parquet"
    good = output.read_bytes()

    content, expected = BAD_INPUTS[case]
    target = data_dir / "ventas.csv"
    if content is None:
        target.unlink()
    else:
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = materialize(defs, resources, selection=["ventas_raw"], raise_on_error=False)

    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    first_line = failure.step_failure_data.error.message.splitlines()[0]
    assert first_line.startswith(f"InputFileError: {target}") and expected in first_line
    assert output.read_bytes() == good
    assert [p.name for p in output.parent.iterdir()] == ["ventas_raw.parquet"]


def test_a_latin1_file_is_read_with_a_warning_in_the_log(defs, data_dir, resources):
    (data_dir / "ventas.csv").write_bytes(
        (HEADER + "2024-01-01,Turrón,Alimentación,7.25,1,1\n").encode("cp1252")
    )
    with dg.instance_for_test() as instance:
        result = materialize(defs, resources, selection=["ventas_raw"], instance=instance)
        assert result.success
        assert "not UTF-8; read it as Windows-1252" in logged(instance, result)
    raw = pd.read_parquet(data_dir / "output" / "ventas_raw.parquet")
    assert raw.loc[0, "producto"] == "Turrón"


def test_one_daily_partition_holds_exactly_that_days_sales(defs, data_dir, resources):
    assert materialize(defs, resources, selection=["ventas_procesadas", "ventas_raw"]).success
    result = materialize(defs, resources, selection=["ventas_diarias"], partition_key="2024-03-15")
    assert result.success
    day = pd.read_parquet(data_dir / "output" / "ventas_diarias" / "2024-03-15.parquet")
    clean = expected_clean(data_dir)
    assert len(day) == (clean["fecha"] == "2024-03-15").sum() > 0
    assert (day["fecha"] == pd.Timestamp("2024-03-15")).all()
    shown = metadata(result, "ventas_diarias")
    assert shown["dagster/row_count"].value == len(day)
    assert shown["path"].value.endswith("output/ventas_diarias/2024-03-15.parquet")
    assert "| fecha" in shown["preview"].value


def test_a_backfill_run_of_several_days_writes_one_file_per_day(defs, data_dir, resources):
    assert materialize(defs, resources, selection=["ventas_procesadas", "ventas_raw"]).success
    result = materialize(
        defs,
        resources,
        selection=["ventas_diarias"],
        tags={
            "dagster/asset_partition_range_start": "2024-03-01",
            "dagster/asset_partition_range_end": "2024-03-05",
        },
    )
    assert result.success
    files = sorted(p.name for p in (data_dir / "output" / "ventas_diarias").iterdir())
    assert files == [f"2024-03-0{d}.parquet" for d in range(1, 6)]
    shown = result.asset_materializations_for_node("ventas_diarias")[0].metadata
    assert (
        shown["rows in this run"].value
        == expected_clean(data_dir)["fecha"].between("2024-03-01", "2024-03-05").sum()
        > 0
    )
    assert "total" in [c.name for c in shown["dagster/column_schema"].value.columns]
    assert "| fecha" in shown["preview"].value and shown["partitions in this run"].value == 5


def test_the_op_job_logs_the_summary_per_category(defs, data_dir, resources):
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("informe_ventas").execute_in_process(
            resources=resources, instance=instance
        )
        assert result.success
        assert "Sales per category:\n| categoria" in logged(instance, result)
    resumen = result.output_for_node("resumir_por_categoria")
    assert resumen["total"].sum() == pytest.approx(expected_clean(data_dir)["total"].sum())


SHAPES = {
    "a header and no sale": [],
    "every sale incomplete": ["2024-01-01,Café,,4.5,2,1", "2024-01-02,,Hogar,3,1,2"],
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_file_with_no_complete_sale_gives_zero_totals_with_a_warning(
    defs, shape, data_dir, resources
):
    write_sales(data_dir, SHAPES[shape])
    with dg.instance_for_test() as instance:
        result = materialize(defs, resources, instance=instance)
        assert result.success
        assert "ventas_procesadas is empty" in logged(instance, result)
    checks = checks_of(result)
    assert all(
        checks[name].passed
        for name in ("columnas_requeridas", "precio_no_negativo", "cantidad_entera_positiva")
    )
    assert checks["proporcion_de_nulos"].passed == (not SHAPES[shape])
    for name in (
        "ventas_procesadas",
        "ventas_por_categoria",
        "ventas_por_producto",
        "ventas_por_dia",
        "ventas_completas",
    ):
        assert pd.read_parquet(data_dir / "output" / f"{name}.parquet").empty, name
    assert metadata(result, "ventas_por_categoria")["total"].value == 0
