"""RFM scores: tie-aware quantiles, explicit thresholds, or above/below the mean or median.

Every method reduces to *cut points*: per axis, ``bins - 1`` ascending edges. Applying them is
the same rule whatever produced them, so cut points fitted on one date can be held fixed and
applied to another (migration without population drift):

- frequency and monetary (higher is better): ``score = 1 + #(edges e with value >= e)``
- recency (days since the last purchase, lower is better): ``score = 1 + #(edges e with value <= e)``

So a recent customer gets a high ``r_score`` and every score runs 1..bins, higher is better.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import polars as pl

from . import columns as C
from .errors import SettingsError

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
Method = Literal["quantile", "thresholds", "mean", "median"]
METHODS: tuple[str, ...] = ("quantile", "thresholds", "mean", "median")
MIN_BINS, MAX_BINS = 2, 10

_AXIS_SCORE = {C.RECENCY: C.R_SCORE, C.FREQUENCY: C.F_SCORE, C.MONETARY: C.M_SCORE}
_AXIS_RANK = {C.RECENCY: C.R_RANK, C.FREQUENCY: C.F_RANK, C.MONETARY: C.M_RANK}
_AXIS_ALIASES = {
    "r": C.RECENCY, "recency": C.RECENCY, C.RECENCY: C.RECENCY,
    "f": C.FREQUENCY, "frequency": C.FREQUENCY,
    "m": C.MONETARY, "monetary": C.MONETARY,
}


@dataclass(frozen=True)
class Cuts:
    """The cut points a scoring actually used: ``bins - 1`` ascending edges per axis.

    An edge of ``inf``/``-inf`` marks a score no customer could reach (e.g. when ties fill
    several quantiles); a repeated edge means a value jumps two scores at once.
    """

    bins: int
    method: str
    recency: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...]

    @property
    def edges(self) -> dict[str, tuple[float, ...]]:
        return {C.RECENCY: self.recency, C.FREQUENCY: self.frequency, C.MONETARY: self.monetary}

    def table(self) -> pl.DataFrame:
        """One row per axis and score: the value range that earns it, for the UI.

        Columns: ``axis``, ``score``, ``lower``, ``upper`` (null = unbounded) and ``closed``:
        which bound is inclusive ("lower" for frequency and monetary, where ``lower <= value <
        upper``; "upper" for recency, where ``lower < value <= upper``).
        """
        rows = []
        for axis, edges in self.edges.items():
            lower_better = axis in C.LOWER_IS_BETTER
            for s in range(1, self.bins + 1):
                if lower_better:
                    lo = edges[self.bins - s - 1] if s < self.bins else None
                    hi = edges[self.bins - s] if s > 1 else None
                else:
                    lo = edges[s - 2] if s > 1 else None
                    hi = edges[s - 1] if s < self.bins else None
                rows.append((axis, s, _finite(lo), _finite(hi), "upper" if lower_better else "lower"))
        return pl.DataFrame(
            rows,
            schema={"axis": pl.String, "score": pl.Int8, "lower": pl.Float64, "upper": pl.Float64,
                    "closed": pl.String},
            orient="row",
        )


def _finite(x: float | None) -> float | None:
    return None if x is None or math.isinf(x) else x


def check_bins(bins: int, method: str) -> int:
    if method not in METHODS:
        raise SettingsError(f"Unknown scoring method '{method}'; use one of {', '.join(METHODS)}.")
    if method in ("mean", "median"):
        return 2
    if not isinstance(bins, int) or not MIN_BINS <= bins <= MAX_BINS:
        raise SettingsError(f"Scores need between {MIN_BINS} and {MAX_BINS} bins, not {bins}.")
    return bins


def normalize_thresholds(
    thresholds: Mapping[str, Sequence[float]] | None, bins: int
) -> dict[str, tuple[float, ...]]:
    """Validate user thresholds: per axis (R/F/M or full names) ``bins - 1`` ascending numbers.

    Raises:
        SettingsError: an axis is missing or unknown, a count is wrong, or edges descend.
    """
    if not thresholds:
        raise SettingsError("The 'thresholds' method needs cut points for R, F and M.", code="thr_missing",
                            params={"axes": "R, F, M"})
    out: dict[str, tuple[float, ...]] = {}
    for key, values in thresholds.items():
        axis = _AXIS_ALIASES.get(str(key).strip().lower())
        if axis is None:
            raise SettingsError(f"Unknown axis '{key}' in thresholds; use R, F or M.", code="thr_axis",
                                params={"axis": str(key)})
        try:
            edges = tuple(float(v) for v in values)
        except (TypeError, ValueError):
            raise SettingsError(f"Thresholds for {key} must be numbers.", code="thr_number",
                                params={"axis": axis}) from None
        if len(edges) != bins - 1:
            raise SettingsError(
                f"{key} needs {bins - 1} cut points for {bins} scores, got {len(edges)}.", code="thr_count",
                params={"axis": axis, "needed": bins - 1, "bins": bins, "got": len(edges)},
            )
        if any(math.isnan(e) for e in edges) or list(edges) != sorted(edges):
            raise SettingsError(f"Cut points for {key} must be ascending numbers: {list(edges)}.", code="thr_order",
                                params={"axis": axis})
        out[axis] = edges
    missing = [a for a in C.RFM_AXES if a not in out]
    if missing:
        raise SettingsError(f"Thresholds are missing for: {', '.join(missing)}.", code="thr_missing",
                            params={"axes": ", ".join(missing)})
    return out


def _rank_expr(axis: str) -> pl.Expr:
    return pl.col(axis).rank("average", descending=axis in C.LOWER_IS_BETTER)


def add_ranks(rfm: FrameT) -> FrameT:
    """Add ``r_rank``, ``f_rank``, ``m_rank``: mid-ranks (Float64, 1..n, higher is better).

    Ranking is the only costly part of quantile scoring (a sort per axis). A customer table
    that carries its ranks is re-scored for any number of bins by arithmetic alone, which is
    what keeps a slider move fast on a million customers. ``score`` uses them when present,
    so add them to the final customer table: ranks of a table that is filtered afterwards no
    longer describe it.

    Example:
        >>> import polars as pl
        >>> rfm = pl.DataFrame({"recency_days": [9, 1, 9], "frequency": [1, 1, 3],
        ...                     "monetary": [5.0, 7.0, 6.0]})
        >>> add_ranks(rfm).select("r_rank", "f_rank", "m_rank").rows()
        [(1.5, 1.5, 1.0), (3.0, 1.5, 3.0), (1.5, 3.0, 2.0)]
    """
    return rfm.with_columns(_rank_expr(axis).alias(_AXIS_RANK[axis]) for axis in C.RFM_AXES)


def _midrank_score(axis: str, bins: int, *, ranked: bool = False) -> pl.Expr:
    # Mid-rank percentile: ties share the average rank, so equal values always get equal
    # scores, and a lone customer or an all-equal column lands in the middle score.
    rank = pl.col(_AXIS_RANK[axis]) if ranked else _rank_expr(axis)
    raw = ((rank - 0.5) * bins / pl.len()).floor() + 1
    return raw.clip(1, bins).cast(pl.Int8)


def _has_ranks(rfm: pl.DataFrame | pl.LazyFrame) -> bool:
    names = rfm.collect_schema().names() if isinstance(rfm, pl.LazyFrame) else rfm.columns
    return all(c in names for c in _AXIS_RANK.values())


def _quantile_edges(values: pl.DataFrame, axis: str, bins: int) -> tuple[float, ...]:
    """Edges reproducing the mid-rank scores: the least extreme value that earns each score."""
    lower_better = axis in C.LOWER_IS_BETTER
    ranked = _has_ranks(values)
    per_score = (
        values.select(pl.col(axis).cast(pl.Float64), _midrank_score(axis, bins, ranked=ranked).alias("s"))
        .group_by("s")
        .agg(pl.col(axis).max() if lower_better else pl.col(axis).min())
        .sort("s")
    )
    best_by_score = dict(zip(per_score["s"].to_list(), per_score[axis].to_list(), strict=True))
    edges = []
    for k in range(2, bins + 1):
        reached = [best_by_score[s] for s in best_by_score if s >= k]
        if lower_better:
            edges.append(max(reached) if reached else -math.inf)
        else:
            edges.append(min(reached) if reached else math.inf)
    return tuple(sorted(edges))


def fit_cuts(
    rfm: pl.DataFrame | pl.LazyFrame,
    *,
    bins: int = 5,
    method: Method = "quantile",
    thresholds: Mapping[str, Sequence[float]] | None = None,
) -> Cuts:
    """The cut points ``score`` would use on this customer table.

    Args:
        rfm: output of :func:`segmentation.rfm_table` (eager or lazy).
        bins: number of scores per axis (2..10; "mean"/"median" always use 2).
        method: "quantile" (tie-aware mid-rank quantiles), "thresholds" (``thresholds`` as
            given), "mean" or "median" (score 2 when strictly better than the mean/median).
        thresholds: for "thresholds": ``{"R": [...], "F": [...], "M": [...]}``, ``bins - 1``
            ascending edges each (recency in days, monetary in currency).

    Returns:
        :class:`Cuts` with ascending edges per axis.

    Raises:
        SettingsError: bad bins, method or thresholds.

    Example:
        >>> import polars as pl
        >>> rfm = pl.DataFrame({"recency_days": [1, 5, 30], "frequency": [1, 1, 4],
        ...                     "monetary": [10.0, 20.0, 90.0]})
        >>> fit_cuts(rfm, method="median").frequency
        (1.0000000000000002,)
    """
    bins = check_bins(bins, method)
    if method == "thresholds":
        e = normalize_thresholds(thresholds, bins)
        return Cuts(bins, method, e[C.RECENCY], e[C.FREQUENCY], e[C.MONETARY])
    wanted = [*C.RFM_AXES, *(_AXIS_RANK.values() if _has_ranks(rfm) else ())]
    df = rfm.lazy().select(wanted).collect()
    if method == "quantile":
        e = {axis: _quantile_edges(df, axis, bins) for axis in C.RFM_AXES}
        return Cuts(bins, method, e[C.RECENCY], e[C.FREQUENCY], e[C.MONETARY])
    centre = df.select(getattr(pl.col(a).cast(pl.Float64), method)() for a in C.RFM_AXES).row(0)
    e = {}
    for axis, c in zip(C.RFM_AXES, centre, strict=True):
        c = 0.0 if c is None else float(c)
        # Strictly better than the centre: with a median of 1 purchase, ">= 1" would give
        # everybody the high score.
        e[axis] = (math.nextafter(c, -math.inf),) if axis in C.LOWER_IS_BETTER else (math.nextafter(c, math.inf),)
    return Cuts(2, method, e[C.RECENCY], e[C.FREQUENCY], e[C.MONETARY])


def _apply_edges(axis: str, edges: Sequence[float]) -> pl.Expr:
    col = pl.col(axis)
    hits = [(col <= e) if axis in C.LOWER_IS_BETTER else (col >= e) for e in edges]
    return (pl.sum_horizontal(hits) + 1).cast(pl.Int8) if hits else pl.lit(1, pl.Int8)


def score(
    rfm: FrameT,
    bins: int = 5,
    method: Method = "quantile",
    thresholds: Mapping[str, Sequence[float]] | None = None,
    *,
    cuts: Cuts | None = None,
) -> FrameT:
    """Add ``r_score``, ``f_score`` and ``m_score`` (Int8, 1..bins, higher is better).

    Args:
        rfm: customer table from :func:`segmentation.rfm_table`, eager or lazy.
        bins, method, thresholds: as in :func:`fit_cuts`.
        cuts: apply these fixed cut points instead of fitting new ones (used to hold tiers
            steady across dates so only behaviour moves customers).

    Returns:
        ``rfm`` with the three score columns added (same kind of frame).

    Raises:
        SettingsError: bad bins, method or thresholds.

    Example:
        >>> import polars as pl
        >>> rfm = pl.DataFrame({"customer_id": ["a", "b", "c", "d"],
        ...     "recency_days": [3, 40, 40, 200], "frequency": [5, 1, 1, 1],
        ...     "monetary": [500.0, 20.0, 20.0, 5.0]})
        >>> score(rfm, bins=4).select("r_score", "f_score", "m_score").rows()
        [(4, 4, 4), (3, 2, 3), (3, 2, 3), (1, 2, 1)]
    """
    if cuts is None and method == "quantile":
        bins = check_bins(bins, method)
        ranked = _has_ranks(rfm)
        exprs = [_midrank_score(axis, bins, ranked=ranked).alias(_AXIS_SCORE[axis]) for axis in C.RFM_AXES]
        return rfm.with_columns(exprs)
    if cuts is None:
        cuts = fit_cuts(rfm, bins=bins, method=method, thresholds=thresholds)
    return rfm.with_columns(
        _apply_edges(axis, edges).alias(_AXIS_SCORE[axis]) for axis, edges in cuts.edges.items()
    )
