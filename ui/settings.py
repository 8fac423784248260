"""Every setting that shapes a view, as one frozen value that round-trips through the URL.

The same :class:`Settings` object is the cache key, the shared link and a test fixture. The
URL form is plain strings only (``to_query`` / ``from_query``); nothing from a link is ever
unpickled or evaluated. A malformed parameter falls back to its default and is reported as a
:class:`QueryIssue`, so a mangled link still opens.

Empty values mean "follow the preset": ``bins=0``, ``method=""``, ``thresholds=""`` and
``rules=""`` use the selected preset's own scoring and rule text (in the current language), so
``?preset=value3`` alone reproduces a preset view and switching presets is one change.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from segmentation.errors import SettingsError
from segmentation.scoring import MAX_BINS, METHODS, MIN_BINS
from segmentation.snapshots import CUT_MODES
from segmentation.spec import format_thresholds, parse_thresholds
from segmentation.strategy import DEFAULT_CHANNEL_COSTS, DEFAULT_RESPONSE_RATE, DEFAULT_SPEND_UPLIFT

LANGS = ("zh", "en")
# Period codes in links, and the core's period names they stand for.
PERIOD_NAMES = {"W": "week", "M": "month", "Q": "quarter"}
PERIODS = tuple(PERIOD_NAMES)
# Sections of the strategy page besides the default one (suggestions per tier).
STRATEGY_TABS = ("budget", "what_if")
# Backtest page: ranking inside a tier, walk-forward periods, what suggestions optimise.
BT_WITHIN = ("score", "monetary", "clv", "none")
BT_PERIODS = ("M", "Q")
BT_OBJECTIVES = ("gap_closed", "captured_10", "captured_20")
BT_DEFAULT_HORIZON = 90
BT_MAX_HORIZON = 3_650
CURRENCIES = ("CNY", "USD", "EUR", "GBP", "JPY", "HKD", "NONE")
DEFAULT_PRESET = "cn8"
DEMO_ID = "demo"
MAX_WINDOW_DAYS = 36_500
MAX_RULES_CHARS = 10_000
MAX_TEXT_CHARS = 200
TIER_SEP = "|"
# Choices of page controls that change numbers; each is a Settings field so a link carries it.
GRID_COLOURS = ("monetary", "tier")
CLV_HORIZONS = (90, 180, 365, 730)
CLV_HOLDOUTS = (90, 180, 365)
MAX_BUDGET = 1e12
# Strategy budget assumptions: cost of one contact per channel, response rate (percent) per kind of
# tier, and the extra spend of a responder (in periods of their usual spend).
MAX_COST = 1e6
MAX_UPLIFT = 100.0
AMOUNT_SEP = ";"

_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# A link may name a data set instead of pinning one version: ``name:<data set name>`` shows the
# newest version of that name (the store's names are at most 200 plain characters).
NAME_PREFIX = "name:"
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class QueryIssue:
    """A URL parameter that could not be used and was replaced by its default."""

    param: str
    value: str


@dataclass(frozen=True)
class Settings:
    """Everything that shapes a view. Hashable, so it can key caches directly.

    Attributes:
        dataset: data set id: "demo" (built-in), a stored data set's id, or ``name:<name>`` (the
            newest version of a named data set, resolved by the view on every run).
        as_of: ISO date (YYYY-MM-DD) the view is computed at; "" = the day after the last order.
        window_days: lookback window in days; 0 = all history.
        preset: preset id (segmentation.presets.PRESETS).
        bins, method, thresholds: scoring; 0 / "" = the preset's. ``thresholds`` is the plain
            string form "R:30,90;F:2,5;M:100,500" (see :func:`parse_thresholds`).
        rules: tier rule text; "" = the preset's text in the current language.
        lang: "zh" or "en".
        present: presentation mode (editing widgets hidden).
        currency: ISO code for money formatting; "" = automatic.
        compare: ISO dates to compare (migration and trend pages).
        cut_mode: "fixed" (cut points of the first date held) or "recomputed" per date.
        period: "W", "M" or "Q" for time series.
        tiers: selected tier names (empty = all).
        customer: the customer id looked up on the customer page.
        focus: the tier shown on the strategy page; "" = the first tier with customers.
        tab: the strategy page's section: "" (suggestions per tier), "budget" or "what_if".
        order: tier names best first (the value order: upgrades, downgrades, chart order);
            empty = the preset's declared order for its own rules, rule order for custom rules.
        churn_days: a customer counts as churned after this many days without a purchase;
            0 = the default the data suggests (its typical gap between purchases).
        grid: the Overview R×F grid colour, "monetary" or "tier".
        kpi: the Trends metric code; "" = the first one.
        total: Trends also draws a line for all customers.
        cohort_months: months of cohort retention on the Trends page (3..24).
        horizon, discount, margin, holdout: CLV horizon (days), discount rate and margin (percent)
            and holdout length (days).
        pair: the Migration date pair shown when more than two dates are compared; () = first to last.
        mv_from, mv_to: the Migration movers path; "" = the suggested one.
        wi_from, wi_to, wi_share: the Strategy what-if move (tier names, "" = the default tiers;
            share in percent).
        budget: the Strategy budget amount.
        costs: the Strategy cost of one contact per channel that differs from the default, as
            "phone:3;sms:0.2" (channel order of ``DEFAULT_CHANNEL_COSTS``); "" = the defaults.
            0 leaves a channel out of the budget split.
        rates: the Strategy response rate in percent per kind of tier that differs from the
            default, as "high_value:10;slipping:5"; "" = the defaults.
        uplift: extra spend of a customer who responds, in periods of their usual spend.
        negative: the budget split also funds tiers that bring back less than they cost.
        bt_as_of: the backtest's as-of date T (ISO); "" = the latest T with a full window.
        bt_horizon: the backtest window h in days, (T, T + h].
        bt_within: how customers of one tier are ranked against each other (BT_WITHIN).
        bt_period: walk-forward dates: "M" month ends or "Q" quarter ends.
        bt_objective: what the threshold suggestions improve (BT_OBJECTIVES).
        bt_suggest: search for better cut points (the search runs only when asked).
        bt_tier: the tier whose customers the backtest lists; "" = the first tier.
    """

    dataset: str = "demo"
    as_of: str = ""
    window_days: int = 0
    preset: str = DEFAULT_PRESET
    bins: int = 0
    method: str = ""
    thresholds: str = ""
    rules: str = ""
    lang: str = "zh"
    present: bool = False
    currency: str = ""
    compare: tuple[str, ...] = ()
    cut_mode: str = "fixed"
    period: str = "M"
    tiers: tuple[str, ...] = ()
    customer: str = ""
    focus: str = ""
    tab: str = ""
    order: tuple[str, ...] = ()
    churn_days: int = 0
    grid: str = "monetary"
    kpi: str = ""
    total: bool = False
    cohort_months: int = 12
    horizon: int = 365
    discount: float = 10.0
    margin: float = 100.0
    holdout: int = 180
    pair: tuple[str, ...] = ()
    mv_from: str = ""
    mv_to: str = ""
    wi_from: str = ""
    wi_to: str = ""
    wi_share: int = 10
    budget: float = 5000.0
    costs: str = ""
    rates: str = ""
    uplift: float = DEFAULT_SPEND_UPLIFT
    negative: bool = False
    bt_as_of: str = ""
    bt_horizon: int = BT_DEFAULT_HORIZON
    bt_within: str = "score"
    bt_period: str = "Q"
    bt_objective: str = "gap_closed"
    bt_suggest: bool = False
    bt_tier: str = ""

    def to_query(self) -> dict[str, str]:
        """The URL query parameters for this view: only values that differ from the default."""
        default = Settings()
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                out[f.name] = _encode(f.name, value)
        return out

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> Settings:
        """Settings from URL query parameters; bad values fall back to defaults (never raises)."""
        return parse_query(query)[0]

    def channel_costs(self) -> dict[str, float]:
        """Cost of one contact per channel (every channel; the link's values over the defaults)."""
        return {**DEFAULT_CHANNEL_COSTS, **parse_amounts(self.costs, DEFAULT_CHANNEL_COSTS, MAX_COST)}

    def response_rates(self) -> dict[str, float]:
        """Response rate per kind of tier as a share (0.08 = 8%), every kind."""
        percent = {**_RATE_PERCENT, **parse_amounts(self.rates, _RATE_PERCENT, 100.0)}
        return {kind: value / 100 for kind, value in percent.items()}

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    def with_dataset(self, dataset: str) -> Settings:
        """The view of another data set: what only makes sense for the old data (the as-of date,
        the compared dates, the looked-up customer, the tier focus and selection) is reset;
        scoring, rules, language and layout stay."""
        return replace(self, dataset=dataset, as_of="", compare=(), customer="", tiers=(), focus="", pair=(),
                       mv_from="", mv_to="", wi_from="", wi_to="", bt_as_of="", bt_tier="")

    def with_preset(self, preset: str) -> Settings:
        """The view of another preset: its own scoring and rules, nothing from the previous one."""
        return replace(self, preset=preset, bins=0, method="", thresholds="", rules="", tiers=(), focus="",
                       mv_from="", mv_to="", wi_from="", wi_to="")


_RATE_PERCENT = {kind: round(rate * 100, 6) for kind, rate in DEFAULT_RESPONSE_RATE.items()}


def _number(value: float) -> str:
    value = round(float(value), 6)
    return str(int(value)) if value.is_integer() else repr(value)


def parse_amounts(raw: str, defaults: Mapping[str, float], limit: float) -> dict[str, float]:
    """``"name:value;name:value"`` as a dict; names must be keys of ``defaults`` and values in
    0..``limit``.

    Raises:
        ValueError: an unknown or repeated name, or a value that is not a number in range.

    Example:
        >>> parse_amounts("sms:0.2;phone:3", {"phone": 5.0, "sms": 0.1}, 100.0)
        {'sms': 0.2, 'phone': 3.0}
    """
    out: dict[str, float] = {}
    for part in (p for p in raw.split(AMOUNT_SEP) if p.strip()):
        name, sep, value = part.partition(":")
        name = name.strip()
        if not sep or name not in defaults or name in out:
            raise ValueError(part[:40])
        number = float(value.strip())
        if not 0 <= number <= limit:  # also rejects nan
            raise ValueError(part[:40])
        out[name] = round(number, 6)
    return out


def format_amounts(values: Mapping[str, float], defaults: Mapping[str, float]) -> str:
    """The link form of ``values``: only those that differ from ``defaults``, in their order.

    Example:
        >>> format_amounts({"phone": 3.0, "sms": 0.1}, {"phone": 5.0, "sms": 0.1})
        'phone:3'
    """
    return AMOUNT_SEP.join(f"{name}:{_number(values[name])}" for name in defaults
                           if name in values and round(float(values[name]), 6) != round(defaults[name], 6))


def format_costs(costs: Mapping[str, float]) -> str:
    """The ``costs`` setting for these costs per contact (defaults left out)."""
    return format_amounts(costs, DEFAULT_CHANNEL_COSTS)


def format_rates(shares: Mapping[str, float]) -> str:
    """The ``rates`` setting for these response rates, given as shares (defaults left out)."""
    return format_amounts({kind: share * 100 for kind, share in shares.items()}, _RATE_PERCENT)


def _amounts(defaults: Mapping[str, float], limit: float):
    def parse(raw: str) -> str:
        return format_amounts(parse_amounts(raw, defaults, limit), defaults)

    return parse


def _encode(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        # Whole amounts without ".0"; anything else exactly (repr round-trips through float()).
        return str(int(value)) if value.is_integer() else repr(value)
    if name in ("compare", "pair"):
        return ",".join(value)
    if name in ("tiers", "order"):
        return TIER_SEP.join(value)
    return str(value)


def _iso_date(raw: str) -> str:
    return dt.date.fromisoformat(raw.strip()).isoformat()


def _int_in(lo: int, hi: int, *, allow_zero: bool = False):
    def parse(raw: str) -> int:
        value = int(raw.strip())
        if not (lo <= value <= hi or (allow_zero and value == 0)):
            raise ValueError(raw)
        return value

    return parse


def _one_of(options: Sequence[str]):
    def parse(raw: str) -> str:
        value = raw.strip()
        if value not in options:
            raise ValueError(raw)
        return value

    return parse


def _token(raw: str) -> str:
    if not _ID_RE.match(raw.strip()):
        raise ValueError(raw)
    return raw.strip()


def _dataset(raw: str) -> str:
    value = raw.strip()
    if value.startswith(NAME_PREFIX):
        name = value[len(NAME_PREFIX):].strip()
        if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
            raise ValueError(raw[:40])
        return NAME_PREFIX + name
    return _token(value)


def _text(limit: int):
    def parse(raw: str) -> str:
        if len(raw) > limit or "\x00" in raw:
            raise ValueError(raw[:40])
        return raw

    return parse


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(raw)


def _float_in(lo: float, hi: float):
    def parse(raw: str) -> float:
        value = float(raw.strip())
        # float() also reads "nan" and "inf": neither is a usable amount.
        if not lo <= value <= hi:
            raise ValueError(raw)
        return value

    return parse


def _int_among(options: Sequence[int]):
    def parse(raw: str) -> int:
        value = int(raw.strip())
        if value not in options:
            raise ValueError(raw)
        return value

    return parse


def _pair(raw: str) -> tuple[str, ...]:
    dates = _dates(raw)
    if dates and (len(dates) != 2 or dates[0] >= dates[1]):
        raise ValueError(raw[:40])
    return dates


def _dates(raw: str) -> tuple[str, ...]:
    parts = [p for p in raw.split(",") if p.strip()]
    if len(parts) > 24:
        raise ValueError(raw[:40])
    return tuple(_iso_date(p) for p in parts)


def _tiers(raw: str) -> tuple[str, ...]:
    parts = tuple(p for p in raw.split(TIER_SEP) if p.strip())
    if len(parts) > 64 or any(len(p) > MAX_TEXT_CHARS for p in parts):
        raise ValueError(raw[:40])
    return parts


def _thresholds(raw: str) -> str:
    try:
        return format_thresholds(parse_thresholds(raw)) if raw.strip() else ""
    except SettingsError as exc:
        raise ValueError(raw[:40]) from exc


_PARSERS = {
    "dataset": _dataset,
    "as_of": lambda raw: _iso_date(raw) if raw.strip() else "",
    "window_days": _int_in(1, MAX_WINDOW_DAYS, allow_zero=True),
    "preset": _token,
    "bins": _int_in(MIN_BINS, MAX_BINS, allow_zero=True),
    "method": lambda raw: _one_of(METHODS)(raw) if raw.strip() else "",
    "thresholds": _thresholds,
    "rules": _text(MAX_RULES_CHARS),
    "lang": _one_of(LANGS),
    "present": _bool,
    "currency": lambda raw: _one_of(CURRENCIES)(raw.upper()) if raw.strip() else "",
    "compare": _dates,
    "cut_mode": _one_of(CUT_MODES),
    "period": _one_of(PERIODS),
    "tiers": _tiers,
    "customer": _text(MAX_TEXT_CHARS),
    "focus": _text(MAX_TEXT_CHARS),
    "tab": lambda raw: _one_of(STRATEGY_TABS)(raw) if raw.strip() else "",
    "order": _tiers,
    "churn_days": _int_in(1, MAX_WINDOW_DAYS, allow_zero=True),
    "grid": _one_of(GRID_COLOURS),
    "kpi": lambda raw: _token(raw) if raw.strip() else "",
    "total": _bool,
    "cohort_months": _int_in(3, 24),
    "horizon": _int_among(CLV_HORIZONS),
    "discount": _float_in(0.0, 100.0),
    "margin": _float_in(1.0, 100.0),
    "holdout": _int_among(CLV_HOLDOUTS),
    "pair": _pair,
    "mv_from": _text(MAX_TEXT_CHARS),
    "mv_to": _text(MAX_TEXT_CHARS),
    "wi_from": _text(MAX_TEXT_CHARS),
    "wi_to": _text(MAX_TEXT_CHARS),
    "wi_share": _int_in(0, 100, allow_zero=True),
    "budget": _float_in(0.0, MAX_BUDGET),
    "costs": _amounts(DEFAULT_CHANNEL_COSTS, MAX_COST),
    "rates": _amounts(_RATE_PERCENT, 100.0),
    "uplift": _float_in(0.0, MAX_UPLIFT),
    "negative": _bool,
    "bt_as_of": lambda raw: _iso_date(raw) if raw.strip() else "",
    "bt_horizon": _int_in(1, BT_MAX_HORIZON),
    "bt_within": _one_of(BT_WITHIN),
    "bt_period": _one_of(BT_PERIODS),
    "bt_objective": _one_of(BT_OBJECTIVES),
    "bt_suggest": _bool,
    "bt_tier": _text(MAX_TEXT_CHARS),
}


def parse_query(query: Mapping[str, Any]) -> tuple[Settings, list[QueryIssue]]:
    """Settings from URL query parameters, plus the parameters that were ignored.

    Unknown parameters are ignored silently (other tools add their own, e.g. tracking tags);
    known ones with a value that does not parse keep the default and produce a
    :class:`QueryIssue`. A list value (repeated parameter) uses its last item, like
    ``st.query_params``.
    """
    values: dict[str, Any] = {}
    issues: list[QueryIssue] = []
    for name, parse in _PARSERS.items():
        if name not in query:
            continue
        raw = query[name]
        if isinstance(raw, list | tuple):
            raw = raw[-1] if raw else ""
        raw = str(raw)
        try:
            values[name] = parse(raw)
        except (ValueError, TypeError):
            issues.append(QueryIssue(name, raw[:80]))
    return Settings(**values), issues


