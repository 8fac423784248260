"""Integer-coded transactions: customer ids as dense codes, for fast re-aggregation of a saved data set.

A saved data set is re-aggregated on every as-of or window change; grouping dense integer codes
is several times faster than grouping string ids. The codes index a sorted list of the ids, kept
beside the coded frame, so every page still shows ids verbatim.
"""

from __future__ import annotations

import polars as pl

from . import columns as C

__all__ = ["ORDER_HASH_SEED", "coded_transactions"]

# Seed of the 64-bit hashes that stand in for order ids (any fixed value; the same everywhere).
ORDER_HASH_SEED = 0x7E1


def coded_transactions(tx: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """The transactions with customer ids coded as integers, for fast repeated customer tables.

    Grouping millions of rows on integers is several times cheaper than on strings, so a saved
    data set is coded once and every as-of or window change aggregates the codes;
    ``rfm_table(coded, ..., ids=ids)`` equals ``rfm_table(tx, ...)``.

    Args:
        tx: canonical transactions (``customer_id``, ``order_date``, ``amount``, ``order_id``).

    Returns:
        ``(coded, ids)``. ``ids``: the distinct customer ids (String, verbatim), sorted, so code
        order is id order. ``coded`` columns: ``customer_id`` (UInt32, the position of the id in
        ``ids``), ``order_date`` (Date: the customer table works in whole days), ``amount``
        (Float64), ``order_id`` (Int64 row numbers when every purchase row has an order id of
        its own, else UInt64 hashes of the ids, as :func:`rfm_table` counts orders by hash).

    Example:
        >>> import datetime as dt
        >>> tx = pl.DataFrame({"customer_id": ["b", "007", "b"],
        ...     "order_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3)],
        ...     "amount": [5.0, 7.0, 1.0], "order_id": ["o1", "o2", "o3"]})
        >>> from segmentation.rfm import rfm_table
        >>> coded, ids = coded_transactions(tx)
        >>> ids.to_list(), coded["customer_id"].to_list()
        (['007', 'b'], [1, 0, 1])
        >>> rfm_table(coded, as_of="2024-01-10", ids=ids).equals(rfm_table(tx, as_of="2024-01-10"))
        True
    """
    cid = tx[C.CUSTOMER_ID].cast(pl.String)
    ids = cid.unique().drop_nulls().sort().alias(C.CUSTOMER_ID)
    lookup = pl.DataFrame({C.CUSTOMER_ID: ids, "_code": pl.int_range(ids.len(), eager=True, dtype=pl.UInt32)})
    buys = tx.filter(pl.col(C.AMOUNT) > 0)
    distinct = buys.height == 0 or bool(buys.select(pl.col(C.ORDER_ID).is_unique().all()).item())
    order = pl.int_range(pl.len(), dtype=pl.Int64) if distinct else pl.col(C.ORDER_ID).hash(ORDER_HASH_SEED)
    codes = (
        pl.DataFrame({C.CUSTOMER_ID: cid})
        .join(lookup, on=C.CUSTOMER_ID, how="left", maintain_order="left")
        .select(pl.col("_code").alias(C.CUSTOMER_ID))
    )
    rest = tx.select(pl.col(C.ORDER_DATE).cast(pl.Date), pl.col(C.AMOUNT).cast(pl.Float64), order.alias(C.ORDER_ID))
    return codes.hstack(rest), ids
