"""The view: this run's settings, their effective values, and the tables they lead to.

A :class:`View` is built from the settings once per run (:func:`current`). Effective values fill
what the settings leave to the preset (bins, method, thresholds, rule text, value order) and to
the data (the as-of date). Tables are computed on first access through :mod:`ui.cache`, so a
page that never touches ``tiered`` never tiers. Core errors (DataError, RuleError,
SettingsError) propagate to the one boundary in ``app.py``.

Data flows one way: settings -> session -> view -> cache -> core, and view -> charts/tables ->
page. Nothing here draws.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import polars as pl

from segmentation import columns as C
from segmentation.backtest import Suggestions
from segmentation.errors import DataError, RuleError, SettingsError, TierlensError
from segmentation.kpis import last_cohorts
from segmentation.migration import tier_history
from segmentation.presets import PRESETS, Preset
from segmentation.rules import LintIssue
from segmentation.scoring import Cuts
from segmentation.spec import TieringSpec, format_thresholds
from segmentation.summary import tier_names
from ui import cache, session
from ui.settings import DEMO_ID, NAME_PREFIX, PERIOD_NAMES, Settings

UNASSIGNED = {"zh": "未分层", "en": "Unassigned"}
# The built-in demo's amounts are yuan, whatever language reads them.
DEMO_CURRENCY = "CNY"


@dataclass
class View:
    """What a page needs: the settings, their effective values, and lazily computed tables."""

    settings: Settings
    # The tiering being edited cannot be used (a rule typo, wrong thresholds); this view is the
    # last one that could, kept on screen and marked as not updated.
    stale: bool = False

    # ---- effective settings

    @property
    def lang(self) -> str:
        return self.settings.lang

    @property
    def dataset_ref(self) -> str:
        """The data set as the link names it: an id, "demo" or ``name:<name>``."""
        return self.settings.dataset

    @cached_property
    def dataset(self) -> str:
        """The data set id every cache key uses. A ``name:`` reference stands for the name's
        newest version, so a shared link to a name follows each refresh.

        Raises:
            DataError: no data set has that name (any more).
        """
        ref = self.settings.dataset
        return cache.resolve_dataset(ref) if ref.startswith(NAME_PREFIX) else ref

    @cached_property
    def preset(self) -> Preset:
        return PRESETS.get(self.settings.preset) or PRESETS[Settings().preset]

    @property
    def method(self) -> str:
        return self.settings.method or self.preset.method or "quantile"

    @property
    def bins(self) -> int:
        if self.method in ("mean", "median"):
            return 2
        return self.settings.bins or self.preset.bins or 5

    @property
    def thresholds(self) -> str:
        if self.method != "thresholds":
            return ""
        return self.settings.thresholds or format_thresholds(self.preset.thresholds)

    @property
    def preset_rules(self) -> str:
        return self.preset.rules_text(self.lang)

    @property
    def rules(self) -> str:
        return self.settings.rules or self.preset_rules

    @property
    def unassigned(self) -> str:
        return UNASSIGNED.get(self.lang, "Unassigned")

    @cached_property
    def spec(self) -> TieringSpec:
        """The tiering of this view (one object per settings: rules parse once).

        Raises:
            SettingsError, DataError: bad scoring settings or window.
        """
        # A customer table is already aggregated: no lookback window can apply to it.
        window = 0 if self.customer_level else self.settings.window_days
        return cache.tiering_spec(self.rules, self.bins, self.method, self.thresholds,
                                  window, self.unassigned, self.value_order)

    @property
    def value_order(self) -> tuple[str, ...]:
        """Tier names best first: the user's order, else the preset's for its own rules, else
        rule order (empty)."""
        if self.settings.order:
            return self.settings.order
        return () if self.settings.rules else self.preset.value_order(self.lang)

    @property
    def scoring_conflict(self) -> str:
        """Why the preset's rules do not fit the chosen scoring ("" when they do, or when the
        rules are the user's own). The preset's own scoring is the default; a user who changes it
        keeps the change and is told, with a one-click way back."""
        if self.settings.rules or not self.preset.scoring_locked:
            return ""
        try:
            self.preset.check_scoring(bins=self.bins, method=self.method, lang=self.lang)
        except TierlensError as exc:
            return str(exc)
        return ""

    @property
    def period_name(self) -> str:
        """The core's name of the chosen period ("week", "month", "quarter")."""
        return PERIOD_NAMES.get(self.settings.period, "month")

    # ---- kind of data set

    @cached_property
    def customer_level(self) -> bool:
        """Whether the data set holds customer tables (one row per customer and date) instead of
        transactions: there is no purchase history, and the as-of dates are the tables' own.

        False for a data set that cannot be found: the tiering settings are checked before the
        app says the data set is gone, and that check must not fail in its place.
        """
        try:
            return cache.dataset_kind(self.dataset) == "customers"
        except DataError:
            return False

    @cached_property
    def table_dates(self) -> tuple[dt.date, ...]:
        """The dates of a customer-level data set's tables, ascending (() for transactions)."""
        return cache.as_of_dates(self.dataset) if self.customer_level else ()

    # ---- dates

    @cached_property
    def dates(self) -> tuple[dt.date, dt.date]:
        """First and last order day of the data set. For a customer-level data set, the days
        before its first and last table date, so the as-of choices are the tables' dates."""
        if self.customer_level:
            day = dt.timedelta(days=1)
            return self.table_dates[0] - day, self.table_dates[-1] - day
        return cache.date_range(self.dataset)

    @property
    def default_as_of(self) -> dt.date:
        return self.dates[1] + dt.timedelta(days=1)

    @property
    def as_of_date(self) -> dt.date:
        chosen = dt.date.fromisoformat(self.settings.as_of) if self.settings.as_of else self.default_as_of
        if self.customer_level:
            # The file says what it knows as of its own dates; any other day shows the latest table before it.
            before = [d for d in self.table_dates if d <= chosen]
            return before[-1] if before else self.table_dates[0]
        return chosen

    @property
    def as_of(self) -> str:
        """The as-of date as ISO text: the cache key of every table of this view."""
        return self.as_of_date.isoformat()

    @property
    def last_day(self) -> dt.date:
        """The last day with data in the view: the day before the as-of date."""
        return self.as_of_date - dt.timedelta(days=1)

    # ---- tables

    @cached_property
    def tx(self) -> pl.DataFrame:
        return cache.transactions(self.dataset)

    @cached_property
    def rfm(self) -> pl.DataFrame:
        return cache.customer_table(self.dataset, self.as_of, self.spec.window_days)

    @cached_property
    def cuts(self) -> Cuts:
        return cache.cut_points(self.dataset, self.as_of, self.spec.replace(rules="", value_order=()))

    @cached_property
    def tiered(self) -> pl.DataFrame:
        return cache.tiered_table(self.dataset, self.as_of, self.spec)

    @cached_property
    def tier_names(self) -> list[str]:
        return tier_names(self.tiered, self.spec.tier_order)

    @cached_property
    def overview(self) -> cache.Overview:
        return cache.overview(self.dataset, self.as_of, self.spec)

    @property
    def summary(self) -> pl.DataFrame:
        return self.overview.summary

    @cached_property
    def levels(self) -> cache.Levels | None:
        """Empty quantile levels and suggested cut points (None unless scoring by quantiles)."""
        if self.method != "quantile":
            return None
        return cache.score_levels(self.dataset, self.as_of, self.spec.window_days, self.bins)

    @cached_property
    def lint(self) -> list[LintIssue]:
        return cache.lint_issues(self.dataset, self.as_of, self.spec)

    @cached_property
    def report(self) -> dict[str, Any]:
        return cache.dataset_report(self.dataset)

    @property
    def currency(self) -> str:
        """ISO currency for money: the data set's, never the language's.

        A currency chosen in the sidebar (part of the link) wins; else the built-in demo's (its
        amounts are CNY), else the one saved with the data set (picked on the Data page, or
        detected at upload); else "NONE" (plain numbers), since a guess from the language would
        show the same amounts as ¥ to one reader and $ to another.
        """
        if self.settings.currency:
            return self.settings.currency
        return self.dataset_currency or "NONE"

    @property
    def dataset_currency(self) -> str:
        """The currency that belongs to the data set ("" when it has none)."""
        if self.dataset == DEMO_ID:
            return DEMO_CURRENCY
        return cache.dataset_currency(self.dataset)

    @cached_property
    def dataset_name(self) -> str:
        if self.dataset == DEMO_ID:
            return ""
        names = dict(cache.saved_datasets().select("id", "name").iter_rows())
        return names.get(self.dataset, self.dataset)

    # ---- over time (every page shares the as-of date as the reference of fixed cut points)

    def snapshots(self, dates: tuple[str, ...] | list[str], cut_mode: str | None = None) -> pl.DataFrame:
        return cache.snapshot_table(self.dataset, tuple(sorted(dates)), self.spec,
                                    cut_mode or self.settings.cut_mode, self.as_of)

    def compare_options(self) -> list[str]:
        return cache.compare_options(self.dataset, self.as_of, self.settings.period, self.settings.compare)

    def previous_date(self) -> str | None:
        """The period end one period before the as-of date (None when there is none)."""
        options = cache.compare_options(self.dataset, self.as_of, self.settings.period)
        return options[-2] if len(options) >= 2 else None

    def migration(self, dates: tuple[str, ...], d1: str, d2: str) -> cache.Migration:
        return cache.migration(self.dataset, tuple(sorted(dates)), self.spec, self.settings.cut_mode, self.as_of,
                               d1, d2)

    def movers(self, dates: tuple[str, ...], from_state: str, to_state: str, d1: str, d2: str) -> pl.DataFrame:
        return cache.movers(self.dataset, tuple(sorted(dates)), self.spec, self.settings.cut_mode, self.as_of,
                            from_state, to_state, d1, d2)

    def relative_moves(self, d1: str, d2: str) -> tuple[int, int]:
        return cache.relative_moves(self.dataset, self.spec, self.as_of, d1, d2)

    def kpis(self, *, by_tier: bool = True) -> pl.DataFrame:
        """KPI trends per tier (or all customers) up to and including the as-of date."""
        return cache.kpis(self.dataset, self.spec, self.as_of, self.settings.period, self.settings.cut_mode,
                          self.as_of, by_tier, self.churn_days)

    @property
    def churn_days(self) -> int:
        """Days without a purchase after which a customer counts as churned (setting or data default)."""
        return self.settings.churn_days or self.default_churn_days

    @property
    def default_churn_days(self) -> int:
        """The data's typical gap between purchases (see ``segmentation.kpis.typical_gap_days``);
        0 for a customer-level data set, which has no purchases to measure gaps between."""
        return 0 if self.customer_level else cache.typical_gap(self.dataset, self.as_of)

    def cohorts(self, max_months: int = 12, latest: int = 24) -> pl.DataFrame:
        """Cohort retention up to the as-of date, the ``latest`` cohorts only."""
        return last_cohorts(cache.cohorts(self.dataset, self.as_of, max_months), latest)

    def strategy(self) -> cache.Strategy:
        return cache.strategy(self.dataset, self.spec, self.as_of, self.previous_date(), self.settings.cut_mode,
                              self.settings.period, self.churn_days)

    def tier_history(self, customer_id: str, n: int = 12) -> pl.DataFrame:
        """One customer's tier at the last ``n`` comparison dates (snapshot_date, tier, scores)."""
        dates = cache.compare_options(self.dataset, self.as_of, self.settings.period)[-n:]
        return tier_history(self.snapshots(dates), customer_id)

    def clv(self, horizon_days: int, discount_rate: float, margin: float) -> cache.Clv:
        return cache.clv_scores(self.dataset, self.as_of, horizon_days, discount_rate, margin)

    def holdout(self, calibration_end: dt.date) -> cache.Holdout:
        return cache.holdout(self.dataset, calibration_end.isoformat(), self.as_of)

    # ---- backtest: T and h are the page's own; the window never looks past the view's as-of date

    @property
    def transactional(self) -> bool:
        """Whether the data set holds transactions (a customer-level one cannot be backtested)."""
        return not self.customer_level and all(c in self.tx.columns for c in (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT))

    @cached_property
    def bt_latest(self) -> dt.date:
        """The latest T with a full window of ``bt_horizon`` days.

        Raises:
            DataError: the data is shorter than the horizon.
        """
        return dt.date.fromisoformat(cache.backtest_latest(self.dataset, self.as_of, self.settings.bt_horizon))

    @property
    def bt_as_of(self) -> str:
        """T as ISO text: the chosen date, else the latest with a full window."""
        return self.settings.bt_as_of or self.bt_latest.isoformat()

    def backtest(self) -> cache.BacktestView:
        s = self.settings
        return cache.backtest_view(self.dataset, self.bt_as_of, s.bt_horizon, self.spec, self.preset.id, self.lang,
                                   s.bt_within)

    def clv_missing(self) -> DataError | None:
        """Why the CLV ranking is missing from the backtest at T (None when it is there), for a
        sentence in the page's language; the core's own note is English."""
        return cache.clv_forecast(self.dataset, self.bt_as_of, self.settings.bt_horizon)[1]

    def backtest_customers(self) -> pl.DataFrame:
        """Every customer tiered at T with what they did in the window."""
        s = self.settings
        return cache.backtest_customer_list(self.dataset, self.bt_as_of, s.bt_horizon, self.spec, s.bt_within)

    def walk_forward_key(self) -> tuple:
        s = self.settings
        return cache.walk_forward_key(self.dataset, s.bt_horizon, s.bt_period, self.spec, s.bt_within,
                                      self.bt_latest.isoformat())

    def walk_forward(self, progress: cache.Progress | None = None) -> pl.DataFrame:
        s = self.settings
        return cache.walk_forward_table(self.dataset, s.bt_horizon, s.bt_period, self.spec, s.bt_within,
                                        self.bt_latest.isoformat(), progress)

    def suggestions_key(self) -> tuple:
        s = self.settings
        return cache.suggestions_key(self.dataset, self.bt_as_of, s.bt_horizon, self.spec, s.bt_within,
                                     s.bt_objective)

    def suggestions(self, progress: cache.Progress | None = None) -> Suggestions:
        s = self.settings
        return cache.threshold_suggestions(self.dataset, self.bt_as_of, s.bt_horizon, self.spec, s.bt_within,
                                           s.bt_objective, progress)


def current() -> View:
    """The view of this run as edited: the session's settings, read once (the sidebar's view)."""
    return View(session.current_settings())


def tiering_problem(view: View) -> TierlensError | None:
    """Why this view's tiering cannot be used (rule text, thresholds), or None when it can.

    Only the tiering settings are checked (rules parse; thresholds parse and fit the bins), not
    the data, so a view that passes here differs from the last good one only in what it shows.
    """
    try:
        # The spec checks bins and thresholds when it is built; the rules parse on first use.
        view.spec.ruleset  # noqa: B018
    except (RuleError, SettingsError) as exc:
        return exc
    return None


def shown() -> View:
    """The view pages draw: the edited one when its tiering can be used, else the last one that
    could (``stale=True``), so a typo never replaces the page with an error and never reaches the
    link. With no good view yet (a link with a typo), the same view on its preset's own rules."""
    edited = current()
    if tiering_problem(edited) is None:
        session.remember_valid(edited.settings)
        return edited
    last = session.last_valid()
    if last is None or last.lang != edited.lang or last.dataset != edited.dataset:
        last = edited.settings.replace(rules="", thresholds="", method="", bins=0)
    return View(last, stale=True)
