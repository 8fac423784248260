"""Ready-made tiering schemes: rule text plus scoring settings, all visible and editable.

A preset holds nothing the user cannot see: the rule text (one version with Chinese tier names,
one with English names, same conditions) and the scoring settings it was written for. Picking a
preset fills the sidebar; from then on it is the user's text.

Rule order is precedence (the first matching rule wins), not value. Each preset also declares its
tiers' *value order*, best first, with a one-line reason: upgrades, downgrades and chart order
follow it (``TieringSpec(value_order=preset.value_order(lang))``).

Rules on scores only make sense on the scale they were written for: a preset whose rules name
score levels locks its levels (and, for the eight classes, the method), says why, and
:meth:`Preset.check_scoring` refuses other settings with that sentence.

Example:
    >>> from segmentation.presets import PRESETS, get_preset
    >>> list(PRESETS)
    ['cn8', 'segments11', 'groups6', 'membership', 'value3']
    >>> p = get_preset("groups6")
    >>> (p.bins, p.method, p.rules_text("en").splitlines()[-1])
    (3, 'quantile', 'Inactive: r_score == 1 and f_score == 1 and m_score <= 2')
    >>> get_preset("cn8").value_order("en")[:3]
    ('Key value', 'Key development', 'General value')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import SettingsError

__all__ = ["PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """One tiering scheme.

    Attributes:
        id: stable identifier used in links (``?preset=cn8``).
        name_zh, name_en: display names.
        description_zh, description_en: what the scheme does and when to use it.
        rules_zh, rules_en: rule text with Chinese / English tier names (same conditions).
        bins: score levels the rules expect (r_score etc. run 1..bins).
        method: scoring method: "quantile", "thresholds", "mean" or "median".
        thresholds: cut points for method "thresholds" (``{"recency_days": [...], ...}``), else None.
        value_order_zh, value_order_en: tier names best first (the same tiers as the rules).
        value_reason_zh, value_reason_en: one line saying why that order.
        locked_bins: the score levels the rules are written for (None: any).
        allowed_methods: the scoring methods the rules work with (empty: any).
        lock_reason_zh, lock_reason_en: why the scoring is locked (empty when it is not).
    """

    id: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    rules_zh: str
    rules_en: str
    bins: int
    method: str
    thresholds: Mapping[str, tuple[float, ...]] | None = field(default=None, hash=False)
    value_order_zh: tuple[str, ...] = ()
    value_order_en: tuple[str, ...] = ()
    value_reason_zh: str = ""
    value_reason_en: str = ""
    locked_bins: int | None = None
    allowed_methods: tuple[str, ...] = ()
    lock_reason_zh: str = ""
    lock_reason_en: str = ""

    def value_order(self, lang: str) -> tuple[str, ...]:
        """Tier names best first in ``lang`` ("zh" or "en")."""
        return self.value_order_zh if lang == "zh" else self.value_order_en

    def value_reason(self, lang: str) -> str:
        """Why the tiers are in that value order, one line in ``lang``."""
        return self.value_reason_zh if lang == "zh" else self.value_reason_en

    @property
    def scoring_locked(self) -> bool:
        """Whether the rules only work with some scoring settings."""
        return self.locked_bins is not None or bool(self.allowed_methods)

    def lock_reason(self, lang: str) -> str:
        """Why the scoring is locked, in ``lang`` (empty when it is not)."""
        return self.lock_reason_zh if lang == "zh" else self.lock_reason_en

    def check_scoring(self, *, bins: int, method: str, lang: str = "en") -> None:
        """Refuse scoring settings the rules were not written for.

        Raises:
            SettingsError: ``bins`` or ``method`` differ from what the preset locks; the message
                gives the reason and what to do.

        Example:
            >>> get_preset("cn8").check_scoring(bins=2, method="median")
            >>> get_preset("cn8").check_scoring(bins=5, method="quantile")
            Traceback (most recent call last):
            ...
            segmentation.errors.SettingsError: The preset 'RFM 8 classes' needs 2 levels with the mean or median method: ...
        """
        methods_ok = not self.allowed_methods or method in self.allowed_methods
        bins_ok = self.locked_bins is None or bins == self.locked_bins or method in ("mean", "median")
        if methods_ok and bins_ok:
            return
        how = []
        if self.locked_bins is not None:
            how.append(f"{self.locked_bins} levels")
        if self.allowed_methods:
            how.append("the " + " or ".join(self.allowed_methods) + " method")
        if lang == "zh":
            raise SettingsError(
                f"预设“{self.name_zh}”需要 {self.locked_bins} 档评分"
                + (f"（{' 或 '.join(self.allowed_methods)}）" if self.allowed_methods else "")
                + f"：{self.lock_reason_zh} 请改回这些评分设置，或改写规则。"
            )
        raise SettingsError(
            f"The preset '{self.name_en}' needs {' with '.join(how)}: {self.lock_reason_en} "
            "Switch the scoring back, or rewrite the rules for the new levels."
        )

    def name(self, lang: str) -> str:
        """Display name in ``lang`` ("zh" or "en"; anything else falls back to English)."""
        return self.name_zh if lang == "zh" else self.name_en

    def description(self, lang: str) -> str:
        """Description in ``lang`` ("zh" or "en")."""
        return self.description_zh if lang == "zh" else self.description_en

    def rules_text(self, lang: str) -> str:
        """Rule text with tier names in ``lang`` ("zh" or "en")."""
        return self.rules_zh if lang == "zh" else self.rules_en


# --- 1. The eight classes used across Chinese retail and e-commerce writing ------------------

_CN8_ZH = """\
# 八类客户（两档评分：2 = 优于平均，1 = 不及平均；R 为 2 表示最近买过）
重要价值客户: r_score == 2 and f_score == 2 and m_score == 2
重要发展客户: r_score == 2 and f_score == 1 and m_score == 2
重要保持客户: r_score == 1 and f_score == 2 and m_score == 2
重要挽留客户: r_score == 1 and f_score == 1 and m_score == 2
一般价值客户: r_score == 2 and f_score == 2 and m_score == 1
一般发展客户: r_score == 2 and f_score == 1 and m_score == 1
一般保持客户: r_score == 1 and f_score == 2 and m_score == 1
一般挽留客户: r_score == 1 and f_score == 1 and m_score == 1
"""

_CN8_EN = """\
# Eight classes (two score levels: 2 = better than average, 1 = not; r_score 2 = bought recently)
Key value: r_score == 2 and f_score == 2 and m_score == 2
Key development: r_score == 2 and f_score == 1 and m_score == 2
Key retention: r_score == 1 and f_score == 2 and m_score == 2
Key win-back: r_score == 1 and f_score == 1 and m_score == 2
General value: r_score == 2 and f_score == 2 and m_score == 1
General development: r_score == 2 and f_score == 1 and m_score == 1
General retention: r_score == 1 and f_score == 2 and m_score == 1
General win-back: r_score == 1 and f_score == 1 and m_score == 1
"""

# --- 2. Eleven segments on 1-5 scores, ordered so every segment is reachable ------------------
# The widely copied table lists New Customers and Promising after Potential Loyalist, Can't Lose
# Them after At Risk and Lost after Hibernating, and each of those is swallowed by the rule above
# it. Here every rule only takes score combinations no earlier rule wants.

_SEG11_EN = """\
# Eleven segments on 1-5 scores (5 = best; a high r_score means a recent purchase).
# The first rule a customer meets decides the segment.
Champions: r_score >= 4 and f_score >= 4 and m_score >= 4
Loyal: r_score >= 3 and f_score >= 3 and m_score >= 3
Potential Loyalist: r_score >= 4 and f_score >= 2
New Customers: r_score == 5 and f_score == 1
Promising: r_score == 4 and f_score == 1
Need Attention: r_score == 3 and f_score >= 2
About to Sleep: r_score == 3
At Risk: r_score <= 2 and f_score >= 3 and not (f_score >= 4 and m_score >= 4)
Can't Lose Them: r_score <= 2 and f_score >= 4 and m_score >= 4
Hibernating: r_score == 2
Lost: else
"""

_SEG11_ZH = """\
# 十一类客户，1–5 分评分（5 分最好；r_score 高表示最近买过）
# 客户归入第一条满足的规则
冠军客户: r_score >= 4 and f_score >= 4 and m_score >= 4
忠诚客户: r_score >= 3 and f_score >= 3 and m_score >= 3
潜在忠诚客户: r_score >= 4 and f_score >= 2
新客户: r_score == 5 and f_score == 1
潜力新客: r_score == 4 and f_score == 1
需要关注客户: r_score == 3 and f_score >= 2
即将休眠客户: r_score == 3
流失风险客户: r_score <= 2 and f_score >= 3 and not (f_score >= 4 and m_score >= 4)
重点挽回客户: r_score <= 2 and f_score >= 4 and m_score >= 4
休眠客户: r_score == 2
已流失客户: else
"""

# --- 3. Six groups on 1-3 scores: each of the 27 combinations meets exactly one rule ----------

_GROUPS6_EN = """\
# Six groups on 1-3 scores; every score combination meets exactly one rule.
Champions: r_score == 3 and f_score == 3
Loyal: r_score >= 2 and f_score >= 2 and not (r_score == 3 and f_score == 3)
Recent: r_score == 3 and f_score == 1
Needs Attention: r_score == 2 and f_score == 1
At Risk: r_score == 1 and (f_score >= 2 or m_score == 3)
Inactive: r_score == 1 and f_score == 1 and m_score <= 2
"""

_GROUPS6_ZH = """\
# 六个客户群，1–3 分评分；每种评分组合恰好满足一条规则
冠军客户: r_score == 3 and f_score == 3
忠诚客户: r_score >= 2 and f_score >= 2 and not (r_score == 3 and f_score == 3)
近期客户: r_score == 3 and f_score == 1
需要关注: r_score == 2 and f_score == 1
流失风险: r_score == 1 and (f_score >= 2 or m_score == 3)
不活跃: r_score == 1 and f_score == 1 and m_score <= 2
"""

# --- 4. Membership levels by spend ------------------------------------------------------------

_MEMBERSHIP_ZH = """\
# 按消费金额 M（元，含退货抵扣）定会员等级；门槛请按店铺实际修改
VIP: M >= 20000
金卡: M >= 5000
银卡: M >= 2000
铜卡: M >= 500
普通: else
"""

_MEMBERSHIP_EN = """\
# Membership level by spend M (net of returns, in your currency); edit the thresholds to fit
VIP: M >= 20000
Gold: M >= 5000
Silver: M >= 2000
Bronze: M >= 500
Regular: else
"""

# --- 5. Three value bands on the sum of the scores ---------------------------------------------

_VALUE3_ZH = """\
# 三档价值：三项评分之和（3–15 分）
高价值客户: r_score + f_score + m_score >= 12
中价值客户: r_score + f_score + m_score >= 8
低价值客户: else
"""

_VALUE3_EN = """\
# Three value bands on the sum of the three scores (3 to 15)
High value: r_score + f_score + m_score >= 12
Medium value: r_score + f_score + m_score >= 8
Low value: else
"""

_ALL = (
    Preset(
        id="cn8",
        name_zh="RFM 八类客户",
        name_en="RFM 8 classes",
        description_zh=(
            "把 R、F、M 各分成高低两档：高于平均记 2 分，否则 1 分（R 越近越高），"
            "2×2×2 组合成八类。M 高的四类冠以“重要”，决定资源优先投向谁；"
            "R、F 的高低区分价值、发展、保持、挽留四种运营动作。"
            "数据偏斜（少数大客户拉高平均）时，可把评分方法改为“中位数”。"
        ),
        description_en=(
            "Splits R, F and M each into two levels: 2 when better than the average, else 1 "
            "(recent purchases score high), giving 2×2×2 = 8 classes. The four with high M are "
            "the key classes; R and F tell value, development, retention and win-back apart. "
            "When a few large customers pull the average up, switch the scoring method to median."
        ),
        rules_zh=_CN8_ZH,
        rules_en=_CN8_EN,
        bins=2,
        method="mean",
        value_order_zh=("重要价值客户", "重要发展客户", "一般价值客户", "重要保持客户",
                        "一般发展客户", "重要挽留客户", "一般保持客户", "一般挽留客户"),
        value_order_en=("Key value", "Key development", "General value", "Key retention",
                        "General development", "Key win-back", "General retention", "General win-back"),
        value_reason_zh="先看 R、F、M 中有几项高于平均，项数相同时最近买过的在前，再看金额、频次。",
        value_reason_en="More of R, F, M above average ranks higher; on a tie recent buyers come first, then spend, then frequency.",
        locked_bins=2,
        allowed_methods=("mean", "median"),
        lock_reason_zh="八类规则只认 1 分（不及平均）和 2 分（优于平均）；换成多档分位数后大部分客户不符合任何一类。",
        lock_reason_en=(
            "the eight classes are written for score 1 (not above average) and 2 (above average); "
            "with more levels most customers meet none of the rules."
        ),
    ),
    Preset(
        id="segments11",
        name_zh="十一类客户细分",
        name_en="Eleven segments",
        description_zh=(
            "经典的十一类客户细分（冠军、忠诚、潜在忠诚、新客……已流失），基于 1–5 分的 R、F、M。"
            "规则顺序经过调整，每一类都能分到客户，125 种评分组合全部有归属。"
        ),
        description_en=(
            "The classic eleven segments (Champions, Loyal, Potential Loyalist, New ... Lost) on "
            "1-5 R, F and M scores. The rules are ordered so every segment can receive customers "
            "and all 125 score combinations land somewhere."
        ),
        rules_zh=_SEG11_ZH,
        rules_en=_SEG11_EN,
        bins=5,
        method="quantile",
        value_order_zh=("冠军客户", "忠诚客户", "潜在忠诚客户", "重点挽回客户", "流失风险客户", "需要关注客户",
                        "潜力新客", "新客户", "即将休眠客户", "休眠客户", "已流失客户"),
        value_order_en=("Champions", "Loyal", "Potential Loyalist", "Can't Lose Them", "At Risk", "Need Attention",
                        "Promising", "New Customers", "About to Sleep", "Hibernating", "Lost"),
        value_reason_zh="按对生意的价值排序：先看已证明的频次和金额，再看最近是否购买；流失的大客户排在普通流失风险客户之前。",
        value_reason_en=(
            "Ranked by value to the business: proven frequency and spend first, then recency; "
            "lapsed big spenders (Can't Lose Them) rank above At Risk."
        ),
        locked_bins=5,
        allowed_methods=("quantile", "thresholds"),
        lock_reason_zh="规则按 1–5 分写成（例如 r_score == 5）；其他档数下有些类别永远分不到客户。",
        lock_reason_en="the rules are written for scores 1-5 (e.g. r_score == 5); with other levels some segments can never get customers.",
    ),
    Preset(
        id="groups6",
        name_zh="六个客户群",
        name_en="Six groups",
        description_zh=(
            "1–3 分的简化版：冠军、忠诚、近期、需要关注、流失风险、不活跃。"
            "27 种评分组合各自只属于一个群，适合客户不多或刚开始做分层时使用。"
        ),
        description_en=(
            "A compact scheme on 1-3 scores: Champions, Loyal, Recent, Needs Attention, At Risk, "
            "Inactive. Each of the 27 score combinations belongs to exactly one group; a good "
            "start for smaller customer bases."
        ),
        rules_zh=_GROUPS6_ZH,
        rules_en=_GROUPS6_EN,
        bins=3,
        method="quantile",
        value_order_zh=("冠军客户", "忠诚客户", "近期客户", "需要关注", "流失风险", "不活跃"),
        value_order_en=("Champions", "Loyal", "Recent", "Needs Attention", "At Risk", "Inactive"),
        value_reason_zh="与规则顺序相同：最近购买最能预示下一次购买，所以近期客户排在流失风险客户之前。",
        value_reason_en="Same as rule order: recency predicts the next purchase best, so Recent ranks above At Risk.",
        locked_bins=3,
        allowed_methods=("quantile", "thresholds"),
        lock_reason_zh="规则按 1–3 分写成；其他档数下评分组合与客户群对不上。",
        lock_reason_en="the rules are written for scores 1-3; with other levels the score combinations no longer match the groups.",
    ),
    Preset(
        id="membership",
        name_zh="会员等级",
        name_en="Membership levels",
        description_zh=(
            "只看累计消费金额：VIP、金卡、银卡、铜卡、普通。默认门槛按零售门店的人民币金额设定"
            "（2 万 / 5 千 / 2 千 / 500 元），请改成适合自己生意的数字。"
        ),
        description_en=(
            "Levels by total spend only: VIP, Gold, Silver, Bronze, Regular. The default "
            "thresholds (20,000 / 5,000 / 2,000 / 500) suit a retail shop pricing in CNY; change "
            "them to fit your business and currency."
        ),
        rules_zh=_MEMBERSHIP_ZH,
        rules_en=_MEMBERSHIP_EN,
        bins=5,
        method="quantile",
        value_order_zh=("VIP", "金卡", "银卡", "铜卡", "普通"),
        value_order_en=("VIP", "Gold", "Silver", "Bronze", "Regular"),
        value_reason_zh="等级越高，累计消费越多。",
        value_reason_en="A higher level means more total spend.",
    ),
    Preset(
        id="value3",
        name_zh="高中低价值",
        name_en="High / medium / low value",
        description_zh=(
            "把 R、F、M 的 1–5 分相加（3–15 分），12 分及以上为高价值，8–11 分为中价值，"
            "其余为低价值。最简单的三档分层，便于向管理层汇报。"
        ),
        description_en=(
            "Adds the 1-5 R, F and M scores (3 to 15): 12 or more is high value, 8 to 11 medium, "
            "the rest low. The simplest three-band view, easy to report upwards."
        ),
        rules_zh=_VALUE3_ZH,
        rules_en=_VALUE3_EN,
        bins=5,
        method="quantile",
        value_order_zh=("高价值客户", "中价值客户", "低价值客户"),
        value_order_en=("High value", "Medium value", "Low value"),
        value_reason_zh="三项评分之和越高，价值越高。",
        value_reason_en="A higher sum of the three scores means more value.",
        locked_bins=5,
        allowed_methods=("quantile", "thresholds"),
        lock_reason_zh="分档线 12 和 8 是按三项 1–5 分之和（3–15 分）定的。",
        lock_reason_en="the bands 12 and 8 are set on the sum of three 1-5 scores (3 to 15).",
    ),
)

PRESETS: dict[str, Preset] = {p.id: p for p in _ALL}


def get_preset(preset_id: str) -> Preset:
    """The preset with this id.

    Raises:
        SettingsError: no such preset (the message lists the known ids).

    Example:
        >>> get_preset("value3").name_en
        'High / medium / low value'
    """
    try:
        return PRESETS[preset_id]
    except KeyError:
        known = ", ".join(PRESETS)
        raise SettingsError(f"Unknown preset '{preset_id}'; choose one of: {known}.") from None
