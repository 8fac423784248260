"""Combine several tables of one upload: append same-column tables, join related ones.

Real exports come in pieces: a workbook with one sheet per year, monthly CSV files, or Olist's
orders, payments and customers kept apart. Appending is safe when the columns are the same.
Joining is safe only when it cannot repeat a row that carries money: each table joined onto
the table holding the amounts must have at most one row per key, or every matching amount would
be counted once per partner row. That case is refused with an explanation instead of summed twice.

Public API: :func:`stack_tables`, :func:`suggest_join_keys`, :func:`join_tables`,
:class:`JoinStep`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from .errors import DataError

__all__ = ["JoinStep", "join_tables", "stack_tables", "suggest_join_keys"]

# A shared column is a join key when its name looks like an identifier.
_KEYISH = re.compile(r"(^|[_\s\-.])(id|no|number|code|key|sku)$|id$|编号$|号$|代码$|^id", re.IGNORECASE)


@dataclass(frozen=True)
class JoinStep:
    """One table joined onto the growing table: which, on what, and what it did to the rows."""

    table: str
    on: tuple[str, ...]
    rows_before: int
    rows_after: int
    rows_matched: int  # rows of the growing table that found a partner row

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["on"] = list(self.on)
        return out


def stack_tables(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Append tables with the same column names (in any order) into one, in the given order.

    Args:
        frames: frames whose column-name sets are equal; columns follow the first frame.

    Returns:
        One frame with the rows of each input in turn.

    Raises:
        DataError: the column names differ.

    Example:
        >>> a = pl.DataFrame({"id": ["1"], "amount": ["5"]})
        >>> b = pl.DataFrame({"amount": ["7"], "id": ["2"]})
        >>> stack_tables([a, b]).to_dict(as_series=False)
        {'id': ['1', '2'], 'amount': ['5', '7']}
    """
    if not frames:
        raise DataError("There is no table to read.", code="no_table")
    first = frames[0].columns
    for f in frames[1:]:
        if set(f.columns) != set(first):
            extra = sorted(set(f.columns) ^ set(first))
            raise DataError(
                "These tables cannot be appended because their columns differ (" + ", ".join(f"“{c}”" for c in extra)
                + "). Append only exports with the same columns, or join them on a key column.",
                code="append_columns_differ", params={"columns": ", ".join(f"“{c}”" for c in extra)},
            )
    return pl.concat([f.select(first) for f in frames], how="vertical_relaxed")


def suggest_join_keys(frames: Mapping[str, pl.DataFrame]) -> dict[tuple[str, str], list[str]]:
    """Shared column names that look like identifiers, for every pair of tables that has some.

    Args:
        frames: ``{table name: frame}``.

    Returns:
        ``{(table a, table b): [key columns]}`` in input order; pairs without a shared id-like
        column are left out.

    Example:
        >>> orders = pl.DataFrame({"order_id": ["o1"], "customer_id": ["c1"], "date": ["x"]})
        >>> customers = pl.DataFrame({"customer_id": ["c1"], "city": ["Rio"]})
        >>> suggest_join_keys({"orders": orders, "customers": customers})
        {('orders', 'customers'): ['customer_id']}
    """
    names = list(frames)
    out: dict[tuple[str, str], list[str]] = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = [c for c in frames[a].columns if c in frames[b].columns]
            keys = [c for c in shared if _KEYISH.search(c)]
            if keys:
                out[(a, b)] = keys
    return out


def join_tables(
    frames: Mapping[str, pl.DataFrame],
    *,
    base: str,
    keys: Mapping[str, Sequence[str]] | None = None,
    mark_unmatched: str | None = None,
) -> tuple[pl.DataFrame, list[JoinStep]]:
    """Left-join every other table onto ``base`` (the table that holds the amounts).

    Tables are joined one at a time, each on ``keys[table]`` or else on the id-like columns it
    shares with what has been joined so far; a table with no such column is an error. The base
    keeps its rows: a joined table must have at most one row per key, so no amount is ever
    repeated. Columns of a joined table whose name is already taken get ``_<table>`` appended.

    Args:
        frames: ``{table name: frame}`` (all columns as read).
        base: name of the table whose rows become the transactions.
        keys: optional ``{table name: [key columns]}`` overriding the suggested keys.
        mark_unmatched: when given, the name of an added column holding, per row, the first
            joined table in which the row found no match (null when it matched every table).

    Returns:
        ``(joined, steps)``: the base's rows with the other tables' columns added, and one
        :class:`JoinStep` per joined table (rows before and after, rows matched).

    Raises:
        DataError: a table shares no key, a key column is missing, or a key repeats in a joined
            table (the join would count amounts more than once).

    Example:
        >>> pay = pl.DataFrame({"order_id": ["o1", "o1", "o2"], "value": ["5", "6", "7"]})
        >>> orders = pl.DataFrame({"order_id": ["o1", "o2"], "customer": ["a", "b"]})
        >>> out, steps = join_tables({"payments": pay, "orders": orders}, base="payments")
        >>> out["customer"].to_list(), steps[0].rows_after
        (['a', 'a', 'b'], 3)
    """
    if base not in frames:
        raise DataError(f"There is no table called “{base}”.",
            code="join_base_missing", params={"table": base})
    keys = dict(keys or {})
    joined = frames[base]
    pending = [n for n in frames if n != base]
    steps: list[JoinStep] = []
    while pending:
        name, on = _next_join(joined, frames, pending, keys)
        right = frames[name]
        _check_unique(right, name, on, base)
        rename = {c: f"{c}_{name}" for c in right.columns if c not in on and c in joined.columns}
        right = right.rename(rename).with_columns(pl.lit(True).alias("__matched__"))
        before = joined.height
        out = joined.join(right, on=list(on), how="left", coalesce=True, nulls_equal=False)
        matched = int(out["__matched__"].fill_null(False).sum())
        if mark_unmatched is not None:
            first_miss = pl.when(pl.col("__matched__").is_null()).then(pl.lit(name))
            if mark_unmatched in out.columns:
                first_miss = pl.coalesce(pl.col(mark_unmatched), first_miss)
            out = out.with_columns(first_miss.alias(mark_unmatched))
        joined = out.drop("__matched__")
        steps.append(JoinStep(name, tuple(on), before, joined.height, matched))
        pending.remove(name)
    return joined, steps


def _next_join(
    joined: pl.DataFrame, frames: Mapping[str, pl.DataFrame], pending: list[str], keys: Mapping[str, Sequence[str]]
) -> tuple[str, tuple[str, ...]]:
    for name in pending:
        if name in keys:
            on = tuple(keys[name])
            missing = [c for c in on if c not in joined.columns or c not in frames[name].columns]
            if missing:
                raise DataError(
                    f"The key column “{missing[0]}” chosen to join “{name}” is not in both tables. "
                    "Choose a column that both tables have.",
                    code="join_key_missing", params={"column": missing[0], "table": name},
                )
            return name, on
    for name in pending:
        shared = [c for c in frames[name].columns if c in joined.columns and _KEYISH.search(c)]
        if shared:
            return name, tuple(shared)
    listed = ", ".join(f"“{n}”" for n in pending)
    raise DataError(
        f"Tierlens could not tell how to join {listed} to the rest: no column with the same id-like "
        "name (such as order_id or customer_id) appears in both. Choose the key columns by hand, "
        "or upload the tables separately.",
        code="join_no_key", params={"tables": listed},
    )


def _check_unique(right: pl.DataFrame, name: str, on: Sequence[str], base: str) -> None:
    counts = right.group_by(list(on)).len().filter(pl.col("len") > 1)
    if counts.height == 0:
        return
    worst = counts.sort("len", descending=True).row(0, named=True)
    example = ", ".join(str(worst[c]) for c in on)
    keyname = " + ".join(f"“{c}”" for c in on)
    raise DataError(
        f"“{name}” has {counts.height:,} {keyname} value{'s' if counts.height != 1 else ''} on more than one "
        f"row (for example “{example}” appears {worst['len']} times). Joining it onto “{base}” would repeat "
        f"each matching row of “{base}” and count its amount {worst['len']} times. Join on a column that is "
        f"unique in “{name}”, or make the table with one row per payment or order line the base.",
        code="join_repeats",
        params={"table": name, "keys": keyname, "values": counts.height, "example": example, "times": worst["len"], "base": base},
    )
