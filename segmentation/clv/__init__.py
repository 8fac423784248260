"""Customer lifetime value and churn risk: the BG/NBD and Gamma-Gamma models.

RFM scores rank what customers did; these two models predict what they will do:

- **BG/NBD** (Fader, Hardie & Lee, 2005, "Counting your customers the easy way") models how often
  a customer buys and when they silently stop. It gives, per customer, the probability of still
  being active (``p_alive``) and the expected number of purchases in the next period.
- **Gamma-Gamma** (Fader, Hardie & Lee, 2005, "RFM and CLV"; Fader & Hardie, 2013 note) models
  how much a customer spends per purchase, shrinking each customer's average towards the
  population mean according to how many purchases back it up.

Both are fitted by maximum likelihood with :func:`scipy.optimize.minimize` (L-BFGS-B on the log of
the parameters, analytic gradients). Every likelihood and prediction is computed in log space
(``gammaln``, ``betaln``, ``logaddexp``) and the hypergeometric term of the conditional
expectation is used in its Euler-transformed form, so customers with hundreds of purchases give
finite numbers instead of overflow or NaN. Identical (frequency, recency, T) rows are fitted once
with a weight, which keeps a fit on a million customers to about a second.

Typical use::

    result = score_customers(tx, as_of=date(2024, 6, 30), horizon_days=365)
    result.frame        # customer_id, p_alive, expected_purchases, expected_avg_spend, clv,
                        # repeat_buyer, days_since_last_purchase, past_typical_gap
    result.warnings     # FitWarning(code, message_en, message_zh): reasons to distrust the fit
    tier_clv_summary(tiered, result.frame)   # per tier: repeat buyers' P(alive), one-time buyers apart
    check = holdout_check(tx, calibration_end=date(2024, 3, 31), observation_end=date(2024, 6, 30))
    check.frame         # predicted vs actual purchases in the holdout, by calibration purchases
    check.verdict       # good / rough / do_not_use, with a sentence in English and Chinese

One-time buyers. BG/NBD lets a customer drop out only right after a repeat purchase, so every
customer who bought once has P(alive) = 1. Their P(alive) carries no information; summaries
average P(alive) over repeat buyers and judge one-time buyers by days since their only purchase
against the typical gap between purchases (see :mod:`.diagnostics`).

Units. ``recency`` and ``T`` are measured in ``unit``: ``"D"`` days, ``"W"`` weeks (7 days, the
unit of the published CDNOW results) or ``"M"`` months (365.25 / 12 days). The fitted ``alpha`` is
in the same unit; every function taking ``horizon_days`` converts with the ``unit`` given.

Package layout, one module per concept: :mod:`.summary` (transactions to the per-customer
frequency / recency / T / monetary table), :mod:`.bgnbd`, :mod:`.gamma_gamma`, :mod:`.value`
(CLV, :class:`ClvModel`, :func:`score_customers`), :mod:`.holdout` (with its verdict in words)
and :mod:`.diagnostics` (fit warnings, one-time buyers, per-tier summaries); :mod:`.common`
holds the time units, input checks and optimiser they share.
"""

from __future__ import annotations

from .bgnbd import BGNBDParams, fit_bgnbd
from .common import MIN_CUSTOMERS, MIN_REPEAT_BUYERS, UNIT_DAYS
from .diagnostics import (
    AT_RISK_P_ALIVE,
    DAYS_SINCE_LAST_PURCHASE,
    P_ALIVE_ALL_HIGH,
    PAST_TYPICAL_GAP,
    REPEAT_BUYER,
    FitWarning,
    buyer_signals,
    clv_overview,
    fit_warnings,
    tier_clv_summary,
    typical_gap_days,
)
from .gamma_gamma import GammaGammaParams, fit_gamma_gamma
from .holdout import (
    ACTUAL_MEAN,
    ACTUAL_TOTAL,
    CUSTOMERS,
    HOLDOUT_GOOD_ERROR,
    HOLDOUT_ROUGH_ERROR,
    PREDICTED_MEAN,
    PREDICTED_TOTAL,
    REPEAT_PURCHASES,
    VERDICT_LEVELS,
    HoldoutResult,
    HoldoutVerdict,
    holdout_check,
    holdout_verdict,
)
from .summary import (
    DURATION_HOLDOUT,
    FREQUENCY,
    FREQUENCY_HOLDOUT,
    MONETARY,
    MONETARY_HOLDOUT,
    RECENCY,
    SummaryReport,
    T,
    summary,
    summary_with_report,
)
from .value import (
    CLV,
    EXPECTED_AVG_SPEND,
    EXPECTED_PURCHASES,
    P_ALIVE,
    ClvModel,
    ClvResult,
    customer_lifetime_value,
    predict_clv,
    score_customers,
)

__all__ = [
    "ACTUAL_MEAN",
    "ACTUAL_TOTAL",
    "AT_RISK_P_ALIVE",
    "CLV",
    "CUSTOMERS",
    "DAYS_SINCE_LAST_PURCHASE",
    "DURATION_HOLDOUT",
    "EXPECTED_AVG_SPEND",
    "EXPECTED_PURCHASES",
    "FREQUENCY",
    "FREQUENCY_HOLDOUT",
    "HOLDOUT_GOOD_ERROR",
    "HOLDOUT_ROUGH_ERROR",
    "MIN_CUSTOMERS",
    "MIN_REPEAT_BUYERS",
    "MONETARY",
    "MONETARY_HOLDOUT",
    "PAST_TYPICAL_GAP",
    "PREDICTED_MEAN",
    "PREDICTED_TOTAL",
    "P_ALIVE",
    "P_ALIVE_ALL_HIGH",
    "RECENCY",
    "REPEAT_BUYER",
    "REPEAT_PURCHASES",
    "UNIT_DAYS",
    "VERDICT_LEVELS",
    "BGNBDParams",
    "ClvModel",
    "ClvResult",
    "FitWarning",
    "GammaGammaParams",
    "HoldoutResult",
    "HoldoutVerdict",
    "SummaryReport",
    "T",
    "buyer_signals",
    "clv_overview",
    "customer_lifetime_value",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_warnings",
    "holdout_check",
    "holdout_verdict",
    "predict_clv",
    "score_customers",
    "summary",
    "summary_with_report",
    "tier_clv_summary",
    "typical_gap_days",
]
