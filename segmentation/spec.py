"""The tiering spec: every setting that decides a customer's tier, as one frozen value.

A :class:`TieringSpec` holds the lookback window, the scoring settings (bins, method,
thresholds), the rule text, the name of the implicit catch-all tier and the tiers' value order.
It parses its own rule and threshold text once (on first use) and is hashable, so the same
object is the argument of :func:`segmentation.snapshots.snapshots`,
:func:`segmentation.kpis.kpi_trends` and the backtest, and the UI's cache key.

Thresholds travel as plain text, ``"R:30,90;F:2,5;M:100,500"`` (:func:`parse_thresholds` /
:func:`format_thresholds`), because that is the form a link and a sidebar field carry.

Example:
    >>> spec = TieringSpec(bins=3, method="thresholds", thresholds="R:90,30;F:2,5;M:100,500",
    ...                    rules="Best: r_score == 3\\nRest: else")
    Traceback (most recent call last):
    ...
    segmentation.errors.SettingsError: Cut points for recency_days must be ascending numbers: [90.0, 30.0].
    >>> spec = TieringSpec(bins=3, method="thresholds", thresholds="R:30,90;F:2,5;M:100,500",
    ...                    rules="Best: r_score == 3\\nRest: else")
    >>> spec.thresholds_map["frequency"]
    (2.0, 5.0)
    >>> spec.ruleset.names
    ('Best', 'Rest')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from . import columns as C
from .enrich import needs_clv
from .errors import DataError
from .rules import UNASSIGNED, RuleSet, parse_rules
from .scoring import METHODS, SettingsError, check_bins, normalize_thresholds

__all__ = ["TieringSpec", "as_spec", "format_thresholds", "parse_thresholds"]

_AXIS_KEYS = {"R": C.RECENCY, "F": C.FREQUENCY, "M": C.MONETARY}


def parse_thresholds(text: str) -> dict[str, tuple[float, ...]]:
    """Parse ``"R:30,90,180;F:2,4,8;M:100,500,2000"`` into ``{"recency_days": (30.0, ...), ...}``.

    Axis letters are case-insensitive; spaces are ignored. The number of cut points per axis is
    checked against the bins by :class:`TieringSpec` (which says which axis is off).

    Raises:
        SettingsError: not of that shape, or a value is not a finite number.

    >>> parse_thresholds("r: 30, 90; F:2,5; M:100,500")["recency_days"]
    (30.0, 90.0)
    """
    out: dict[str, tuple[float, ...]] = {}
    bad = SettingsError(f"Thresholds '{text[:80]}' are not of the form R:30,90;F:2,5;M:100,500.",
                        code="thr_form")
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, values = part.partition(":")
        axis = _AXIS_KEYS.get(key.strip().upper())
        if not sep or axis is None or axis in out:
            raise bad
        try:
            numbers = tuple(float(v) for v in values.split(",") if v.strip())
        except ValueError:
            raise bad from None
        if not numbers or not all(math.isfinite(x) for x in numbers):
            raise bad
        out[axis] = numbers
    if not out:
        raise bad
    return out


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def format_thresholds(thresholds: Mapping[str, Sequence[float]] | None) -> str:
    """The plain text form of thresholds (inverse of :func:`parse_thresholds`).

    >>> format_thresholds({"recency_days": (30.0, 90.0), "frequency": (2, 5), "monetary": (99.5, 500)})
    'R:30,90;F:2,5;M:99.5,500'
    """
    if not thresholds:
        return ""
    by_axis = {_AXIS_KEYS.get(str(k).upper(), str(k)): v for k, v in thresholds.items()}
    parts = []
    for letter, axis in _AXIS_KEYS.items():
        if axis in by_axis:
            parts.append(f"{letter}:" + ",".join(_num(x) for x in by_axis[axis]))
    return ";".join(parts)


@dataclass(frozen=True)
class TieringSpec:
    """Everything that decides a customer's tier at a date, besides the data and the date.

    Attributes:
        rules: tier rule text (see :func:`segmentation.rules.parse_rules`).
        bins: score levels (forced to 2 for "mean" and "median").
        method: "quantile", "thresholds", "mean" or "median".
        thresholds: cut points as text (``"R:30,90;F:2,5;M:100,500"``), used with "thresholds".
        window_days: lookback window in days; None = all history up to the date (a value
            of 0 or less raises :class:`~segmentation.errors.DataError`).
        unassigned: the name of the implicit catch-all tier of rules without ``else``.
        value_order: tier names best first (upgrades, downgrades and chart order use it);
            empty = rule order.

    Validation happens at construction: bad thresholds or bins raise
    :class:`~segmentation.scoring.SettingsError`. The rule text is parsed on first use of
    :attr:`ruleset` (a :class:`~segmentation.errors.RuleError` then says what and where).
    """

    rules: str
    bins: int = 5
    method: str = "quantile"
    thresholds: str = ""
    window_days: int | None = None
    unassigned: str = UNASSIGNED
    value_order: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise SettingsError(f"Unknown scoring method '{self.method}'; use one of {', '.join(METHODS)}.",
                code="bad_method", params={"method": str(self.method)[:20]})
        object.__setattr__(self, "bins", check_bins(self.bins, self.method))
        if self.window_days is not None and (not isinstance(self.window_days, int) or self.window_days <= 0):
            raise DataError(f"The lookback window must be a positive number of days, not {self.window_days}.",
                code="bad_window")
        if self.method == "thresholds":
            # Normalise the text so equal settings give equal (hashable) specs.
            object.__setattr__(self, "thresholds", format_thresholds(self.thresholds_map))
        elif self.thresholds:
            object.__setattr__(self, "thresholds", "")
        object.__setattr__(self, "value_order", tuple(self.value_order))

    @classmethod
    def of(
        cls,
        rules: RuleSet | str,
        *,
        bins: int = 5,
        method: str = "quantile",
        thresholds: Mapping[str, Sequence[float]] | str | None = None,
        window_days: int | None = None,
        unassigned: str | None = None,
        value_order: Sequence[str] = (),
    ) -> TieringSpec:
        """A spec from the keyword form the core functions accept (thresholds as a mapping or
        text, rules as text or a parsed :class:`~segmentation.rules.RuleSet`)."""
        if isinstance(rules, RuleSet):
            text, parsed, unassigned = rules.text, rules, unassigned or rules.unassigned
        else:
            text, parsed = rules, None
        if isinstance(thresholds, Mapping):
            thresholds = format_thresholds(thresholds)
        spec = cls(
            rules=text, bins=bins, method=method, thresholds=thresholds or "",
            window_days=window_days, unassigned=unassigned or UNASSIGNED, value_order=tuple(value_order),
        )
        if parsed is not None:
            spec.__dict__["ruleset"] = parsed
        return spec

    def replace(self, **changes: Any) -> TieringSpec:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @cached_property
    def ruleset(self) -> RuleSet:
        """The parsed rules (parsed once per spec)."""
        return parse_rules(self.rules, unassigned=self.unassigned)

    @cached_property
    def thresholds_map(self) -> dict[str, tuple[float, ...]] | None:
        """Thresholds by axis name, checked against the bins (None unless method is "thresholds")."""
        if self.method != "thresholds":
            return None
        return normalize_thresholds(parse_thresholds(self.thresholds) if self.thresholds else None, self.bins)

    @property
    def needs_clv(self) -> bool:
        """Whether the rules use P_ALIVE or CLV (a lifetime-value model must be fitted first)."""
        return needs_clv(self.ruleset.columns_used)

    @property
    def tier_order(self) -> tuple[str, ...]:
        """Tier names best first: the declared value order, then any tier it leaves out, in
        rule order (the catch-all last)."""
        names = self.ruleset.names
        declared = [n for n in self.value_order if n in names]
        return (*declared, *(n for n in names if n not in declared))


def as_spec(
    spec: TieringSpec | None,
    rules: RuleSet | str | None,
    *,
    bins: int = 5,
    method: str = "quantile",
    thresholds: Mapping[str, Sequence[float]] | str | None = None,
    window_days: int | None = None,
) -> TieringSpec:
    """``spec`` itself, or a spec built from the keyword form of the core functions that take
    one (``snapshots``, ``kpi_trends``): exactly one of ``spec`` and ``rules`` must be given.

    Raises:
        TypeError: neither or both given (a programming error, not a user's).
    """
    if (spec is None) == (rules is None):
        raise TypeError("pass either a TieringSpec or rules=..., not both or neither")
    if spec is not None:
        return spec
    return TieringSpec.of(rules, bins=bins, method=method, thresholds=thresholds, window_days=window_days)  # type: ignore[arg-type]
