"""CSV files sent as they are written: a row leaves as soon as it is read, so neither
memory nor the time to the first byte grows with the number of rows (issue 18)."""

import csv

from django.http import StreamingHttpResponse

# Rows per piece handed to the server: one write per row would cost a system call each.
ROWS_PER_PIECE = 500
# A spreadsheet runs a cell starting with one of these as a formula; learners type names
# and comments, so their text must never reach staff as one.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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


def _pieces(header, rows, cell):
    writer = csv.writer(_Echo())
    piece = [writer.writerow(header)]
    for row in rows:
        piece.append(writer.writerow([cell(value) for value in row] if cell else row))
        if len(piece) >= ROWS_PER_PIECE:
            yield "".join(piece)
            piece = []
    if piece:
        yield "".join(piece)


def csv_stream_response(*, filename, header, rows, cell=spreadsheet_safe):
    """A CSV download of `header` and `rows` (any iterable, read as the file goes out:
    give it a queryset's .iterator() so the database sends it in chunks too), each
    value passed through `cell` (None: as it is)."""
    response = StreamingHttpResponse(_pieces(header, rows, cell), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
