"""Cached calls into the time core (snapshots, migration, KPI trends, strategy, CLV) and the
frame shaping the time pages need.

Like :mod:`ui.state`, every cached function is keyed on small stable values (data set id, ISO
dates, scoring settings, rule text), bounded with ``max_entries`` and ``ttl``; frames reach it
by calling the cached functions of :mod:`ui.state`, never as arguments. The snapshot table
itself is :func:`ui.state.snapshot_table`, so the customer page and these pages share it.

Tier rules on P_ALIVE or CLV are tiered at every date with one lifetime-value model: the fit
:func:`clv_scores` caches for the as-of date with the CLV page's default valuation (the same
fit the Overview joins on), held fixed across dates. Only then does the key carry the as-of
date (:attr:`TierKey.clv_as_of`), so other rules keep sharing snapshots across as-of dates.

The plain functions at the end (no Streamlit) shape small frames for the pages and charts, so
the pages hold no Polars expressions.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import streamlit as st

from segmentation import columns as C
from ui import state

if TYPE_CHECKING:
    from segmentation.clv import ClvModel

CACHE_TTL = state.CACHE_TTL
PERIOD_NAMES = {"W": "week", "M": "month", "Q": "quarter"}
MAX_COMPARE = 6
SCATTER_POINTS = 5_000
# Period ends this close to the as-of date would compare a date with (almost) itself.
_MIN_GAP_DAYS = 7
# Valuation behind P_ALIVE / CLV in tier rules: the CLV page's defaults (one-year horizon, 10%
# a year discount, revenue as margin), passed positionally like the Overview does, so all of
# them hit one cached fit.
RULE_CLV_SETTINGS: tuple[int, float, float] = (365, 0.10, 1.0)


# --------------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class TierKey:
    """Everything a tiering over time depends on, as small hashable values."""

    dataset: str
    window_days: int
    bins: int
    method: str
    thresholds: str
    rules: str
    unassigned: str
    # ISO as-of date of the lifetime-value fit when the rules use P_ALIVE or CLV, else "".
    clv_as_of: str = ""

    @classmethod
    def of(cls, ctx: state.Context) -> TierKey:
        clv_as_of = ctx.as_of_date.isoformat() if rules_need_clv(ctx.rules, ctx.unassigned) else ""
        return cls(ctx.dataset, ctx.settings.window_days, ctx.bins, ctx.method, ctx.thresholds, ctx.rules,
                   ctx.unassigned, clv_as_of)

    def parts(self) -> tuple[str, int, int, str, str, str, str]:
        return (self.dataset, self.window_days, self.bins, self.method, self.thresholds, self.rules, self.unassigned)


def _ruleset(key: TierKey) -> Any:
    from segmentation.rules import parse_rules

    return parse_rules(key.rules, unassigned=key.unassigned)


def _thresholds(key: TierKey) -> Any:
    return state._thresholds_or_none(key.thresholds)


@st.cache_data(ttl=CACHE_TTL, max_entries=64, show_spinner=False)
def rules_need_clv(rules: str, unassigned: str) -> bool:
    """Whether the rules use P_ALIVE or CLV (False for rules that do not parse: the call that
    tiers them reports the error)."""
    from segmentation.enrich import needs_clv
    from segmentation.errors import TierlensError
    from segmentation.rules import parse_rules

    try:
        return needs_clv(parse_rules(rules, unassigned=unassigned).columns_used)
    except TierlensError:
        return False


def rule_clv_model(dataset_id: str, as_of: str) -> ClvModel | None:
    """The lifetime-value model tier rules use: the cached :func:`clv_scores` fit on the history
    up to ``as_of`` (the fit the Overview and the CLV page use; never fitted twice).

    Raises:
        DataError: too few repeat buyers to fit, or the fit fails.
    """
    return clv_scores(dataset_id, as_of, *RULE_CLV_SETTINGS).model


def uses_clv_rules(ctx: state.Context) -> bool:
    """Whether this view's tier rules use P_ALIVE or CLV (the time pages then say how those are
    scored at past dates)."""
    return rules_need_clv(ctx.rules, ctx.unassigned)


def _clv_model_of(key: TierKey) -> ClvModel | None:
    return rule_clv_model(key.dataset, key.clv_as_of) if key.clv_as_of else None


def snaps(key: TierKey, dates: tuple[str, ...], cut_mode: str) -> pl.DataFrame:
    """Snapshots of the given ISO dates (the shared cached table of :mod:`ui.state`; with
    P_ALIVE / CLV rules, the table scored with the cached lifetime-value model)."""
    if key.clv_as_of:
        return _clv_snapshot_table(key, tuple(sorted(dates)), cut_mode)
    d, w, bins, method, thr, rules, unassigned = key.parts()
    return state.snapshot_table(d, tuple(sorted(dates)), w, bins, method, thr, rules, unassigned, cut_mode)


@st.cache_resource(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def _clv_snapshot_table(key: TierKey, dates: tuple[str, ...], cut_mode: str) -> pl.DataFrame:
    """``snapshots`` with ``p_alive``, ``clv`` and ``expected_purchases`` at every date, from the
    model fitted up to ``key.clv_as_of`` (see :func:`segmentation.snapshots.snapshots`)."""
    from segmentation.snapshots import snapshots

    return snapshots(
        state.transactions(key.dataset), list(dates), rules=_ruleset(key), bins=key.bins,
        method=key.method, thresholds=_thresholds(key), window_days=key.window_days or None,  # type: ignore[arg-type]
        cut_mode=cut_mode, clv_model=_clv_model_of(key),  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------------- dates


@st.cache_data(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def compare_options(dataset_id: str, as_of: str, period: str, extra: tuple[str, ...] = ()) -> list[str]:
    """Dates a user can compare (ISO, ascending): period ends before the as-of date, the as-of
    date itself, and any ``extra`` dates (e.g. from a shared link) inside the data's range."""
    from segmentation.snapshots import period_ends

    first, last = state.date_range(dataset_id)
    end = dt.date.fromisoformat(as_of) if as_of else last + dt.timedelta(days=1)
    ends = period_ends(state.transactions(dataset_id), period=PERIOD_NAMES.get(period, "month"), end=end)  # type: ignore[arg-type]
    days = {d for d in ends if first < d and (end - d).days >= _MIN_GAP_DAYS}
    days.add(end)
    for raw in extra:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            continue
        if first < day <= end:
            days.add(day)
    return [d.isoformat() for d in sorted(days)]


def default_compare(options: list[str], back: int = 3) -> list[str]:
    """Two dates: the as-of date and the period end ``back`` periods before it."""
    if len(options) < 2:
        return list(options)
    return [options[max(0, len(options) - 1 - back)], options[-1]]


def previous_date(dataset_id: str, as_of: str, period: str) -> str | None:
    """The period end one period before the as-of date (None when there is none)."""
    options = compare_options(dataset_id, as_of, period)
    return options[-2] if len(options) >= 2 else None


# --------------------------------------------------------------------------------- migration


@dataclass(frozen=True)
class Migration:
    """Migration between the chosen dates: flows of the pair ``(d1, d2)`` and Sankey links."""

    matrix: pl.DataFrame
    rates: pl.DataFrame
    nodes: pl.DataFrame
    links: pl.DataFrame
    tier_names: tuple[str, ...]


@st.cache_data(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def _migration(key: TierKey, dates: tuple[str, ...], cut_mode: str, d1: str, d2: str) -> Migration:
    from segmentation.migration import migration_matrix, migration_rates, sankey_flows

    table = snaps(key, dates, cut_mode)
    flows = sankey_flows(table, list(dates))
    return Migration(
        matrix=migration_matrix(table, d1, d2),
        rates=migration_rates(table, d1, d2),
        nodes=flows.nodes,
        links=flows.links,
        tier_names=tuple(table.schema[C.TIER].categories.to_list()),
    )


def migration(ctx: state.Context, dates: tuple[str, ...], d1: str, d2: str) -> Migration:
    return _migration(TierKey.of(ctx), tuple(sorted(dates)), ctx.settings.cut_mode, d1, d2)


@st.cache_resource(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def _movers(key: TierKey, dates: tuple[str, ...], cut_mode: str, from_state: str, to_state: str, d1: str,
            d2: str) -> pl.DataFrame:
    from segmentation.migration import movers as core_movers

    return core_movers(snaps(key, dates, cut_mode), from_state, to_state, d1, d2)


def movers(ctx: state.Context, dates: tuple[str, ...], from_state: str, to_state: str, d1: str, d2: str) -> pl.DataFrame:
    return _movers(TierKey.of(ctx), tuple(sorted(dates)), ctx.settings.cut_mode, from_state, to_state, d1, d2)


@st.cache_data(ttl=CACHE_TTL, max_entries=8, show_spinner=False)
def _relative_moves(key: TierKey, d1: str, d2: str) -> tuple[int, int]:
    from segmentation.migration import cut_mode_effect

    effect = cut_mode_effect(snaps(key, (d1, d2), "fixed"), snaps(key, (d1, d2), "recomputed"), d1, d2)
    return int(effect["customers"].sum()), int(effect["relative_only"].sum())


def relative_moves(ctx: state.Context, d1: str, d2: str) -> tuple[int, int]:
    """(customers who changed tier with recomputed cut points, of those: only relatively)."""
    return _relative_moves(TierKey.of(ctx), d1, d2)


# --------------------------------------------------------------------------------- trends


def trend_end(ctx: state.Context) -> dt.date:
    """The last day with data in the view: the as-of date counts as "the day after"."""
    return ctx.as_of_date - dt.timedelta(days=1)


@st.cache_data(ttl=CACHE_TTL, max_entries=12, show_spinner=False)
def _kpis(key: TierKey, end: str, period: str, cut_mode: str) -> pl.DataFrame:
    from segmentation.kpis import kpi_trends

    return kpi_trends(
        state.transactions(key.dataset), rules=_ruleset(key), period=PERIOD_NAMES.get(period, "month"),  # type: ignore[arg-type]
        end=end, bins=key.bins, method=key.method, thresholds=_thresholds(key),  # type: ignore[arg-type]
        window_days=key.window_days or None, cut_mode=cut_mode, clv_model=_clv_model_of(key),  # type: ignore[arg-type]
    )


def kpis(ctx: state.Context, period: str | None = None) -> pl.DataFrame:
    """KPI trends per tier up to the as-of date (see :func:`segmentation.kpis.kpi_trends`)."""
    return _kpis(TierKey.of(ctx), trend_end(ctx).isoformat(), period or ctx.settings.period, ctx.settings.cut_mode)


@st.cache_data(ttl=CACHE_TTL, max_entries=8, show_spinner=False)
def _cohorts(dataset_id: str, end: str, max_months: int) -> pl.DataFrame:
    from segmentation.kpis import cohort_retention

    return cohort_retention(state.transactions(dataset_id), max_months=max_months, end=end)


def cohorts(ctx: state.Context, max_months: int = 12, last_cohorts: int = 24) -> pl.DataFrame:
    """Cohort retention up to the as-of date, the latest ``last_cohorts`` cohorts only."""
    frame = _cohorts(ctx.dataset, trend_end(ctx).isoformat(), max_months)
    keep = frame["cohort"].unique().sort().tail(last_cohorts)
    return frame.filter(pl.col("cohort").is_in(keep.implode()))


# --------------------------------------------------------------------------------- strategy


@dataclass(frozen=True)
class Strategy:
    """The tier summary at the as-of date (with change since ``previous``) and its suggestions."""

    summary: pl.DataFrame
    suggestions: pl.DataFrame
    churn: dict[str, float | None]
    now: str
    previous: str | None


@st.cache_data(ttl=CACHE_TTL, max_entries=8, show_spinner=False)
def _strategy(key: TierKey, now: str, previous: str | None, cut_mode: str, period: str) -> Strategy:
    from segmentation.strategy import suggest, tier_summary

    dates = (previous, now) if previous else (now,)
    table = snaps(key, dates, cut_mode)
    summary = tier_summary(table, now, previous=previous, bins=key.bins)
    trends = _kpis(key, (dt.date.fromisoformat(now) - dt.timedelta(days=1)).isoformat(), period, cut_mode)
    return Strategy(summary, suggest(summary), latest_churn(trends), now, previous)


def strategy(ctx: state.Context) -> Strategy:
    now = ctx.as_of_date.isoformat()
    previous = previous_date(ctx.dataset, ctx.settings.as_of, ctx.settings.period)
    return _strategy(TierKey.of(ctx), now, previous, ctx.settings.cut_mode, ctx.settings.period)


# --------------------------------------------------------------------------------- CLV


@dataclass(frozen=True)
class Clv:
    """Per-customer predictions and the numbers behind them."""

    frame: pl.DataFrame  # customer_id, p_alive, expected_purchases, expected_avg_spend, clv
    n_customers: int
    n_repeat_buyers: int
    model: ClvModel | None = None  # the fitted models, to score other dates the same way


@st.cache_resource(ttl=CACHE_TTL, max_entries=8, show_spinner=False)
def clv_scores(dataset_id: str, as_of: str, horizon_days: int, discount_rate: float, margin: float) -> Clv:
    """``segmentation.clv.score_customers`` on a data set (history up to ``as_of``, inclusive).

    Raises:
        DataError: too few repeat buyers to fit, or the fit fails.
    """
    from segmentation.clv import score_customers

    result = score_customers(
        state.transactions(dataset_id), as_of=dt.date.fromisoformat(as_of), horizon_days=horizon_days,
        discount_rate=discount_rate, margin=margin,
    )
    return Clv(result.frame, result.report.n_customers, result.report.n_repeat_buyers, result.model)


@dataclass(frozen=True)
class Holdout:
    frame: pl.DataFrame
    predicted_total: float
    actual_total: float
    relative_error: float


@st.cache_data(ttl=CACHE_TTL, max_entries=8, show_spinner=False)
def holdout(dataset_id: str, calibration_end: str, observation_end: str) -> Holdout:
    """``segmentation.clv.holdout_check`` on a data set (raises DataError like the fit)."""
    from segmentation.clv import holdout_check

    check = holdout_check(
        state.transactions(dataset_id), calibration_end=dt.date.fromisoformat(calibration_end),
        observation_end=dt.date.fromisoformat(observation_end),
    )
    return Holdout(check.frame, check.predicted_total, check.actual_total, check.relative_error)


def tiered_with_clv(ctx: state.Context, clv: Clv) -> pl.DataFrame:
    """The current tiered customer table with p_alive, clv and expected_purchases joined on."""
    from segmentation.enrich import add_clv

    return add_clv(ctx.tiered, clv.frame)


# --------------------------------------------------------------------------------- shaping
# Plain functions (no Streamlit) over small frames.


def state_names(tier_names: tuple[str, ...] | list[str], *, sources: bool) -> list[str]:
    """Migration states in display order: New, Returning and tiers (sources), or tiers and Left."""
    from segmentation.snapshots import BACK, GONE, NEW

    return [NEW, BACK, *tier_names] if sources else [*tier_names, GONE]


def overall_rates(rates: pl.DataFrame) -> dict[str, float | int | None]:
    """The all-customer row of :func:`segmentation.migration.migration_rates` as a dict."""
    from segmentation.migration import ALL

    rows = rates.filter(pl.col(C.TIER) == ALL)
    return rows.row(0, named=True) if rows.height else {}


def newcomers(matrix: pl.DataFrame) -> int:
    """Customers arriving as new or returning in a migration matrix."""
    return int(matrix.filter(pl.col("direction").is_in(["new", "back"]))["customers"].sum())


def tier_rates(rates: pl.DataFrame) -> pl.DataFrame:
    """Per-tier rows of ``migration_rates`` without the total and without empty tiers."""
    from segmentation.migration import ALL

    return rates.filter(pl.col(C.TIER) != ALL, pl.col("customers") > 0)


def movers_display(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    """Movers with readable, translated columns and state codes replaced by their labels."""
    from segmentation.snapshots import state_label
    from ui.i18n import column_label
    from ui.i18n_time import t

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


def movers_total(frame: pl.DataFrame) -> float:
    return float(frame["revenue"].sum() or 0.0) if frame.height else 0.0


def drop_empty_tiers(trends: pl.DataFrame) -> pl.DataFrame:
    """KPI rows without tiers that never had a customer or any activity (e.g. an unused catch-all)."""
    busy = trends.group_by(C.TIER).agg((pl.col("customers").sum() + pl.col("active_customers").sum()).alias("_n"))
    keep = busy.filter(pl.col("_n") > 0)[C.TIER]
    return trends.filter(pl.col(C.TIER).is_in(keep.implode()))


def kpi_series(trends: pl.DataFrame, kpi: str, tiers: tuple[str, ...] | list[str] = ()) -> pl.DataFrame:
    """``period_start``, ``period_end``, ``tier`` and the chosen KPI as ``value``, for the chosen
    tiers (all when empty; ``__all__`` rows are always kept)."""
    from segmentation.kpis import ALL

    frame = trends.select("period_start", "period_end", C.TIER, pl.col(kpi).cast(pl.Float64).alias("value"))
    if tiers:
        frame = frame.filter(pl.col(C.TIER).is_in([*tiers, ALL]))
    return frame


def with_total(trends: pl.DataFrame, total: pl.DataFrame) -> pl.DataFrame:
    """Per-tier KPI rows plus the all-customer rows (``tier = "__all__"``)."""
    return pl.concat([trends, total.select(trends.columns)], how="vertical_relaxed")


@st.cache_data(ttl=CACHE_TTL, max_entries=12, show_spinner=False)
def _kpis_total(key: TierKey, end: str, period: str, cut_mode: str) -> pl.DataFrame:
    from segmentation.kpis import kpi_trends

    return kpi_trends(
        state.transactions(key.dataset), rules=_ruleset(key), period=PERIOD_NAMES.get(period, "month"),  # type: ignore[arg-type]
        end=end, bins=key.bins, method=key.method, thresholds=_thresholds(key),  # type: ignore[arg-type]
        window_days=key.window_days or None, cut_mode=cut_mode, by_tier=False,  # type: ignore[arg-type]
        clv_model=_clv_model_of(key),
    )


def kpis_total(ctx: state.Context) -> pl.DataFrame:
    """KPI trends of all customers together (``tier = "__all__"``)."""
    return _kpis_total(TierKey.of(ctx), trend_end(ctx).isoformat(), ctx.settings.period, ctx.settings.cut_mode)


def last_period(trends: pl.DataFrame) -> tuple[dt.date, dt.date] | None:
    """(start, end) of the latest period of a KPI table."""
    if trends.height == 0:
        return None
    row = trends.select(pl.col("period_start").max(), pl.col("period_end").max()).row(0)
    return row[0], row[1]


def latest_churn(trends: pl.DataFrame) -> dict[str, float | None]:
    """Churn rate per tier in the latest period of a KPI table."""
    if trends.height == 0:
        return {}
    last = trends.filter(pl.col("period_end") == pl.col("period_end").max())
    return dict(last.select(C.TIER, "churn_rate").iter_rows())


def kpi_definitions(lang: str) -> list[tuple[str, str, str, str]]:
    """(code, name, definition, unit) of every KPI in ``lang``."""
    from segmentation.kpis import KPI_DEFINITIONS

    return [(code, zh if lang == "zh" else en, dzh if lang == "zh" else den, unit)
            for code, zh, en, dzh, den, unit in KPI_DEFINITIONS]


def suggestions_for(suggestions: pl.DataFrame, tier: str) -> list[dict[str, Any]]:
    """A tier's suggestions (priority order) as dicts."""
    return suggestions.filter(pl.col(C.TIER) == tier).to_dicts()


def explain_why(why: str, lang: str) -> str:
    """The playbook's trigger text with metric names in ``lang`` ("always" -> standing advice)."""
    from ui.i18n_time import TEXT_TIME, t

    if why == "always":
        return t("st_always", lang)
    parts = []
    for piece in why.split("; "):
        metric, _, rest = piece.partition(" ")
        key = f"metric_{metric}"
        name = t(key, lang) if key in TEXT_TIME else metric
        parts.append(f"{name} {_readable_clause(rest, lang)}")
    return "；".join(parts) if lang == "zh" else "; ".join(parts)


def _readable_clause(rest: str, lang: str) -> str:
    # "42.3% >= 30%" -> "42.3%（≥ 30%）"; the actual number first, the threshold after.
    value, _, cond = rest.partition(" ")
    op, _, limit = cond.partition(" ")
    sign = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}.get(op, op)
    return f"{value}（{sign} {limit}）" if lang == "zh" else f"{value} ({sign} {limit})"


def budget_rows(allocation: pl.DataFrame) -> tuple[pl.DataFrame, float]:
    """Tier rows of ``allocate_budget`` (tiers with customers) and the budget left unallocated."""
    rest = allocation.filter(pl.col(C.TIER) == "__unallocated__")
    left = float(rest["budget"].sum() or 0.0) if rest.height else 0.0
    return allocation.filter(pl.col(C.TIER) != "__unallocated__", pl.col("customers") > 0), left


def what_if_rows(result: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Tier rows of ``what_if`` and the total row as a dict."""
    total = result.filter(pl.col(C.TIER) == "__all__")
    rows = result.filter(pl.col(C.TIER) != "__all__", (pl.col("customers_before") > 0) | (pl.col("customers_after") > 0))
    return rows, (total.row(0, named=True) if total.height else {})


def clv_headline(frame: pl.DataFrame) -> dict[str, float]:
    """Total and mean CLV, mean P(alive), and customers with P(alive) < 0.3."""
    if frame.height == 0:
        return {"total": 0.0, "mean": 0.0, "alive": 0.0, "at_risk": 0, "customers": 0}
    row = frame.select(
        pl.col(C.CLV).sum().alias("total"), pl.col(C.CLV).mean().alias("mean"),
        pl.col(C.P_ALIVE).mean().alias("alive"), (pl.col(C.P_ALIVE) < 0.3).sum().alias("at_risk"),
        pl.len().alias("customers"),
    ).row(0, named=True)
    return row


def clv_histogram(frame: pl.DataFrame, *, bins: int = 40, skew_ratio: float = 10.0) -> tuple[pl.DataFrame, bool]:
    """Histogram of CLV: ``lower``, ``upper``, ``customers``; and whether bins are logarithmic.

    Bins are logarithmic when the distribution is skewed (the 99th percentile more than
    ``skew_ratio`` times the median), so the long tail and the crowd are both visible.
    Values below the first edge (near zero) are counted in the first bin.
    """
    # numpy's histogram because Polars has no log-spaced binning; the frame is one row per customer.
    values = frame[C.CLV].drop_nulls().to_numpy()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return pl.DataFrame(schema={"lower": pl.Float64, "upper": pl.Float64, "customers": pl.Int64}), False
    median, p99, top = float(np.median(values)), float(np.quantile(values, 0.99)), float(values.max())
    log = median > 0 and p99 / median > skew_ratio
    if log:
        # Customers worth less than one currency unit share the first bar instead of
        # stretching the axis over decades nobody reads.
        lo = max(float(np.quantile(values, 0.01)), 1.0)
        edges = np.geomspace(lo, max(top, lo * 10), bins + 1)
        counts, _ = np.histogram(np.clip(values, lo, None), bins=edges)
    else:
        counts, edges = np.histogram(values, bins=bins)
    return pl.DataFrame({"lower": edges[:-1], "upper": edges[1:], "customers": counts.astype(np.int64)}), log


def clv_by_tier(tiered: pl.DataFrame) -> pl.DataFrame:
    """Per tier in rule order: ``customers``, ``scored`` (with a CLV), ``mean_clv``,
    ``median_clv``, ``total_clv``, ``mean_p_alive``; tiers without customers left out."""
    names = state.tier_names(tiered)
    per = tiered.group_by(pl.col(C.TIER).cast(pl.String)).agg(
        pl.len().alias("customers"),
        pl.col(C.CLV).count().alias("scored"),
        pl.col(C.CLV).mean().alias("mean_clv"),
        pl.col(C.CLV).median().alias("median_clv"),
        pl.col(C.CLV).sum().alias("total_clv"),
        pl.col(C.P_ALIVE).mean().alias("mean_p_alive"),
    )
    order = pl.DataFrame({C.TIER: names}, schema={C.TIER: pl.String})
    return order.join(per, on=C.TIER, how="inner", maintain_order="left")


def unscored(tiered: pl.DataFrame) -> int:
    """Customers of the tiered table without a CLV score."""
    return int(tiered[C.CLV].null_count()) if C.CLV in tiered.columns else tiered.height


def alive_sample(tiered: pl.DataFrame, n: int = SCATTER_POINTS, seed: int = 0) -> pl.DataFrame:
    """At most ``n`` scored customers (seeded sample): customer_id, tier, recency_days,
    frequency, p_alive, clv."""
    scored = tiered.filter(pl.col(C.P_ALIVE).is_not_null()).select(
        C.CUSTOMER_ID, pl.col(C.TIER).cast(pl.String), C.RECENCY, C.FREQUENCY, C.P_ALIVE, C.CLV
    )
    return scored.sample(n, seed=seed) if scored.height > n else scored


def top_clv(tiered: pl.DataFrame, n: int = 20) -> pl.DataFrame:
    """The ``n`` customers with the highest CLV: id, tier, RFM, p_alive, expected purchases, clv."""
    cols = [C.CUSTOMER_ID, C.TIER, C.RECENCY, C.FREQUENCY, C.MONETARY, C.P_ALIVE, "expected_purchases", C.CLV]
    return (
        tiered.filter(pl.col(C.CLV).is_not_null())
        .sort(C.CLV, descending=True)
        .head(n)
        .select([c for c in cols if c in tiered.columns])
        .with_columns(pl.col(C.TIER).cast(pl.String))
    )


def top_clv_display(top: pl.DataFrame, lang: str, currency: str) -> pl.DataFrame:
    """:func:`top_clv` with formatted numbers and translated column names."""
    from ui.i18n import column_label, fmt_int, fmt_money, fmt_num, fmt_pct
    from ui.i18n_time import t

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


def trust_level(relative_error: float) -> str:
    """"good" within 10%, "fair" within 25%, else "poor" (NaN counts as poor)."""
    if not math.isfinite(relative_error):
        return "poor"
    err = abs(relative_error)
    return "good" if err <= 0.10 else "fair" if err <= 0.25 else "poor"


def largest_move(matrix: pl.DataFrame, from_state: str) -> str | None:
    """The destination of the biggest flow out of ``from_state`` into another state."""
    moved = matrix.filter(pl.col("from_state") == from_state, pl.col("direction") != "same")
    if moved.height == 0:
        return None
    return str(moved.sort("customers", descending=True)["to_state"][0])


def state_label(state_code: str, lang: str) -> str:
    """Display label of a tier or a migration state code (New, Returning, Left)."""
    from segmentation.snapshots import state_label as core_label

    return core_label(state_code, lang)


def card_rows(summary: pl.DataFrame, unassigned: str) -> list[dict[str, Any]]:
    """Tier rows of the strategy summary as dicts, without an empty catch-all tier."""
    rows = summary.to_dicts()
    return [r for r in rows if not (r[C.TIER] == unassigned and not r["customers"])]


def kind_label(kind: str, lang: str) -> str:
    from segmentation.playbook import KIND_LABELS

    labels = KIND_LABELS.get(str(kind))
    return labels[lang if lang in labels else "en"] if labels else str(kind)


def channel_label(channel: str | None, lang: str) -> str:
    from ui.i18n_time import TEXT_TIME, t

    key = f"channel_{channel}"
    return t(key, lang) if key in TEXT_TIME else str(channel or "—")


def budget_totals(rows: pl.DataFrame) -> tuple[float, float]:
    """(budget spent, expected return) over the tier rows of ``allocate_budget``."""
    return float(rows["budget"].sum() or 0.0), float(rows["expected_return"].fill_null(0.0).sum() or 0.0)


def signed(text: str, value: float) -> str:
    """``text`` with a leading "+" for positive values (negative numbers carry their own sign)."""
    return ("+" + text) if value > 0 else text


def what_if_display(rows: pl.DataFrame, lang: str, currency: str) -> pl.DataFrame:
    """What-if tier rows with formatted, translated columns."""
    from ui.i18n import fmt_int, fmt_money
    from ui.i18n_time import t

    return pl.DataFrame({
        t("budget_tier", lang): rows[C.TIER].to_list(),
        t("wi_before", lang): [fmt_int(v) for v in rows["customers_before"]],
        t("wi_after", lang): [fmt_int(v) for v in rows["customers_after"]],
        t("wi_amount_before", lang): [fmt_money(v, lang, currency) for v in rows["amount_before"]],
        t("wi_amount_after", lang): [fmt_money(v, lang, currency) for v in rows["amount_after"]],
        t("wi_amount_change", lang): [("+" if v > 0 else "") + fmt_money(v, lang, currency) for v in rows["amount_change"]],
    })


def tier_row(rows: pl.DataFrame, tier: str) -> dict[str, Any]:
    """One tier's row of a per-tier frame as a dict ({} when absent)."""
    hit = rows.filter(pl.col(C.TIER) == tier)
    return hit.row(0, named=True) if hit.height else {}


def populated_tiers(summary: pl.DataFrame) -> list[str]:
    """Tiers of a strategy summary that have customers, in rule order."""
    return summary.filter(pl.col("customers") > 0)[C.TIER].to_list()
