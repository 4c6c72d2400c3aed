import pandas as pd
import pytest

from ventas.transforms import clean_sales, total_by_category


def sales(rows):
    return pd.DataFrame(rows, columns=["fecha", "producto", "categoria", "precio", "cantidad",
                                       "usuario_id"])


def test_clean_sales_drops_incomplete_rows_and_adds_total():
    raw = sales([
        ["2024-01-01", "Café molido", "Alimentación", 4.5, 2, 1],
        ["2024-01-01", "Tableta", None, 300.0, 1, 2],
        ["2024-01-02", "Bufanda de lana", "Ropa", None, 1, 3],
        ["2024-01-03", "Portátil", "Electrónica", 900.0, 3, 4],
    ])
    clean = clean_sales(raw)
    assert clean["producto"].tolist() == ["Café molido", "Portátil"]
    assert clean["total"].tolist() == [9.0, 2700.0]
    assert "total" not in raw.columns  # the input is left alone


def test_total_by_category_sums_each_category_once():
    clean = clean_sales(sales([
        ["2024-01-01", "Café molido", "Alimentación", 4.5, 2, 1],
        ["2024-01-02", "Queso manchego", "Alimentación", 12.0, 1, 2],
        ["2024-01-03", "Portátil", "Electrónica", 900.0, 1, 3],
    ]))
    result = total_by_category(clean)
    assert result.to_dict("records") == [
        {"categoria": "Alimentación", "total": pytest.approx(21.0)},
        {"categoria": "Electrónica", "total": pytest.approx(900.0)},
    ]
