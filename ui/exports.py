"""Files people take away: customer lists per tier (CSV, Excel) and the executive summary (HTML).

Pure functions (no Streamlit) so they are tested directly.

Spreadsheet safety: a cell whose text starts with ``= + - @``, a tab or a carriage return can be
run as a formula when the file is opened in a spreadsheet (CSV injection). Such text gets a
leading apostrophe, the usual neutralisation; numbers stay numbers.

HTML safety: every piece of text (tier names, customer ids, data set names) is escaped; the
summary embeds plotly.js once, inline, so the file opens offline and loads nothing from the web.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl
import xlsxwriter

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def neutralize(value: str | None) -> str | None:
    """Prefix text that a spreadsheet could read as a formula with an apostrophe."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralize_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns (String, Enum, Categorical) as String with formula-like cells neutralised."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String or isinstance(dtype, pl.Enum | pl.Categorical):
            col = pl.col(name).cast(pl.String)
            exprs.append(
                pl.when(col.str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + col).otherwise(col).alias(name)
            )
    return frame.with_columns(exprs) if exprs else frame


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    """CSV in UTF-8 with a byte order mark, so Excel shows Chinese text correctly."""
    return "\ufeff".encode() + neutralize_frame(frame).write_csv().encode("utf-8")


def _sheet_name(name: str, used: set[str]) -> str:
    # Excel sheet names: at most 31 characters, none of []:*?/\ and unique (case-insensitive).
    base = _SHEET_BAD.sub("_", name).strip("'") or "Sheet"
    base = base[:31]
    candidate, k = base, 2
    while candidate.lower() in used:
        suffix = f" ({k})"
        candidate = base[: 31 - len(suffix)] + suffix
        k += 1
    used.add(candidate.lower())
    return candidate


def to_xlsx_bytes(frame: pl.DataFrame, *, split_by: str | None = None, all_sheet: str = "All") -> bytes:
    """An Excel workbook: one sheet with every row, plus one sheet per value of ``split_by``.

    Text is written with ``write_string`` (never as a formula) after neutralisation; numbers as
    numbers, dates as dates.
    """
    safe = neutralize_frame(frame)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    used: set[str] = set()
    sheets: list[tuple[str, pl.DataFrame]] = [(all_sheet, safe)]
    if split_by is not None and split_by in safe.columns:
        for value in safe[split_by].unique(maintain_order=True).to_list():
            sheets.append((str(value), safe.filter(pl.col(split_by) == value)))
    for name, part in sheets:
        sheet = book.add_worksheet(_sheet_name(name, used))
        for j, col in enumerate(part.columns):
            sheet.write_string(0, j, neutralize(col) or "", bold)
            sheet.set_column(j, j, max(10, min(40, len(col) + 4)))
        for i, row in enumerate(part.iter_rows(), start=1):
            for j, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(i, j, value)
                elif isinstance(value, bool):
                    sheet.write_boolean(i, j, value)
                elif isinstance(value, int | float):
                    sheet.write_number(i, j, value)
                elif hasattr(value, "year"):
                    sheet.write_datetime(i, j, value, date_fmt)
                else:
                    sheet.write_string(i, j, str(value))
        sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


_STYLE = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei","Helvetica Neue",Arial,sans-serif;
margin:0;background:#f6f7f9;color:#1f2933}
main{max-width:1100px;margin:0 auto;padding:32px 24px 48px}
h1{font-size:28px;margin:0 0 4px}
.meta{color:#52606d;margin:0 0 24px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin-bottom:24px}
.kpi{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:12px 16px}
.kpi .label{font-size:13px;color:#52606d}
.kpi .value{font-size:24px;font-weight:600;margin-top:4px}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:12px;margin-bottom:20px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e4e7eb}
th{background:#f0f2f5}
h2{font-size:18px;margin:0 0 8px}
footer{color:#9aa5b1;font-size:12px;margin-top:24px}
"""


def _table_html(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def executive_summary_html(
    *,
    title: str,
    meta: str,
    headline: Sequence[tuple[str, str]],
    figures: Sequence[go.Figure],
    tables: Sequence[tuple[str, pl.DataFrame]] = (),
    notes: Sequence[str] = (),
    footer: str = "",
    lang: str = "zh",
) -> str:
    """One self-contained HTML page: headline numbers, figures, tables and notes.

    plotly.js is inlined with the first figure only; later figures reuse it. All text is
    escaped, so names from the data cannot inject markup.
    """
    parts = [
        f'<!DOCTYPE html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>{html.escape(title)}</h1><p class=\"meta\">{html.escape(meta)}</p>",
        '<section class="kpis">',
    ]
    for label, value in headline:
        parts.append(
            f'<div class="kpi"><div class="label">{html.escape(label)}</div>'
            f'<div class="value">{html.escape(value)}</div></div>'
        )
    parts.append("</section>")
    for i, fig in enumerate(figures):
        chart = fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
        parts.append(f'<section class="card">{chart}</section>')
    for caption, frame in tables:
        parts.append(f'<section class="card"><h2>{html.escape(caption)}</h2>{_table_html(frame)}</section>')
    if notes:
        parts.append('<section class="card"><ul>')
        parts.extend(f"<li>{html.escape(n)}</li>" for n in notes)
        parts.append("</ul></section>")
    if footer:
        parts.append(f"<footer>{html.escape(footer)}</footer>")
    parts.append("</main></body></html>")
    return "".join(parts)
