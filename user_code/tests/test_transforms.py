import duckdb
import pandas as pd
import pytest

from ventas.transforms import (
    clean_sales,
    join_users,
    total_by_category,
    total_by_day,
    total_by_product,
)


def sales(rows):
    frame = pd.DataFrame(
        rows, columns=["fecha", "producto", "categoria", "precio", "cantidad", "usuario_id"]
    )
    return frame.assign(fecha=pd.to_datetime(frame["fecha"]))


SAMPLE = [
    ["2024-01-01", "Café molido", "Alimentación", 4.5, 2, 1],
    ["2024-01-01", "Queso manchego", "Alimentación", 12.0, 1, 2],
    ["2024-01-02", "Portátil", "Electrónica", 900.0, 1, 3],
    ["2024-01-02", "Café molido", "Alimentación", 4.5, 4, 1],
]


def test_clean_sales_drops_incomplete_rows_and_adds_total():
    raw = sales(
        [
            ["2024-01-01", "Café molido", "Alimentación", 4.5, 2.0, 1.0],
            ["2024-01-01", "Tableta", None, 300.0, 1.0, 2.0],
            ["2024-01-02", "Bufanda de lana", "Ropa", None, 1.0, 3.0],
            ["2024-01-03", "Portátil", "Electrónica", 900.0, 3.0, 4.0],
        ]
    )
    clean = clean_sales(raw)
    assert clean["producto"].tolist() == ["Café molido", "Portátil"]
    assert clean["total"].tolist() == [9.0, 2700.0]
    assert clean["cantidad"].dtype == "int64" and clean["usuario_id"].dtype == "int64"
    assert "total" not in raw.columns  # the input is left alone


def test_clean_sales_refuses_to_truncate_a_fractional_quantity():
    with pytest.raises(ValueError, match="whole number"):
        clean_sales(sales([["2024-01-01", "Café", "Alimentación", 4.5, 2.5, 1]]))


def summary(transform, ventas: pd.DataFrame) -> pd.DataFrame:
    return transform(duckdb.from_df(ventas)).df()


def test_total_by_category_sums_each_category_once_in_name_order():
    result = summary(total_by_category, clean_sales(sales(SAMPLE)))
    assert result.to_dict("records") == [
        {"categoria": "Alimentación", "total": pytest.approx(39.0)},
        {"categoria": "Electrónica", "total": pytest.approx(900.0)},
    ]


def test_total_by_product_puts_the_best_seller_first():
    result = summary(total_by_product, clean_sales(sales(SAMPLE)))
    assert result.iloc[0].to_dict() == {
        "categoria": "Electrónica",
        "producto": "Portátil",
        "cantidad": 1,
        "total": 900.0,
    }
    assert result.set_index("producto").loc["Café molido", "cantidad"] == 6
    assert result["cantidad"].dtype == "int64"


def test_total_by_product_breaks_ties_by_name():
    tied = [["2024-01-01", name, "Hogar", 5.0, 1, 1] for name in ("Vaso", "Jarra", "Plato")]
    result = summary(total_by_product, clean_sales(sales(tied)))
    assert result["producto"].tolist() == ["Jarra", "Plato", "Vaso"]


def test_total_by_day_counts_sales_and_sums_units_and_totals():
    result = summary(total_by_day, clean_sales(sales(SAMPLE)))
    assert result[["ventas", "cantidad", "total"]].values.tolist() == [[2, 3, 21.0], [2, 5, 918.0]]
    assert result["fecha"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]


def test_join_users_keeps_sales_of_unknown_customers():
    usuarios = pd.DataFrame(
        {
            "usuario_id": [1, 2],
            "nombre": ["Lucía", "Hugo"],
            "ciudad": ["Madrid", "Vigo"],
            "segmento": ["Particular", "Empresa"],
        }
    )
    joined = join_users(clean_sales(sales(SAMPLE)), usuarios)
    assert len(joined) == 4
    assert joined["nombre"].tolist()[:2] == ["Lucía", "Hugo"]
    assert joined["nombre"].isna().tolist() == [False, False, True, False]
