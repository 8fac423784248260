"""What to do with each tier: suggestions from its numbers, a budget split, and what-ifs.

- :func:`tier_summary` condenses a snapshot (and the move since a previous one) into one row
  per tier: size, revenue, value, change, migration in and out, and the tier's *kind*.
- :func:`suggest` evaluates the playbook (:mod:`segmentation.playbook`, a table of conditions
  and texts) against those rows; every suggestion carries the numbers that triggered it.
- :func:`allocate_budget` spends a marketing budget where a contact is expected to bring back
  the most extra revenue per yuan (a small response model; :func:`window_periods` turns the
  lookback window into periods for it).
- :func:`what_if` shows what moving a share of one tier into another would change.

All assumptions (response rate per kind, spend uplift, channel per kind) are arguments with
documented defaults and are returned as columns, so nothing is hidden in the result.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import polars as pl

from . import columns as C
from .errors import DataError
from .migration import ALL, in_value_order, migration_matrix
from .playbook import KINDS, PLAYBOOK, Play, clause_text
from .rfm import to_date
from .snapshots import BACK, GONE, NEW, PERIOD_REVENUE, SNAPSHOT_DATE

__all__ = [
    "DEFAULT_CHANNELS",
    "DEFAULT_RESPONSE_RATE",
    "DEFAULT_SPEND_UPLIFT",
    "KIND_BY_NAME",
    "PERIOD_DAYS",
    "UNALLOCATED",
    "allocate_budget",
    "classify_kinds",
    "suggest",
    "tier_summary",
    "what_if",
    "window_periods",
]

# Tier names of the built-in presets (both languages) and the kind each one is.
KIND_BY_NAME: dict[str, str] = {
    # cn8
    "重要价值客户": "high_value", "Key value": "high_value",
    "重要发展客户": "growing", "Key development": "growing",
    "重要保持客户": "slipping", "Key retention": "slipping",
    "重要挽留客户": "slipping", "Key win-back": "slipping",
    "一般价值客户": "growing", "General value": "growing",
    "一般发展客户": "growing", "General development": "growing",
    "一般保持客户": "low_value", "General retention": "low_value",
    "一般挽留客户": "low_value", "General win-back": "low_value",
    # segments11 and groups6
    "Champions": "high_value", "冠军客户": "high_value",
    "Loyal": "high_value", "忠诚客户": "high_value",
    "Potential Loyalist": "growing", "潜在忠诚客户": "growing",
    "New Customers": "growing", "新客户": "growing",
    "Promising": "growing", "潜力新客": "growing",
    "Recent": "growing", "近期客户": "growing",
    "Need Attention": "slipping", "需要关注客户": "slipping",
    "Needs Attention": "slipping", "需要关注": "slipping",
    "About to Sleep": "slipping", "即将休眠客户": "slipping",
    "At Risk": "slipping", "流失风险客户": "slipping", "流失风险": "slipping",
    "Can't Lose Them": "slipping", "重点挽回客户": "slipping",
    "Hibernating": "low_value", "休眠客户": "low_value",
    "Lost": "low_value", "已流失客户": "low_value",
    "Inactive": "low_value", "不活跃": "low_value",
    # membership
    "VIP": "high_value", "金卡": "high_value", "Gold": "high_value",
    "银卡": "growing", "Silver": "growing", "铜卡": "growing", "Bronze": "growing",
    "普通": "low_value", "Regular": "low_value",
    # value3
    "高价值客户": "high_value", "High value": "high_value",
    "中价值客户": "growing", "Medium value": "growing",
    "低价值客户": "low_value", "Low value": "low_value",
}

# Assumed share of contacted customers who respond, per kind of tier. Round, cautious planning
# numbers in the range retail campaigns usually report; pass measured rates when you have them.
DEFAULT_RESPONSE_RATE: dict[str, float] = {"high_value": 0.08, "growing": 0.06, "slipping": 0.04, "low_value": 0.015}
# Extra spend of a customer who responds, in periods of their usual spend (1.0 = one more period).
DEFAULT_SPEND_UPLIFT = 1.0
# Preferred channels per kind, best first; the first one with a known cost is used.
DEFAULT_CHANNELS: dict[str, tuple[str, ...]] = {
    "high_value": ("phone", "app", "sms", "email"),
    "growing": ("app", "sms", "email"),
    "slipping": ("sms", "phone", "app", "email"),
    "low_value": ("email", "app", "sms"),
}
UNALLOCATED = "__unallocated__"
# Cost of one contact per channel, in the data's currency: a starting point the page lets users edit.
DEFAULT_CHANNEL_COSTS: dict[str, float] = {"phone": 5.0, "sms": 0.1, "app": 0.05, "email": 0.01}
# Average lengths, so a window of any length converts to periods the same way everywhere.
PERIOD_DAYS: dict[str, float] = {"week": 7.0, "month": 365.25 / 12, "quarter": 365.25 / 4}


def classify_kinds(summary: pl.DataFrame, *, bins: int | None = None, kinds: Mapping[str, str] | None = None) -> pl.Series:
    """The kind of each tier: user mapping, then preset names, then the tier's average scores.

    The fallback reads recency against frequency and monetary: recent and valuable is
    ``high_value``, recent only ``growing``, valuable but not recent ``slipping``, neither
    ``low_value``. "High" means an average score above the middle of the scale.

    Args:
        summary: needs ``tier``, ``avg_r_score``, ``avg_f_score``, ``avg_m_score``.
        bins: score scale (default: the largest average score rounded up, at least 2).
        kinds: explicit tier -> kind mapping that wins over everything.
    """
    explicit = dict(kinds or {})
    for k in explicit.values():
        if k not in KINDS:
            raise DataError(f"Unknown kind of tier '{k}'; use one of {', '.join(KINDS)}.")
    top = bins or max(2, math.ceil(max(
        (v for v in summary.select("avg_r_score", "avg_f_score", "avg_m_score").to_numpy().ravel() if v == v),
        default=2.0,
    )))
    mid = (top + 1) / 2
    out = []
    for row in summary.iter_rows(named=True):
        name = row[C.TIER]
        kind = explicit.get(name) or KIND_BY_NAME.get(name)
        if kind is None:
            r, f, m = row["avg_r_score"], row["avg_f_score"], row["avg_m_score"]
            if r is None:
                kind = "low_value"
            else:
                recent, valuable = r > mid, (f + m) / 2 > mid
                kind = ("high_value" if valuable else "growing") if recent else ("slipping" if valuable else "low_value")
        out.append(kind)
    return pl.Series("kind", out, dtype=pl.Enum(list(KINDS)))


def tier_summary(
    snaps: pl.DataFrame | pl.LazyFrame,
    date: dt.date | str,
    *,
    previous: dt.date | str | None = None,
    bins: int | None = None,
    kinds: Mapping[str, str] | None = None,
    value_order: Sequence[str] | None = None,
) -> pl.DataFrame:
    """One row per tier at ``date``, with the change since ``previous`` when given.

    Every share says its period: ``revenue`` and ``revenue_share`` cover ``revenue_from`` ..
    ``revenue_to`` (the days since the previous snapshot date in ``snaps``), while ``value``
    and ``value_share`` cover each customer's lookback window up to ``date`` (all history
    without a window). An overview of all history is a different number with the same name;
    show the period next to it.

    Args:
        snaps: output of :func:`segmentation.snapshots.snapshots`.
        date: the snapshot to describe. previous: an earlier snapshot date to compare with.
        bins, kinds: see :func:`classify_kinds`.
        value_order: tier names best first (rows, upgrades and downgrades follow it; see
            :func:`segmentation.migration.in_value_order`). Default: the tier Enum's order.

    Returns:
        ``tier`` (String, best first), ``kind`` (Enum), ``customers``, ``customer_share``,
        ``revenue`` (net amount since the previous snapshot date in ``snaps``),
        ``revenue_share``, ``revenue_from`` and ``revenue_to`` (Date: the days ``revenue``
        covers; ``revenue_from`` is null when it is all history up to ``date``), ``value`` (sum of ``monetary``: net spend in the window),
        ``value_share``, ``avg_value``, ``avg_revenue`` (per customer), ``avg_recency``,
        ``avg_frequency``, ``avg_r_score``, ``avg_f_score``, ``avg_m_score``; with
        ``previous``: ``customers_prev``, ``customers_change`` and ``revenue_change`` (relative),
        ``upgrade_rate``, ``downgrade_rate``, ``gone_rate``, ``outflow_rate`` (over the tier's
        customers at ``previous``), ``inflow`` and ``inflow_rate`` (customers who arrived from
        another tier, new or returning, over ``customers``). Without it those are null.

    Raises:
        DataError: no snapshot on ``date`` or ``previous``.

    Example:
        >>> import datetime as dt, polars as pl
        >>> from segmentation.snapshots import snapshots
        >>> tx = pl.DataFrame({"customer_id": ["a", "a", "b"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 2, 3), dt.date(2024, 1, 10)],
        ...     "amount": [10.0, 30.0, 5.0], "order_id": ["1", "2", "3"]})
        >>> s = snapshots(tx, ["2024-01-31", "2024-02-29"], rules="Big: M >= 20\\nSmall: else")
        >>> tier_summary(s, "2024-02-29", previous="2024-01-31").select(
        ...     "tier", "customers", "revenue", "inflow").rows()
        [('Big', 1, 30.0, 1), ('Small', 1, 0.0, 0)]
    """
    df = in_value_order(snaps.collect() if isinstance(snaps, pl.LazyFrame) else snaps, value_order)
    d = to_date(date)
    now = df.filter(pl.col(SNAPSHOT_DATE) == d)
    if now.is_empty() and d not in set(df.get_column(SNAPSHOT_DATE).unique().to_list()):
        raise DataError(f"No snapshot on {d}; compute snapshots for that date first.",
            code="no_snapshot", params={"date": str(d)})
    tiers = df.schema[C.TIER].categories.to_list()
    agg = now.group_by(pl.col(C.TIER).cast(pl.String)).agg(
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col(PERIOD_REVENUE).sum().alias("revenue"),
        pl.col(C.MONETARY).sum().alias("value"),
        pl.col(C.RECENCY).mean().alias("avg_recency"),
        pl.col(C.FREQUENCY).mean().alias("avg_frequency"),
        pl.col(C.R_SCORE).mean().alias("avg_r_score"),
        pl.col(C.F_SCORE).mean().alias("avg_f_score"),
        pl.col(C.M_SCORE).mean().alias("avg_m_score"),
    )
    out = pl.DataFrame({C.TIER: tiers}).join(agg, on=C.TIER, how="left").with_columns(
        pl.col("customers").fill_null(0), pl.col("revenue").fill_null(0.0), pl.col("value").fill_null(0.0)
    )

    def share(col: str) -> pl.Expr:
        total = pl.col(col).sum()
        return pl.when(total != 0).then(pl.col(col) / total)

    def per(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) != 0).then(pl.col(num) / pl.col(den))

    out = out.with_columns(
        share("customers").alias("customer_share"),
        share("revenue").alias("revenue_share"),
        share("value").alias("value_share"),
        per("value", "customers").alias("avg_value"),
        per("revenue", "customers").alias("avg_revenue"),
    )
    null = pl.lit(None, pl.Float64)
    if previous is None:
        out = out.with_columns(
            pl.lit(None, pl.Int64).alias("customers_prev"),
            *(null.alias(c) for c in ("customers_change", "revenue_change", "upgrade_rate",
                                      "downgrade_rate", "gone_rate", "outflow_rate")),
            pl.lit(None, pl.Int64).alias("inflow"), null.alias("inflow_rate"),
        )
    else:
        p = to_date(previous)
        flows = migration_matrix(df, p, d).with_columns(
            pl.col("from_state").cast(pl.String), pl.col("to_state").cast(pl.String)
        )
        before = df.filter(pl.col(SNAPSHOT_DATE) == p).group_by(pl.col(C.TIER).cast(pl.String)).agg(
            pl.len().cast(pl.Int64).alias("customers_prev"), pl.col(PERIOD_REVENUE).sum().alias("_rev_prev")
        )
        leaving = flows.group_by(pl.col("from_state").alias(C.TIER)).agg(
            *(pl.col("customers").filter(pl.col("direction") == k).sum().cast(pl.Int64).alias(f"_{k}")
              for k in ("up", "down", "gone")),
        )
        arriving = flows.filter(pl.col("direction") != "same", pl.col("to_state") != GONE).group_by(
            pl.col("to_state").alias(C.TIER)
        ).agg(pl.col("customers").sum().cast(pl.Int64).alias("inflow"))
        out = (
            out.join(before, on=C.TIER, how="left").join(leaving, on=C.TIER, how="left")
            .join(arriving, on=C.TIER, how="left")
            .with_columns(pl.col("customers_prev", "inflow", "_up", "_down", "_gone").fill_null(0))
            .with_columns(
                per("customers", "customers_prev").sub(1).alias("customers_change"),
                pl.when(pl.col("_rev_prev").fill_null(0) != 0)
                .then(pl.col("revenue") / pl.col("_rev_prev") - 1).alias("revenue_change"),
                per("_up", "customers_prev").alias("upgrade_rate"),
                per("_down", "customers_prev").alias("downgrade_rate"),
                per("_gone", "customers_prev").alias("gone_rate"),
                ((pl.col("_down") + pl.col("_gone")) / pl.col("customers_prev"))
                .fill_nan(None).alias("outflow_rate"),
                per("inflow", "customers").alias("inflow_rate"),
            )
            .drop("_up", "_down", "_gone", "_rev_prev")
        )
        out = out.with_columns(
            pl.when(pl.col("customers_prev") > 0).then(pl.col("outflow_rate")).alias("outflow_rate")
        )
    kinds_col = classify_kinds(out, bins=bins, kinds=kinds)
    earlier = [x for x in df.get_column(SNAPSHOT_DATE).unique().to_list() if x < d]
    since = max(earlier) + dt.timedelta(days=1) if earlier else None
    out = out.with_columns(pl.lit(since, pl.Date).alias("revenue_from"), pl.lit(d, pl.Date).alias("revenue_to"))
    cols = [C.TIER, "kind", "customers", "customer_share", "revenue", "revenue_share", "revenue_from", "revenue_to", "value",
            "value_share", "avg_value", "avg_revenue", "avg_recency", "avg_frequency", "avg_r_score",
            "avg_f_score", "avg_m_score", "customers_prev", "customers_change", "revenue_change",
            "upgrade_rate", "downgrade_rate", "gone_rate", "outflow_rate", "inflow", "inflow_rate"]
    return out.with_columns(kinds_col).select(cols)


_EVIDENCE = ("customers", "revenue_share", "value_share", "customers_change", "outflow_rate",
             "inflow_rate", "gone_rate", "upgrade_rate")


def _holds(clause: tuple[str, str, float]) -> pl.Expr:
    metric, op, value = clause
    col = pl.col(metric)
    test = {">=": col >= value, ">": col > value, "<=": col <= value, "<": col < value}[op]
    return test.fill_null(False)


def suggest(
    summary: pl.DataFrame,
    *,
    playbook: Sequence[Play] = PLAYBOOK,
) -> pl.DataFrame:
    """Suggestions per tier: every playbook row whose kind and conditions match the tier's numbers.

    Args:
        summary: output of :func:`tier_summary` (with ``previous`` for change-driven rows).
        playbook: rows to evaluate (default: :data:`segmentation.playbook.PLAYBOOK`).

    Returns:
        One row per (tier, matching play), empty tiers skipped: ``tier``, ``kind``, ``play``
        (id), ``priority`` (1 = act now), ``action_zh``, ``action_en``, ``channel``, ``why``
        (the conditions with the tier's actual values, e.g. "revenue_share 42% >= 30%";
        "always" for a kind's standing advice), then the evidence columns ``customers``,
        ``revenue_share``, ``value_share``, ``customers_change``, ``outflow_rate``,
        ``inflow_rate``, ``gone_rate``, ``upgrade_rate``. Sorted by priority, then value.

    Example:
        >>> import polars as pl
        >>> summary = pl.DataFrame({"tier": ["Top"], "kind": ["high_value"], "customers": [10],
        ...     "revenue_share": [0.6], "value_share": [0.6], "customers_change": [None],
        ...     "outflow_rate": [None], "inflow_rate": [None], "gone_rate": [None],
        ...     "upgrade_rate": [None], "customer_share": [0.1], "avg_frequency": [3.0], "value": [1.0]})
        >>> suggest(summary).select("play", "priority").rows()
        [('hv_guard', 1), ('hv_reward', 2), ('any_concentration', 2)]
    """
    base = summary.filter(pl.col("customers") > 0).with_columns(pl.col("kind").cast(pl.String))
    parts = []
    for play in playbook:
        cond = pl.lit(True) if play.kind == "any" else pl.col("kind") == play.kind
        for clause in play.when:
            cond = cond & _holds(clause)
        hit = base.filter(cond)
        if hit.is_empty():
            continue
        if play.when:
            pieces = []
            for metric, op, value in play.when:
                pct = metric.endswith(("_rate", "_share", "_change"))
                shown = (pl.col(metric) * 100).round(1).cast(pl.String) + "%" if pct else pl.col(metric).round(2).cast(pl.String)
                pieces.append(pl.lit(f"{metric} ") + shown + pl.lit(f" {op} " + clause_text((metric, op, value)).split(f" {op} ")[1]))
            why = pl.concat_str(pieces, separator="; ")
        else:
            why = pl.lit("always")
        parts.append(hit.with_columns(
            pl.lit(play.id).alias("play"), pl.lit(play.priority).alias("priority"),
            pl.lit(play.action_zh).alias("action_zh"), pl.lit(play.action_en).alias("action_en"),
            pl.lit(play.channel).alias("channel"), why.alias("why"),
        ))
    cols = [C.TIER, "kind", "play", "priority", "action_zh", "action_en", "channel", "why", *_EVIDENCE]
    if not parts:
        return pl.DataFrame(schema={c: (pl.String if c in (C.TIER, "kind", "play", "action_zh", "action_en",
                                                           "channel", "why") else pl.Float64) for c in cols})
    out = pl.concat([p.select([*cols, "value"]) for p in parts], how="vertical_relaxed")
    return out.sort(["priority", "value"], descending=[False, True], maintain_order=True).drop("value")


def window_periods(
    first_date: dt.date | str,
    as_of: dt.date | str,
    *,
    period: str = "month",
    window_days: int | None = None,
) -> float:
    """How many periods a tier summary's ``value`` covers: the lookback window, or the history
    from ``first_date`` to ``as_of`` when that is shorter (or there is no window).

    Never less than 1, so a short history is not extrapolated upwards.

    Args:
        first_date: first order date in the data. as_of: the snapshot date.
        period: "week", "month" or "quarter" (average lengths: 7, 30.44, 91.31 days).
        window_days: lookback window in days; None or 0 = all history.

    Raises:
        DataError: unknown period.

    Example:
        >>> round(window_periods("2024-01-01", "2025-01-01", period="quarter"), 2)
        4.01
        >>> round(window_periods("2020-01-01", "2025-01-01", window_days=365, period="month"), 2)
        11.99
    """
    if period not in PERIOD_DAYS:
        raise DataError(f"Unknown period '{period}'; use one of {', '.join(PERIOD_DAYS)}.")
    days = (to_date(as_of) - to_date(first_date)).days
    if window_days:
        days = min(days, window_days)
    return max(days / PERIOD_DAYS[period], 1.0)


def allocate_budget(
    summary: pl.DataFrame,
    total_budget: float,
    cost_per_contact: Mapping[str, float],
    *,
    periods_in_window: float,
    response_rates: Mapping[str, float] | None = None,
    spend_uplift: float = DEFAULT_SPEND_UPLIFT,
    channels: Mapping[str, str] | None = None,
    contacts_per_customer: int = 1,
    allow_negative: bool = False,
) -> pl.DataFrame:
    """Spend a budget where a contact is expected to bring back the most extra revenue per yuan.

    The response model, per tier (every number is returned as a column):

    - revenue per customer per period = the tier's ``value`` (net spend in the lookback window,
      negative clipped to 0) / customers / ``periods_in_window``;
    - expected extra revenue of one contacted customer = that × the response rate of the tier's
      kind (:data:`DEFAULT_RESPONSE_RATE`) × ``spend_uplift`` (1.0: a responder spends one more
      period's worth);
    - contacting one customer costs ``contacts_per_customer`` × the channel's cost per contact.

    Return is linear in the number of customers contacted, so each tier has one return per unit
    of cost (``roi``). Tiers are funded whole customers at a time in order of ``roi``, each up to
    contacting all its customers; tiers with ``roi`` below 1 (a contact brings back less than it
    costs) are left out unless ``allow_negative``. What cannot be spent usefully stays unallocated.

    Args:
        summary: output of :func:`tier_summary` (needs ``tier``, ``kind``, ``customers``, ``value``).
        total_budget: money to spend (>= 0).
        cost_per_contact: cost of one contact per channel, e.g. ``{"sms": 0.05, "phone": 2.0}``.
        periods_in_window: how many periods ``value`` covers (see :func:`window_periods`).
        response_rates: share of contacted customers who respond, per kind, overriding the defaults.
        spend_uplift: extra spend of a responder, in periods of their usual spend.
        channels: channel per kind, overriding the preference in :data:`DEFAULT_CHANNELS`
            (a kind whose preferred channels have no cost uses the cheapest channel).
        contacts_per_customer: contacts planned per customer in the campaign.
        allow_negative: also fund tiers whose contacts return less than they cost (after the others).

    Returns:
        Per tier, in funding order (best return per unit of cost first): ``tier``, ``kind``,
        ``customers``, ``contacted`` (customers), ``coverage`` (contacted / customers),
        ``channel``, ``cost_per_contact``, ``spend``, ``expected_incremental_revenue``, ``roi``
        (expected_incremental_revenue / spend; filled even for unfunded tiers, as what spending on
        them would return), ``revenue_per_customer_period``, ``response_rate``, ``spend_uplift``,
        ``reason`` (why coverage stops there: ``"full"``, ``"budget"`` ran out, ``"roi_below_1"``,
        ``"no_customers"``). Then a row ``tier = "__unallocated__"`` whose ``spend`` is the budget
        left over and ``reason`` says why: ``"roi_below_1"`` (the tiers left return less than they
        cost), ``"all_covered"`` (every tier worth contacting is fully covered), ``"too_small"`` (less
        than one more customer costs), or null when nothing is left.

    Raises:
        DataError: negative budget, no channels, a non-positive cost, a response rate outside
            0..1, a negative uplift, fewer than 1 contact per customer or a non-positive
            ``periods_in_window``.

    Example:
        >>> import polars as pl
        >>> summary = pl.DataFrame({"tier": ["A", "B"], "kind": ["high_value", "low_value"],
        ...     "customers": [10, 100], "value": [12000.0, 6000.0]})
        >>> allocate_budget(summary, 30.0, {"email": 0.1, "phone": 5.0}, periods_in_window=12).select(
        ...     "tier", "contacted", "spend", "expected_incremental_revenue", pl.col("roi").round(2)).rows()
        [('A', 6, 30.0, 48.0, 1.6), ('B', 0, 0.0, 0.0, 0.75), ('__unallocated__', None, 0.0, None, None)]
    """
    if total_budget < 0 or not math.isfinite(total_budget):
        raise DataError("The budget must be zero or a positive number.", code="budget_negative")
    if not cost_per_contact:
        raise DataError("Give the cost of one contact for at least one channel.", code="no_channel_cost")
    if any(not (c > 0 and math.isfinite(c)) for c in cost_per_contact.values()):
        raise DataError("Every channel's cost per contact must be a positive number.",
            code="channel_cost_positive")
    if not (periods_in_window > 0 and math.isfinite(periods_in_window)):
        raise DataError("The number of periods in the lookback window must be a positive number.")
    if not (spend_uplift >= 0 and math.isfinite(spend_uplift)):
        raise DataError("The spend uplift must be zero or a positive number (1.0 = one more period's spend).",
            code="uplift_negative")
    if contacts_per_customer < 1:
        raise DataError("Plan at least one contact per customer.")
    for kind, rate in (response_rates or {}).items():
        if kind not in KINDS:
            raise DataError(f"Unknown kind of tier '{kind}'; use one of {', '.join(KINDS)}.")
        if not 0 <= rate <= 1:
            raise DataError("A response rate is a share between 0 and 1 (e.g. 0.05 for 5%).",
                code="response_rate_range")
    rates = {**DEFAULT_RESPONSE_RATE, **(response_rates or {})}
    cheapest = min(cost_per_contact, key=lambda ch: cost_per_contact[ch])

    def channel_for(kind: str) -> str:
        if channels and kind in channels:
            if channels[kind] not in cost_per_contact:
                raise DataError(f"No cost per contact for channel '{channels[kind]}'.")
            return channels[kind]
        return next((ch for ch in DEFAULT_CHANNELS.get(kind, ()) if ch in cost_per_contact), cheapest)

    rows = []
    for r in summary.iter_rows(named=True):
        kind = str(r["kind"])
        ch = channel_for(kind)
        cost = float(cost_per_contact[ch])
        n = int(r["customers"] or 0)
        per_period = max(float(r["value"] or 0.0), 0.0) / n / periods_in_window if n else None
        rate = float(rates.get(kind, 0.0))
        per_customer = (per_period or 0.0) * rate * spend_uplift
        rows.append({
            "tier": str(r[C.TIER]), "kind": kind, "customers": n, "channel": ch, "cost_per_contact": cost,
            "roi": per_customer / (contacts_per_customer * cost) if n else None,
            "revenue_per_customer_period": per_period, "response_rate": rate, "spend_uplift": float(spend_uplift),
            "_per_customer": per_customer,
        })

    # Return is linear within a tier, so the greedy order by return per unit of cost is the best
    # split; whole customers only, so spend and contacted are exact and the rest is reported.
    order = sorted(range(len(rows)), key=lambda i: -(rows[i]["roi"] if rows[i]["roi"] is not None else -1.0))
    left = float(total_budget)
    budget_cut = skipped_low = False
    for i in order:
        r = rows[i]
        unit = contacts_per_customer * r["cost_per_contact"]
        if not r["customers"]:
            contacted, reason = 0, "no_customers"
        elif r["roi"] < 1 and not allow_negative:
            contacted, reason = 0, "roi_below_1"
            skipped_low = True
        else:
            # The small tolerance keeps 0.3 / 0.1 from flooring to 2 customers.
            contacted = min(r["customers"], int(left / unit + 1e-9))
            reason = "full" if contacted == r["customers"] else "budget"
            budget_cut = budget_cut or reason == "budget"
        spend = contacted * unit
        left = max(left - spend, 0.0)
        r.update(contacted=contacted, coverage=contacted / r["customers"] if r["customers"] else None,
                 spend=spend, expected_incremental_revenue=contacted * r.pop("_per_customer"), reason=reason)
    if left <= 1e-9:
        left, rest_reason = 0.0, None
    else:
        rest_reason = "too_small" if budget_cut else "roi_below_1" if skipped_low else "all_covered"
    schema = {"tier": pl.String, "kind": pl.String, "customers": pl.Int64, "contacted": pl.Int64,
              "coverage": pl.Float64, "channel": pl.String, "cost_per_contact": pl.Float64, "spend": pl.Float64,
              "expected_incremental_revenue": pl.Float64, "roi": pl.Float64,
              "revenue_per_customer_period": pl.Float64, "response_rate": pl.Float64,
              "spend_uplift": pl.Float64, "reason": pl.String}
    out = pl.DataFrame([rows[i] for i in order], schema=schema)
    rest = pl.DataFrame([{"tier": UNALLOCATED, "spend": left, "reason": rest_reason}], schema=schema)
    return pl.concat([out, rest])


def what_if(
    summary: pl.DataFrame,
    from_tier: str,
    to_tier: str,
    share: float,
    *,
    basis: str = "revenue",
) -> pl.DataFrame:
    """If ``share`` of ``from_tier`` moved to ``to_tier``: tier sizes and revenue before and after.

    Moved customers are assumed to take on the destination tier's average (``avg_revenue``
    with ``basis="revenue"``, revenue per customer in the latest period; ``avg_value`` with
    ``basis="value"``, net spend in the window) and to leave their old tier's average behind.

    Returns:
        Per tier: ``tier``, ``customers_before``, ``customers_after``, ``customers_change``,
        ``amount_before``, ``amount_after``, ``amount_change`` (in the chosen basis); then a
        ``"__all__"`` row with the totals. ``moved`` customers = round(share x tier size).

    Raises:
        DataError: unknown tier, the same tier twice, a share outside 0..1, an empty source
            tier's average when customers move to it.

    Example:
        >>> import polars as pl
        >>> summary = pl.DataFrame({"tier": ["A", "B"], "customers": [10, 100],
        ...     "avg_revenue": [50.0, 5.0], "avg_value": [500.0, 40.0]})
        >>> what_if(summary, "B", "A", 0.1).select("tier", "customers_change", "amount_change").rows()
        [('A', 10, 500.0), ('B', -10, -50.0), ('__all__', 0, 450.0)]
    """
    if not 0 <= share <= 1:
        raise DataError("The share of customers to move must be between 0 and 1 (e.g. 0.1 for 10%).",
            code="what_if_share")
    if from_tier == to_tier:
        raise DataError("Pick two different tiers.", code="what_if_same")
    col = {"revenue": "avg_revenue", "value": "avg_value"}.get(basis)
    if col is None:
        raise DataError("basis must be 'revenue' or 'value'.")
    tiers = summary.get_column(C.TIER).cast(pl.String).to_list()
    for t in (from_tier, to_tier):
        if t not in tiers:
            raise DataError(f"'{t}' is not a tier; tiers: {', '.join(tiers)}.",
                code="not_a_tier", params={"tier": t, "tiers": ", ".join(tiers)})
    for t in (NEW, BACK, GONE):
        if t in (from_tier, to_tier):
            raise DataError("What-if moves customers between tiers, not from New or to Gone.",
                code="what_if_new_gone")
    rows = {r[C.TIER]: r for r in summary.select(pl.col(C.TIER).cast(pl.String), "customers", col).iter_rows(named=True)}
    moved = round(int(rows[from_tier]["customers"] or 0) * share)
    avg_to = rows[to_tier][col]
    avg_from = rows[from_tier][col]
    if moved and (avg_to is None or avg_from is None):
        raise DataError(f"'{to_tier}' has no customers yet, so there is no average to assume.",
            code="what_if_empty_target", params={"tier": to_tier})
    out = []
    for t in tiers:
        n = int(rows[t]["customers"] or 0)
        avg = rows[t][col] or 0.0
        delta_n = moved if t == to_tier else -moved if t == from_tier else 0
        before = n * avg
        after = before + (moved * avg_to if t == to_tier else -moved * avg_from if t == from_tier else 0.0)
        out.append((t, n, n + delta_n, delta_n, before, after, after - before))
    frame = pl.DataFrame(out, schema=["tier", "customers_before", "customers_after", "customers_change",
                                      "amount_before", "amount_after", "amount_change"], orient="row")
    total = frame.select(pl.lit(ALL).alias("tier"), pl.exclude("tier").sum())
    return pl.concat([frame, total])


# ----------------------------------------------------------------------------- page summaries


class BudgetSplit(NamedTuple):
    """:func:`allocate_budget` read for a page: the funded tier rows, and the rest as values."""

    rows: pl.DataFrame  # tier rows with customers (the allocation's columns)
    spent: float
    expected_return: float
    left_over: float
    left_reason: str | None  # "roi_below_1", "all_covered", "too_small" or None


def budget_split(allocation: pl.DataFrame) -> BudgetSplit:
    """Split the result of :func:`allocate_budget` into tier rows and the unallocated rest.

    Example:
        >>> summary = pl.DataFrame({"tier": ["A", "B"], "kind": ["high_value", "low_value"],
        ...     "customers": [10, 100], "value": [12000.0, 6000.0]})
        >>> split = budget_split(allocate_budget(summary, 30.0, {"email": 0.1}, periods_in_window=12))
        >>> split.rows["tier"].to_list(), split.spent, split.left_over, split.left_reason
        (['A', 'B'], 1.0, 29.0, 'roi_below_1')
    """
    rest = allocation.filter(pl.col(C.TIER) == UNALLOCATED)
    rows = allocation.filter(pl.col(C.TIER) != UNALLOCATED, pl.col("customers") > 0)
    left = float(rest["spend"].sum() or 0.0) if rest.height else 0.0
    reason = rest["reason"][0] if rest.height else None
    return BudgetSplit(
        rows=rows,
        spent=float(rows["spend"].sum() or 0.0),
        expected_return=float(rows["expected_incremental_revenue"].fill_null(0.0).sum() or 0.0),
        left_over=left,
        left_reason=reason,
    )


def what_if_rows(result: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Tier rows of ``what_if`` and the total row as a dict."""
    total = result.filter(pl.col(C.TIER) == ALL)
    rows = result.filter(pl.col(C.TIER) != ALL, (pl.col("customers_before") > 0) | (pl.col("customers_after") > 0))
    return rows, (total.row(0, named=True) if total.height else {})


def card_rows(summary: pl.DataFrame, unassigned: str) -> list[dict[str, Any]]:
    """Tier rows of the strategy summary as dicts, without an empty catch-all tier."""
    rows = summary.to_dicts()
    return [r for r in rows if not (r[C.TIER] == unassigned and not r["customers"])]


def tier_row(rows: pl.DataFrame, tier: str) -> dict[str, Any]:
    """One tier's row of a per-tier frame as a dict ({} when absent)."""
    hit = rows.filter(pl.col(C.TIER) == tier)
    return hit.row(0, named=True) if hit.height else {}


def populated_tiers(summary: pl.DataFrame) -> list[str]:
    """Tiers of a strategy summary that have customers, in rule order."""
    return summary.filter(pl.col("customers") > 0)[C.TIER].to_list()


def suggestions_for(suggestions: pl.DataFrame, tier: str) -> list[dict[str, Any]]:
    """A tier's suggestions (priority order) as dicts."""
    return suggestions.filter(pl.col(C.TIER) == tier).to_dicts()
