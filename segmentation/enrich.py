"""Extra per-customer columns joined onto the customer table before tier rules run.

Tier rules may use ``P_ALIVE`` and ``CLV`` (columns ``p_alive`` and ``clv``), which come from the
lifetime-value models (:func:`segmentation.clv.score_customers`), not from the RFM table. When
``{"p_alive", "clv"} & set(rules.columns_used)`` is not empty, the caller joins them on with
:func:`add_clv` before :func:`segmentation.rules.assign_tiers`.

Over time (:func:`segmentation.snapshots.snapshots`, :func:`segmentation.kpis.kpi_trends`)
there is no one table to join: the caller passes the fitted model instead
(``clv_model=score_customers(...).model``) and every date is scored from each customer's
history up to that date with the model's parameters held fixed. At the date the model was
fitted on, that gives exactly the scores :func:`add_clv` joins on here.
"""

from __future__ import annotations

import polars as pl

from . import columns as C
from .errors import DataError

__all__ = ["CLV_COLUMNS", "RULE_VALUATION", "add_clv", "needs_clv"]

EXPECTED_PURCHASES = "expected_purchases"
CLV_COLUMNS: tuple[str, ...] = (C.P_ALIVE, C.CLV, EXPECTED_PURCHASES)
# The valuation behind P_ALIVE and CLV in tier rules, and the CLV page's defaults: a one-year
# horizon (days), 10% a year discount, revenue counted as margin. One fit serves both.
RULE_VALUATION: tuple[int, float, float] = (365, 0.10, 1.0)


def needs_clv(columns_used: tuple[str, ...] | list[str] | set[str]) -> bool:
    """Whether rules using these columns need the CLV columns joined on.

    Example:
        >>> needs_clv(("p_alive", "monetary")), needs_clv(("r_score",))
        (True, False)
    """
    return bool({C.P_ALIVE, C.CLV} & set(columns_used))


def add_clv(rfm: pl.DataFrame | pl.LazyFrame, clv_frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """The customer table with ``p_alive``, ``clv`` and ``expected_purchases`` joined on.

    A left join on ``customer_id``: every row of ``rfm`` is kept, in its order; customers without
    a CLV score get nulls (rules comparing a null never match, so such customers fall through to
    later rules). Columns of those names already in ``rfm`` are replaced.

    Args:
        rfm: the customer table (``rfm_table``, scored or tiered), eager or lazy.
        clv_frame: ``score_customers(...).frame`` (needs ``customer_id``, ``p_alive``, ``clv``;
            ``expected_purchases`` when present), eager or lazy.

    Returns:
        Same kind of frame as ``rfm`` (eager in, eager out) with the three columns (Float64) last.

    Raises:
        DataError: ``clv_frame`` lacks ``customer_id``, ``p_alive`` or ``clv``, or lists a
            customer twice.

    Example:
        >>> import polars as pl
        >>> rfm = pl.DataFrame({"customer_id": ["a", "b"], "monetary": [10.0, 20.0]})
        >>> clv = pl.DataFrame({"customer_id": ["b"], "p_alive": [0.5], "clv": [99.0],
        ...                     "expected_purchases": [1.5]})
        >>> add_clv(rfm, clv).rows()
        [('a', 10.0, None, None, None), ('b', 20.0, 0.5, 99.0, 1.5)]
    """
    schema = clv_frame.collect_schema()
    missing = [c for c in (C.CUSTOMER_ID, C.P_ALIVE, C.CLV) if c not in schema]
    if missing:
        raise DataError(f"The lifetime-value table has no column {missing[0]}; score customers with the CLV model first.")
    extra = [
        pl.col(c).cast(pl.Float64) if c in schema else pl.lit(None, pl.Float64).alias(c) for c in CLV_COLUMNS
    ]
    scores = clv_frame.lazy().select(pl.col(C.CUSTOMER_ID).cast(pl.String), *extra)
    eager = isinstance(rfm, pl.DataFrame)
    base = rfm.lazy()
    base_cols = [c for c in base.collect_schema().names() if c not in CLV_COLUMNS]
    # validate="m:1" turns a customer listed twice in the scores into an error instead of
    # silently duplicating customer rows.
    try:
        out = base.select(base_cols).join(
            scores, on=C.CUSTOMER_ID, how="left", validate="m:1", maintain_order="left"
        )
        return out.collect() if eager else out
    except pl.exceptions.ComputeError as exc:
        raise DataError("The lifetime-value table lists a customer more than once.") from exc
