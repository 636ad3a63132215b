"""The formats every table download comes in: CSV and tab-delimited text with a UTF-8
byte order mark (so Excel reads "Credit™" and accented names right), and XLSX."""

import io
from decimal import Decimal

from openpyxl import load_workbook

from lms.exports import TableFormat, table_response

HEADER = ["name", "credit", "amount"]
ROWS = [["Zoë Ångström", "AMA PRA Category 1 Credit™", Decimal("1.5")], ["=HYPERLINK(1)", "", None]]


def body(response):
    return b"".join(response.streaming_content)


def test_it_starts_csv_with_a_byte_order_mark_and_keeps_non_ascii_text():
    response = table_response(table_format=TableFormat.CSV, filename_stem="x", header=HEADER, rows=ROWS)

    content = body(response)

    assert content.startswith(b"\xef\xbb\xbf")
    assert content.decode("utf-8-sig").splitlines()[1] == "Zoë Ångström,AMA PRA Category 1 Credit™,1.5"
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'


def test_it_writes_tab_delimited_text_with_the_text_extension():
    response = table_response(table_format=TableFormat.TSV, filename_stem="x", header=HEADER, rows=ROWS)

    lines = body(response).decode("utf-8-sig").splitlines()

    assert lines[0] == "name\tcredit\tamount"
    assert lines[2] == "'=HYPERLINK(1)\t\t"
    assert response["Content-Disposition"] == 'attachment; filename="x.txt"'
    assert response["Content-Type"].startswith("text/tab-separated-values")


def test_it_writes_an_xlsx_workbook_with_text_never_run_as_a_formula():
    response = table_response(
        table_format=TableFormat.XLSX, filename_stem="x", header=HEADER, rows=ROWS, sheet_title="Completions"
    )

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["Completions"]
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]

    assert cells[0] == HEADER
    assert cells[1] == ["Zoë Ångström", "AMA PRA Category 1 Credit™", 1.5]
    assert sheet["A3"].data_type == "s" and sheet["A3"].value == "=HYPERLINK(1)"
    assert response["Content-Disposition"] == 'attachment; filename="x.xlsx"'
