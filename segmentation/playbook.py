"""The strategy playbook as data: which suggestion appears for which tier, and why.

Every row names a kind of tier, the conditions on the tier's numbers that trigger it (all must
hold; a missing number never triggers), a priority (1 = act now, 2 = plan, 3 = routine), the
action in Chinese and English, and the channel it suits. :func:`segmentation.strategy.suggest`
evaluates the rows; nothing else decides what is suggested, so a reader of this table can see
exactly why a suggestion appears.

Kinds of tier:

- ``high_value``: recent, frequent, big spenders. Keep them and reward them.
- ``growing``: recent but not yet frequent or big. Develop them.
- ``slipping``: used to buy often or much, not lately. Win them back.
- ``low_value``: neither recent nor valuable. Low-cost automated care and a graceful exit path
  for those who never grow.

Metrics used in conditions (columns of ``tier_summary``): ``customers``, ``customer_share``,
``revenue_share``, ``value_share``, ``customers_change`` (relative change since the previous
date), ``revenue_change``, ``upgrade_rate``, ``downgrade_rate``, ``gone_rate``,
``outflow_rate`` (downgraded or gone), ``inflow_rate`` (arrived from elsewhere, share of now),
``avg_frequency``, ``avg_recency``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = ["KINDS", "KIND_LABELS", "OPS", "PLAYBOOK", "Play", "playbook_table"]

KINDS: tuple[str, ...] = ("high_value", "growing", "slipping", "low_value")
KIND_LABELS: dict[str, dict[str, str]] = {
    "high_value": {"zh": "高价值", "en": "High value"},
    "growing": {"zh": "成长中", "en": "Growing"},
    "slipping": {"zh": "在流失", "en": "Slipping"},
    "low_value": {"zh": "低价值", "en": "Low value"},
    "any": {"zh": "任意", "en": "Any"},
}
OPS: tuple[str, ...] = (">=", ">", "<=", "<")


@dataclass(frozen=True)
class Play:
    """One playbook row. ``when`` holds ``(metric, op, value)`` clauses that must all hold."""

    id: str
    kind: str
    when: tuple[tuple[str, str, float], ...]
    priority: int
    action_zh: str
    action_en: str
    channel: str


PLAYBOOK: tuple[Play, ...] = (
    # --- high value: keep and reward --------------------------------------------------------
    Play("hv_guard", "high_value", (("revenue_share", ">=", 0.3),), 1,
         "这一层撑起了三成以上的销售额：安排专人一对一维护，提供专属客服通道和优先发货，任何投诉当天处理。",
         "This tier brings in 30%+ of revenue: give it named account care, a dedicated service line and "
         "priority delivery; resolve any complaint the same day.",
         "phone"),
    Play("hv_leak", "high_value", (("outflow_rate", ">=", 0.15),), 1,
         "上期的高价值客户有明显比例降级或离开：逐个回访原因（价格、体验、竞品），用定制礼遇把人留住。",
         "A noticeable share of last period's top customers moved down or left: call them to learn why "
         "(price, experience, a competitor) and keep them with tailored benefits.",
         "phone"),
    Play("hv_reward", "high_value", (), 2,
         "用会员积分、新品抢先购、生日礼和线下活动奖励忠诚；邀请他们推荐朋友，把口碑变成新客。",
         "Reward loyalty with points, early access to new products, birthday gifts and events; invite "
         "referrals so their word of mouth brings new customers.",
         "app"),
    # --- growing: develop -------------------------------------------------------------------
    Play("gr_surge", "growing", (("customers_change", ">=", 0.1),), 1,
         "这一层在快速变大：趁热打铁，安排首单后的培育旅程（使用指南、第二单优惠），把新人留下来。",
         "This tier is growing fast: run a follow-up journey after the first order (how-to content, a "
         "second-order offer) while interest is fresh.",
         "app"),
    Play("gr_develop", "growing", (), 2,
         "推动第二、第三次购买：搭配推荐、满减券和积分加速，目标是把他们升到更高的层级。",
         "Drive the second and third purchase: bundles and cross-sell, spend-more coupons and bonus "
         "points, aiming to move them up a tier.",
         "sms"),
    Play("gr_stuck", "growing", (("upgrade_rate", "<", 0.05), ("customers", ">=", 50)), 2,
         "很少有人从这一层升上去：用小规模 A/B 测试比较不同优惠和内容，找出能促成升级的做法。",
         "Few customers move up from this tier: A/B test offers and content on small groups to find "
         "what actually triggers an upgrade.",
         "email"),
    # --- slipping: win back -----------------------------------------------------------------
    Play("sl_big", "slipping", (("value_share", ">=", 0.1),), 1,
         "曾经贡献大量消费的客户正在沉默：优先挽回，发限时专属券并由客服主动联系，了解流失原因。",
         "Customers who used to spend a lot are going quiet: win them back first with a time-limited "
         "personal offer and a call from service to learn why they left.",
         "phone"),
    Play("sl_rising", "slipping", (("customers_change", ">=", 0.1),), 1,
         "流失中的客户在增多：检查最近的产品、价格、配送或服务有没有变化，问卷收集原因。",
         "More customers are slipping than before: check recent changes in product, price, delivery "
         "or service, and survey them for reasons.",
         "email"),
    Play("sl_winback", "slipping", (), 2,
         "发召回提醒和限时优惠，推荐他们以前买过的品类；两次召回无回应后降低触达频次。",
         "Send reminders and a time-limited offer built on what they bought before; after two "
         "unanswered attempts, reduce contact frequency.",
         "sms"),
    # --- low value: low-cost automated care, exit path --------------------------------------
    Play("lv_automate", "low_value", (), 3,
         "用自动化、低成本的方式维护：邮件简报、自助服务和常见问题页面，不占用人工资源。",
         "Serve them with low-cost automation: newsletters, self-service and FAQ pages; keep staff "
         "time for tiers that pay it back.",
         "email"),
    Play("lv_exit", "low_value", (("avg_frequency", "<=", 1.5),), 3,
         "多数人只买过一次且久未回来：设定退出路径，逐步降低触达频次并转到最便宜的渠道，定期复评是否还有潜力。",
         "Most bought once and never returned: set an exit path, lowering contact frequency and moving "
         "them to the cheapest channel, and re-check their potential from time to time.",
         "email"),
    Play("lv_large", "low_value", (("customer_share", ">=", 0.4),), 2,
         "低价值客户占了四成以上：检查获客渠道质量，把预算从带来一次性客户的渠道挪开。",
         "Low-value customers are 40%+ of the base: review acquisition channels and move budget away "
         "from those that bring one-off buyers.",
         "email"),
    # --- any tier -----------------------------------------------------------------------------
    Play("any_shrink", "any", (("customers_change", "<=", -0.2),), 2,
         "这一层人数比上期少了两成以上：看迁移明细，弄清客户流向了哪里。",
         "This tier lost 20%+ of its customers since the previous date: open the migration details "
         "to see where they went.",
         "report"),
    Play("any_concentration", "any", (("revenue_share", ">=", 0.5),), 2,
         "一半以上的销售额集中在这一层：收入依赖少数客户，要同时培养下一层接班。",
         "Half of revenue or more comes from this tier: income depends on few customers, so grow the "
         "next tier up as well.",
         "report"),
)


def clause_text(clause: tuple[str, str, float]) -> str:
    metric, op, value = clause
    shown = f"{value:.0%}" if metric.endswith(("_rate", "_share", "_change")) else f"{value:g}"
    return f"{metric} {op} {shown}"


def playbook_table(playbook: tuple[Play, ...] = PLAYBOOK) -> pl.DataFrame:
    """The playbook as a frame for display: ``id``, ``kind``, ``condition`` (readable text,
    "always" when empty), ``priority``, ``action_zh``, ``action_en``, ``channel``.

    Example:
        >>> playbook_table().filter(pl.col("id") == "hv_guard")["condition"].item()
        'revenue_share >= 30%'
    """
    return pl.DataFrame(
        [
            (p.id, p.kind, " and ".join(clause_text(c) for c in p.when) or "always", p.priority,
             p.action_zh, p.action_en, p.channel)
            for p in playbook
        ],
        schema=["id", "kind", "condition", "priority", "action_zh", "action_en", "channel"],
        orient="row",
    )
