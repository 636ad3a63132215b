"""Tables for staff and learners to download, as CSV or tab-delimited text (streamed: a
row leaves as soon as it is read, so neither memory nor the time to the first byte grows
with the number of rows) or as an Excel workbook (written row by row to a temporary file
on disk, then sent from it: memory stays bounded however many rows). openpyxl writes
through lxml when it is installed (requirements.txt): about a quarter less CPU per row.

Text files start with a UTF-8 byte order mark: without it Excel reads them as Windows-1252
and shows "Creditâ„¢" for "Credit™" and mangles every accented name.
"""

import csv
import tempfile

from django.http import FileResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

ROWS_PER_PIECE = 500
# A spreadsheet runs a cell starting with one of these as a formula; learners type names
# and comments, so their text must never reach staff as one.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


class TableFormat:
    CSV = "csv"
    TSV = "txt"
    XLSX = "xlsx"
    CHOICES = [(CSV, "CSV (comma-separated)"), (TSV, "Tab-delimited text"), (XLSX, "Excel workbook (.xlsx)")]


class TableFormatConverter:
    """A URL part naming a table format by its file extension: "completions.xlsx"."""

    regex = "|".join([TableFormat.CSV, TableFormat.TSV, TableFormat.XLSX])

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


CONTENT_TYPES = {
    TableFormat.CSV: "text/csv; charset=utf-8",
    TableFormat.TSV: "text/tab-separated-values; charset=utf-8",
    TableFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def spreadsheet_safe(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class _Echo:
    """The file csv.writer writes to: it hands each formatted row back."""

    def write(self, text):
        return text


def _pieces(header, rows, cell, *, delimiter, bom):
    writer = csv.writer(_Echo(), delimiter=delimiter)
    piece = [BOM] if bom else []
    if header is not None:
        piece.append(writer.writerow(header))
    for row in rows:
        piece.append(writer.writerow([cell(value) for value in row] if cell else row))
        if len(piece) >= ROWS_PER_PIECE:
            yield "".join(piece)
            piece = []
    if piece:
        yield "".join(piece)


def _attachment(response, filename):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_stream_response(*, filename, header, rows, cell=spreadsheet_safe, delimiter=",", bom=True):
    """A CSV download of `header` (None: no header row) and `rows` (any iterable, read as
    the file goes out: give it a queryset's .iterator() so the database sends it in
    chunks too), each value passed through `cell` (None: as it is)."""
    content_type = CONTENT_TYPES[TableFormat.TSV if delimiter == "\t" else TableFormat.CSV]
    response = StreamingHttpResponse(
        _pieces(header, rows, cell, delimiter=delimiter, bom=bom), content_type=content_type
    )
    return _attachment(response, filename)


def _xlsx_cell(sheet, value):
    """Text is always stored as text: openpyxl would otherwise store a string starting
    with "=" as a formula for Excel to run. Only such strings get a cell made here;
    openpyxl stores any other value as it is, twice as fast as a cell per value, which
    matters at 100,000 rows. Control characters, which a worksheet cannot hold (openpyxl
    refuses the whole file), are dropped."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not value.startswith("="):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def xlsx_response(*, filename, header, rows, sheet_title="Sheet1"):
    """An Excel workbook of `header` (None: none) and `rows`, written in openpyxl's
    write-only mode to a temporary file, which the response then streams and closes."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    if header is not None:
        sheet.append([_xlsx_cell(sheet, value) for value in header])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    spool = tempfile.TemporaryFile()
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[TableFormat.XLSX])


def table_response(*, table_format, filename_stem, header, rows, sheet_title="Sheet1"):
    """One table in the format staff chose (TableFormat): `filename_stem` gets the
    format's extension."""
    filename = f"{filename_stem}.{table_format}"
    if table_format == TableFormat.XLSX:
        return xlsx_response(filename=filename, header=header, rows=rows, sheet_title=sheet_title)
    delimiter = "\t" if table_format == TableFormat.TSV else ","
    return csv_stream_response(filename=filename, header=header, rows=rows, delimiter=delimiter)
