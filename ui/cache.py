"""Every cached call into the core, keyed on small stable values.

Caching is layered so a widget change recomputes only what depends on it:

    transactions(dataset)                        upload/demo, per data set
    customer_table(dataset, as_of, window)       the one group-by over transactions
    scored_table(dataset, as_of, spec.scoring)   scoring
    tiered_table(dataset, as_of, spec)           tier assignment
    snapshot_table(dataset, dates, spec, ...)    every page over time, fixed cut points at the as-of date
    window_totals(dataset, T, h)                 backtest: what every customer did in (T, T + h]
    aligned_outcomes(dataset, T, h, window)      ... lined up with the customers at T (customer_table)
    backtest_view(dataset, T, h, spec, ...)      re-tier + evaluate: all a slider move recomputes

Keys are data set ids, ISO dates, numbers and the frozen :class:`~segmentation.spec.TieringSpec`
(hashed by its fields); frames pass between layers by calling the cached function below, never
as arguments. Frames are cached as resources: ``st.cache_data`` would pickle a copy on every
write and read (about 0.3 s per million customers), and Polars frames are never changed in
place, so sharing one object between reruns and sessions is safe. Small results (summaries,
dataclasses of small frames) use ``st.cache_data``.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from segmentation import columns as C
from segmentation import summary as S
from segmentation.backtest import (
    AlignedOutcomes,
    Backtest,
    Evaluation,
    Suggestions,
    WindowOutcomes,
    align_outcomes,
    backtest,
    customer_outcomes,
    evaluate,
    latest_as_of,
    preset_spec,
    suggest_thresholds,
    tier_customers,
    walk_forward,
    window_outcomes,
)
from segmentation.clv import ClvModel, FitWarning, HoldoutVerdict, holdout_check, score_customers
from segmentation.coding import coded_transactions
from segmentation.customers import load_customer_tables
from segmentation.demo import demo_transactions
from segmentation.enrich import RULE_VALUATION, add_clv
from segmentation.errors import DataError
from segmentation.ingest import list_tables, load_transactions, read_table
from segmentation.kpis import cohort_retention, kpi_trends, latest_churn, typical_gap_days
from segmentation.migration import (
    comparison_dates,
    cut_mode_effect,
    migration_matrix,
    migration_rates,
    sankey_flows,
)
from segmentation.migration import movers as core_movers
from segmentation.rfm import rfm_table
from segmentation.rules import assign_tiers, lint_rules
from segmentation.scoring import Cuts, add_ranks, empty_levels, fit_cuts, score
from segmentation.scoring import suggest_thresholds as round_thresholds
from segmentation.snapshots import customer_snapshots, snapshots
from segmentation.spec import TieringSpec
from segmentation.store import AS_OF, CUSTOMERS, TRANSACTIONS, Store, get_store
from segmentation.strategy import suggest
from segmentation.strategy import tier_summary as strategy_summary
from ui.settings import DEMO_ID, PERIOD_NAMES

TTL = 3600


# --------------------------------------------------------------------------------- data sets


@st.cache_resource(show_spinner=False)
def store() -> Store:
    """The process-wide data set store (the folder in env TIERLENS_DB, else data/store)."""
    return get_store()


@st.cache_data(ttl=60, max_entries=4, show_spinner=False)
def saved_datasets() -> pl.DataFrame:
    """Saved data sets, newest first (id, name, created_at, rows, customers, first/last date)."""
    return store().list()


def forget_datasets() -> None:
    """Drop cached data set lists, names and frames after a save, delete or restore."""
    saved_datasets.clear()
    transactions.clear()
    dataset_kind.clear()
    as_of_dates.clear()
    dataset_report.clear()
    dataset_currency.clear()
    resolve_dataset.clear()
    named_datasets.clear()
    dataset_versions.clear()


@st.cache_data(ttl=30, max_entries=64, show_spinner=False)
def resolve_dataset(ref: str) -> str:
    """The data set id a link's reference stands for (``name:<name>`` -> its newest version).

    Cached for 30 s: a refresh from another process (the command line) shows within that time.

    Raises:
        DataError: the id or the name is not in the store.
    """
    return ref if ref == DEMO_ID else store().resolve(ref)


@st.cache_data(ttl=30, max_entries=4, show_spinner=False)
def named_datasets() -> pl.DataFrame:
    """Named data sets, most recently updated first (dataset, id, versions, updated_at)."""
    return store().datasets()


@st.cache_data(ttl=30, max_entries=32, show_spinner=False)
def dataset_versions(name: str) -> pl.DataFrame:
    """The versions of a named data set, newest first (see :meth:`Store.versions`)."""
    return store().versions(name)


@st.cache_resource(ttl=TTL, max_entries=4, show_spinner=False)
def transactions(dataset_id: str) -> pl.DataFrame:
    """The transactions of a data set: the built-in demo or a stored one.

    Raises:
        DataError: the id is not in the store.
    """
    return demo_transactions() if dataset_id == DEMO_ID else store().load(dataset_id)


@st.cache_data(ttl=TTL, max_entries=32, show_spinner=False)
def dataset_kind(dataset_id: str) -> str:
    """"transactions" or "customers" (a customer-level data set: one row per customer and date)."""
    return TRANSACTIONS if dataset_id == DEMO_ID else store().kind(dataset_id)


@st.cache_data(ttl=TTL, max_entries=32, show_spinner=False)
def as_of_dates(dataset_id: str) -> tuple[dt.date, ...]:
    """The dates of a customer-level data set's tables, ascending (() for transactions)."""
    return () if dataset_id == DEMO_ID else store().as_of_dates(dataset_id)


def _customer_level(dataset_id: str) -> bool:
    return dataset_kind(dataset_id) == CUSTOMERS


def _table_date(dataset_id: str, day: str) -> dt.date | None:
    """The customer-level data set's table date in force on ``day``: the latest on or before it."""
    before = [d for d in as_of_dates(dataset_id) if d <= dt.date.fromisoformat(day)]
    return before[-1] if before else None


def _needs_transactions(what: str) -> DataError:
    # The code words the message in the page's language (rules on P_ALIVE or CLV end up here).
    return DataError(
        f"{what} needs the purchase history (one row per order), and this data set holds one row per "
        "customer. Upload the transactions to see it.",
        code="needs_transactions",
    )


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def dataset_report(dataset_id: str) -> dict[str, Any]:
    """The ingest report saved with a data set ({} for the demo)."""
    return {} if dataset_id == DEMO_ID else store().report(dataset_id)


@st.cache_data(ttl=60, max_entries=64, show_spinner=False)
def dataset_currency(dataset_id: str) -> str:
    """The currency saved with (or detected in) a stored data set; "" when none ("" for the demo)."""
    return "" if dataset_id == DEMO_ID else store().currency(dataset_id)


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def date_range(dataset_id: str) -> tuple[dt.date, dt.date]:
    """First and last order day of a data set."""
    return S.date_bounds(transactions(dataset_id))


class _Named(io.BytesIO):
    """Upload bytes with the file name the loader uses in its messages."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


def _sources(key: tuple[tuple[Any, ...], ...], data: Sequence[bytes | None]) -> list[Any]:
    # Uploads come as bytes; server-folder files as paths (their bytes never pass through here).
    return [_Named(d, str(k[1])) if d is not None else Path(str(k[0])) for k, d in zip(key, data, strict=True)]


@st.cache_data(ttl=900, max_entries=4, show_spinner=False)
def source_tables(key: tuple[tuple[Any, ...], ...], _data: Sequence[bytes | None]) -> list[dict[str, Any]]:
    """``list_tables`` of the chosen files: table, rows, columns, transactions, has_header.

    ``key`` names the files: ``(file_id, name)`` per upload or ``(path, mtime_ns, size)`` per
    server file; ``_data`` (not hashed) holds the upload bytes, ``None`` for a server file.
    """
    return list_tables(_sources(key, _data))


@st.cache_data(ttl=900, max_entries=8, show_spinner=False)
def table_preview(key: tuple[tuple[Any, ...], ...], table: str, _data: Sequence[bytes | None]) -> pl.DataFrame:
    """The first 20 rows of one table, as text (for the preview and mapping by position)."""
    return read_table(_sources(key, _data), sheet=table)[0].head(20)


@dataclass(frozen=True)
class LoadOptions:
    """Every option of :func:`load_transactions` the Data page offers: part of the cache key."""

    mapping: tuple[tuple[str, str | None], ...] | None = None
    date_order: str | None = None
    sheet: tuple[str, ...] | None = None
    combine: str = "auto"
    join_keys: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    duplicates: str | None = None
    cancelled: str = "drop"
    non_product: str = "keep"


@st.cache_data(ttl=900, max_entries=8, show_spinner=False)
def load_source(
    key: tuple[tuple[Any, ...], ...], options: LoadOptions, _data: Sequence[bytes | None]
) -> tuple[pl.DataFrame, Any]:
    """``load_transactions`` on the chosen files with the page's options: (tx, LoadReport)."""
    return load_transactions(
        _sources(key, _data),
        mapping=dict(options.mapping) if options.mapping is not None else None,
        date_order=options.date_order,  # type: ignore[arg-type]
        sheet=list(options.sheet) if options.sheet else None,
        combine=options.combine,  # type: ignore[arg-type]
        join_keys={table: list(keys) for table, keys in options.join_keys} if options.join_keys else None,
        duplicates=options.duplicates,  # type: ignore[arg-type]
        cancelled=options.cancelled,  # type: ignore[arg-type]
        non_product=options.non_product,  # type: ignore[arg-type]
    )


@st.cache_data(ttl=900, max_entries=8, show_spinner=False)
def load_customer_source(
    key: tuple[tuple[Any, ...], ...], mapping: tuple[tuple[str, str | None], ...] | None, as_of: str | None,
    date_order: str | None, _data: Sequence[bytes | None],
) -> tuple[pl.DataFrame, list[Any]]:
    """``load_customer_tables`` on the chosen files: (customer tables with as_of, one
    CustomerReport per table)."""
    sources = _sources(key, _data)
    if len(sources) > 1 and all(isinstance(s, Path) for s in sources):
        # Several server files are the parts of one Parquet folder (one choice on the page).
        sources = [sources]
    return load_customer_tables(sources, mapping=dict(mapping) if mapping is not None else None,
                                as_of=as_of, date_order=date_order)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- one date


@st.cache_resource(ttl=TTL, max_entries=64, show_spinner=False)
def tiering_spec(
    rules: str, bins: int, method: str, thresholds: str, window_days: int, unassigned: str,
    value_order: tuple[str, ...],
) -> TieringSpec:
    """The spec of a view. Kept as one object per settings, so its rule text is parsed once.

    Raises:
        SettingsError, DataError: bad scoring settings or window (the rules parse on first use).
    """
    return TieringSpec(rules=rules, bins=bins, method=method, thresholds=thresholds,
                       window_days=window_days or None, unassigned=unassigned, value_order=value_order)


@st.cache_resource(ttl=TTL, max_entries=4, show_spinner=False)
def coded(dataset_id: str) -> tuple[pl.DataFrame, pl.Series]:
    """A data set with integer-coded customer ids and the id list (see ``Store.load_coded``).

    Every as-of or window change re-aggregates the whole data set; grouping integer codes is
    several times faster than grouping string ids on millions of rows. Stored data sets keep
    the coded copy beside them, so it is built once per data set, not once per process.
    """
    if dataset_id == DEMO_ID:
        return coded_transactions(demo_transactions())
    return store().load_coded(dataset_id)


@st.cache_resource(ttl=TTL, max_entries=16, show_spinner=False)
def customer_table(dataset_id: str, as_of: str, window_days: int | None) -> pl.DataFrame:
    """``rfm_table`` of a data set at an ISO as-of date, with mid-ranks for quick re-scoring.

    Computed from the coded copy (:func:`coded`); ids come back verbatim, and the table equals
    ``rfm_table(transactions(dataset_id), ...)``. A customer-level data set has no transactions
    to aggregate: its own table dated on or before ``as_of`` is used as it is (no lookback
    window applies to it).
    """
    if _customer_level(dataset_id):
        day = _table_date(dataset_id, as_of)
        tables = transactions(dataset_id)
        if day is None:
            return add_ranks(tables.clear().drop(AS_OF))
        return add_ranks(tables.filter(pl.col(AS_OF) == day).drop(AS_OF))
    frame, ids = coded(dataset_id)
    return add_ranks(rfm_table(frame, as_of=as_of, window_days=window_days, ids=ids))


@st.cache_data(ttl=TTL, max_entries=32, show_spinner=False)
def cut_points(dataset_id: str, as_of: str, spec: TieringSpec) -> Cuts:
    """The cut points scoring uses (shown to the user, and held fixed across dates)."""
    return fit_cuts(customer_table(dataset_id, as_of, spec.window_days), bins=spec.bins, method=spec.method,  # type: ignore[arg-type]
                    thresholds=spec.thresholds_map)


@st.cache_resource(ttl=TTL, max_entries=32, show_spinner=False)
def scored_table(dataset_id: str, as_of: str, spec: TieringSpec) -> pl.DataFrame:
    """The customer table with r_score, f_score, m_score (keyed on the scoring part only)."""
    return score(customer_table(dataset_id, as_of, spec.window_days), bins=spec.bins, method=spec.method,  # type: ignore[arg-type]
                 thresholds=spec.thresholds_map)


def _scoring(spec: TieringSpec) -> TieringSpec:
    # Rules play no part in scoring: one scored table serves every rule text.
    return spec.replace(rules="", value_order=())


def _scored_for_rules(dataset_id: str, as_of: str, spec: TieringSpec) -> pl.DataFrame:
    scored = scored_table(dataset_id, as_of, _scoring(spec))
    if spec.needs_clv:
        scored = add_clv(scored, clv_scores(dataset_id, as_of, *RULE_VALUATION).frame)
    return scored  # type: ignore[return-value]


@st.cache_resource(ttl=TTL, max_entries=32, show_spinner=False)
def tiered_table(dataset_id: str, as_of: str, spec: TieringSpec) -> pl.DataFrame:
    """The scored customer table with ``tier`` (pl.Enum in rule order)."""
    return assign_tiers(_scored_for_rules(dataset_id, as_of, spec), spec.ruleset)


@st.cache_data(ttl=TTL, max_entries=32, show_spinner=False)
def lint_issues(dataset_id: str, as_of: str, spec: TieringSpec) -> list[Any]:
    """Rule linter findings on this customer table (LintIssue list)."""
    return lint_rules(_scored_for_rules(dataset_id, as_of, spec), spec.ruleset, bins=spec.bins)


@dataclass(frozen=True)
class Overview:
    """The small aggregates the overview and the summary export show, cached per view."""

    headline: dict[str, Any]
    summary: pl.DataFrame
    rf_grid: pl.DataFrame
    pareto: pl.DataFrame
    top20: float


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def overview(dataset_id: str, as_of: str, spec: TieringSpec) -> Overview:
    """Headline numbers, tier summary, R x F grid and Pareto curve of a view (small outputs)."""
    rfm = customer_table(dataset_id, as_of, spec.window_days)
    tiered = tiered_table(dataset_id, as_of, spec)
    curve, top20 = concentration(dataset_id, as_of, spec.window_days)
    return Overview(
        headline=S.headline(rfm, tiered, order=spec.tier_order),
        summary=S.tier_summary(tiered, unassigned=spec.unassigned, order=spec.tier_order),
        rf_grid=S.rf_grid(tiered),
        pareto=curve,
        top20=top20,
    )


@dataclass(frozen=True)
class Levels:
    """Score levels that ties leave empty, and round cut points that would fill them."""

    empty: pl.DataFrame  # axis, score, value, share, message_zh, message_en
    suggested: str  # thresholds text ("" when nothing is empty)


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def score_levels(dataset_id: str, as_of: str, window_days: int | None, bins: int) -> Levels:
    """Quantile score levels no customer can reach because many share one value (52% bought once)."""
    rfm = customer_table(dataset_id, as_of, window_days)
    empty = empty_levels(rfm, bins=bins)
    return Levels(empty, round_thresholds(rfm, bins=bins) if empty.height else "")


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def concentration(dataset_id: str, as_of: str, window_days: int | None) -> tuple[pl.DataFrame, float]:
    """Pareto curve and top-20% revenue share: they depend on the customers, not on scoring, so
    a bins or rules change does not recompute them (two sorts of a million values)."""
    rfm = customer_table(dataset_id, as_of, window_days)
    return S.pareto(rfm), S.top_share(rfm, 0.2)


# --------------------------------------------------------------------------------- lifetime value


@dataclass(frozen=True)
class Clv:
    """Per-customer predictions and the numbers behind them."""

    frame: pl.DataFrame  # customer_id, p_alive, expected_purchases, clv, repeat_buyer, past_typical_gap, ...
    n_customers: int
    n_repeat_buyers: int
    model: ClvModel | None = None  # the fitted models, to score other dates the same way
    warnings: tuple[FitWarning, ...] = ()  # what the fit cannot support, in words
    typical_gap_days: float | None = None  # repeat buyers' median days between purchases


@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def clv_scores(dataset_id: str, as_of: str, horizon_days: int, discount_rate: float, margin: float) -> Clv:
    """``segmentation.clv.score_customers`` on a data set (history before the as-of date).

    Raises:
        DataError: too few repeat buyers to fit, or the fit fails, or a customer-level data set.
    """
    if _customer_level(dataset_id):
        raise _needs_transactions("Lifetime value")
    result = score_customers(transactions(dataset_id), as_of=dt.date.fromisoformat(as_of),
                             horizon_days=horizon_days, discount_rate=discount_rate, margin=margin)
    return Clv(result.frame, result.report.n_customers, result.report.n_repeat_buyers, result.model,
               tuple(result.warnings), result.typical_gap_days)


@dataclass(frozen=True)
class Holdout:
    frame: pl.DataFrame
    predicted_total: float
    actual_total: float
    relative_error: float
    verdict: HoldoutVerdict
    warnings: tuple[FitWarning, ...] = ()


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def holdout(dataset_id: str, calibration_end: str, observation_end: str) -> Holdout:
    """``segmentation.clv.holdout_check`` on a data set (raises DataError like the fit)."""
    if _customer_level(dataset_id):
        raise _needs_transactions("The holdout check")
    check = holdout_check(transactions(dataset_id), calibration_end=dt.date.fromisoformat(calibration_end),
                          observation_end=dt.date.fromisoformat(observation_end))
    return Holdout(check.frame, check.predicted_total, check.actual_total, check.relative_error, check.verdict,
                   tuple(check.warnings))


# --------------------------------------------------------------------------------- over time
# Every call over time takes ``reference``: the view's as-of date, where fixed cut points (and
# the lifetime-value model of P_ALIVE / CLV rules) are fitted once for every page.


def _clv_model(dataset_id: str, spec: TieringSpec, reference: str) -> ClvModel | None:
    return clv_scores(dataset_id, reference, *RULE_VALUATION).model if spec.needs_clv else None


@st.cache_resource(ttl=TTL, max_entries=16, show_spinner=False)
def snapshot_table(dataset_id: str, dates: tuple[str, ...], spec: TieringSpec, cut_mode: str,
                   reference: str) -> pl.DataFrame:
    """``segmentation.snapshots.snapshots`` at the given ISO dates (sorted by the caller); for a
    customer-level data set, ``customer_snapshots`` over its dated tables."""
    if _customer_level(dataset_id):
        return customer_snapshots(transactions(dataset_id), list(dates), spec, cut_mode=cut_mode,  # type: ignore[arg-type]
                                  reference_date=reference)
    return snapshots(transactions(dataset_id), list(dates), spec, cut_mode=cut_mode,  # type: ignore[arg-type]
                     reference_date=reference, clv_model=_clv_model(dataset_id, spec, reference))


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def compare_options(dataset_id: str, as_of: str, period: str, extra: tuple[str, ...] = ()) -> list[str]:
    """Dates a user can compare (ISO, ascending), see :func:`segmentation.migration.comparison_dates`;
    for a customer-level data set, the dates of its tables up to ``as_of``."""
    if _customer_level(dataset_id):
        return [d.isoformat() for d in as_of_dates(dataset_id) if d <= dt.date.fromisoformat(as_of)]
    days = comparison_dates(transactions(dataset_id), as_of=dt.date.fromisoformat(as_of),
                            period=PERIOD_NAMES.get(period, "month"), extra=extra)
    return [d.isoformat() for d in days]


@dataclass(frozen=True)
class Migration:
    """Migration between the chosen dates: flows of the pair ``(d1, d2)`` and Sankey links."""

    matrix: pl.DataFrame
    rates: pl.DataFrame
    nodes: pl.DataFrame
    links: pl.DataFrame
    tier_names: tuple[str, ...]


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def migration(dataset_id: str, dates: tuple[str, ...], spec: TieringSpec, cut_mode: str, reference: str,
              d1: str, d2: str) -> Migration:
    table = snapshot_table(dataset_id, dates, spec, cut_mode, reference)
    # Customer tables carry each period's revenue themselves (period_revenue).
    tx = None if _customer_level(dataset_id) else transactions(dataset_id)
    order = spec.tier_order
    # With the transactions, flow revenue is what the customers spent between the two dates,
    # returns after they left the window included: the same figure Trends shows.
    flows = sankey_flows(table, list(dates), value_order=order, tx=tx)
    return Migration(
        matrix=migration_matrix(table, d1, d2, value_order=order, tx=tx),
        rates=migration_rates(table, d1, d2, value_order=order),
        nodes=flows.nodes,
        links=flows.links,
        tier_names=tuple(table.schema[C.TIER].categories.to_list()),
    )


@st.cache_resource(ttl=TTL, max_entries=16, show_spinner=False)
def movers(dataset_id: str, dates: tuple[str, ...], spec: TieringSpec, cut_mode: str, reference: str,
           from_state: str, to_state: str, d1: str, d2: str) -> pl.DataFrame:
    return core_movers(snapshot_table(dataset_id, dates, spec, cut_mode, reference), from_state, to_state, d1, d2,
                       value_order=spec.tier_order,
                       tx=None if _customer_level(dataset_id) else transactions(dataset_id))


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def relative_moves(dataset_id: str, spec: TieringSpec, reference: str, d1: str, d2: str) -> tuple[int, int]:
    """(customers who changed tier with recomputed cut points, of those: only relatively)."""
    pair = (d1, d2)
    effect = cut_mode_effect(snapshot_table(dataset_id, pair, spec, "fixed", reference),
                             snapshot_table(dataset_id, pair, spec, "recomputed", reference), d1, d2,
                             value_order=spec.tier_order)
    return int(effect["customers"].sum()), int(effect["relative_only"].sum())


@st.cache_data(ttl=TTL, max_entries=12, show_spinner=False)
def kpis(dataset_id: str, spec: TieringSpec, end: str, period: str, cut_mode: str, reference: str,
         by_tier: bool = True, churn_days: int | None = None) -> pl.DataFrame:
    """``segmentation.kpis.kpi_trends`` up to and including ``end`` (a hard cut)."""
    if _customer_level(dataset_id):
        raise _needs_transactions("KPI trends")
    return kpi_trends(
        transactions(dataset_id), spec, period=PERIOD_NAMES.get(period, "month"), end=end,  # type: ignore[arg-type]
        cut_mode=cut_mode, reference_date=reference, by_tier=by_tier,  # type: ignore[arg-type]
        clv_model=_clv_model(dataset_id, spec, reference), churn_days=churn_days,
    )


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def typical_gap(dataset_id: str, as_of: str) -> int:
    """The data's default churn threshold in days (see ``segmentation.kpis.typical_gap_days``)."""
    if _customer_level(dataset_id):
        raise _needs_transactions("The typical gap between purchases")
    return int(typical_gap_days(transactions(dataset_id), end=as_of))


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def cohorts(dataset_id: str, end: str, max_months: int) -> pl.DataFrame:
    if _customer_level(dataset_id):
        raise _needs_transactions("Cohort retention")
    return cohort_retention(transactions(dataset_id), max_months=max_months, end=end)


@dataclass(frozen=True)
class Strategy:
    """The tier summary at the as-of date (with change since ``previous``) and its suggestions."""

    summary: pl.DataFrame
    suggestions: pl.DataFrame
    churn: dict[str, float | None]
    now: str
    previous: str | None


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def strategy(dataset_id: str, spec: TieringSpec, now: str, previous: str | None, cut_mode: str,
             period: str, churn_days: int | None = None) -> Strategy:
    dates = (previous, now) if previous else (now,)
    table = snapshot_table(dataset_id, dates, spec, cut_mode, now)
    summary = strategy_summary(table, now, previous=previous, bins=spec.bins, value_order=spec.tier_order)
    # Churn per period needs the purchase history; customer tables leave it out.
    churn = {} if _customer_level(dataset_id) else latest_churn(kpis(dataset_id, spec, now, period, cut_mode, now,
                                                                         True, churn_days))
    return Strategy(summary, suggest(summary), churn, now, previous)


# --------------------------------------------------------------------------------- backtest
# T and h are ISO text and whole days; the customers at T are customer_table(dataset, T, window),
# so a backtest shares that table with every other page at the same date.


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def backtest_latest(dataset_id: str, as_of: str, horizon_days: int) -> str:
    """The latest T whose window (T, T + h] ends by the view's as-of date (ISO).

    Raises:
        DataError: the data is shorter than the horizon, or a customer-level data set.
    """
    latest = latest_as_of(transactions(dataset_id), horizon_days)
    # The as-of date is a hard cut: the window may not look past it either.
    return min(latest, dt.date.fromisoformat(as_of) - dt.timedelta(days=horizon_days)).isoformat()


@st.cache_resource(ttl=TTL, max_entries=16, show_spinner=False)
def window_totals(dataset_id: str, as_of: str, horizon_days: int) -> WindowOutcomes:
    """``window_outcomes`` once per (data set, T, h): the only step that reads transactions after T."""
    return window_outcomes(transactions(dataset_id), as_of, horizon_days)


def _with_clv(dataset_id: str, as_of: str, customers: pl.DataFrame, spec: TieringSpec, within: str) -> pl.DataFrame:
    if spec.needs_clv or within == "clv":
        # The app's valuation at T, as every page scores P_ALIVE / CLV rules.
        return add_clv(customers, clv_scores(dataset_id, as_of, *RULE_VALUATION).frame)  # type: ignore[return-value]
    return customers


def backtest_customers(dataset_id: str, as_of: str, spec: TieringSpec, within: str) -> pl.DataFrame:
    """The customers at T (``customer_table``), with the CLV columns when rules or ranking use them."""
    return _with_clv(dataset_id, as_of, customer_table(dataset_id, as_of, spec.window_days), spec, within)


@st.cache_resource(ttl=TTL, max_entries=16, show_spinner=False)
def aligned_outcomes(dataset_id: str, as_of: str, horizon_days: int, window_days: int | None) -> AlignedOutcomes:
    """The window lined up with the customers at T, once per (data set, T, h, lookback window)."""
    return align_outcomes(customer_table(dataset_id, as_of, window_days), window_totals(dataset_id, as_of, horizon_days))


@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def clv_forecast(dataset_id: str, as_of: str, horizon_days: int) -> tuple[pl.DataFrame | None, DataError | None]:
    """The CLV model fitted at T, forecasting the h days after it: (scores, None), or (None, the
    error saying why it cannot be fitted, to be worded in the page's language)."""
    try:
        return score_customers(transactions(dataset_id), as_of=dt.date.fromisoformat(as_of),
                               horizon_days=horizon_days).frame, None
    except DataError as exc:
        return None, exc


@st.cache_resource(ttl=TTL, max_entries=32, show_spinner=False)
def backtest_tiered(dataset_id: str, as_of: str, spec: TieringSpec, within: str) -> pl.DataFrame:
    """The customers at T re-scored and re-tiered with ``spec`` (a slider move)."""
    return tier_customers(backtest_customers(dataset_id, as_of, spec, within), spec)


@st.cache_resource(ttl=TTL, max_entries=16, show_spinner=False)
def backtest_references(dataset_id: str, as_of: str, horizon_days: int, window_days: int | None, preset: str,
                        lang: str, unassigned: str, within: str) -> Backtest:
    """The rankings a tiering is judged against, on the same customers and window: the preset's
    defaults, recency alone and the CLV forecast (they do not move with the sliders)."""
    pspec = preset_spec(preset, lang=lang, window_days=window_days).replace(unassigned=unassigned)
    forecast, why = clv_forecast(dataset_id, as_of, horizon_days)
    result = backtest(
        transactions(dataset_id), pspec, as_of=as_of, horizon_days=horizon_days, preset=preset, lang=lang,
        within=within, outcomes=window_totals(dataset_id, as_of, horizon_days),  # type: ignore[arg-type]
        customers=backtest_customers(dataset_id, as_of, pspec, within), clv_forecast=forecast,
    )
    if why is None:
        return result
    # The core notes why the CLV ranking is missing in English; the page and the summary say
    # it in their language. Imported here: ui.layout imports this module.
    from ui.layout import error_text

    note = pl.when(pl.col("ranking") == "clv").then(pl.lit(error_text(why, lang))).otherwise(pl.col("note"))
    return replace(result, comparison=result.comparison.with_columns(note.alias("note")))


@dataclass(frozen=True)
class BacktestView:
    """The view's tiering at T against the window, beside the reference rankings.

    ``comparison`` and ``gains`` have the rows of :class:`segmentation.backtest.Backtest`
    ("current", "preset", "recency", "clv"; gains also "random" and "perfect").
    """

    as_of: str
    horizon_days: int
    current: Evaluation
    comparison: pl.DataFrame
    gains: pl.DataFrame


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def backtest_view(dataset_id: str, as_of: str, horizon_days: int, spec: TieringSpec, preset: str, lang: str,
                  within: str) -> BacktestView:
    """The backtest of a view: re-tier and evaluate on the cached window (cheap), next to the cached
    references.

    Raises:
        DataError: T or h do not fit the data (the message names the latest usable T), or a
            customer-level data set.
    """
    aligned = aligned_outcomes(dataset_id, as_of, horizon_days, spec.window_days)
    current = evaluate_tiers(dataset_id, as_of, spec, within, aligned)
    refs = backtest_references(dataset_id, as_of, horizon_days, spec.window_days, preset, lang, spec.unassigned,
                               within)
    row = {"ranking": "current", **{k: current.values.get(k) for k in refs.comparison.columns[1:-1]}, "note": ""}
    others = refs.comparison.filter(pl.col("ranking") != "current")
    comparison = pl.concat([pl.DataFrame([row], schema=refs.comparison.schema, orient="row"), others])
    gains = pl.concat([current.gains, refs.gains.filter(pl.col("ranking") != "current")])
    return BacktestView(as_of, horizon_days, current, comparison, gains)


def evaluate_tiers(dataset_id: str, as_of: str, spec: TieringSpec, within: str,
                   aligned: AlignedOutcomes) -> Evaluation:
    """``evaluate`` of the view's tiers at T (a few group-bys over one row per customer)."""
    return evaluate(backtest_tiered(dataset_id, as_of, spec, within), aligned, spec, within=within)  # type: ignore[arg-type]


@st.cache_resource(ttl=TTL, max_entries=8, show_spinner=False)
def backtest_customer_list(dataset_id: str, as_of: str, horizon_days: int, spec: TieringSpec,
                           within: str) -> pl.DataFrame:
    """Every customer tiered at T with what they did in the window (``customer_outcomes``)."""
    return customer_outcomes(backtest_tiered(dataset_id, as_of, spec, within),
                             aligned_outcomes(dataset_id, as_of, horizon_days, spec.window_days))


class _Recent:
    """A few results of long searches, newest kept, for calls that report progress.

    ``st.cache_*`` replays the elements a cached function draws, which breaks a progress bar
    drawn outside it; these searches are remembered here instead, bounded like every cache.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Hashable, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = compute()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


@st.cache_resource(ttl=TTL, show_spinner=False)
def _searches() -> _Recent:
    return _Recent(16)


Progress = Callable[[int, int], None]


def has_search(key: Hashable) -> bool:
    """Whether a search with this key is remembered (the page then shows no progress bar)."""
    return key in _searches().items


def walk_forward_key(dataset_id: str, horizon_days: int, period: str, spec: TieringSpec, within: str,
                     end: str) -> tuple:
    return ("walk_forward", dataset_id, horizon_days, period, spec, within, end)


def walk_forward_table(dataset_id: str, horizon_days: int, period: str, spec: TieringSpec, within: str, end: str,
                       progress: Progress | None = None) -> pl.DataFrame:
    """``walk_forward`` at every month or quarter end up to ``end`` (the latest usable T).

    Raises:
        DataError: no period end has a full window (or CLV ranking without CLV rules).
    """
    def compute() -> pl.DataFrame:
        table = walk_forward(transactions(dataset_id), spec, horizon_days=horizon_days,
                             period=PERIOD_NAMES.get(period, "quarter"), within=within, end=end,  # type: ignore[arg-type]
                             progress=progress)
        # The last period may end after ``end``; its window would pass the view's as-of date.
        return table.filter(pl.col("as_of") <= dt.date.fromisoformat(end))

    return _searches().get(walk_forward_key(dataset_id, horizon_days, period, spec, within, end), compute)


def suggestions_key(dataset_id: str, as_of: str, horizon_days: int, spec: TieringSpec, within: str,
                    objective: str) -> tuple:
    return ("suggest", dataset_id, as_of, horizon_days, spec, within, objective)


def threshold_suggestions(dataset_id: str, as_of: str, horizon_days: int, spec: TieringSpec, within: str,
                          objective: str, progress: Progress | None = None) -> Suggestions:
    """``suggest_thresholds`` chosen on T - h and checked on T, with the window totals and the
    customers of both dates from the caches above.

    Raises:
        DataError: T - h is before the data starts (the message says which T works).
    """
    def inputs(t: dt.date) -> tuple[WindowOutcomes, pl.DataFrame]:
        day = t.isoformat()
        return window_totals(dataset_id, day, horizon_days), backtest_customers(dataset_id, day, spec, within)

    def compute() -> Suggestions:
        return suggest_thresholds(transactions(dataset_id), spec, as_of=as_of, horizon_days=horizon_days,
                                  objective=objective, within=within, progress=progress, cache=inputs)  # type: ignore[arg-type]

    return _searches().get(suggestions_key(dataset_id, as_of, horizon_days, spec, within, objective), compute)
