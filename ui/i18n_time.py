"""UI text of the time pages (migration, trends, strategy, lifetime value) in both languages.

``TEXT_TIME`` has the same shape as :data:`ui.i18n.TEXT`; :func:`t` looks a key up here first
and falls back to the shared table, so these pages use one lookup for every text. A missing
key raises KeyError, as in :mod:`ui.i18n` (a test checks both languages are present and that
no key shadows a shared one). This module imports nothing from ``ui.i18n`` at import time, so
``ui.i18n`` can merge the table with ``TEXT.update(TEXT_TIME)`` without an import cycle.
"""

from __future__ import annotations

TEXT_TIME: dict[str, dict[str, str]] = {
    # ---- shared by the time pages
    "tm_period": {"zh": "周期", "en": "Period"},
    "tm_period_W": {"zh": "周", "en": "Week"},
    "tm_period_M": {"zh": "月", "en": "Month"},
    "tm_period_Q": {"zh": "季度", "en": "Quarter"},
    "tm_cut_mode": {"zh": "评分分界点", "en": "Score cut points"},
    "tm_cut_fixed": {"zh": "固定", "en": "Fixed"},
    "tm_cut_recomputed": {"zh": "每期重算", "en": "Recomputed"},
    "tm_cut_fixed_note": {
        "zh": "固定：所有日期都用同一套分界点，只有客户自己的购买行为变化才会让他换层。",
        "en": "Fixed: every date uses the same cut points, so only a customer's own buying moves them to another tier.",
    },
    "tm_cut_recomputed_note": {
        "zh": "每期重算：每个日期按当时的客户群重新划分界点，看的是相对排名；即使某位客户什么都没变，也可能因为别人变了而换层。",
        "en": "Recomputed: each date gets cut points from that date's customers (relative standing), so a customer "
        "can change tier even when nothing about them changed, because others did.",
    },
    "tm_csv": {"zh": "下载 CSV", "en": "Download CSV"},
    "tm_xlsx": {"zh": "下载 Excel", "en": "Download Excel"},
    "tm_export_note": {
        "zh": "以 = + - @ 开头的文本前加了单引号，防止在表格软件中被当作公式执行。",
        "en": "Text starting with = + - @ gets a leading apostrophe so spreadsheet software never runs it as a formula.",
    },
    "tm_all_tiers": {"zh": "全部层级", "en": "All tiers"},
    "tm_all_customers": {"zh": "全部客户", "en": "All customers"},
    # ---- migration page
    "mg_title": {"zh": "客户迁移", "en": "Tier migration"},
    "mg_caption": {
        "zh": "比较两个或多个日期：客户从哪个层级来、到哪个层级去，升级和降级各有多少。",
        "en": "Compare two or more dates: where customers came from, where they went, and how many moved up or down.",
    },
    "mg_dates": {"zh": "比较的日期", "en": "Dates to compare"},
    "mg_dates_help": {
        "zh": "可选各周期的最后一天和分析日期；最多 6 个。",
        "en": "Period ends and the as-of date; up to 6.",
    },
    "mg_need_two": {
        "zh": "请至少选择两个日期，才能看到客户在层级之间的流动。",
        "en": "Pick at least two dates to see how customers moved between tiers.",
    },
    "mg_no_options": {
        "zh": "这段数据太短，凑不出两个比较日期。请在侧边栏把分析日期往后调，或换一个时间更长的数据集。",
        "en": "The data covers too short a time for two dates. Move the as-of date later in the sidebar or use a "
        "data set with a longer history.",
    },
    "mg_pair": {"zh": "矩阵和比率对应的两个日期", "en": "Dates for the matrix and rates"},
    "mg_pair_fmt": {"zh": "{a} → {b}", "en": "{a} → {b}"},
    "mg_sankey": {"zh": "层级流动", "en": "Flows between tiers"},
    "mg_sankey_caption": {
        "zh": "每一列是一个日期，色块高度是人数；连线颜色：绿=升级，橙=降级，灰=不变，深灰=新客，紫=回流，浅灰=离开窗口。",
        "en": "Each column is a date and block height is head count; link colours: green = upgrade, orange = "
        "downgrade, grey = unchanged, dark slate = new, purple = returning, light grey = left the window.",
    },
    "mg_upgrade": {"zh": "升级率", "en": "Upgraded"},
    "mg_downgrade": {"zh": "降级率", "en": "Downgraded"},
    "mg_unchanged": {"zh": "保持不变", "en": "Unchanged"},
    "mg_gone": {"zh": "离开窗口", "en": "Left the window"},
    "mg_new": {"zh": "新进入客户", "en": "Newcomers"},
    "mg_rate_help": {
        "zh": "{a} 时在某个层级的 {n} 位客户中，到 {b} 时的占比。升级指去了规则中更靠前（更好）的层级。",
        "en": "Share of the {n} customers in a tier on {a}, as of {b}. Upgrade means a tier earlier (better) in the rules.",
    },
    "mg_new_help": {
        "zh": "{a} 之后首次购买、或重新回到回看窗口的客户。",
        "en": "Customers who first bought, or came back into the lookback window, after {a}.",
    },
    "mg_matrix": {"zh": "迁移矩阵", "en": "Transition matrix"},
    "mg_matrix_caption": {
        "zh": "每行是较早日期的层级，格子里是去往各列层级的人数占比（每行合计 100%）。",
        "en": "Each row is a tier on the earlier date; a cell is the share of that row moving to the column's tier "
        "(rows add up to 100%).",
    },
    "mg_rates": {"zh": "各层级的升级与降级", "en": "Upgrades and downgrades per tier"},
    "mg_effect": {
        "zh": "按每期重算，有 {n} 位客户换了层，但其中 {k} 位（{share}）只是因为别人的变化，自己的购买没有变化到足以换层。",
        "en": "With recomputed cut points {n} customers changed tier; {k} of them ({share}) moved only because "
        "others changed, not because of their own buying.",
    },
    "mg_movers": {"zh": "迁移客户名单", "en": "Who moved"},
    "mg_movers_caption": {
        "zh": "选择来源和去向，查看并下载这批客户（例如从重要价值客户降到一般客户的人）。",
        "en": "Pick where customers came from and went to, then see and download them (e.g. top customers who slipped).",
    },
    "mg_from": {"zh": "来自", "en": "From"},
    "mg_to": {"zh": "去往", "en": "To"},
    "mg_movers_count": {
        "zh": "{n} 位客户，期间净消费合计 {revenue}。",
        "en": "{n} customers who spent {revenue} net in between.",
    },
    "mg_movers_empty": {
        "zh": "没有客户走这条路径。换一个来源或去向试试。",
        "en": "No customer took this path. Try another from or to.",
    },
    "mg_movers_shown": {"zh": "显示前 {n} 位（下载文件包含全部）。", "en": "Showing the first {n} (downloads hold all)."},
    "mg_col_customer": {"zh": "客户", "en": "Customer"},
    "mg_col_days": {"zh": "距上次购买天数", "en": "Days since last order"},
    "mg_col_days_help": {
        "zh": "截至较晚日期，距这位客户最近一次购买的天数。",
        "en": "Days from the customer's latest purchase to the later date.",
    },
    "mg_col_orders_then": {"zh": "购买次数（前）", "en": "Orders then"},
    "mg_col_orders_now": {"zh": "购买次数（后）", "en": "Orders now"},
    "mg_col_orders_help": {
        "zh": "回看窗口内的购买次数，分别截至较早和较晚的日期；两列之差就是期间新增的订单。",
        "en": "Purchases in the lookback window as of the earlier and the later date; the difference is the "
        "orders placed in between.",
    },
    "mg_col_between": {"zh": "期间净消费（{symbol}）", "en": "Spent in between ({symbol})"},
    "mg_col_between_help": {
        "zh": "两个日期之间的净消费（退货已扣除）。",
        "en": "Net spend between the two dates, returns taken off.",
    },
    "mg_col_spend": {"zh": "累计消费（{symbol}）", "en": "Total spend ({symbol})"},
    "mg_col_spend_help": {
        "zh": "截至较晚日期，回看窗口内的净消费（M）。",
        "en": "Net spend in the lookback window as of the later date (M).",
    },
    "mg_movers_more": {
        "zh": "下载的文件还包含两个日期的 R/F/M 数值和评分、最近购买日期。",
        "en": "The download also holds R, F and M values and scores on both dates and the last purchase date.",
    },
    "mg_movers_more_clv": {
        "zh": "下载的文件还包含两个日期的 R/F/M 数值和评分、活跃概率与预测价值，以及最近购买日期。",
        "en": "The download also holds R, F and M values and scores, the chance still active and the predicted value on both dates, and the last purchase date.",
    },
    "clv_rules_over_time": {
        "zh": "规则用到了活跃概率（P_ALIVE）或预测价值（CLV）：每个日期只用客户截至当天的购买记录来算；模型参数按分析日期之前的历史拟合一次、各日期共用，所以客户换层只因为自己的购买（或长期没有购买）。",
        "en": "These rules use the chance still active (P_ALIVE) or predicted value (CLV): at each date they are worked out from the customer's purchases up to that date only, with one model fitted on the history before the as-of date and shared by every date, so a customer changes tier only through their own buying (or a long silence).",
    },
    "mg_then": {"zh": "（较早）", "en": " (then)"},
    "mg_now": {"zh": "（较晚）", "en": " (now)"},
    "mg_last_purchase_now": {"zh": "最近购买", "en": "Last purchase"},
    "mg_revenue_between": {"zh": "期间净消费", "en": "Net spend in between"},
    "from_state": {"zh": "来自", "en": "From"},
    "to_state": {"zh": "去往", "en": "To"},
    # ---- migration charts
    "ch_sankey_title": {"zh": "客户在层级之间的流动", "en": "How customers moved between tiers"},
    "ch_sankey_hover": {
        "zh": "{a} → {b}<br>{n} 位客户（占来源 {share}）<br>期间净消费 {revenue}",
        "en": "{a} → {b}<br>{n} customers ({share} of the source)<br>Net spend in between {revenue}",
    },
    "ch_matrix_title": {"zh": "迁移矩阵：{a} → {b}", "en": "Transition matrix: {a} → {b}"},
    "ch_matrix_x": {"zh": "较晚日期的层级", "en": "Tier on the later date"},
    "ch_matrix_y": {"zh": "较早日期的层级", "en": "Tier on the earlier date"},
    "ch_matrix_colour": {"zh": "占该行比例", "en": "Share of row"},
    "ch_rates_title": {"zh": "各层级客户的去向：{a} → {b}", "en": "Where each tier's customers went: {a} → {b}"},
    "ch_rates_x": {"zh": "占该层级客户的比例", "en": "Share of the tier's customers"},
    # ---- trends page
    "tr_title": {"zh": "指标趋势", "en": "KPI trends"},
    "tr_caption": {
        "zh": "每个层级的关键指标按周、月或季度变化的情况，以及新客的留存。",
        "en": "Key numbers per tier week by week, month by month or quarter by quarter, and how new customers stay.",
    },
    "tr_kpi": {"zh": "指标", "en": "KPI"},
    "tr_tiers": {"zh": "显示哪些层级（不选 = 全部）", "en": "Tiers to show (none selected = all)"},
    "tr_total": {"zh": "同时显示全部客户合计", "en": "Also show all customers together"},
    "tr_definition": {"zh": "指标定义：{text}", "en": "Definition: {text}"},
    "tr_definitions": {"zh": "全部指标的定义", "en": "Definitions of every KPI"},
    "tr_partial": {
        "zh": "最后一个周期（{start} 起）截至 {end}，尚不完整，数值可能偏低。",
        "en": "The last period (from {start}) runs only to {end}, so its numbers may look low.",
    },
    "tr_empty": {
        "zh": "这个时间范围内没有可计算的周期。请把分析日期往后调，或换成更短的周期。",
        "en": "There is no complete period to show. Move the as-of date later or pick a shorter period.",
    },
    "tr_cohort": {"zh": "新客留存（按首购月份）", "en": "Retention by first-purchase month"},
    "tr_cohort_caption": {
        "zh": "每行是一批在同一个月首次购买的客户，每列是首购后的第几个月；格子是该月再次购买的客户占这批客户的比例。",
        "en": "Each row is the customers who first bought in one month; each column is months since that first "
        "purchase; a cell is the share of the group buying in that month.",
    },
    "tr_cohort_months": {"zh": "显示首购后的月数", "en": "Months after the first purchase"},
    "tr_cohort_empty": {"zh": "没有可计算留存的购买记录。", "en": "There are no purchases to compute retention from."},
    "tr_name": {"zh": "指标", "en": "KPI"},
    "tr_def": {"zh": "定义", "en": "Definition"},
    "ch_kpi_title": {"zh": "各层级{kpi}（按{period}）", "en": "{kpi} per tier, by {period}"},
    "ch_kpi_x": {"zh": "周期", "en": "Period"},
    "ch_cohort_title": {"zh": "按首购月份的留存率", "en": "Retention by first-purchase month"},
    "ch_cohort_colour": {"zh": "留存率", "en": "Retention"},
    "ch_cohort_x": {"zh": "首购后第几个月", "en": "Months since first purchase"},
    "ch_cohort_y": {"zh": "首购月份", "en": "First-purchase month"},
    "ch_cohort_hover": {
        "zh": "首购 %{y}，第 %{x} 个月<br>留存 %{z:.1%}<br>%{customdata[0]:,} / %{customdata[1]:,} 位客户",
        "en": "First bought %{y}, month %{x}<br>Retention %{z:.1%}<br>%{customdata[0]:,} of %{customdata[1]:,} customers",
    },
    # ---- strategy page
    "st_title": {"zh": "分层策略", "en": "What to do per tier"},
    "st_caption": {
        "zh": "每个层级的建议动作和触发它的数字，预算如何分配，以及“如果”推演。",
        "en": "Suggested actions per tier with the numbers behind them, a budget split, and what-if scenarios.",
    },
    "st_compared": {
        "zh": "对比 {now} 与 {prev}（上一个{period}末）。",
        "en": "Comparing {now} with {prev} (end of the previous {period}).",
    },
    "st_cards": {"zh": "各层级建议", "en": "Suggestions per tier"},
    "st_pick": {"zh": "选择层级", "en": "Tier"},
    "st_pick_help": {
        "zh": "红色感叹号：有需要立即行动的建议；橙色日历：有应纳入计划的建议；没有图标：日常维护即可。",
        "en": "Red exclamation mark: something to act on now; orange calendar: something to plan; no icon: "
        "routine upkeep.",
    },
    "st_compare_all": {"zh": "并排比较所有层级", "en": "All tiers side by side"},
    "st_budget_order": {
        "zh": "下表按投入顺序排列：回报倍数最高的层级最先分到预算。",
        "en": "The table lists tiers in the order the budget reaches them: highest return per unit spent first.",
    },
    "st_wi_too_few": {
        "zh": "至少要有两个有客户的层级，才能推演客户在层级之间移动。",
        "en": "A what-if needs at least two tiers that have customers.",
    },
    "st_size": {"zh": "人数", "en": "Customers"},
    "st_size_sub": {"zh": "占 {share}", "en": "{share} of all"},
    "st_revenue_share": {"zh": "销售额占比", "en": "Revenue share"},
    "st_revenue_share_help": {
        "zh": "{prev} 之后到 {now} 这段时间内，该层级客户的净消费占全部客户的比例。",
        "en": "The tier's net spend from {prev} to {now}, as a share of all customers' spend.",
    },
    "st_change": {"zh": "人数变化", "en": "Change in size"},
    "st_change_help": {"zh": "与 {prev} 时该层级的人数相比。", "en": "Against the tier's size on {prev}."},
    "st_churn": {"zh": "流失率", "en": "Churn"},
    "st_in": {"zh": "迁入", "en": "Moved in"},
    "st_in_help": {
        "zh": "从其他层级、新客或回流客户进入该层级的人数占现在人数的比例。",
        "en": "Customers who arrived from another tier, as new or as returning, over the tier's size now.",
    },
    "st_out": {"zh": "迁出", "en": "Moved out"},
    "st_out_help": {
        "zh": "{prev} 时在该层级、之后降级或离开回看窗口的客户比例。",
        "en": "Of the tier's customers on {prev}, the share who moved down or left the lookback window.",
    },
    "st_priority": {"zh": "优先级", "en": "Priority"},
    "st_priority_1": {"zh": "立即行动", "en": "Act now"},
    "st_priority_2": {"zh": "纳入计划", "en": "Plan"},
    "st_priority_3": {"zh": "日常维护", "en": "Routine"},
    "st_kind": {"zh": "类型：{kind}", "en": "Kind: {kind}"},
    "st_why": {"zh": "依据：{why}", "en": "Because: {why}"},
    "st_always": {"zh": "该类层级的常规建议", "en": "standing advice for this kind of tier"},
    "st_channel": {"zh": "渠道：{channel}", "en": "Channel: {channel}"},
    "st_no_suggestion": {"zh": "这个层级暂时没有建议。", "en": "No suggestion for this tier right now."},
    "st_empty_tier": {"zh": "这个层级目前没有客户。", "en": "This tier has no customers right now."},
    "st_list": {"zh": "客户名单（{n} 位）", "en": "Customer list ({n})"},
    "st_budget": {"zh": "预算分配", "en": "Budget split"},
    "st_budget_caption": {
        "zh": "填入总预算和每个渠道单次触达的成本：预算先投给每花 1 元预计带来新增收入最多的层级，直到覆盖全部客户。",
        "en": "Enter the total budget and the cost of one contact per channel: the budget goes first to the tiers "
        "where each unit spent is expected to bring back the most extra revenue, up to reaching all their customers.",
    },
    "st_total_budget": {"zh": "总预算", "en": "Total budget"},
    "st_cost": {"zh": "{channel} 单次成本", "en": "{channel} cost per contact"},
    "st_left_roi_below_1": {
        "zh": "有 {amount} 没有分配：剩下的层级每触达一位客户，预计新增收入低于触达成本（回报倍数低于 1）。"
        "如果仍想投入，可以在“测算假设”里勾选“也投给回报低于成本的层级”。",
        "en": "{amount} is left unallocated: in the remaining tiers a contact is expected to bring back less than it "
        "costs (return below 1×). To spend it anyway, tick “Also fund tiers that return less than they cost” "
        "under Assumptions.",
    },
    "st_left_all_covered": {
        "zh": "有 {amount} 没有分配：值得触达的层级已经全部覆盖，再多的预算也没有客户可触达。可以降低预算。",
        "en": "{amount} is left unallocated: every tier worth contacting is already fully covered, so there is no one "
        "left to reach. Lower the budget.",
    },
    "st_left_too_small": {
        "zh": "剩余 {amount} 不够再触达一位客户。",
        "en": "The remaining {amount} is not enough to reach one more customer.",
    },
    "st_assumptions": {"zh": "测算假设（可修改）", "en": "Assumptions (editable)"},
    "st_model": {
        "zh": "每触达一位客户的预计新增收入 = 该层级人均每{period}消费（回看期内净消费按 {periods} 个{period}平均）"
        "× 响应率 × 响应客户的消费提升（1 表示多买一个{period}的量），预算先投给每花 1 元回报最高的层级，"
        "回报低于成本的层级默认不投。",
        "en": "Expected extra revenue per contacted customer = the tier's spend per customer per {period} (net spend "
        "in the lookback window spread over {periods} {period}s) × response rate × extra spend of a responder "
        "(1 = one more {period}'s worth); the budget goes to the best return per unit spent first, and tiers that "
        "return less than they cost get nothing unless you allow it.",
    },
    "st_response_rate": {"zh": "{kind} 响应率（%）", "en": "{kind} response rate (%)"},
    "st_response_rate_help": {
        "zh": "被触达的客户中会响应（多消费）的比例。有历史活动的实测数据时请用实测值。",
        "en": "Share of contacted customers who respond by spending more. Use the rate measured in past campaigns "
        "when you have it.",
    },
    "st_spend_uplift": {"zh": "响应客户的消费提升（期）", "en": "Extra spend of a responder (periods)"},
    "st_spend_uplift_help": {
        "zh": "响应的客户额外消费多少个周期的量：1 表示多买一个周期的量，0.5 表示半个周期。",
        "en": "How many periods' worth of their usual spend a responder adds: 1 = one more period, 0.5 = half.",
    },
    "st_allow_negative": {"zh": "也投给回报低于成本的层级", "en": "Also fund tiers that return less than they cost"},
    "st_spent": {"zh": "计划花费", "en": "Planned spend"},
    "st_expected_total": {"zh": "预计新增收入", "en": "Expected extra revenue"},
    "st_roi": {"zh": "整体回报倍数", "en": "Return per unit spent"},
    "st_what_if": {"zh": "如果……会怎样", "en": "What if"},
    "st_what_if_caption": {
        "zh": "假设把一个层级的一部分客户变成另一个层级：移动的人按新层级本期的人均消费计算。",
        "en": "Suppose part of one tier became another tier: moved customers are counted at the new tier's "
        "average spend in the period.",
    },
    "st_wi_from": {"zh": "从这个层级", "en": "From tier"},
    "st_wi_to": {"zh": "变成这个层级", "en": "To tier"},
    "st_wi_share": {"zh": "移动的比例", "en": "Share that moves"},
    "st_wi_same": {"zh": "请选择两个不同的层级。", "en": "Pick two different tiers."},
    "st_wi_revenue": {"zh": "本期销售额变化", "en": "Change in period revenue"},
    "st_wi_moved": {"zh": "移动人数", "en": "Customers moved"},
    "st_wi_from_size": {"zh": "“{tier}”人数", "en": "Size of '{tier}'"},
    "st_wi_to_size": {"zh": "“{tier}”人数", "en": "Size of '{tier}'"},
    "st_no_previous": {
        "zh": "分析日期之前没有更早的周期，无法计算变化和迁移；请把分析日期往后调。",
        "en": "There is no earlier period before the as-of date to compare with; move the as-of date later.",
    },
    "budget_tier": {"zh": "层级", "en": "Tier"},
    "budget_kind": {"zh": "类型", "en": "Kind"},
    "budget_channel": {"zh": "渠道", "en": "Channel"},
    "budget_customers": {"zh": "客户数", "en": "Customers"},
    "budget_uplift": {"zh": "假设响应提升", "en": "Assumed uplift"},
    "budget_at_stake": {"zh": "可争取的价值", "en": "Value at stake"},
    "budget_budget": {"zh": "分配预算", "en": "Budget"},
    "st_budget_details": {"zh": "每行背后的假设（单价、响应率、客户价值）", "en": "Assumptions behind each row (cost, response, value)"},
    "budget_contacts": {"zh": "可触达人次", "en": "Contacts"},
    "budget_coverage": {"zh": "覆盖比例", "en": "Coverage"},
    "budget_return": {"zh": "预计新增收入", "en": "Expected extra revenue"},
    "budget_contacted": {"zh": "触达人数", "en": "Contacted"},
    "budget_cost": {"zh": "单次成本", "en": "Cost per contact"},
    "budget_spend": {"zh": "花费", "en": "Spend"},
    "budget_per_customer": {"zh": "人均每期消费", "en": "Spend per customer per period"},
    "budget_response": {"zh": "响应率", "en": "Response rate"},
    "budget_spend_uplift": {"zh": "消费提升", "en": "Spend uplift"},
    "budget_reason": {"zh": "说明", "en": "Note"},
    "budget_reason_full": {"zh": "已全部覆盖", "en": "Fully covered"},
    "budget_reason_budget": {"zh": "预算用完", "en": "Budget ran out"},
    "budget_reason_roi_below_1": {"zh": "回报低于成本，未投入", "en": "Returns less than it costs"},
    "budget_reason_no_customers": {"zh": "没有客户", "en": "No customers"},
    "budget_roi": {"zh": "回报倍数", "en": "Return per unit"},
    "wi_before": {"zh": "之前人数", "en": "Customers before"},
    "wi_after": {"zh": "之后人数", "en": "Customers after"},
    "wi_amount_before": {"zh": "之前销售额", "en": "Revenue before"},
    "wi_amount_after": {"zh": "之后销售额", "en": "Revenue after"},
    "wi_amount_change": {"zh": "销售额变化", "en": "Revenue change"},
    "channel_phone": {"zh": "电话", "en": "Phone"},
    "channel_app": {"zh": "App 推送", "en": "App push"},
    "channel_sms": {"zh": "短信", "en": "SMS"},
    "channel_email": {"zh": "邮件", "en": "Email"},
    "channel_report": {"zh": "内部分析", "en": "Internal review"},
    "metric_customers": {"zh": "人数", "en": "customers"},
    "metric_customer_share": {"zh": "人数占比", "en": "share of customers"},
    "metric_revenue_share": {"zh": "销售额占比", "en": "share of revenue"},
    "metric_value_share": {"zh": "消费额占比", "en": "share of spend"},
    "metric_customers_change": {"zh": "人数变化", "en": "change in size"},
    "metric_revenue_change": {"zh": "销售额变化", "en": "change in revenue"},
    "metric_upgrade_rate": {"zh": "升级率", "en": "upgrade rate"},
    "metric_downgrade_rate": {"zh": "降级率", "en": "downgrade rate"},
    "metric_gone_rate": {"zh": "离开率", "en": "share who left"},
    "metric_outflow_rate": {"zh": "迁出率", "en": "moved out"},
    "metric_inflow_rate": {"zh": "迁入率", "en": "moved in"},
    "metric_avg_frequency": {"zh": "平均购买次数", "en": "average purchases"},
    "metric_avg_recency": {"zh": "平均距上次购买天数", "en": "average days since last purchase"},
    "ch_budget_title": {"zh": "各层级花费与预计新增收入（对数刻度）", "en": "Spend and expected extra revenue per tier (log scale)"},
    "ch_budget_y": {"zh": "金额（{symbol}）", "en": "Amount ({symbol})"},
    "ch_what_if_title": {"zh": "推演前后的层级人数", "en": "Tier sizes before and after"},
    "ch_what_if_before": {"zh": "现在", "en": "Now"},
    "ch_what_if_after": {"zh": "推演后", "en": "After"},
    "ch_wi_title": {"zh": "本期销售额会怎样变化", "en": "How period revenue would change"},
    "ch_wi_out": {"zh": "离开<br>{tier}", "en": "Leaving<br>{tier}"},
    "ch_wi_in": {"zh": "进入<br>{tier}", "en": "Joining<br>{tier}"},
    "ch_wi_net": {"zh": "净变化", "en": "Net change"},
    "ch_wi_y": {"zh": "销售额变化（{symbol}）", "en": "Change in revenue ({symbol})"},
    "ch_wi_hover_out": {
        "zh": "移走的客户按“{tier}”的人均消费计，这部分从该层级减少",
        "en": "Moved customers take '{tier}' average spend with them",
    },
    "ch_wi_hover_in": {
        "zh": "移入的客户按“{tier}”的人均消费计",
        "en": "Moved customers are counted at the '{tier}' average spend",
    },
    "ch_budget_sub": {
        "zh": "实心：计划花费 · 斜纹：预计新增收入",
        "en": "Solid: planned spend · hatched: expected extra revenue",
    },
    # ---- lifetime value page
    "cl_title": {"zh": "客户终身价值", "en": "Customer lifetime value"},
    "cl_caption": {
        "zh": "用购买节奏和客单价模型（BG/NBD 与 Gamma-Gamma）预测每位客户仍然活跃的概率和未来能带来的价值。",
        "en": "Purchase-rhythm and spend models (BG/NBD and Gamma-Gamma) predict each customer's chance of still "
        "being active and the value they will bring.",
    },
    "cl_settings": {"zh": "预测设置", "en": "Forecast settings"},
    "cl_horizon": {"zh": "预测期", "en": "Horizon"},
    "cl_horizon_days": {"zh": "{days} 天", "en": "{days} days"},
    "cl_discount": {"zh": "年贴现率（%）", "en": "Annual discount rate (%)"},
    "cl_discount_help": {
        "zh": "未来的钱不如现在的钱值钱：每年按这个比例折算。",
        "en": "Money later is worth less than money now; future value is discounted by this much a year.",
    },
    "cl_margin": {"zh": "毛利率（%）", "en": "Profit margin (%)"},
    "cl_margin_help": {
        "zh": "100% 表示按销售额计算价值；填入毛利率则得到利润口径的价值。",
        "en": "100% values customers by revenue; enter your margin to value them by profit.",
    },
    "cl_fit_error": {
        "zh": "无法估计终身价值：{detail}\n\n可以这样做：使用更长的历史（至少一年）、包含更多回头客的数据，或把分析日期往后调。其他页面不受影响。",
        "en": "Lifetime value cannot be estimated: {detail}\n\nWhat to do: use a longer history (a year or more), "
        "data with more repeat buyers, or a later as-of date. The other pages keep working.",
    },
    "cl_total": {"zh": "预测期内总价值", "en": "Total value over the horizon"},
    "cl_mean": {"zh": "人均价值", "en": "Value per customer"},
    "cl_alive": {"zh": "平均活跃概率", "en": "Average chance still active"},
    "cl_alive_help": {
        "zh": "P(alive)：模型估计客户仍会再买的概率。",
        "en": "P(alive): the model's estimate that a customer will still buy again.",
    },
    "cl_at_risk": {"zh": "活跃概率低于 30% 的客户", "en": "Customers below 30% chance"},
    "cl_dist": {"zh": "价值分布", "en": "How value is spread"},
    "cl_dist_log": {
        "zh": "价值高度集中在少数客户，横轴使用对数刻度，每一格是同样的倍数。",
        "en": "Value is concentrated in few customers, so the x axis is logarithmic (every bar spans the same ratio).",
    },
    "cl_by_tier": {"zh": "各层级的价值与活跃概率", "en": "Value and chance of being active per tier"},
    "cl_by_tier_missing": {
        "zh": "有 {n} 位客户没有模型评分（分析窗口外的历史不足），未计入层级均值。",
        "en": "{n} customers have no model score (too little history) and are left out of the tier means.",
    },
    "cl_scatter": {"zh": "活跃概率与距上次购买天数", "en": "Chance of being active against days since last purchase"},
    "cl_scatter_caption": {
        "zh": "每个点是一位客户（最多随机抽取 {n} 位）。越久没买，活跃概率越低；买得越多的人掉得越慢。",
        "en": "Each dot is a customer (a random sample of at most {n}). The longer since the last purchase, the lower "
        "the chance; frequent buyers fall off more slowly.",
    },
    "cl_one_timers": {
        "zh": "灰色空心圆是只买过一次的客户：没有复购就看不出购买节奏，模型暂时无法判断他们是否已经流失（活跃概率显示为 100%），请结合距上次购买天数来看。",
        "en": "Hollow grey circles are customers who bought only once: with no repeat purchase there is no rhythm to read, so "
        "the model cannot judge yet whether they have gone (it shows 100%); judge them by days since their purchase.",
    },
    "ch_one_timers": {"zh": "只买过一次（模型暂无法判断）", "en": "One purchase only: the model cannot judge yet"},
    "cl_holdout": {"zh": "预测靠不靠谱：留出检验", "en": "Can you trust it? Holdout check"},
    "cl_holdout_caption": {
        "zh": "用 {cal} 之前的数据训练模型，预测之后到 {obs} 的购买次数，再和实际发生的对比。",
        "en": "The model is fitted on data up to {cal}, predicts purchases from then to {obs}, and is compared with "
        "what actually happened.",
    },
    "cl_holdout_days": {"zh": "留出期长度", "en": "Holdout length"},
    "cl_predicted": {"zh": "预测购买次数", "en": "Predicted purchases"},
    "cl_actual": {"zh": "实际购买次数", "en": "Actual purchases"},
    "cl_rel_error": {"zh": "相对误差", "en": "Relative error"},
    "cl_trust_good": {
        "zh": "预测与实际相差 {err}，在 10% 以内：可以用这些数字来排序客户和做预算。",
        "en": "Predicted and actual differ by {err}, within 10%: these numbers are good enough to rank customers and "
        "plan budgets.",
    },
    "cl_trust_fair": {
        "zh": "预测与实际相差 {err}：适合用来给客户排序，但总金额只能作为粗略参考。",
        "en": "Predicted and actual differ by {err}: fine for ranking customers, but treat totals as rough.",
    },
    "cl_trust_poor": {
        "zh": "预测与实际相差 {err}，超过 25%：这份数据上模型不可靠，请不要据此做决策（可尝试更长的历史）。",
        "en": "Predicted and actual differ by {err}, more than 25%: the model is not reliable on this data; do not "
        "base decisions on it (try a longer history).",
    },
    "cl_holdout_error": {
        "zh": "无法做留出检验：{detail} 可以缩短留出期，或使用更长的历史数据。",
        "en": "The holdout check cannot run: {detail} Try a shorter holdout or a longer history.",
    },
    "cl_rules": {"zh": "在分层规则中使用", "en": "Use in tier rules"},
    "cl_rules_text": {
        "zh": "规则可以引用 P_ALIVE（活跃概率，0–1）和 CLV（预测期内价值），例如：",
        "en": "Rules can use P_ALIVE (chance still active, 0–1) and CLV (value over the horizon), for example:",
    },
    "cl_rules_example": {"zh": "风险客户: P_ALIVE < 0.3 and M >= 1000", "en": "At risk: P_ALIVE < 0.3 and M >= 1000"},
    "cl_top": {"zh": "价值最高的客户", "en": "Most valuable customers"},
    "cl_expected_purchases": {"zh": "预计购买次数", "en": "Expected purchases"},
    "cl_expected_avg_spend": {"zh": "预计客单价", "en": "Expected spend per order"},
    "p_alive": {"zh": "活跃概率", "en": "Chance still active"},
    "clv": {"zh": "预测价值", "en": "Predicted value"},
    "ch_clv_hist_title": {"zh": "客户预测价值分布（{horizon} 天）", "en": "Predicted customer value ({horizon} days)"},
    "ch_clv_x": {"zh": "预测价值（{symbol}）", "en": "Predicted value ({symbol})"},
    "ch_clv_by_tier_title": {"zh": "各层级人均预测价值", "en": "Average predicted value per tier"},
    "ch_alive_by_tier_title": {"zh": "各层级平均活跃概率", "en": "Average chance still active per tier"},
    "ch_alive_y": {"zh": "活跃概率", "en": "Chance still active"},
    "ch_scatter_title": {"zh": "活跃概率与距上次购买天数", "en": "Chance still active vs days since last purchase"},
    "ch_scatter_x": {"zh": "距上次购买（天）", "en": "Days since last purchase"},
    "ch_holdout_title": {"zh": "留出期内人均购买次数：预测与实际", "en": "Purchases per customer in the holdout: predicted vs actual"},
    "ch_holdout_x": {"zh": "训练期内的复购次数", "en": "Repeat purchases in the fitting period"},
    "ch_holdout_y": {"zh": "留出期人均购买次数", "en": "Purchases per customer in the holdout"},
}


def t(key: str, lang: str = "zh", **fmt: object) -> str:
    """The text for ``key`` in ``lang``: this module's table first, then :data:`ui.i18n.TEXT`."""
    entry = TEXT_TIME.get(key)
    if entry is None:
        from ui.i18n import TEXT

        entry = TEXT[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**fmt) if fmt else text
