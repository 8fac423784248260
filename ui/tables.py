"""Display tables: core frames with translated headers and formatted numbers (no computation)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl
import streamlit as st

from segmentation import columns as C
from segmentation import summary as S
from segmentation.backtest import ROW_LABELS
from segmentation.kpis import kpi_definitions as kpi_table
from segmentation.snapshots import state_label
from ui.i18n import column_label, currency_symbol, fmt_int, fmt_money, fmt_num, fmt_pct, t

MONEY_COLUMNS = (C.AMOUNT, C.MONETARY, C.AOV, C.CLV)


def _range_text(axis: str, lower: float | None, upper: float | None, currency: str, lang: str) -> str:
    """A readable value range for one score: integer ranges for R and F, bounds for M."""
    if axis == C.RECENCY:
        # lower < R <= upper on whole days
        lo = None if lower is None else math.floor(lower) + 1
        hi = None if upper is None else math.floor(upper)
    elif axis == C.FREQUENCY:
        # lower <= F < upper on whole purchases
        lo = None if lower is None else math.ceil(lower)
        hi = None if upper is None else math.ceil(upper) - 1
    else:
        money = lambda x: fmt_money(x, lang, currency)  # noqa: E731
        if lower is None and upper is None:
            return "—"
        if lower is None:
            return f"< {money(upper)}"
        if upper is None:
            return f"≥ {money(lower)}"
        return f"{money(lower)} – <{money(upper)}"
    if lo is None and hi is None:
        return "—"
    if lo is None:
        return f"≤ {fmt_int(hi)}"
    if hi is None:
        return f"≥ {fmt_int(lo)}"
    if hi < lo:
        return "—"
    return fmt_int(lo) if lo == hi else f"{fmt_int(lo)}–{fmt_int(hi)}"


def cuts_display(cuts: Any, lang: str, currency: str) -> pl.DataFrame:
    """Cut points as a compact table: one row per score, a value-range column per axis."""
    table = cuts.table()
    columns: dict[str, list[str]] = {}
    for axis in C.RFM_AXES:
        rows = table.filter(pl.col("axis") == axis).sort("score", descending=True)
        columns[axis] = [
            _range_text(axis, lo, hi, currency, lang) for lo, hi in rows.select("lower", "upper").iter_rows()
        ]
    scores = list(range(cuts.bins, 0, -1))
    return pl.DataFrame({
        t("score", lang): [str(x) for x in scores],
        "R": columns[C.RECENCY],
        "F": columns[C.FREQUENCY],
        "M": columns[C.MONETARY],
    })


def tier_table(summary: pl.DataFrame, lang: str, currency: str, *, compact: bool = False) -> pl.DataFrame:
    """The tier summary with formatted, translated columns for display.

    ``compact`` puts each share next to its count and uses short headers, so the table fits a
    page without scrolling sideways (the full form is for reports).
    """
    if compact:
        return pl.DataFrame({
            t("tier", lang): summary[C.TIER].to_list(),
            t("tt_customers", lang): [
                f"{fmt_int(n)} ({fmt_pct(s)})" for n, s in zip(summary["customers"], summary["customer_share"],
                                                                  strict=True)
            ],
            t("tt_revenue", lang): [
                f"{fmt_money(v, lang, currency, compact=True)} ({fmt_pct(s)})"
                for v, s in zip(summary["revenue"], summary["revenue_share"], strict=True)
            ],
            t("tt_per_customer", lang): [fmt_money(v, lang, currency) for v in summary["avg_monetary"]],
            t("tt_recency", lang): [fmt_num(v, lang, 0) for v in summary["avg_recency"]],
            t("tt_frequency", lang): [fmt_num(v, lang, 1) for v in summary["avg_frequency"]],
        })
    return pl.DataFrame({
        t("tier", lang): summary[C.TIER].to_list(),
        t("customers", lang): [fmt_int(v) for v in summary["customers"]],
        t("customer_share", lang): [fmt_pct(v) for v in summary["customer_share"]],
        t("revenue", lang): [fmt_money(v, lang, currency) for v in summary["revenue"]],
        t("revenue_share", lang): [fmt_pct(v) for v in summary["revenue_share"]],
        t("avg_monetary", lang): [fmt_money(v, lang, currency) for v in summary["avg_monetary"]],
        t("avg_recency", lang): [fmt_num(v, lang, 0) for v in summary["avg_recency"]],
        t("avg_frequency", lang): [fmt_num(v, lang, 1) for v in summary["avg_frequency"]],
    })


def display_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame ready for st.dataframe: dates as YYYY-MM-DD text (not midnight timestamps)."""
    return frame.with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d"))


def money_config(lang: str, currency: str, columns: Sequence[str] = MONEY_COLUMNS) -> dict[str, Any]:
    """st.dataframe column settings that show money like the rest of the page: thousands
    separators, whole units, the currency symbol in the header (171,721 under "消费金额 (¥)"),
    instead of raw floats (171720.92). The values stay numbers, so the columns still sort.
    ``columns`` are the core names of the money columns (by default those of every table)."""
    return {
        column_label(c, lang): st.column_config.NumberColumn(
            money_header(column_label(c, lang), currency), format="localized", step=1)
        for c in columns
    }


def money_header(label: str, currency: str) -> str:
    """A money column's header with the currency symbol: "消费金额 (¥)", "消费金额 (M, ¥)" (one
    bracket, not two); without a known currency the label alone, not an empty bracket."""
    symbol = currency_symbol(currency).strip()
    if not symbol:
        return label
    return f"{label[:-1]}, {symbol})" if label.endswith(")") else f"{label} ({symbol})"


def preview_money_config(currency: str) -> dict[str, Any]:
    """Like :func:`money_config` for a frame shown with its own column names (amount,
    monetary...), to the cent: a load preview is checked against the file."""
    return {c: st.column_config.NumberColumn(money_header(c, currency), format="localized", step=0.01) for c in MONEY_COLUMNS}


def table_height(rows: int, *, max_rows: int = 15) -> int:
    """Pixel height that shows ``rows`` rows of st.dataframe without scrolling (up to max_rows)."""
    return 38 + 35 * min(rows, max_rows)


def translated(frame: pl.DataFrame, lang: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Rename core column names to their labels in ``lang`` (for display tables)."""
    cols = columns or frame.columns
    return frame.select(cols).rename({c: column_label(c, lang) for c in cols})


def movers_display(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    """Movers with readable, translated columns and state codes replaced by their labels."""
    labels = {s: state_label(s, lang) for s in frame["from_state"].unique().to_list() + frame["to_state"].unique().to_list()}
    rename: dict[str, str] = {}
    for col in frame.columns:
        if col.endswith("_then"):
            rename[col] = column_label(col.removesuffix("_then"), lang) + t("mg_then", lang)
        elif col.endswith("_now") and col != "last_purchase_now":
            rename[col] = column_label(col.removesuffix("_now"), lang) + t("mg_now", lang)
    rename |= {
        "last_purchase_now": t("mg_last_purchase_now", lang), "revenue": t("mg_revenue_between", lang),
        C.CUSTOMER_ID: column_label(C.CUSTOMER_ID, lang), "from_state": t("from_state", lang),
        "to_state": t("to_state", lang),
    }
    return (
        frame.with_columns(
            pl.col("from_state").replace_strict(labels, default=pl.col("from_state")),
            pl.col("to_state").replace_strict(labels, default=pl.col("to_state")),
            pl.col(pl.Float64).round(2),
        )
        .rename(rename)
    )


def top_clv_display(top: pl.DataFrame, lang: str, currency: str) -> pl.DataFrame:
    """:func:`top_clv` with formatted numbers and translated column names."""
    return pl.DataFrame({
        column_label(C.CUSTOMER_ID, lang): top[C.CUSTOMER_ID].to_list(),
        column_label(C.TIER, lang): top[C.TIER].to_list(),
        column_label(C.RECENCY, lang): [fmt_int(v) for v in top[C.RECENCY]],
        column_label(C.FREQUENCY, lang): [fmt_int(v) for v in top[C.FREQUENCY]],
        column_label(C.MONETARY, lang): [fmt_money(v, lang, currency) for v in top[C.MONETARY]],
        t("p_alive", lang): [fmt_pct(v, lang, 0) for v in top[C.P_ALIVE]],
        t("cl_expected_purchases", lang): [fmt_num(v, lang, 1) for v in top["expected_purchases"]],
        t("clv", lang): [fmt_money(v, lang, currency) for v in top[C.CLV]],
    })


def what_if_display(rows: pl.DataFrame, lang: str, currency: str) -> pl.DataFrame:
    """What-if tier rows with formatted, translated columns."""
    return pl.DataFrame({
        t("budget_tier", lang): rows[C.TIER].to_list(),
        t("wi_before", lang): [fmt_int(v) for v in rows["customers_before"]],
        t("wi_after", lang): [fmt_int(v) for v in rows["customers_after"]],
        t("wi_amount_before", lang): [fmt_money(v, lang, currency) for v in rows["amount_before"]],
        t("wi_amount_after", lang): [fmt_money(v, lang, currency) for v in rows["amount_after"]],
        t("wi_amount_change", lang): [("+" if v > 0 else "") + fmt_money(v, lang, currency) for v in rows["amount_change"]],
    })


EXPORT_COLUMNS = (
    C.CUSTOMER_ID, C.TIER, C.R_SCORE, C.F_SCORE, C.M_SCORE, C.RECENCY, C.FREQUENCY, C.MONETARY, C.AOV,
    C.FIRST_PURCHASE, C.LAST_PURCHASE, C.TENURE,
)


def customer_list(tiered: pl.DataFrame, tiers: tuple[str, ...], lang: str) -> pl.DataFrame:
    """Customers of the chosen tiers (all when empty) with readable column names, for export."""
    frame = S.customers_in(tiered, tiers)
    cols = [c for c in EXPORT_COLUMNS if c in frame.columns]
    return (
        frame.select(cols)
        .with_columns(pl.col(pl.Float64).round(2))
        .rename({c: column_label(c, lang) for c in cols})
    )


def kpi_definitions(lang: str, source: str = "kpi_trends") -> list[tuple[str, str, str, str]]:
    """(code, name, definition, unit) of every KPI of ``source`` in ``lang``, from the core's one table."""
    return [(r["kpi"], r[f"name_{lang}"], r[f"definition_{lang}"], r["unit"])
            for r in kpi_table(source=source).iter_rows(named=True)]


# ---- backtest

BT_TIER_COLUMNS = (
    ("customers", "int"), ("customer_share", "pct"), ("buyer_share", "pct"), ("lapsed_share", "pct"),
    ("orders_per_customer", "num"), ("revenue_per_customer", "money"), ("revenue", "money"), ("revenue_share", "pct"),
)
BT_MONEY_COLUMNS = (*MONEY_COLUMNS, "next_revenue")
BT_EXPORT_COLUMNS = (
    C.CUSTOMER_ID, C.TIER, C.R_SCORE, C.F_SCORE, C.M_SCORE, C.RECENCY, C.FREQUENCY, C.MONETARY, C.LAST_PURCHASE,
    "next_orders", "next_revenue", "bought_again", "returned_only",
)


def backtest_row_label(row: str, lang: str) -> str:
    """A tier name, or the words for the rows of new and not-tiered customers."""
    return ROW_LABELS[row][lang] if row in ROW_LABELS else row


def backtest_tier_names(tiers: pl.DataFrame) -> list[str]:
    """The tiers of a backtest's per-tier table, in value order (without the other rows)."""
    return tiers.filter(pl.col("kind") == "tier").get_column("row").to_list()


def backtest_empty_tiers(tiers: pl.DataFrame) -> list[str]:
    """Tiers of a backtest's per-tier table with no customer at T (their per-customer cells are dashes)."""
    return tiers.filter((pl.col("kind") == "tier") & (pl.col("customers") == 0)).get_column("row").to_list()


def _cell(value: float | None, kind: str, lang: str, currency: str) -> str:
    if kind == "int":
        return fmt_int(value)
    if kind == "pct":
        return fmt_pct(value)
    if kind == "money":
        return fmt_money(value, lang, currency)
    return fmt_num(value, lang, 2)


def backtest_tiers_display(tiers: pl.DataFrame, lang: str, currency: str) -> pl.DataFrame:
    """The per-tier backtest table (``evaluate(...).tiers``) with translated headers and formatted cells.

    The row of customers not tiered at T is left out when nobody is in it (a row of zeros says
    nothing); the tiers and the new customers' row always show.
    """
    empty = (pl.col("kind") == "untiered") & (pl.col("customers") == 0) & (pl.col("orders") == 0) & (
        pl.col("revenue_minor") == 0)
    tiers = tiers.filter(~empty)
    out: dict[str, list[str]] = {t("bt_col_row", lang): [backtest_row_label(r, lang) for r in tiers["row"]]}
    for col, kind in BT_TIER_COLUMNS:
        out[t(f"bt_col_{col}", lang)] = [_cell(v, kind, lang, currency) for v in tiers[col]]
    return pl.DataFrame(out)


def backtest_comparison_display(comparison: pl.DataFrame, values: dict[str, float | None], labels: dict[str, str],
                                lang: str, notes: dict[str, str] | None = None) -> pl.DataFrame:
    """Captured value and gap closed per ranking, between the random and perfect-hindsight rows.

    ``values`` are the current evaluation's measures (for the two reference rows); ``labels``
    name each ranking; ``notes`` replace a ranking's note (the core's is English).
    """
    notes = notes or {}
    rows = [("random", values.get("random_10"), values.get("random_20"), 0.0, "")]
    rows += [(r["ranking"], r["captured_10"], r["captured_20"], r["gap_closed"], notes.get(r["ranking"], r["note"] or ""))
             for r in comparison.iter_rows(named=True)]
    rows.append(("perfect", values.get("perfect_10"), values.get("perfect_20"), 1.0, ""))
    return pl.DataFrame({
        t("bt_ranking", lang): [labels.get(r[0], r[0]) for r in rows],
        t("bt_m_captured_10", lang): [fmt_pct(r[1]) for r in rows],
        t("bt_m_captured_20", lang): [fmt_pct(r[2]) for r in rows],
        t("bt_m_gap_closed", lang): [fmt_num(r[3], lang, 3) for r in rows],
        t("bt_note", lang): [r[4] for r in rows],
    })


def backtest_customer_list(frame: pl.DataFrame, tiers: tuple[str, ...], lang: str) -> pl.DataFrame:
    """Customers of the chosen tiers (all when empty) with what they did in the window, for export."""
    chosen = S.customers_in(frame, tiers)
    cols = [c for c in BT_EXPORT_COLUMNS if c in chosen.columns]
    return (
        chosen.select(cols)
        .with_columns(pl.col(pl.Float64).round(2))
        .rename({c: column_label(c, lang) for c in cols})
    )
