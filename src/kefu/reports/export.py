"""A report's series as CSV or XLSX: one row per period (and dimension key)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any


def _columns(series: list[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in series:
        for name in row:
            if name not in columns:
                columns.append(name)
    return columns


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else value


def to_csv(series: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    columns = _columns(series)
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in series:
        writer.writerow([_cell(row.get(c)) for c in columns])
    # A BOM so Excel opens Chinese text as UTF-8.
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(series: list[dict[str, Any]], title: str) -> bytes:
    return to_xlsx_book({title: series})


def to_xlsx_book(sheets: dict[str, list[dict[str, Any]]]) -> bytes:
    """One worksheet per named series (a scheduled report attaches all its reports)."""
    import xlsxwriter  # type: ignore[import-untyped]

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    for title, series in sheets.items():
        sheet = book.add_worksheet(title[:31])
        columns = _columns(series)
        for c, name in enumerate(columns):
            sheet.write(0, c, name, bold)
        for r, row in enumerate(series, start=1):
            for c, name in enumerate(columns):
                sheet.write(r, c, _cell(row.get(name)))
    book.close()
    return out.getvalue()
