"""Session settings, URL sync and the cached calls into the core.

Caching is layered so a widget change recomputes only what depends on it:

    transactions(dataset)                                  upload/demo, per data set
    customer_table(dataset, as_of, window)                 the one group-by over transactions
    scored_table(... + bins, method, thresholds)           scoring
    tiered_table(... + rules)                              tier assignment

Every cached function is keyed on small stable values (ids, numbers, strings); frames are
passed between layers by calling the cached function below, never as cache-keyed arguments.
The frame-shaping helpers at the end are plain functions (no Streamlit) used by the pages
and the exports, so pages hold no Polars expressions.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import polars as pl
import streamlit as st

from segmentation import columns as C
from segmentation.rfm import rfm_table
from segmentation.scoring import Cuts, add_ranks, fit_cuts, score
from ui.settings import QueryIssue, Settings, format_thresholds, parse_query, parse_thresholds

DEMO_ID = "demo"
CACHE_TTL = 3600
_SETTINGS_KEY = "_tierlens_settings"
_ISSUES_KEY = "_tierlens_url_issues"


# --------------------------------------------------------------------------------- settings


def current_settings() -> Settings:
    """This session's settings; on the first run of a session they come from the URL."""
    if _SETTINGS_KEY not in st.session_state:
        settings, issues = parse_query(st.query_params.to_dict())
        st.session_state[_SETTINGS_KEY] = settings
        st.session_state[_ISSUES_KEY] = issues
    return st.session_state[_SETTINGS_KEY]


def set_settings(settings: Settings) -> None:
    """Replace this session's settings (the URL follows on the next :func:`sync_url`)."""
    st.session_state[_SETTINGS_KEY] = settings


def update_settings(**changes: Any) -> Settings:
    """Change some settings fields; returns the new settings."""
    new = current_settings().replace(**changes)
    set_settings(new)
    return new


def pop_url_issues() -> list[QueryIssue]:
    """Link parameters that were ignored on the first run (returned once)."""
    return st.session_state.pop(_ISSUES_KEY, None) or []


def sync_url(settings: Settings) -> None:
    """Make the browser URL's query string match the settings (plain strings only)."""
    query = settings.to_query()
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)


# --------------------------------------------------------------------------------- presets


def presets() -> dict[str, Any]:
    """The preset catalogue (empty until segmentation.presets is available)."""
    if importlib.util.find_spec("segmentation.presets") is None:
        return {}
    from segmentation.presets import PRESETS

    return dict(PRESETS)


def preset_rules(preset: Any, lang: str) -> str:
    if preset is None:
        return ""
    return preset.rules_zh if lang == "zh" else preset.rules_en


def has_module(name: str) -> bool:
    """Whether an optional core module (e.g. "snapshots", "clv") is installed."""
    return importlib.util.find_spec(f"segmentation.{name}") is not None


# --------------------------------------------------------------------------------- store & data


@st.cache_resource(show_spinner=False)
def store():
    """The process-wide data set store (DuckDB file from env TIERLENS_DB or data/)."""
    from segmentation.store import get_store

    return get_store()


@st.cache_data(ttl=60, max_entries=4, show_spinner=False)
def saved_datasets() -> pl.DataFrame:
    """Saved data sets, newest first (id, name, created_at, rows, customers, first/last date)."""
    return store().list()


def forget_datasets() -> None:
    """Drop cached data set lists and frames after a save or delete."""
    saved_datasets.clear()
    transactions.clear()
    dataset_report.clear()


# Frames are cached as resources: st.cache_data would pickle a copy on every write and read
# (about 0.3 s per million customers, 0.7 s to read back five million transactions), and Polars
# frames are never changed in place, so sharing one object between reruns and sessions is safe.
@st.cache_resource(ttl=CACHE_TTL, max_entries=4, show_spinner=False)
def transactions(dataset_id: str) -> pl.DataFrame:
    """The transactions of a data set: the built-in demo or a stored one.

    Raises:
        DataError: the id is not in the store.
    """
    if dataset_id == DEMO_ID:
        from segmentation.demo import demo_transactions

        return demo_transactions()
    return store().load(dataset_id)


@st.cache_data(ttl=CACHE_TTL, max_entries=8, show_spinner=False)
def dataset_report(dataset_id: str) -> dict[str, Any]:
    """The ingest report saved with a data set ({} for the demo)."""
    if dataset_id == DEMO_ID:
        return {}
    return store().report(dataset_id)


@st.cache_data(ttl=CACHE_TTL, max_entries=8, show_spinner=False)
def date_range(dataset_id: str) -> tuple[dt.date, dt.date]:
    """First and last order day of a data set."""
    lo, hi = date_bounds(transactions(dataset_id))
    return lo, hi


@st.cache_resource(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def customer_table(dataset_id: str, as_of: str, window_days: int) -> pl.DataFrame:
    """``rfm_table`` of a data set ("" as_of = day after the last order, 0 window = all).

    Carries the mid-ranks too, so a bins or rules change re-scores by arithmetic alone.
    """
    rfm = rfm_table(transactions(dataset_id), as_of=as_of or None, window_days=window_days or None)
    return add_ranks(rfm)


@st.cache_data(ttl=CACHE_TTL, max_entries=32, show_spinner=False)
def cut_points(dataset_id: str, as_of: str, window_days: int, bins: int, method: str, thresholds: str) -> Cuts:
    """The cut points scoring uses (for display and for holding them fixed across dates)."""
    return fit_cuts(
        customer_table(dataset_id, as_of, window_days), bins=bins, method=method,  # type: ignore[arg-type]
        thresholds=_thresholds_or_none(thresholds),
    )


@st.cache_resource(ttl=CACHE_TTL, max_entries=32, show_spinner=False)
def scored_table(dataset_id: str, as_of: str, window_days: int, bins: int, method: str, thresholds: str) -> pl.DataFrame:
    """The customer table with r_score, f_score, m_score."""
    return score(
        customer_table(dataset_id, as_of, window_days), bins=bins, method=method,  # type: ignore[arg-type]
        thresholds=_thresholds_or_none(thresholds),
    )


@st.cache_resource(ttl=CACHE_TTL, max_entries=32, show_spinner=False)
def tiered_table(
    dataset_id: str, as_of: str, window_days: int, bins: int, method: str, thresholds: str, rules: str, unassigned: str
) -> pl.DataFrame:
    """The scored customer table with ``tier`` (pl.Enum in rule order)."""
    from segmentation.rules import assign_tiers, parse_rules

    ruleset = parse_rules(rules, unassigned=unassigned)
    scored = _with_clv_if_needed(
        scored_table(dataset_id, as_of, window_days, bins, method, thresholds), ruleset, dataset_id, as_of
    )
    return assign_tiers(scored, ruleset)


@st.cache_data(ttl=CACHE_TTL, max_entries=32, show_spinner=False)
def lint_issues(
    dataset_id: str, as_of: str, window_days: int, bins: int, method: str, thresholds: str, rules: str, unassigned: str
) -> list[Any]:
    """Rule linter findings on this customer table (LintIssue list)."""
    from segmentation.rules import lint_rules, parse_rules

    ruleset = parse_rules(rules, unassigned=unassigned)
    scored = _with_clv_if_needed(
        scored_table(dataset_id, as_of, window_days, bins, method, thresholds), ruleset, dataset_id, as_of
    )
    return lint_rules(scored, ruleset, bins=bins)


@dataclass(frozen=True)
class Overview:
    """The small aggregates the overview and the summary export show, cached per view."""

    headline: dict[str, float]
    summary: pl.DataFrame
    rf_grid: pl.DataFrame
    pareto: pl.DataFrame
    top20: float


@st.cache_data(ttl=CACHE_TTL, max_entries=64, show_spinner=False)
def overview(
    dataset_id: str, as_of: str, window_days: int, bins: int, method: str, thresholds: str, rules: str, unassigned: str
) -> Overview:
    """Headline numbers, tier summary, R x F grid and Pareto curve of a view (small outputs)."""
    rfm = customer_table(dataset_id, as_of, window_days)
    tiered = tiered_table(dataset_id, as_of, window_days, bins, method, thresholds, rules, unassigned)
    curve, top20 = concentration(dataset_id, as_of, window_days)
    return Overview(
        headline=headline(rfm, tiered),
        summary=tier_summary(tiered, unassigned=unassigned),
        rf_grid=rf_grid(tiered),
        pareto=curve,
        top20=top20,
    )


@st.cache_data(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def concentration(dataset_id: str, as_of: str, window_days: int) -> tuple[pl.DataFrame, float]:
    """Pareto curve and top-20% revenue share: they depend on the customers, not on scoring, so
    a bins or rules change does not recompute them (two sorts of a million values)."""
    rfm = customer_table(dataset_id, as_of, window_days)
    return pareto(rfm), top_share(rfm, 0.2)


def _with_clv_if_needed(scored: pl.DataFrame, ruleset: Any, dataset_id: str, as_of: str) -> pl.DataFrame:
    """Join P_ALIVE / CLV onto the customer table when the rules use them (the fit is cached).

    Uses the CLV page's defaults (one-year horizon, 10% annual discount, revenue as margin).
    """
    from segmentation.enrich import add_clv, needs_clv

    if not needs_clv(ruleset.columns_used):
        return scored
    from ui.state_time import clv_scores

    day = as_of or (date_range(dataset_id)[1] + dt.timedelta(days=1)).isoformat()
    return add_clv(scored, clv_scores(dataset_id, day, 365, 0.10, 1.0).frame)


def _thresholds_or_none(text: str) -> dict[str, tuple[float, ...]] | None:
    if not text:
        return None
    try:
        return parse_thresholds(text)
    except ValueError:
        from segmentation.scoring import SettingsError

        raise SettingsError(f"Thresholds '{text}' are not of the form R:30,90;F:2,5;M:100,500.") from None


# --------------------------------------------------------------------------------- context


UNASSIGNED = {"zh": "未分层", "en": "Unassigned"}


@dataclass
class Context:
    """What a page needs: the settings, their effective values, and lazily computed tables.

    Tables are computed on first access through the cached functions above, so a page that
    never touches ``tiered`` never parses rules. Errors from the core (DataError, RuleError,
    SettingsError) propagate to the one boundary in ``app.py``.
    """

    settings: Settings

    @property
    def lang(self) -> str:
        return self.settings.lang

    @cached_property
    def preset(self) -> Any:
        catalogue = presets()
        return catalogue.get(self.settings.preset) or catalogue.get(Settings().preset)

    @property
    def bins(self) -> int:
        if self.method in ("mean", "median"):
            return 2
        return self.settings.bins or getattr(self.preset, "bins", 5) or 5

    @property
    def method(self) -> str:
        return self.settings.method or getattr(self.preset, "method", "quantile") or "quantile"

    @property
    def thresholds(self) -> str:
        if self.method != "thresholds":
            return ""
        return self.settings.thresholds or format_thresholds(getattr(self.preset, "thresholds", None))

    @property
    def preset_rules(self) -> str:
        return preset_rules(self.preset, self.lang)

    @property
    def rules(self) -> str:
        return self.settings.rules or self.preset_rules

    @property
    def unassigned(self) -> str:
        return UNASSIGNED.get(self.lang, "Unassigned")

    @property
    def dataset(self) -> str:
        return self.settings.dataset

    @cached_property
    def dates(self) -> tuple[dt.date, dt.date]:
        return date_range(self.dataset)

    @property
    def default_as_of(self) -> dt.date:
        return self.dates[1] + dt.timedelta(days=1)

    @property
    def as_of_date(self) -> dt.date:
        return dt.date.fromisoformat(self.settings.as_of) if self.settings.as_of else self.default_as_of

    @property
    def _base(self) -> tuple[str, str, int]:
        return (self.dataset, self.settings.as_of, self.settings.window_days)

    @property
    def _scoring(self) -> tuple[int, str, str]:
        return (self.bins, self.method, self.thresholds)

    @cached_property
    def tx(self) -> pl.DataFrame:
        return transactions(self.dataset)

    @cached_property
    def rfm(self) -> pl.DataFrame:
        return customer_table(*self._base)

    @cached_property
    def cuts(self) -> Cuts:
        return cut_points(*self._base, *self._scoring)

    @cached_property
    def scored(self) -> pl.DataFrame:
        return scored_table(*self._base, *self._scoring)

    @cached_property
    def tiered(self) -> pl.DataFrame:
        return tiered_table(*self._base, *self._scoring, self.rules, self.unassigned)

    @cached_property
    def tier_names(self) -> list[str]:
        return tier_names(self.tiered)

    @cached_property
    def overview(self) -> Overview:
        return overview(*self._base, *self._scoring, self.rules, self.unassigned)

    @property
    def summary(self) -> pl.DataFrame:
        return self.overview.summary

    @cached_property
    def lint(self) -> list[Any]:
        return lint_issues(*self._base, *self._scoring, self.rules, self.unassigned)

    @cached_property
    def report(self) -> dict[str, Any]:
        return dataset_report(self.dataset)

    @property
    def currency(self) -> str:
        """ISO currency for money: the setting, else one detected at upload, else by language."""
        if self.settings.currency:
            return self.settings.currency
        # The loader reports e.g. "CNY (¥)"; the ISO code comes first.
        detected = str(self.report.get("currency") or "").split(" ")[0].upper() if isinstance(self.report, dict) else ""
        if detected:
            return detected
        return "CNY" if self.lang == "zh" else "USD"

    @cached_property
    def dataset_name(self) -> str:
        if self.dataset == DEMO_ID:
            return ""
        names = dict(saved_datasets().select("id", "name").iter_rows())
        return names.get(self.dataset, self.dataset)


def _ensure_app_entry() -> None:
    """Rerun through app.py when Streamlit ran a page file on its own.

    Because the page files live in ``pages/``, the very first request a fresh server process
    gets for a page URL (a shared link right after a restart) is run in Streamlit's legacy
    pages-directory mode: the page script alone, without app.py's navigation and sidebar. The
    server leaves that mode for good once st.navigation has been called; flipping the same
    flag and rerunning takes the normal path at once.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def get_context() -> Context:
    """The context for the current run: settings plus lazily computed, cached tables."""
    _ensure_app_entry()
    return Context(current_settings())


# --------------------------------------------------------------------------------- shaping
# Plain functions (no Streamlit): small summaries the pages, charts and exports share.


def date_bounds(tx: pl.DataFrame) -> tuple[dt.date, dt.date]:
    """First and last order day (as dates) of a transactions frame."""
    days = tx.select(
        pl.col(C.ORDER_DATE).min().cast(pl.Date).alias("lo"), pl.col(C.ORDER_DATE).max().cast(pl.Date).alias("hi")
    ).row(0)
    return days[0], days[1]


def tier_names(tiered: pl.DataFrame) -> list[str]:
    """Tier names in rule order (the Enum categories of the ``tier`` column)."""
    dtype = tiered.schema[C.TIER]
    if isinstance(dtype, pl.Enum):
        return list(dtype.categories)
    return sorted(tiered[C.TIER].unique().drop_nulls().cast(pl.String).to_list())


def tier_summary(tiered: pl.DataFrame, *, unassigned: str | None = None) -> pl.DataFrame:
    """One row per tier, in rule order, including tiers with no customers.

    ``unassigned`` names the implicit catch-all tier of rules without ``else``; it is left out
    when nobody lands in it (rules that cover every customer should not show an empty tier).

    Columns: tier (String), customers, customer_share, revenue (net monetary), revenue_share,
    avg_monetary, avg_recency, avg_frequency, orders.
    """
    names = tier_names(tiered)
    total_customers = max(tiered.height, 1)
    total_revenue = tiered[C.MONETARY].sum() or 0.0
    per = (
        tiered.group_by(C.TIER)
        .agg(
            pl.len().alias("customers"),
            pl.col(C.MONETARY).sum().alias("revenue"),
            pl.col(C.MONETARY).mean().alias("avg_monetary"),
            pl.col(C.RECENCY).mean().alias("avg_recency"),
            pl.col(C.FREQUENCY).mean().alias("avg_frequency"),
            pl.col(C.FREQUENCY).sum().alias("orders"),
        )
        .with_columns(pl.col(C.TIER).cast(pl.String))
    )
    frame = pl.DataFrame({C.TIER: names}, schema={C.TIER: pl.String}).join(per, on=C.TIER, how="left")
    if unassigned is not None and names and names[-1] == unassigned:
        frame = frame.filter((pl.col(C.TIER) != unassigned) | pl.col("customers").is_not_null())
    return frame.with_columns(
        pl.col("customers").fill_null(0).cast(pl.Int64),
        pl.col("revenue").fill_null(0.0),
        pl.col("orders").fill_null(0).cast(pl.Int64),
    ).with_columns(
        (pl.col("customers") / total_customers).alias("customer_share"),
        (pl.col("revenue") / total_revenue if total_revenue else pl.lit(0.0)).alias("revenue_share"),
    ).select(
        C.TIER, "customers", "customer_share", "revenue", "revenue_share", "avg_monetary", "avg_recency",
        "avg_frequency", "orders",
    )


def headline(rfm: pl.DataFrame, tiered: pl.DataFrame | None = None) -> dict[str, float]:
    """Headline numbers of a customer table.

    Keys: customers, revenue (net), orders (purchases), aov (gross purchase value per order),
    repeat_share (customers with 2+ purchases), avg_recency; with ``tiered`` also
    top_tier (name), top_tier_customers and top_tier_revenue_share (the first tier in rule order).
    """
    row = rfm.select(
        pl.len().alias("customers"),
        pl.col(C.MONETARY).sum().alias("revenue"),
        pl.col(C.FREQUENCY).sum().alias("orders"),
        (pl.col(C.AOV) * pl.col(C.FREQUENCY)).sum().alias("gross"),
        (pl.col(C.FREQUENCY) >= 2).mean().alias("repeat_share"),
        pl.col(C.RECENCY).mean().alias("avg_recency"),
    ).row(0, named=True)
    out: dict[str, Any] = {
        "customers": int(row["customers"]),
        "revenue": float(row["revenue"] or 0.0),
        "orders": int(row["orders"] or 0),
        "aov": float(row["gross"] or 0.0) / row["orders"] if row["orders"] else 0.0,
        "repeat_share": float(row["repeat_share"] or 0.0),
        "avg_recency": float(row["avg_recency"] or 0.0),
    }
    if tiered is not None and tiered.height:
        summary = tier_summary(tiered)
        first = summary.row(0, named=True)
        out["top_tier"] = first[C.TIER]
        out["top_tier_customers"] = int(first["customers"])
        out["top_tier_customer_share"] = float(first["customer_share"])
        out["top_tier_revenue_share"] = float(first["revenue_share"])
    return out


def rf_grid(tiered: pl.DataFrame) -> pl.DataFrame:
    """Customers per (r_score, f_score) cell with average monetary and the most common tier.

    Columns: r_score, f_score, customers, avg_monetary, and dominant_tier when ``tier`` exists.
    """
    aggs = [pl.len().alias("customers"), pl.col(C.MONETARY).mean().alias("avg_monetary")]
    if C.TIER in tiered.columns:
        aggs.append(pl.col(C.TIER).cast(pl.String).mode().sort().first().alias("dominant_tier"))
    return tiered.group_by(C.R_SCORE, C.F_SCORE).agg(aggs).sort(C.R_SCORE, C.F_SCORE)


def pareto(rfm: pl.DataFrame, *, points: int = 200) -> pl.DataFrame:
    """Revenue concentration: cumulative revenue share against cumulative customer share.

    Customers are sorted by net monetary, largest first; customers whose returns exceed their
    purchases count as zero so the curve stays monotone. Down-sampled to about ``points`` rows
    (plus the origin). Columns: customer_share, revenue_share (both 0..1).
    """
    values = rfm.select(pl.col(C.MONETARY).clip(lower_bound=0.0).sort(descending=True).alias("m"))
    n = values.height
    total = values["m"].sum() if n else 0.0
    if n == 0 or not total:
        return pl.DataFrame({"customer_share": [0.0, 1.0], "revenue_share": [0.0, 1.0 if n else 0.0]})
    curve = values.with_row_index("i", offset=1).select(
        (pl.col("i") / n).alias("customer_share"),
        (pl.col("m").cum_sum() / total).alias("revenue_share"),
    )
    step = max(1, n // points)
    sampled = curve.gather_every(step)
    if sampled["customer_share"][-1] != 1.0:
        sampled = pl.concat([sampled, curve.tail(1)])
    origin = pl.DataFrame({"customer_share": [0.0], "revenue_share": [0.0]}, schema=curve.schema)
    return pl.concat([origin, sampled])


def top_share(rfm: pl.DataFrame, customer_share: float = 0.2) -> float:
    """Share of (non-negative) revenue brought by the top ``customer_share`` of customers."""
    values = rfm.select(pl.col(C.MONETARY).clip(lower_bound=0.0).sort(descending=True).alias("m"))["m"]
    total = values.sum()
    if not values.len() or not total:
        return 0.0
    k = max(1, round(values.len() * customer_share))
    return float(values.head(k).sum() / total)


def customer_history(tx: pl.DataFrame, customer_id: str) -> pl.DataFrame:
    """The transactions of one customer, oldest first (all columns of ``tx``)."""
    return tx.filter(pl.col(C.CUSTOMER_ID) == customer_id).sort(C.ORDER_DATE)


def customer_row(tiered: pl.DataFrame, customer_id: str) -> dict[str, Any] | None:
    """The customer-table row of one customer as a dict (None when not in the table)."""
    rows = tiered.filter(pl.col(C.CUSTOMER_ID) == customer_id)
    return rows.row(0, named=True) if rows.height else None


def example_customers(tiered: pl.DataFrame, per_tier: int = 3) -> pl.DataFrame:
    """A few customers per tier (highest monetary first), for picking one to look up.

    Columns: customer_id, tier (String), recency_days, frequency, monetary.
    """
    return (
        tiered.sort(C.MONETARY, descending=True)
        .group_by(C.TIER, maintain_order=True)
        .head(per_tier)
        .sort(C.TIER)
        .select(C.CUSTOMER_ID, pl.col(C.TIER).cast(pl.String), C.RECENCY, C.FREQUENCY, C.MONETARY)
    )


def customers_in(tiered: pl.DataFrame, tiers: tuple[str, ...] | list[str] = ()) -> pl.DataFrame:
    """Customer table rows of the given tiers (all when empty), tier as String, sorted by tier."""
    frame = tiered if not tiers else tiered.filter(pl.col(C.TIER).cast(pl.String).is_in(list(tiers)))
    return frame.sort(C.TIER, pl.col(C.MONETARY), descending=[False, True]).with_columns(
        pl.col(C.TIER).cast(pl.String)
    )


# --------------------------------------------------------------------------------- uploads


class _Named(io.BytesIO):
    """Upload bytes with the file name the loader uses in its messages."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


@st.cache_data(ttl=900, max_entries=2, show_spinner=False)
def read_upload(file_id: str, name: str, _data: bytes) -> tuple[pl.DataFrame, dict[str, str]]:
    """Preview table (all text) and the auto-detected column mapping of an upload.

    Keyed on the upload's id, not its bytes (``_data`` is not hashed).
    """
    from segmentation.ingest import detect_columns, read_table

    frame, _meta = read_table(_Named(_data, name))
    return frame, detect_columns(frame.columns)


@st.cache_data(ttl=900, max_entries=4, show_spinner=False)
def load_upload(
    file_id: str, name: str, mapping: tuple[tuple[str, str | None], ...], date_order: str | None, _data: bytes
) -> tuple[pl.DataFrame, Any]:
    """``load_transactions`` on an upload with a mapping and date order: (tx, LoadReport)."""
    from segmentation.ingest import load_transactions

    return load_transactions(_Named(_data, name), mapping=dict(mapping) or None, date_order=date_order)  # type: ignore[arg-type]


def save_dataset(tx: pl.DataFrame, *, name: str, report: Any, raw: bytes | None) -> str:
    """Store a loaded data set and make it the current one; returns its id."""
    dataset_id = store().save(tx, name=name, report=report.to_dict() if hasattr(report, "to_dict") else report, raw=raw)
    forget_datasets()
    update_settings(dataset=dataset_id, as_of="", customer="", compare=(), tiers=())
    return dataset_id


def delete_dataset(dataset_id: str) -> None:
    """Remove a stored data set; the view falls back to the demo when it was the current one."""
    store().delete(dataset_id)
    forget_datasets()
    if current_settings().dataset == dataset_id:
        update_settings(dataset=DEMO_ID, as_of="", customer="", compare=(), tiers=())


def dropped_table(report: Any, lang: str) -> pl.DataFrame:
    """Dropped rows per reason with example row numbers (reason text from the loader)."""
    from segmentation.ingest import reason_text

    rows = []
    for reason, n in report.dropped.items():
        if not n:
            continue
        examples = report.examples.get(reason, ())
        rows.append((reason_text(reason, lang), int(n), ", ".join(str(e.get("row", "")) for e in examples)))
    return pl.DataFrame(rows, schema={"reason": pl.String, "rows": pl.Int64, "examples": pl.String}, orient="row")


# --------------------------------------------------------------------------------- time


PERIOD_NAMES = {"W": "week", "M": "month", "Q": "quarter"}


def snapshot_dates(dataset_id: str, as_of: str, period: str, n: int = 12) -> list[dt.date]:
    """The last ``n`` period ends up to the as-of date (the as-of date itself last)."""
    from segmentation.snapshots import period_ends

    tx = transactions(dataset_id)
    end = dt.date.fromisoformat(as_of) if as_of else date_range(dataset_id)[1] + dt.timedelta(days=1)
    # A period end within a week of the as-of date would be a near-duplicate snapshot.
    ends = [d for d in period_ends(tx, period=PERIOD_NAMES.get(period, "month"), end=end)
            if (end - d).days >= 7]
    return [*ends[-(n - 1):], end] if n > 1 else [end]


@st.cache_resource(ttl=CACHE_TTL, max_entries=8, show_spinner=False)
def snapshot_table(
    dataset_id: str, dates: tuple[str, ...], window_days: int, bins: int, method: str, thresholds: str,
    rules: str, unassigned: str, cut_mode: str,
) -> pl.DataFrame:
    """``segmentation.snapshots.snapshots`` for a data set and settings (cut points of the
    last date when ``cut_mode`` is "fixed")."""
    from segmentation.rules import parse_rules
    from segmentation.snapshots import snapshots

    return snapshots(
        transactions(dataset_id), list(dates), rules=parse_rules(rules, unassigned=unassigned), bins=bins,
        method=method, thresholds=_thresholds_or_none(thresholds), window_days=window_days or None,  # type: ignore[arg-type]
        cut_mode=cut_mode,  # type: ignore[arg-type]
    )


def tier_history(ctx: Context, customer_id: str, n: int = 12) -> pl.DataFrame:
    """One customer's tier at the last ``n`` period ends (snapshot_date, tier, scores)."""
    from ui import state_time  # the time views' cached snapshots (with the CLV model when rules need it)

    dates = tuple(d.isoformat() for d in snapshot_dates(ctx.dataset, ctx.settings.as_of, ctx.settings.period, n))
    table = state_time.snaps(state_time.TierKey.of(ctx), dates, ctx.settings.cut_mode)
    return table.filter(pl.col(C.CUSTOMER_ID) == customer_id).sort("snapshot_date")


# --------------------------------------------------------------------------------- exports

EXPORT_COLUMNS = (
    C.CUSTOMER_ID, C.TIER, C.R_SCORE, C.F_SCORE, C.M_SCORE, C.RECENCY, C.FREQUENCY, C.MONETARY, C.AOV,
    C.FIRST_PURCHASE, C.LAST_PURCHASE, C.TENURE,
)


def customer_list(tiered: pl.DataFrame, tiers: tuple[str, ...], lang: str) -> pl.DataFrame:
    """Customers of the chosen tiers (all when empty) with readable column names, for export."""
    from ui.i18n import column_label

    frame = customers_in(tiered, tiers)
    cols = [c for c in EXPORT_COLUMNS if c in frame.columns]
    return (
        frame.select(cols)
        .with_columns(pl.col(pl.Float64).round(2))
        .rename({c: column_label(c, lang) for c in cols})
    )


@st.cache_data(ttl=CACHE_TTL, max_entries=4, show_spinner=False)
def summary_report_html(settings: Settings) -> str:
    """The executive summary HTML for a view (cached on the frozen settings)."""
    from ui import charts, exports
    from ui.components import dataset_label, preset_label, tier_table
    from ui.i18n import fmt_date, fmt_int, fmt_money, fmt_pct, fmt_window, t

    ctx = Context(settings)
    lang, currency = ctx.lang, ctx.currency
    numbers = ctx.overview.headline
    top20 = ctx.overview.top20
    summary = ctx.summary
    figures = [
        charts.tier_bar(summary, value="customers", lang=lang, currency=currency),
        charts.tier_bar(summary, value="revenue", lang=lang, currency=currency),
        charts.rf_heatmap(ctx.overview.rf_grid, bins=ctx.cuts.bins, lang=lang, currency=currency),
        charts.pareto_chart(ctx.overview.pareto, top20=top20, lang=lang),
    ]
    kpis = [
        (t("m_customers", lang), fmt_int(numbers["customers"])),
        (t("m_revenue", lang), fmt_money(numbers["revenue"], lang, currency)),
        (t("m_orders", lang), fmt_int(numbers["orders"])),
        (t("m_aov", lang), fmt_money(numbers["aov"], lang, currency)),
        (t("m_repeat", lang), fmt_pct(numbers["repeat_share"])),
        (t("m_top_tier", lang) + f" · {numbers['top_tier']}", fmt_pct(numbers["top_tier_revenue_share"])),
    ]
    meta = t("ex_report_meta", lang, dataset=dataset_label(ctx), as_of=fmt_date(ctx.as_of_date, lang),
             window=fmt_window(settings.window_days, lang), preset=preset_label(ctx.preset, lang))
    notes = [t("ov_pareto_note", lang, share=fmt_pct(top20))]
    notes += [issue.message_zh if lang == "zh" else issue.message_en for issue in ctx.lint]
    return exports.executive_summary_html(
        title=t("ex_report_title", lang), meta=meta, headline=kpis, figures=figures,
        tables=[(t("ov_tier_table", lang), tier_table(summary, lang, currency))], notes=notes,
        footer=t("ex_generated", lang), lang=lang,
    )


def summary_report(ctx: Context) -> str:
    return summary_report_html(ctx.settings)
