"""The sales files people really have: each either reads correctly or fails saying how to fix it."""

import codecs
import threading
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from tests.sales import HEADER
from ventas.csv import (
    AHEAD_BLOCKS,
    InputFileError,
    inspect_csv,
    line_numbers,
    normalize_name,
    read_csv,
    stream,
    stream_csv,
)
from ventas.schemas import VENTAS_COLUMNS

ROW = "2024-03-01,Café molido,Alimentación,4.60,2,17\n"


def write(tmp_path: Path, content: str | bytes, name: str = "ventas.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def read(path: Path) -> pd.DataFrame:
    return read_csv(path, VENTAS_COLUMNS)


def error_of(path: Path) -> str:
    with pytest.raises(InputFileError) as raised:
        read(path)
    return str(raised.value)


def test_a_plain_file_is_read_with_typed_columns(tmp_path):
    frame = read(write(tmp_path, HEADER + ROW))
    assert frame.to_dict("records") == [
        {
            "fecha": pd.Timestamp("2024-03-01").date(),
            "producto": "Café molido",
            "categoria": "Alimentación",
            "precio": 4.6,
            "cantidad": 2.0,
            "usuario_id": 17,
        }
    ]


def test_empty_fields_become_missing_values(tmp_path):
    frame = read(write(tmp_path, HEADER + "2024-03-01,,Hogar,,3,\n"))
    assert frame[["producto", "precio", "usuario_id"]].isna().all(axis=None)


def test_missing_file_names_the_path_and_the_setting(tmp_path):
    message = error_of(tmp_path / "ventas.csv")
    assert str(tmp_path / "ventas.csv") in message and "VENTAS_DATA_DIR" in message


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file_says_what_it_needs(tmp_path, content):
    message = error_of(write(tmp_path, content))
    assert "is empty" in message and "fecha,producto,categoria" in message


def test_header_without_records_is_an_empty_table(tmp_path):
    frame = read(write(tmp_path, HEADER))
    assert frame.empty and list(frame.columns) == list(VENTAS_COLUMNS)


def test_a_single_row_without_a_final_line_break_is_read(tmp_path):
    frame = read(write(tmp_path, HEADER + ROW.strip()))
    assert len(frame) == 1 and frame.loc[0, "usuario_id"] == 17


def test_rows_that_all_lack_a_value_are_read(tmp_path):
    frame = read(write(tmp_path, HEADER + "2024-03-01,Café,Hogar,,2,17\n" * 3))
    assert len(frame) == 3 and frame["precio"].isna().all()


def test_blank_lines_in_the_middle_and_at_the_end_are_skipped(tmp_path):
    frame = read(write(tmp_path, HEADER + ROW + "\n" + ROW + "\n\n\r\n"))
    assert len(frame) == 2


def test_crlf_line_endings_are_read(tmp_path):
    frame = read(write(tmp_path, (HEADER + ROW + ROW).replace("\n", "\r\n")))
    assert len(frame) == 2 and frame.loc[1, "usuario_id"] == 17


def test_quoted_values_keep_delimiters_quotes_and_line_breaks(tmp_path):
    content = HEADER + '2024-03-01,"Bolígrafos, azul ""BIC""","Papelería\r\ny oficina",3,1,3\n'
    frame = read(write(tmp_path, content))
    assert frame.loc[0, "producto"] == 'Bolígrafos, azul "BIC"'
    assert frame.loc[0, "categoria"] == "Papelería\r\ny oficina"


def test_values_with_line_breaks_read_across_blocks(tmp_path):
    rows = "".join(f'2024-03-01,"Café\nmolido, {i}",Hogar,4.6,1,{i}\n' for i in range(300))
    path = write(tmp_path, HEADER + rows)
    table = pa.concat_tables(
        stream_csv(path, VENTAS_COLUMNS, inspect_csv(path, VENTAS_COLUMNS), block_size=1000)
    )
    assert table["usuario_id"].to_pylist() == list(range(300))


def test_a_large_file_is_read_only_a_few_blocks_ahead_of_its_batches(tmp_path, monkeypatch):
    block = 16 * 1024
    path = write(tmp_path, HEADER + ROW * 60_000)  # 2.7 MB: 170 blocks
    ahead = []

    class Counted(stream._Paced):
        """The reader's source, counting at every read how far it is ahead of the batches."""

        def read(self, size: int = -1) -> bytes:
            data = super().read(size)
            ahead.append(self._read - self._taken)
            return data

    monkeypatch.setattr(stream, "_Paced", Counted)
    rows = 0
    for batch in stream_csv(
        path, VENTAS_COLUMNS, inspect_csv(path, VENTAS_COLUMNS), block_size=block
    ):
        time.sleep(0.002)  # slower than the reader, as writing parquet is
        rows += batch.num_rows
    assert rows == 60_000 and len(ahead) > 100
    # Unpaced, pyarrow reads up to 32 blocks ahead, whatever the file's size.
    assert max(ahead) <= (AHEAD_BLOCKS + 1) * block, max(ahead) / block


def test_a_large_utf16_file_is_read_without_waiting_on_itself(tmp_path):
    path = write(tmp_path, (HEADER + ROW * 40_000).replace(",", "\t").encode("utf-16"))
    fmt = inspect_csv(path, VENTAS_COLUMNS)
    tables: list[pa.Table] = []
    # 3.7 MB of UTF-16 in 16 KB blocks: a read that waited for batches that cannot come
    # until it is done would wait a second each time, minutes in all.
    reading = threading.Thread(
        target=lambda: tables.extend(stream_csv(path, VENTAS_COLUMNS, fmt, block_size=16 * 1024))
    )
    reading.start()
    reading.join(timeout=30)
    assert not reading.is_alive(), "the read is still waiting"
    assert pa.concat_tables(tables).num_rows == 40_000


def test_a_value_of_a_megabyte_is_read(tmp_path):
    frame = read(write(tmp_path, HEADER + f'2024-03-01,"{"x" * 2**20}",Hogar,1,1,1\n' + ROW))
    assert len(frame.loc[0, "producto"]) == 2**20 and len(frame) == 2


def test_a_record_longer_than_a_block_is_refused_with_its_line(tmp_path):
    path = write(tmp_path, HEADER + ROW + f'2024-03-01,"{"x" * 200_000}",Hogar,1,1,1\n' + ROW)
    with pytest.raises(InputFileError) as raised:
        list(
            stream_csv(
                path, VENTAS_COLUMNS, inspect_csv(path, VENTAS_COLUMNS), block_size=64 * 1024
            )
        )
    assert "line 3 starts a record of 0.2 MB" in str(raised.value)
    assert "shorten that value" in str(raised.value)


def test_day_first_dates_are_read(tmp_path):
    path = write(tmp_path, HEADER + "01/03/2026,Té,Hogar,3,1,3\n25/3/2026,Té,Hogar,3,1,3\n")
    frame = read(path)
    assert list(frame["fecha"]) == [date(2026, 3, 1), date(2026, 3, 25)]
    assert inspect_csv(path, VENTAS_COLUMNS).date_format == "DD/MM/YYYY"


def test_day_first_dates_with_dashes_and_decimal_commas_are_read(tmp_path):
    content = (
        "fecha;producto;categoria;precio;cantidad;usuario_id\n"
        "13-03-2026;Té;Hogar;4,60;1;3\n1-4-2026;Té;Hogar;1,25;1;3\n"
    )
    path = write(tmp_path, content)
    frame = read(path)
    assert list(frame["fecha"]) == [date(2026, 3, 13), date(2026, 4, 1)]
    assert list(frame["precio"]) == [4.6, 1.25]
    assert inspect_csv(path, VENTAS_COLUMNS).date_format == "DD-MM-YYYY"


def test_dates_that_fit_both_orders_are_read_day_first_with_a_note(tmp_path):
    path = write(tmp_path, HEADER + "01/03/2026,Té,Hogar,3,1,3\n2/3/2026,Té,Hogar,3,1,3\n")
    assert list(read(path)["fecha"]) == [date(2026, 3, 1), date(2026, 3, 2)]
    assert any(
        "read them day first, as DD/MM/YYYY" in note and "YYYY-MM-DD" in note
        for note in inspect_csv(path, VENTAS_COLUMNS).notes
    )


def test_month_first_dates_of_a_us_export_are_read_with_a_note(tmp_path):
    path = write(tmp_path, HEADER + "03/25/2026,Té,Hogar,3,1,3\n4/1/2026,Té,Hogar,3,1,3\n")
    assert list(read(path)["fecha"]) == [date(2026, 3, 25), date(2026, 4, 1)]
    fmt = inspect_csv(path, VENTAS_COLUMNS)
    assert fmt.date_format == "MM/DD/YYYY"
    assert any("month first" in note and "line 2: '03/25/2026'" in note for note in fmt.notes)


def test_the_whole_file_decides_the_order_when_its_first_lines_do_not(tmp_path):
    ambiguous = "01/03/2026,Té,Hogar,3,1,3\n" * 5000  # more than the sniffed head
    path = write(tmp_path, HEADER + ambiguous + "03/25/2026,Té,Hogar,3,1,3\n")
    assert inspect_csv(path, VENTAS_COLUMNS).date_format == "MM/DD/YYYY"
    assert read(path).loc[0, "fecha"] == date(2026, 1, 3)


@pytest.mark.parametrize("ambiguous", [0, 5000])  # both orders in the head, or further down
def test_dates_written_in_both_orders_are_refused_naming_both_lines(tmp_path, ambiguous):
    content = (
        HEADER
        + "01/03/2026,Té,Hogar,3,1,3\n" * ambiguous
        + "03/25/2026,Té,Hogar,3,1,3\n\n25/03/2026,Té,Hogar,3,1,3\n"
    )
    message = error_of(write(tmp_path, content))
    assert (
        f"column 'fecha' writes dates both day first (line {ambiguous + 4}: '25/03/2026') "
        f"and month first (line {ambiguous + 2}: '03/25/2026')"
    ) in message


def test_a_day_first_date_after_a_month_first_head_is_not_misread(tmp_path):
    content = (
        HEADER
        + "03/25/2026,Té,Hogar,3,1,3\n"
        + "01/03/2026,Té,Hogar,3,1,3\n" * 5000
        + "25/03/2026,Té,Hogar,3,1,3\n"
    )
    message = error_of(write(tmp_path, content))
    assert "are not dates written MM/DD/YYYY (line 5003: '25/03/2026')" in message


def test_an_impossible_day_first_date_names_the_line_and_the_form(tmp_path):
    message = error_of(
        write(tmp_path, HEADER + "01/02/2026,Té,Hogar,3,1,3\n31/02/2026,Té,Hogar,3,1,3\n")
    )
    assert "column 'fecha' are not dates written DD/MM/YYYY (line 3: '31/02/2026')" in message


def test_missing_columns_are_named_with_the_header_found(tmp_path):
    message = error_of(write(tmp_path, "fecha,producto,precio\n2024-03-01,Café,4.6\n"))
    assert "lacks the column(s) categoria, cantidad, usuario_id" in message
    assert "'fecha,producto,precio'" in message


def test_header_case_accents_spaces_and_order_do_not_matter(tmp_path):
    content = (
        " Cantidad ,PRODUCTO,Categoría,Precio,Fecha,Usuario ID,notas\n"
        "2,Café,Hogar,4.6,2024-03-01,17,x\n"
    )
    path = write(tmp_path, content)
    frame = read(path)
    assert list(frame.columns) == list(VENTAS_COLUMNS)
    assert frame.loc[0, "categoria"] == "Hogar" and frame.loc[0, "cantidad"] == 2
    assert any("notas" in note for note in inspect_csv(path, VENTAS_COLUMNS).notes)


def test_two_columns_meaning_the_same_are_refused(tmp_path):
    message = error_of(write(tmp_path, HEADER.strip() + ",Precio\n" + ROW.strip() + ",5\n"))
    assert "both mean 'precio'" in message


def test_non_numeric_values_are_listed_with_their_lines(tmp_path):
    content = (
        HEADER
        + ROW
        + "2024-03-02,Tableta,Electrónica,abc,1,3\n"
        + ROW * 3
        + "2024-03-05,Tableta,Electrónica,12.5,dos,3\n"
    )
    message = error_of(write(tmp_path, content))
    assert "column 'precio' are not numbers" in message and "line 3: 'abc'" in message
    assert "column 'cantidad' are not numbers" in message and "line 7: 'dos'" in message
    assert "empty those fields" in message


def test_a_bad_value_after_a_blank_line_names_its_line(tmp_path):
    message = error_of(write(tmp_path, HEADER + ROW + "\n" + "2024-03-02,Té,Hogar,abc,1,3\n"))
    assert "line 4: 'abc'" in message


def test_a_bad_value_after_a_value_on_two_lines_names_its_line(tmp_path):
    content = HEADER + '2024-03-01,"Café\nmolido",Hogar,3,1,3\n' + "2024-03-02,Té,Hogar,3,1,x\n"
    message = error_of(write(tmp_path, content))
    assert "column 'usuario_id' are not whole numbers (line 4: 'x')" in message


def test_a_value_pandas_would_take_but_pyarrow_does_not_is_named(tmp_path):
    message = error_of(write(tmp_path, HEADER + "2024-03-02,Té,Hogar,3,1,4.0\n"))
    assert "line 2: '4.0'" in message


def test_line_numbers_count_blank_lines_and_values_on_several_lines(tmp_path):
    content = HEADER + ROW + "\n" + '2024-03-01,"a\r\nb\nc",Hogar,3,1,3\r\n' + ROW + "\n\n" + ROW
    path = write(tmp_path, content)
    assert line_numbers(path, inspect_csv(path, VENTAS_COLUMNS), [3, 0, 2, 1, 9]) == {
        0: 2,
        1: 4,
        2: 7,
        3: 10,
    }


def test_an_impossible_date_is_reported_with_the_expected_form(tmp_path):
    message = error_of(write(tmp_path, HEADER + "2024-13-01,Tableta,Electrónica,3,1,3\n"))
    assert "not dates written YYYY-MM-DD" in message and "line 2: '2024-13-01'" in message


def test_a_fractional_user_id_is_not_a_whole_number(tmp_path):
    message = error_of(write(tmp_path, HEADER + "2024-03-01,Tableta,Electrónica,3,1,3.5\n"))
    assert "column 'usuario_id' are not whole numbers" in message


def test_windows_1252_file_is_read_and_noted(tmp_path):
    path = write(tmp_path, (HEADER + ROW).encode("cp1252"))
    frame = read(path)
    assert frame.loc[0, "producto"] == "Café molido"
    assert "Windows-1252" in inspect_csv(path, VENTAS_COLUMNS).notes[0]


def test_invalid_utf8_after_a_valid_start_names_the_line(tmp_path):
    # Valid UTF-8 for the whole sniffed head, then one Latin-1 byte much later.
    content = (HEADER + ROW * 5000).encode() + "2024-03-02,Té,Alimentación,3,1,2\n".encode("cp1252")
    message = error_of(write(tmp_path, content))
    assert "not valid UTF-8: line 5002 has the byte 0xe9" in message and "CSV UTF-8" in message


def test_utf8_with_a_stray_byte_near_the_start_names_the_line(tmp_path):
    content = (HEADER + ROW * 3).encode() + "2024-03-02,Té,Hogar,3,1,2\n".encode("cp1252")
    message = error_of(write(tmp_path, content))
    assert "not valid UTF-8: line 5 has the byte 0xe9" in message


def test_a_byte_windows_1252_lacks_names_the_line(tmp_path):
    content = (HEADER + ROW).encode("cp1252") + b"2024-03-02,T\x81,Hogar,3,1,2\n"
    message = error_of(write(tmp_path, content))
    assert "neither UTF-8 nor Windows-1252: line 3 has the byte 0x81" in message


def test_invalid_utf16_names_the_line(tmp_path):
    content = (
        (HEADER + ROW).replace(",", "\t").encode("utf-16")
        + b"\x00\xd8"
        + ROW.replace(",", "\t").encode("utf-16-le")
    )
    assert "not valid UTF-16: line 3" in error_of(write(tmp_path, content))


def test_utf16_file_with_tabs_is_read(tmp_path):
    content = (HEADER + ROW).replace(",", "\t").encode("utf-16")
    assert read(write(tmp_path, content)).loc[0, "producto"] == "Café molido"


def test_semicolons_with_decimal_commas_are_read(tmp_path):
    content = (
        "fecha;producto;categoria;precio;cantidad;usuario_id\n2024-03-01;Café;Hogar;4,60;2;17\n"
    )
    path = write(tmp_path, content)
    assert read(path).loc[0, "precio"] == pytest.approx(4.6)
    assert any("','" in note for note in inspect_csv(path, VENTAS_COLUMNS).notes)


def test_utf8_bom_is_ignored(tmp_path):
    assert len(read(write(tmp_path, codecs.BOM_UTF8 + (HEADER + ROW).encode()))) == 1


def test_an_excel_workbook_renamed_to_csv_is_recognized(tmp_path):
    message = error_of(write(tmp_path, b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 50))
    assert "not a text file" in message and "CSV UTF-8" in message


def test_a_line_with_an_extra_field_suggests_quoting(tmp_path):
    content = HEADER + ROW + "\n" + "2024-03-01,Bolígrafos, azul,Papelería,3,1,3\n"
    message = error_of(write(tmp_path, content))
    assert "line 4 has the wrong number of fields: 7 where the header has 6" in message
    assert "double quotes" in message


def test_a_line_with_a_missing_field_says_so(tmp_path):
    message = error_of(write(tmp_path, HEADER + ROW + "2024-03-01,Té,Hogar,3,1\n"))
    assert "line 3 has the wrong number of fields: 5 where the header has 6" in message
    assert "Add the missing fields" in message


def test_a_quote_left_open_that_a_later_quote_closes_names_its_line(tmp_path):
    # Quotes in the same column: pyarrow alone would merge lines 3 to 5 into one record.
    content = (
        HEADER + ROW + '2024-03-01,"Té,Hogar,3,1,3\n' + ROW + '2024-03-02,"Café",Hogar,3,1,3\n'
    )
    message = error_of(write(tmp_path, content))
    assert 'line 3: a double quote (") opens a value that only closes on line 5' in message


def test_a_quote_left_open_that_runs_into_other_columns_names_its_line(tmp_path):
    content = (
        HEADER + ROW + '2024-03-01,"Té,Hogar,3,1,3\n' + ROW + '2024-03-02,Té,Hogar 27",3,1,3\n'
    )
    message = error_of(write(tmp_path, content))
    assert (
        "line 3 has the wrong number of fields: 5 where the header has 6 (the record runs "
        "to line 5)" in message
    )


def test_a_quote_never_closed_names_its_line(tmp_path):
    # In the last column, pyarrow alone would read the rest of the file into that value.
    row = "2024-03-01,Hogar,3,1,3,Té\n"
    content = (
        "fecha,categoria,precio,cantidad,usuario_id,producto\n"
        + row * 2
        + '2024-03-01,Hogar,3,1,3,"Té\n'
        + row
    )
    message = error_of(write(tmp_path, content))
    assert 'line 4: a double quote (") opens a value that never closes' in message


def test_a_quoted_value_followed_by_more_text_is_refused_when_values_span_lines(tmp_path):
    content = (
        HEADER + '2024-03-01,"Café\nmolido",Hogar,3,1,3\n' + '2024-03-01,"27" monitor,Hogar,3,1,3\n'
    )
    message = error_of(write(tmp_path, content))
    assert 'line 4: a value in double quotes (") is followed by more text' in message


def test_normalize_name():
    assert normalize_name("  Categoría ") == "categoria"
    assert normalize_name("Usuario ID") == "usuario_id"
