"""Shared look of every chart: tier colours (stable per tier), fonts, money axes, layout."""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Sequence

import plotly.graph_objects as go

from segmentation.presets import PRESETS
from segmentation.rules import parse_rules
from segmentation.snapshots import BACK, GONE, NEW, state_label
from ui.i18n import currency_symbol, fmt_money, fmt_pct

# Distinct, colour-blind-aware hues (Okabe-Ito first, then Tableau); readable on white and dark.
TIER_PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#7F7F7F",
    "#8C564B", "#17BECF", "#BCBD22", "#9467BD",
)


ACCENT = "#0072B2"


RETURN_COLOUR = "#D55E00"


FONT = "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, Source Sans Pro, sans-serif"


def safe(text: object) -> str:
    """Text from the data made literal for Plotly, which reads a subset of HTML in labels."""
    return html.escape(str(text), quote=False)


def _preset_slots() -> dict[str, int]:
    # A preset's tiers take the palette in the preset's own order, in both languages, so the
    # shipped views keep their familiar colours; the first preset naming a tier decides.
    slots: dict[str, int] = {}
    for preset in PRESETS.values():
        for lang in ("zh", "en"):
            for i, name in enumerate(parse_rules(preset.rules_text(lang)).names):
                slots.setdefault(name, i % len(TIER_PALETTE))
    return slots


PRESET_SLOTS = _preset_slots()


def _name_slot(name: str) -> int:
    # A digest, not hash(): Python salts str hashes per process, and colours must hold across
    # sessions, servers and exports.
    return hashlib.sha256(name.encode("utf-8")).digest()[0] % len(TIER_PALETTE)


def tier_colors(names: Sequence[str]) -> dict[str, str]:
    """Colour per tier, by its name: inserting or reordering rules never recolours other tiers.

    A preset's tier keeps its preset colour; any other name gets a slot from a digest of the
    name. When two tiers shown together want one slot, the later one takes the next free slot,
    so no two of up to 12 tiers share a colour (beyond 12, colours repeat).

    >>> tier_colors(["B", "A"])["A"] == tier_colors(["A"])["A"]
    True
    """
    n = len(TIER_PALETTE)
    slot: dict[str, int] = {}
    used: set[int] = set()
    wanted = [(name, PRESET_SLOTS.get(name)) for name in dict.fromkeys(names)]
    # Preset tiers first, so a custom tier never pushes a preset tier off its colour.
    for name, preset_slot in sorted(wanted, key=lambda w: w[1] is None):
        i = _name_slot(name) if preset_slot is None else preset_slot
        if len(used) < n:
            while i in used:
                i = (i + 1) % n
        slot[name] = i
        used.add(i)
    return {name: TIER_PALETTE[slot[name]] for name in names}


def money_axis(values: Sequence[float | None], *, lang: str = "zh", currency: str = "CNY", ticks: int = 5) -> dict:
    """Axis (or colour bar) settings that label money the way the rest of the page does.

    Plotly only knows SI suffixes (k, M, G), so a Chinese page would read ¥1M next to metrics
    in 万; here tick positions are picked on a 1/2/2.5/5 x 10^k grid (the usual "nice numbers")
    and labelled with :func:`ui.i18n.fmt_money` in compact form: ¥100万, $1.5M. Small ranges
    (under 10,000) keep Plotly's own ticks with the currency symbol.

    Example:
        >>> money_axis([0, 4_238_641], lang="zh")["ticktext"]
        ['¥0', '¥100万', '¥200万', '¥300万', '¥400万']
    """
    present = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    low, high = min([*present, 0.0]), max([*present, 0.0])
    if high - low < 1e4:
        return {"tickprefix": currency_symbol(currency), "tickformat": ",.0f"}
    raw = (high - low) / max(1, ticks)
    scale = 10 ** math.floor(math.log10(raw))
    step = next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= raw)
    first = math.floor(low / step) * step
    count = math.floor((high - first) / step + 1e-9) + 1
    vals = [first + i * step for i in range(count)]
    return {"tickvals": vals, "ticktext": [fmt_money(v, lang, currency, compact=True) for v in vals]}


# Plotly names months in English ("Jul 2024") unless a locale file is registered in the
# browser; neither plotly.py nor Streamlit ships one, so Chinese date ticks use numeric
# formats, picked by zoom level like Plotly's own (dtick in ms; "M1" = one month).
_ZH_DATE_STOPS = (
    ((None, 86_400_000), "%-m月%-d日 %H:%M"),
    ((86_400_000, "M1"), "%-m月%-d日"),
    (("M1", "M12"), "%Y年%-m月"),
    (("M12", None), "%Y年"),
)


def date_axis(lang: str) -> dict:
    """Settings for a date axis that reads naturally in ``lang`` (2024年7月, not Jul 2024).

    English keeps Plotly's own labels; Chinese gets numeric year/month/day labels.

    Example:
        >>> date_axis("zh")["tickformatstops"][2]
        {'dtickrange': ['M1', 'M12'], 'value': '%Y年%-m月'}
        >>> date_axis("en")
        {'type': 'date'}
    """
    if lang != "zh":
        return {"type": "date"}
    return {"type": "date", "tickformatstops": [{"dtickrange": list(r), "value": v} for r, v in _ZH_DATE_STOPS]}


def layout(fig: go.Figure, title: str, *, height: int = 380, subtitle: str | None = None) -> go.Figure:
    """Title, size, margins and fonts shared by every chart.

    ``subtitle`` goes on a line of its own under the title (e.g. the dates compared): Plotly
    never wraps a title, so a long one is cut off on a phone.
    """
    heading: dict = {"text": title, "x": 0, "xanchor": "left"}
    if subtitle:
        heading["subtitle"] = {"text": subtitle}
    fig.update_layout(
        title=heading,
        height=height,
        margin={"l": 10, "r": 10, "t": 80 if subtitle else 60, "b": 10},
        font={"family": FONT},
        hoverlabel={"font": {"family": FONT}},
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


# New and returning customers get colours outside the first tier hues, so they never read as a tier.
NEW_COLOUR = "#37474F"


BACK_COLOUR = "#9467BD"


GONE_COLOUR = "#BDBDBD"


ALL_COLOUR = "#333333"


def state_text(state: str, lang: str) -> str:
    return safe(state_label(state, lang))


def state_colours(tier_names: Sequence[str]) -> dict[str, str]:
    """Colour of every migration state: tiers by name (:func:`tier_colors`), New / Returning / Left fixed."""
    return {**tier_colors(list(tier_names)), NEW: NEW_COLOUR, BACK: BACK_COLOUR, GONE: GONE_COLOUR}


def money_axis_parts(currency: str) -> tuple[str, str]:
    symbol = currency_symbol(currency)
    return symbol, symbol.strip() or "#"


def wrap(label: str, width: int) -> str:
    """A short axis label on up to a few lines (``<br>``), breaking at spaces or, for text
    without spaces (Chinese), every ``width`` characters; horizontal labels stay uncrowded."""
    words = label.split(" ") if " " in label else [label[i:i + width] for i in range(0, len(label), width)]
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width and " " in label:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def share_text(share: float, count: int, lang: str) -> str:
    # A flow of a few customers should not read "0%" next to an empty cell.
    if not count:
        return ""
    return "<1%" if share < 0.005 else fmt_pct(share, lang, 0)


def log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 steps between ``lo`` and ``hi`` for a log axis (Plotly labels only the decades)."""
    lo = max(lo, 1e-9)
    return [m * 10 ** e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(max(hi, lo))) + 1)
            for m in (1, 2, 5) if lo <= m * 10 ** e <= hi]


RATE_COLOURS = {"upgrade": "#009E73", "unchanged": "#9E9E9E", "downgrade": "#D55E00", "gone": "#BDBDBD"}
