"""When the lifetime-value numbers cannot be trusted, and what to show instead.

Three things a marketer needs next to P(alive) and CLV:

- **Fit warnings** (:func:`fit_warnings`): a fit that ended on a parameter limit, one that did
  not settle, and a P(alive) that is high for every repeat buyer (the model cannot tell active
  from lapsed customers). Each is a :class:`FitWarning` with a code and a sentence in English
  and Chinese.
- **One-time buyers** (:func:`buyer_signals`): BG/NBD lets a customer drop out only right after
  a repeat purchase, so everyone who bought once gets P(alive) = 1, however long ago that was.
  Their P(alive) says nothing; the signal for them is days since the only purchase against the
  typical gap between purchases of repeat buyers.
- **Per-tier and overall summaries** (:func:`tier_clv_summary`, :func:`clv_overview`) that average
  P(alive) over repeat buyers only and count one-time buyers separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from .. import columns as C
from ..errors import DataError

# The CLV page's at-risk cut: one definition for the page and these summaries.
from ..summary import AT_RISK_P_ALIVE
from .bgnbd import BGNBDParams
from .gamma_gamma import GammaGammaParams
from .summary import FREQUENCY, RECENCY, T

# Per-customer columns added by score_customers.
REPEAT_BUYER = "repeat_buyer"
DAYS_SINCE_LAST_PURCHASE = "days_since_last_purchase"
PAST_TYPICAL_GAP = "past_typical_gap"

# P(alive) is "high for everyone" when even the least likely repeat buyer is above this.
P_ALIVE_ALL_HIGH = 0.7


@dataclass(frozen=True)
class FitWarning:
    """A plain-language reason to distrust a fit.

    Attributes:
        code: stable identifier ("bgnbd_at_bound", "bgnbd_not_converged",
            "gamma_gamma_at_bound", "gamma_gamma_not_converged", "p_alive_all_high").
        message_en, message_zh: what is wrong and what to do, for the page.
    """

    code: str
    message_en: str
    message_zh: str

    def message(self, lang: str) -> str:
        """The message in ``lang`` ("zh" or "en"; anything else gets English)."""
        return self.message_zh if lang == "zh" else self.message_en


def fit_warnings(
    bgnbd: BGNBDParams,
    gamma_gamma: GammaGammaParams | None = None,
    *,
    min_p_alive_repeat: float | None = None,
) -> tuple[FitWarning, ...]:
    """Warnings for a fitted BG/NBD (and Gamma-Gamma) model, most serious first.

    Args:
        bgnbd: the fitted purchase model.
        gamma_gamma: the fitted spend model, if any.
        min_p_alive_repeat: the lowest P(alive) among repeat buyers (None to skip that check).
            Above :data:`P_ALIVE_ALL_HIGH` the model sees nobody as likely gone.

    Returns:
        A tuple of :class:`FitWarning`, empty when nothing looks wrong.

    Example:
        >>> bg = BGNBDParams(r=0.24, alpha=4.4, a=0.79, b=2.43, log_likelihood=0.0,
        ...                  n_customers=0, n_repeat_buyers=0, converged=True)
        >>> [w.code for w in fit_warnings(bg, min_p_alive_repeat=0.72)]
        ['p_alive_all_high']
    """
    out: list[FitWarning] = []
    if bgnbd.at_bound:
        names = ", ".join(bgnbd.at_bound)
        out.append(FitWarning(
            "bgnbd_at_bound",
            f"The purchase model could not find a proper fit: parameter {names} ran to the limit "
            "of its range. The data look as if customers never stop buying, so P(alive) and "
            "expected purchases are not reliable. Use a longer history, or look for test "
            "accounts and wholesale buyers.",
            f"购买模型没有找到合理的拟合：参数 {names} 达到了取值范围的边界。数据看起来像是客户从不流失，"
            "因此“仍活跃概率”和预计购买次数不可靠。请使用更长的历史数据，或检查测试账号和批发客户。",
        ))
    elif not bgnbd.converged:
        out.append(FitWarning(
            "bgnbd_not_converged",
            "The purchase model stopped before it fully settled; treat P(alive) and expected "
            "purchases as rough.",
            "购买模型在完全收敛前停止；“仍活跃概率”和预计购买次数只能作粗略参考。",
        ))
    if gamma_gamma is not None:
        if gamma_gamma.at_bound:
            names = ", ".join(gamma_gamma.at_bound)
            out.append(FitWarning(
                "gamma_gamma_at_bound",
                f"The spend model could not find a proper fit: parameter {names} ran to the limit "
                "of its range, so expected spend per purchase is not reliable. Check for outliers "
                "or test orders.",
                f"消费金额模型没有找到合理的拟合：参数 {names} 达到了取值范围的边界，"
                "因此预计每次消费金额不可靠。请检查异常订单或测试订单。",
            ))
        elif not gamma_gamma.converged:
            out.append(FitWarning(
                "gamma_gamma_not_converged",
                "The spend model stopped before it fully settled; treat expected spend as rough.",
                "消费金额模型在完全收敛前停止；预计消费金额只能作粗略参考。",
            ))
    if min_p_alive_repeat is not None and min_p_alive_repeat > P_ALIVE_ALL_HIGH:
        pct = f"{min_p_alive_repeat:.0%}"
        out.append(FitWarning(
            "p_alive_all_high",
            f"Every repeat buyer has a P(alive) above {P_ALIVE_ALL_HIGH:.0%} (the lowest is {pct}): "
            "on this data the model cannot tell active customers from lapsed ones. Do not use "
            "P(alive) to choose whom to win back.",
            f"所有复购客户的“仍活跃概率”都高于 {P_ALIVE_ALL_HIGH:.0%}（最低 {pct}）："
            "在这份数据上模型分不清活跃客户和已流失客户，请不要用它来挑选挽回对象。",
        ))
    return tuple(out)


def typical_gap_days(summary_frame: pl.DataFrame, *, unit_days: float) -> float | None:
    """The typical gap between purchases of repeat buyers, in days.

    Definition: for each repeat buyer (frequency > 0), the average days between purchase days,
    ``recency / frequency`` (first to last purchase day, divided by the number of gaps); the
    typical gap is the median of these over repeat buyers, so each customer counts once and a
    few very frequent buyers do not pull it down.

    Args:
        summary_frame: output of :func:`segmentation.clv.summary` (frequency, recency).
        unit_days: length of the summary's time unit in days.

    Returns:
        Days (Float), or None without repeat buyers.

    Example:
        >>> s = pl.DataFrame({"frequency": [0, 1, 2, 4], "recency": [0.0, 2.0, 2.0, 4.0]})
        >>> typical_gap_days(s, unit_days=7.0)
        7.0
    """
    gaps = summary_frame.filter(pl.col(FREQUENCY) > 0).select(
        # Rounded back to whole days first: recency in weeks or months is not exact in binary.
        ((pl.col(RECENCY) * unit_days).round(6) / pl.col(FREQUENCY)).median()
    ).item()
    return None if gaps is None else float(gaps)


def buyer_signals(summary_frame: pl.DataFrame, *, unit_days: float, gap_days: float | None) -> pl.DataFrame:
    """Who bought more than once, and whether a one-time buyer is past the typical gap.

    Args:
        summary_frame: output of :func:`segmentation.clv.summary`.
        unit_days: length of the summary's time unit in days.
        gap_days: the typical gap (:func:`typical_gap_days`).

    Returns:
        One row per summary row, in order: ``repeat_buyer`` (Boolean, frequency > 0),
        ``days_since_last_purchase`` (Int64, days from the last purchase day to the scoring
        date), ``past_typical_gap`` (Boolean: for one-time buyers, days since the only purchase
        > ``gap_days``; null for repeat buyers, whose P(alive) already reflects their silence,
        and null when there is no typical gap).

    Example:
        >>> s = pl.DataFrame({"frequency": [0, 0, 3], "recency": [0.0, 0.0, 6.0], "T": [2.0, 1.0, 8.0]})
        >>> buyer_signals(s, unit_days=7.0, gap_days=10.0).rows()
        [(False, 14, True), (False, 7, False), (True, 14, None)]
    """
    repeat = pl.col(FREQUENCY) > 0
    days = ((pl.col(T) - pl.col(RECENCY)) * unit_days).round(0).cast(pl.Int64)
    past = (
        pl.when(repeat).then(None).otherwise(days > gap_days)
        if gap_days is not None
        else pl.lit(None, pl.Boolean)
    )
    return summary_frame.select(
        repeat.alias(REPEAT_BUYER),
        days.alias(DAYS_SINCE_LAST_PURCHASE),
        past.cast(pl.Boolean).alias(PAST_TYPICAL_GAP),
    )


def _aggregations() -> list[pl.Expr]:
    repeat = pl.col(REPEAT_BUYER)
    one_time = repeat.not_()
    n_one_time = one_time.sum()
    n_past = (one_time & pl.col(PAST_TYPICAL_GAP).fill_null(False)).sum()
    return [
        pl.col(C.CLV).count().cast(pl.Int64).alias("scored"),
        pl.col(C.CLV).sum().alias("total_clv"),
        pl.col(C.CLV).mean().alias("mean_clv"),
        pl.col(C.CLV).median().alias("median_clv"),
        repeat.sum().cast(pl.Int64).alias("repeat_buyers"),
        pl.col(C.P_ALIVE).filter(repeat).mean().alias("mean_p_alive_repeat"),
        (repeat & (pl.col(C.P_ALIVE) < AT_RISK_P_ALIVE)).sum().cast(pl.Int64).alias("at_risk_repeat"),
        n_one_time.cast(pl.Int64).alias("one_time_buyers"),
        n_past.cast(pl.Int64).alias("one_time_past_gap"),
        pl.when(n_one_time > 0).then(n_past / n_one_time).otherwise(None).alias("one_time_past_gap_share"),
    ]


_SCORE_COLUMNS = (C.CUSTOMER_ID, C.P_ALIVE, C.CLV, REPEAT_BUYER, PAST_TYPICAL_GAP)


def _check_scores(scores: pl.DataFrame) -> None:
    missing = [c for c in _SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise DataError(
            f"The lifetime-value table has no column {missing[0]}; score customers with "
            "score_customers first."
        )


def clv_overview(scores: pl.DataFrame) -> pl.DataFrame:
    """One row of headline numbers that the model can support.

    P(alive) is averaged over repeat buyers only (one-time buyers all have P(alive) = 1 by the
    model's construction); one-time buyers are counted, with how many are past the typical gap.

    Args:
        scores: ``score_customers(...).frame`` (customer_id, p_alive, clv, repeat_buyer,
            past_typical_gap).

    Returns:
        One row: customers, scored, total_clv, mean_clv, median_clv, repeat_buyers,
        mean_p_alive_repeat (null without repeat buyers), at_risk_repeat (repeat buyers with
        P(alive) < :data:`AT_RISK_P_ALIVE`), one_time_buyers, one_time_past_gap,
        one_time_past_gap_share (null without one-time buyers).

    Raises:
        DataError: a needed column is missing.

    Example:
        >>> scores = pl.DataFrame({"customer_id": ["a", "b", "c"], "p_alive": [0.2, 1.0, 1.0],
        ...     "clv": [10.0, 5.0, 3.0], "repeat_buyer": [True, False, False],
        ...     "past_typical_gap": [None, True, False]})
        >>> row = clv_overview(scores).row(0, named=True)
        >>> row["mean_p_alive_repeat"], row["one_time_buyers"], row["one_time_past_gap_share"]
        (0.2, 2, 0.5)
    """
    _check_scores(scores)
    return scores.select(pl.len().cast(pl.Int64).alias("customers"), *_aggregations())


def tier_clv_summary(
    tiered: pl.DataFrame,
    scores: pl.DataFrame,
    *,
    tier_order: Sequence[str] | None = None,
) -> pl.DataFrame:
    """P(alive) and CLV per tier, with one-time buyers counted separately.

    Args:
        tiered: the tiered customer table (customer_id, tier).
        scores: ``score_customers(...).frame``.
        tier_order: order of the rows; default the tier column's Enum order, else by name.
            Tiers without customers are left out.

    Returns:
        One row per tier: tier (String), customers (in the tier), then the columns of
        :func:`clv_overview` computed over the tier's customers that have a score.

    Raises:
        DataError: a needed column is missing.

    Example:
        >>> tiered = pl.DataFrame({"customer_id": ["a", "b", "c"], "tier": ["Lapsed", "Lapsed", "Top"]})
        >>> scores = pl.DataFrame({"customer_id": ["a", "b", "c"], "p_alive": [0.2, 1.0, 0.9],
        ...     "clv": [10.0, 5.0, 30.0], "repeat_buyer": [True, False, True],
        ...     "past_typical_gap": [None, True, None]})
        >>> tier_clv_summary(tiered, scores).select("tier", "mean_p_alive_repeat", "one_time_past_gap").rows()
        [('Lapsed', 0.2, 1), ('Top', 0.9, 0)]
    """
    _check_scores(scores)
    for col in (C.CUSTOMER_ID, C.TIER):
        if col not in tiered.columns:
            raise DataError(f"The customer table has no column {col}; assign tiers first.")
    if tier_order is None:
        dtype = tiered.schema[C.TIER]
        tier_order = list(dtype.categories) if isinstance(dtype, pl.Enum) else None
    joined = tiered.select(C.CUSTOMER_ID, pl.col(C.TIER).cast(pl.String)).join(
        scores.select(_SCORE_COLUMNS).with_columns(pl.col(C.CUSTOMER_ID).cast(pl.String)),
        on=C.CUSTOMER_ID,
        how="left",
    )
    # Customers without a score have nulls in every score column, which the aggregations skip:
    # they count in `customers` only.
    per = joined.group_by(C.TIER).agg(pl.len().cast(pl.Int64).alias("customers"), *_aggregations())
    if tier_order is None:
        return per.sort(C.TIER)
    order = pl.DataFrame({C.TIER: list(tier_order)}, schema={C.TIER: pl.String})
    return order.join(per, on=C.TIER, how="inner", maintain_order="left")

