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
from dataclasses import dataclass

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
margin:0;background:#f6f7f9;color:#1f2933;-webkit-text-size-adjust:100%}
main{max-width:720px;margin:0 auto;padding:24px 16px 40px;box-sizing:border-box}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:20px;margin:0 0 10px;padding-bottom:4px;border-bottom:2px solid #0072B2}
h3{font-size:15px;margin:12px 0 6px}
p{line-height:1.55;margin:0 0 10px}
.meta{color:#52606d;margin:0 0 20px}
.part{margin:0 0 32px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin-bottom:16px}
.kpi{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:10px 14px}
.kpi .label{font-size:13px;color:#52606d}
.kpi .value{font-size:22px;font-weight:600;margin-top:2px;white-space:nowrap}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:10px;margin-bottom:14px;overflow:hidden}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{background:#f0f2f5;font-weight:600}
td:first-child{white-space:nowrap;font-weight:600}
ul{margin:0 0 10px;padding-left:20px;line-height:1.55}
footer{color:#9aa5b1;font-size:12px;margin-top:24px}
@media (max-width:560px){
 main{padding:16px 12px 32px}
 h1{font-size:22px}
 .kpis{grid-template-columns:repeat(2,minmax(0,1fr));gap:8px}
 .kpi .value{font-size:18px}
 thead{display:none}
 table,tbody,tr,td{display:block;width:100%;box-sizing:border-box}
 tr{border-bottom:1px solid #cbd2d9;padding:6px 0}
 td{border:none;padding:2px 4px;display:flex;gap:8px}
 td::before{content:attr(data-label);color:#52606d;flex:0 0 40%;font-weight:400}
 td:first-child{white-space:normal}
}
@page{size:A4;margin:14mm 12mm}
@media print{
 body{background:#fff}
 main{max-width:none;padding:0}
 .part{margin:0}
 .part + .part{break-before:page}
 .card{border:none;padding:0;break-inside:avoid}
 .kpi{break-inside:avoid}
 tr{break-inside:avoid}
 h2,h3{break-after:avoid}
 .modebar-container{display:none}
}
"""


@dataclass(frozen=True)
class Section:
    """One part of the summary; in print each part starts on a new page.

    ``paragraphs`` are sentences; ``bullets`` a list; ``headline`` (label, value) cards;
    ``tables`` (caption, frame) with every cell already formatted as text.
    """

    title: str
    paragraphs: Sequence[str] = ()
    headline: Sequence[tuple[str, str]] = ()
    bullets: Sequence[str] = ()
    figures: Sequence[go.Figure] = ()
    tables: Sequence[tuple[str, pl.DataFrame]] = ()
    notes: Sequence[str] = ()


def _table_html(frame: pl.DataFrame) -> str:
    labels = [html.escape(str(c)) for c in frame.columns]
    head = "".join(f"<th>{c}</th>" for c in labels)
    # data-label lets a phone show each row as a card of "label value" lines.
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{lab}">{html.escape("" if v is None else str(v))}</td>'
                         for lab, v in zip(labels, row, strict=True)) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# The summary is read on paper and phones: no toolbar over chart titles, charts follow the width.
FIGURE_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}


def executive_summary_html(
    *,
    title: str,
    meta: str,
    sections: Sequence[Section],
    footer: str = "",
    lang: str = "zh",
) -> str:
    """One self-contained HTML page of sections: headline numbers, sentences, figures, tables.

    plotly.js is inlined with the first figure only; later figures reuse it. All text is
    escaped, so names from the data cannot inject markup. Print CSS lays it out on A4 with
    each section on a new page, so a browser's "Save as PDF" gives a clean document.
    """
    parts = [
        f'<!DOCTYPE html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>{html.escape(title)}</h1><p class=\"meta\">{html.escape(meta)}</p>",
    ]
    plotly_inlined = False
    for section in sections:
        parts.append(f'<section class="part"><h2>{html.escape(section.title)}</h2>')
        parts.extend(f"<p>{html.escape(p)}</p>" for p in section.paragraphs)
        if section.headline:
            parts.append('<div class="kpis">')
            for label, value in section.headline:
                parts.append(
                    f'<div class="kpi"><div class="label">{html.escape(label)}</div>'
                    f'<div class="value">{html.escape(value)}</div></div>'
                )
            parts.append("</div>")
        if section.bullets:
            parts.append("<ul>" + "".join(f"<li>{html.escape(b)}</li>" for b in section.bullets) + "</ul>")
        for fig in section.figures:
            chart = fig.to_html(full_html=False, include_plotlyjs=not plotly_inlined, config=FIGURE_CONFIG)
            plotly_inlined = True
            parts.append(f'<div class="card">{chart}</div>')
        for caption, frame in section.tables:
            heading = f"<h3>{html.escape(caption)}</h3>" if caption else ""
            parts.append(f'<div class="card">{heading}{_table_html(frame)}</div>')
        if section.notes:
            parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in section.notes) + "</ul>")
        parts.append("</section>")
    if footer:
        parts.append(f"<footer>{html.escape(footer)}</footer>")
    parts.append("</main></body></html>")
    return "".join(parts)


_FILE_BAD = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def file_name(*parts: str, ext: str) -> str:
    """A download name from readable parts: ``tierlens-<data set>-<date>.html``.

    Characters no file system accepts (and path separators) become "_"; Chinese names stay,
    spaces become "-", and an empty part is left out; ``ext=""`` gives the stem alone.

    Example:
        >>> file_name("tierlens", "会员 订单/2024", "2024-06-30", ext="html")
        'tierlens-会员-订单_2024-2024-06-30.html'
    """
    clean = [_FILE_BAD.sub("_", "-".join(p.split())).strip("._") for p in parts]
    stem = "-".join(p for p in clean if p)[:150]
    return f"{stem}.{ext}" if ext else stem
