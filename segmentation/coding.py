"""Integer-coded transactions: customer ids as dense codes, for fast re-aggregation of a saved data set.

A saved data set is re-aggregated on every as-of or window change; grouping dense integer codes
is several times faster than grouping string ids. The codes index a sorted list of the ids, kept
beside the coded frame, so every page still shows ids verbatim.
"""

from __future__ import annotations

import polars as pl

from . import columns as C

__all__ = ["ORDER_HASH_SEED", "all_distinct", "coded_transactions", "distinct_hashes"]

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
    hashes = _id_hashes(cid)
    # Distinct ids as the first row of each id hash, codes by a join on the hashes: on 10M rows
    # ~4x cheaper than a distinct and a join of the id strings. A hash clash would merge two
    # customers, so the codes are checked to give back every row's own id, exactly; if they do
    # not (about 1 in 10^7 for 2M ids), the strings themselves are used.
    ids = cid.filter(hashes.is_first_distinct() & cid.is_not_null()).sort().alias(C.CUSTOMER_ID)
    codes = _codes(pl.DataFrame({"h": hashes}), _id_hashes(ids), ids, on="h")
    if not ids.gather(codes).eq_missing(cid).all():
        ids = cid.unique().drop_nulls().sort().alias(C.CUSTOMER_ID)
        codes = _codes(pl.DataFrame({C.CUSTOMER_ID: cid}), ids, ids, on=C.CUSTOMER_ID)
    buys = tx[C.ORDER_ID].filter(tx[C.AMOUNT] > 0)
    order = pl.int_range(pl.len(), dtype=pl.Int64) if all_distinct(buys) else pl.col(C.ORDER_ID).hash(ORDER_HASH_SEED)
    rest = tx.select(pl.col(C.ORDER_DATE).cast(pl.Date), pl.col(C.AMOUNT).cast(pl.Float64), order.alias(C.ORDER_ID))
    return codes.alias(C.CUSTOMER_ID).to_frame().hstack(rest), ids


def _id_hashes(ids: pl.Series) -> pl.Series:
    return ids.hash(ORDER_HASH_SEED)


def _codes(rows: pl.DataFrame, keys: pl.Series, ids: pl.Series, *, on: str) -> pl.Series:
    """Each row's position in ``ids`` (UInt32; null for a null id), matched on ``keys`` (one per id)."""
    lookup = pl.DataFrame({on: keys, "_code": pl.int_range(ids.len(), eager=True, dtype=pl.UInt32)})
    return rows.join(lookup, on=on, how="left", maintain_order="left")["_code"]


def all_distinct(values: pl.Series) -> bool:
    """Whether no two values are equal (nulls count as equal), judged on 64-bit hashes.

    Distinct hashes imply distinct values, so True is exact; a hash clash, like a real repeat,
    gives False. An estimate of the distinct count first spares a column with many repeats
    (invoice lines) the sort; sorting the hashes and comparing neighbours is several times
    cheaper than a distinct count of the strings (10M order ids: 0.2 s against 2.5 s).
    """
    return distinct_hashes(values.hash(ORDER_HASH_SEED))


def distinct_hashes(hashes: pl.Series) -> bool:
    """Whether no two 64-bit hashes are equal (:func:`all_distinct` on hashes already made)."""
    if len(hashes) < 2:
        return True
    if hashes.approx_n_unique() < 0.9 * len(hashes):
        return False
    ordered = hashes.sort(in_place=True)
    return not bool((ordered.slice(1) == ordered.slice(0, len(ordered) - 1)).any())
