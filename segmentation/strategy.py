"""What to do with each tier: suggestions from its numbers, a budget split, and what-ifs.

- :func:`tier_summary` condenses a snapshot (and the move since a previous one) into one row
  per tier: size, revenue, value, change, migration in and out, and the tier's *kind*.
- :func:`suggest` evaluates the playbook (:mod:`segmentation.playbook`, a table of conditions
  and texts) against those rows; every suggestion carries the numbers that triggered it.
- :func:`allocate_budget` splits a marketing budget across tiers by value at stake.
- :func:`what_if` shows what moving a share of one tier into another would change.

All assumptions (response uplift per kind, channel per kind) are arguments with documented
defaults and are returned as columns, so nothing is hidden in the result.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

import polars as pl

from . import columns as C
from .errors import DataError
from .migration import migration_matrix
from .playbook import KINDS, PLAYBOOK, Play, _clause_text
from .rfm import to_date
from .snapshots import BACK, GONE, NEW, PERIOD_REVENUE, SNAPSHOT_DATE

__all__ = [
    "DEFAULT_CHANNELS",
    "DEFAULT_UPLIFT",
    "KIND_BY_NAME",
    "allocate_budget",
    "classify_kinds",
    "suggest",
    "tier_summary",
    "what_if",
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

# Assumed response uplift per kind: the share of a contacted tier's value that a campaign adds
# or saves. Round, conservative planning numbers; pass your own measured ones.
DEFAULT_UPLIFT: dict[str, float] = {"high_value": 0.05, "growing": 0.08, "slipping": 0.10, "low_value": 0.02}
# Preferred channels per kind, best first; the first one with a known cost is used.
DEFAULT_CHANNELS: dict[str, tuple[str, ...]] = {
    "high_value": ("phone", "app", "sms", "email"),
    "growing": ("app", "sms", "email"),
    "slipping": ("sms", "phone", "app", "email"),
    "low_value": ("email", "app", "sms"),
}


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
) -> pl.DataFrame:
    """One row per tier at ``date``, with the change since ``previous`` when given.

    Args:
        snaps: output of :func:`segmentation.snapshots.snapshots`.
        date: the snapshot to describe. previous: an earlier snapshot date to compare with.
        bins, kinds: see :func:`classify_kinds`.

    Returns:
        ``tier`` (String, best first), ``kind`` (Enum), ``customers``, ``customer_share``,
        ``revenue`` (net amount since the previous snapshot date in ``snaps``),
        ``revenue_share``, ``value`` (sum of ``monetary``: net spend in the window),
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
    df = snaps.collect() if isinstance(snaps, pl.LazyFrame) else snaps
    d = to_date(date)
    now = df.filter(pl.col(SNAPSHOT_DATE) == d)
    if now.is_empty() and d not in set(df.get_column(SNAPSHOT_DATE).unique().to_list()):
        raise DataError(f"No snapshot on {d}; compute snapshots for that date first.")
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
    cols = [C.TIER, "kind", "customers", "customer_share", "revenue", "revenue_share", "value",
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
                pieces.append(pl.lit(f"{metric} ") + shown + pl.lit(f" {op} " + _clause_text((metric, op, value)).split(f" {op} ")[1]))
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


def allocate_budget(
    summary: pl.DataFrame,
    total_budget: float,
    cost_per_contact: Mapping[str, float],
    *,
    uplift: Mapping[str, float] | None = None,
    channels: Mapping[str, str] | None = None,
    contacts_per_customer: int = 1,
) -> pl.DataFrame:
    """Split a budget across tiers in proportion to the value at stake in each.

    Assumptions (returned as columns): a tier's *value at stake* is its value (net spend in the
    window) times the assumed response uplift of its kind (:data:`DEFAULT_UPLIFT`); contacting
    only part of a tier returns that part of the value at stake (linear in coverage); a tier
    never gets more than it costs to contact all its customers, and what a capped tier cannot use
    goes to the others. Budget that no tier can use is reported as unallocated.

    Args:
        summary: output of :func:`tier_summary`.
        total_budget: money to spend (>= 0).
        cost_per_contact: cost of one contact per channel, e.g. ``{"sms": 0.05, "phone": 2.0}``.
        uplift: response uplift per kind, overriding the defaults.
        channels: channel per kind, overriding the preference in :data:`DEFAULT_CHANNELS`
            (a kind whose preferred channels have no cost uses the cheapest channel).
        contacts_per_customer: contacts planned per customer in the campaign.

    Returns:
        Per tier: ``tier``, ``kind``, ``channel``, ``cost_per_contact``, ``customers``,
        ``max_spend``, ``assumed_uplift``, ``value``, ``value_at_stake``, ``budget``,
        ``contacts``, ``coverage`` (share of the tier reached), ``expected_return`` and
        ``roi`` (expected_return / budget); then a row ``tier = "__unallocated__"`` with the
        budget left over. Sorted by value at stake.

    Raises:
        DataError: negative budget, no channels, or a non-positive cost.

    Example:
        >>> import polars as pl
        >>> summary = pl.DataFrame({"tier": ["A", "B"], "kind": ["high_value", "low_value"],
        ...     "customers": [10, 100], "value": [10000.0, 1000.0]})
        >>> allocate_budget(summary, 30.0, {"email": 0.1, "phone": 2.0}).select(
        ...     "tier", "channel", "budget", "expected_return").rows()
        [('A', 'phone', 20.0, 500.0), ('B', 'email', 10.0, 20.0), ('__unallocated__', None, 0.0, None)]
    """
    if total_budget < 0 or not math.isfinite(total_budget):
        raise DataError("The budget must be zero or a positive number.")
    if not cost_per_contact:
        raise DataError("Give the cost of one contact for at least one channel.")
    if any(not (c > 0) for c in cost_per_contact.values()):
        raise DataError("Every channel's cost per contact must be a positive number.")
    up = {**DEFAULT_UPLIFT, **(uplift or {})}
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
        value = float(r["value"] or 0.0)
        stake = max(value, 0.0) * float(up.get(kind, 0.0))
        rows.append({"tier": r[C.TIER], "kind": kind, "channel": ch, "cost_per_contact": cost,
                     "customers": n, "max_spend": n * contacts_per_customer * cost,
                     "assumed_uplift": float(up.get(kind, 0.0)), "value": value, "value_at_stake": stake})

    # Water-filling: share the budget by value at stake, cap at each tier's max spend, and pass
    # what a capped tier cannot use on to the rest. At most one round per tier.
    budget = {i: 0.0 for i in range(len(rows))}
    left = float(total_budget)
    open_ = [i for i, r in enumerate(rows) if r["value_at_stake"] > 0 and r["max_spend"] > 0]
    while left > 1e-9 and open_:
        stake_sum = sum(rows[i]["value_at_stake"] for i in open_)
        capped = [i for i in open_ if left * rows[i]["value_at_stake"] / stake_sum >= rows[i]["max_spend"] - budget[i]]
        if not capped:
            for i in open_:
                budget[i] += left * rows[i]["value_at_stake"] / stake_sum
            left = 0.0
            break
        for i in capped:
            left -= rows[i]["max_spend"] - budget[i]
            budget[i] = rows[i]["max_spend"]
        open_ = [i for i in open_ if i not in capped]
    for i, r in enumerate(rows):
        b = budget[i]
        r["budget"] = b
        r["contacts"] = int(b // r["cost_per_contact"]) if r["cost_per_contact"] else 0
        r["coverage"] = b / r["max_spend"] if r["max_spend"] else None
        r["expected_return"] = r["value_at_stake"] * (r["coverage"] or 0.0)
        r["roi"] = r["expected_return"] / b if b > 0 else None
    schema = {"tier": pl.String, "kind": pl.String, "channel": pl.String, "cost_per_contact": pl.Float64,
              "customers": pl.Int64, "max_spend": pl.Float64, "assumed_uplift": pl.Float64,
              "value": pl.Float64, "value_at_stake": pl.Float64, "budget": pl.Float64,
              "contacts": pl.Int64, "coverage": pl.Float64, "expected_return": pl.Float64, "roi": pl.Float64}
    out = pl.DataFrame(rows, schema=schema).sort("value_at_stake", descending=True, maintain_order=True)
    rest = pl.DataFrame([{"tier": "__unallocated__", "budget": max(left, 0.0)}], schema=schema)
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
        raise DataError("The share of customers to move must be between 0 and 1 (e.g. 0.1 for 10%).")
    if from_tier == to_tier:
        raise DataError("Pick two different tiers.")
    col = {"revenue": "avg_revenue", "value": "avg_value"}.get(basis)
    if col is None:
        raise DataError("basis must be 'revenue' or 'value'.")
    tiers = summary.get_column(C.TIER).cast(pl.String).to_list()
    for t in (from_tier, to_tier):
        if t not in tiers:
            raise DataError(f"'{t}' is not a tier; tiers: {', '.join(tiers)}.")
    for t in (NEW, BACK, GONE):
        if t in (from_tier, to_tier):
            raise DataError("What-if moves customers between tiers, not from New or to Gone.")
    rows = {r[C.TIER]: r for r in summary.select(pl.col(C.TIER).cast(pl.String), "customers", col).iter_rows(named=True)}
    moved = round(int(rows[from_tier]["customers"] or 0) * share)
    avg_to = rows[to_tier][col]
    avg_from = rows[from_tier][col]
    if moved and (avg_to is None or avg_from is None):
        raise DataError(f"'{to_tier}' has no customers yet, so there is no average to assume.")
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
    total = frame.select(pl.lit("__all__").alias("tier"), pl.exclude("tier").sum())
    return pl.concat([frame, total])
