"""All UI text in both languages, and number/date formatting per language.

``t(key, lang, **fmt)`` looks a text up and fills ``{placeholders}``. A missing key is a bug,
so it raises KeyError (the tests check every key has both languages). Product text is written
for a marketer: it says what a number means and what to do next.
"""

from __future__ import annotations

import datetime as dt
import math

LANG_LABELS = {"zh": "中文", "en": "English"}

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$", "NONE": ""}

TEXT: dict[str, dict[str, str]] = {
    # ---- app & navigation
    "app_title": {"zh": "Tierlens 客户分层", "en": "Tierlens customer tiers"},
    "nav_group_data": {"zh": "数据", "en": "Data"},
    "nav_group_tiers": {"zh": "分层", "en": "Tiers"},
    "nav_group_change": {"zh": "变化", "en": "Change"},
    "nav_group_act": {"zh": "行动", "en": "Act"},
    "nav_data": {"zh": "数据", "en": "Data"},
    "auth_sign_in_needed": {"zh": "这个 Tierlens 需要登录后使用。", "en": "This Tierlens needs you to sign in."},
    "auth_sign_in": {"zh": "登录", "en": "Sign in"},
    "auth_sign_out": {"zh": "退出登录", "en": "Sign out"},
    "auth_not_allowed": {
        "zh": "{email} 没有访问权限。请联系管理员把你的邮箱或域名加入允许名单。",
        "en": "{email} may not use this Tierlens. Ask its administrator to add your email or domain to the allow-list.",
    },
    "auth_signed_in_as": {"zh": "已登录：{email}", "en": "Signed in as {email}"},
    "nav_overview": {"zh": "总览", "en": "Overview"},
    "nav_customer": {"zh": "客户", "en": "Customer"},
    "nav_export": {"zh": "报告导出", "en": "Export"},
    "nav_migration": {"zh": "迁移", "en": "Migration"},
    "nav_trends": {"zh": "趋势", "en": "Trends"},
    "nav_strategy": {"zh": "策略", "en": "Strategy"},
    "nav_clv": {"zh": "客户终身价值", "en": "Lifetime value"},
    "error_prefix": {"zh": "无法显示：", "en": "Cannot show this view: "},
    "error_hint": {
        "zh": "请在侧边栏调整设置，或在“数据”页换一个数据集。",
        "en": "Adjust the settings in the sidebar, or pick another data set on the Data page.",
    },
    "url_issue": {
        "zh": "链接中的参数 {param}={value} 无法识别，已使用默认值。",
        "en": "The link parameter {param}={value} was not understood; the default is used instead.",
    },
    "unknown_preset": {
        "zh": "未找到预设“{value}”，已改用默认预设。",
        "en": "Preset '{value}' does not exist; the default preset is used instead.",
    },
    "unknown_dataset": {
        "zh": "未找到数据集“{value}”，已切换到演示数据。",
        "en": "Data set '{value}' was not found; switched to the demo data.",
    },
    # ---- sidebar
    "sb_language": {"zh": "语言", "en": "Language"},
    "sb_data": {"zh": "数据集", "en": "Data set"},
    "sb_demo": {"zh": "演示数据（内置）", "en": "Demo data (built-in)"},
    "sb_as_of": {"zh": "分析日期", "en": "As of"},
    "sb_as_of_help": {
        "zh": "按这一天的视角计算客户状态；默认是最后一笔订单的次日。",
        "en": "Customers are measured as of this day; by default the day after the last order.",
    },
    "sb_window": {"zh": "回看窗口", "en": "Lookback window"},
    "sb_window_all": {"zh": "全部历史", "en": "All history"},
    "sb_window_days": {"zh": "最近 {days} 天", "en": "Last {days} days"},
    "sb_preset": {"zh": "分层方案", "en": "Tiering preset"},
    "sb_scoring": {"zh": "RFM 打分", "en": "RFM scoring"},
    "sb_method": {"zh": "打分方法", "en": "Scoring method"},
    "method_quantile": {"zh": "分位数（人数均分）", "en": "Quantiles (equal-sized groups)"},
    "method_thresholds": {"zh": "自定义阈值", "en": "Your own thresholds"},
    "method_mean": {"zh": "高于/低于平均值", "en": "Above / below the mean"},
    "method_median": {"zh": "高于/低于中位数", "en": "Above / below the median"},
    "sb_bins": {"zh": "每个维度的分数档数", "en": "Score levels per axis"},
    "sb_bins_fixed": {"zh": "该方法固定为 2 档。", "en": "This method always uses 2 levels."},
    "sb_thresholds": {"zh": "阈值（逗号分隔，升序）", "en": "Thresholds (comma-separated, ascending)"},
    "sb_thr_r": {"zh": "R：最近购买距今天数", "en": "R: days since last purchase"},
    "sb_thr_f": {"zh": "F：购买次数", "en": "F: number of purchases"},
    "sb_thr_m": {"zh": "M：消费金额", "en": "M: amount spent"},
    "sb_thr_help": {
        "zh": "每个维度需要 档数−1 个切分点，例如 5 档填 4 个数。",
        "en": "Each axis needs (levels − 1) cut points, e.g. 4 numbers for 5 levels.",
    },
    "sb_thr_invalid": {
        "zh": "阈值格式不对：请只填数字并用逗号分隔，例如 30, 90, 180。",
        "en": "Thresholds must be numbers separated by commas, e.g. 30, 90, 180.",
    },
    "sb_cuts": {"zh": "当前切分点", "en": "Current cut points"},
    "sb_rules": {"zh": "分层规则", "en": "Tier rules"},
    "sb_rules_help": {
        "zh": "每行一条：名称: 条件。可用 R、F、M、r_score、f_score、m_score、AOV、T；最后一行可写 else。第一条命中的规则生效。",
        "en": "One rule per line: NAME: CONDITION. Use R, F, M, r_score, f_score, m_score, AOV, T; "
        "end with 'else'. The first matching rule wins.",
    },
    "sb_rules_reset": {"zh": "恢复预设规则", "en": "Reset to the preset's rules"},
    "sb_rules_error": {"zh": "第 {line} 行第 {column} 列：{detail}", "en": "Line {line}, column {column}: {detail}"},
    "sb_rules_ok": {"zh": "{n} 个层级", "en": "{n} tiers"},
    "sb_rules_ok_open": {
        "zh": "{n} 个层级（没有命中任何规则的客户归入“{name}”）",
        "en": "{n} tiers (+ “{name}” for customers no rule matches)",
    },
    "sb_display": {"zh": "显示", "en": "Display"},
    "sb_currency": {"zh": "货币", "en": "Currency"},
    "sb_currency_auto": {"zh": "自动", "en": "Automatic"},
    "sb_present": {"zh": "演示模式（隐藏编辑项）", "en": "Present mode (hide editing)"},
    "sb_share": {"zh": "分享链接", "en": "Share link"},
    "sb_share_help": {
        "zh": "复制下面的链接，对方打开后看到的就是当前视图。",
        "en": "Copy this link; whoever opens it sees exactly this view.",
    },
    "sb_summary": {
        "zh": "{dataset} · 截至 {as_of} · {window} · {preset}",
        "en": "{dataset} · as of {as_of} · {window} · {preset}",
    },
    # ---- common
    "tier": {"zh": "层级", "en": "Tier"},
    "customers": {"zh": "客户数", "en": "Customers"},
    "revenue": {"zh": "消费金额", "en": "Revenue"},
    "orders": {"zh": "订单数", "en": "Orders"},
    "customer_share": {"zh": "客户占比", "en": "Share of customers"},
    "revenue_share": {"zh": "金额占比", "en": "Share of revenue"},
    "avg_monetary": {"zh": "人均消费", "en": "Revenue per customer"},
    "avg_recency": {"zh": "平均未购天数", "en": "Avg. days since last purchase"},
    "avg_frequency": {"zh": "人均购买次数", "en": "Avg. purchases per customer"},
    "recency_days": {"zh": "距上次购买天数 (R)", "en": "Days since last purchase (R)"},
    "frequency": {"zh": "购买次数 (F)", "en": "Purchases (F)"},
    "monetary": {"zh": "消费金额 (M)", "en": "Amount spent (M)"},
    "r_score": {"zh": "R 分", "en": "R score"},
    "f_score": {"zh": "F 分", "en": "F score"},
    "m_score": {"zh": "M 分", "en": "M score"},
    "first_purchase": {"zh": "首次购买", "en": "First purchase"},
    "last_purchase": {"zh": "最近购买", "en": "Last purchase"},
    "tenure_days": {"zh": "客龄（天）", "en": "Tenure (days)"},
    "avg_order_value": {"zh": "客单价", "en": "Average order value"},
    "customer_id": {"zh": "客户编号", "en": "Customer ID"},
    "order_date": {"zh": "下单时间", "en": "Order date"},
    "amount": {"zh": "金额", "en": "Amount"},
    "order_id": {"zh": "订单号", "en": "Order ID"},
    "quantity": {"zh": "数量", "en": "Quantity"},
    "unit_price": {"zh": "单价", "en": "Unit price"},
    "channel": {"zh": "渠道", "en": "Channel"},
    "region": {"zh": "地区", "en": "Region"},
    "days": {"zh": "天", "en": "days"},
    "score": {"zh": "分数", "en": "Score"},
    "axis": {"zh": "维度", "en": "Axis"},
    "lint_title": {"zh": "规则检查", "en": "Rule check"},
    "lint_none": {"zh": "规则检查未发现问题。", "en": "The rule check found no problems."},
    # ---- overview
    "ov_title": {"zh": "客户分层总览", "en": "Customer tiers at a glance"},
    "ov_caption": {
        "zh": "按所选规则把每位客户分到一个层级。左侧可调整打分和规则，图表会随之更新。",
        "en": "Every customer is placed in one tier by the rules in the sidebar; change scoring or "
        "rules there and the charts follow.",
    },
    "m_customers": {"zh": "客户数", "en": "Customers"},
    "m_customers_help": {
        "zh": "在分析窗口内至少购买过一次的客户。",
        "en": "Customers with at least one purchase in the window.",
    },
    "m_revenue": {"zh": "净消费金额", "en": "Net revenue"},
    "m_revenue_help": {"zh": "购买金额减去退货。", "en": "Purchases minus returns."},
    "m_orders": {"zh": "订单数", "en": "Orders"},
    "m_aov": {"zh": "客单价", "en": "Avg. order value"},
    "m_aov_help": {
        "zh": "每笔订单的平均购买金额（不扣退货）。",
        "en": "Average amount per order (before returns).",
    },
    "m_repeat": {"zh": "复购客户占比", "en": "Repeat customers"},
    "m_repeat_help": {"zh": "购买过 2 次及以上的客户占比。", "en": "Share of customers with 2 or more purchases."},
    "m_top_tier": {"zh": "头部层级金额占比", "en": "Top tier's revenue"},
    "m_top_tier_help": {
        "zh": "第一个层级“{tier}”占全部客户的 {share}，这是它贡献的金额占比。",
        "en": "The first tier, '{tier}', holds {share} of customers; this is its share of revenue.",
    },
    "ov_tiers": {"zh": "各层级客户与金额", "en": "Customers and revenue per tier"},
    "ov_tier_table": {"zh": "层级明细", "en": "Tier details"},
    "tt_customers": {"zh": "客户数（占比）", "en": "Customers (share)"},
    "tt_revenue": {"zh": "金额（占比）", "en": "Revenue (share)"},
    "tt_per_customer": {"zh": "人均消费", "en": "Per customer"},
    "tt_recency": {"zh": "平均未购天数", "en": "Days since last buy"},
    "tt_frequency": {"zh": "人均购买次数", "en": "Purchases each"},
    "ov_grid": {"zh": "R × F 分布", "en": "R × F grid"},
    "ov_grid_caption": {
        "zh": "每格是一组 R 分和 F 分相同的客户：格内数字是人数，颜色表示{colour}。",
        "en": "Each cell is a group of customers with the same R and F score: the number is the "
        "head count, the colour shows {colour}.",
    },
    "ov_grid_colour": {"zh": "格子颜色", "en": "Cell colour"},
    "ov_grid_by_m": {"zh": "人均消费", "en": "average spend"},
    "ov_grid_by_tier": {"zh": "主要层级", "en": "most common tier"},
    "ov_cuts": {"zh": "各分数对应的取值范围", "en": "Value range behind each score"},
    "ov_cuts_caption": {
        "zh": "R 越小越好（最近买过得高分）；F、M 越大越好。",
        "en": "Lower R is better (recent buyers score high); higher F and M are better.",
    },
    "ov_pareto": {"zh": "金额集中度", "en": "Revenue concentration"},
    "ov_pareto_note": {
        "zh": "消费最高的 20% 客户贡献了 {share} 的金额。",
        "en": "The top 20% of customers bring {share} of revenue.",
    },
    "ov_empty": {
        "zh": "这个时间范围内没有客户购买记录。请把分析日期往后调，或放宽回看窗口。",
        "en": "No customer bought anything in this period. Move the as-of date later or widen "
        "the lookback window.",
    },
    # ---- charts
    "ch_customers_per_tier": {"zh": "各层级客户数", "en": "Customers per tier"},
    "ch_revenue_per_tier": {"zh": "各层级消费金额", "en": "Revenue per tier"},
    "ch_rf_title_m": {
        "zh": "R × F 分布（数字=人数，颜色=人均消费）",
        "en": "R × F grid (number = customers, colour = average spend)",
    },
    "ch_rf_title_tier": {
        "zh": "R × F 分布（数字=人数，颜色=主要层级）",
        "en": "R × F grid (number = customers, colour = most common tier)",
    },
    "ch_r_axis": {"zh": "R 分（越高越近期）", "en": "R score (higher = more recent)"},
    "ch_f_axis": {"zh": "F 分（越高买得越多）", "en": "F score (higher = buys more often)"},
    "ch_pareto_title": {"zh": "金额集中度（帕累托曲线）", "en": "Revenue concentration (Pareto curve)"},
    "ch_pareto_x": {"zh": "客户累计占比（按消费从高到低）", "en": "Share of customers (highest spenders first)"},
    "ch_pareto_y": {"zh": "金额累计占比", "en": "Cumulative share of revenue"},
    "ch_pareto_equal": {"zh": "完全平均", "en": "Perfectly even"},
    "ch_pareto_note": {"zh": "前 20% 客户 → {share} 金额", "en": "Top 20% of customers → {share} of revenue"},
    "ch_timeline_title": {"zh": "客户 {customer} 的购买记录", "en": "Purchases of customer {customer}"},
    "ch_purchase": {"zh": "购买", "en": "Purchase"},
    "ch_return": {"zh": "退货", "en": "Return"},
    "ch_tier_history_title": {"zh": "层级变化", "en": "Tier over time"},
    # ---- customer page
    "cu_title": {"zh": "客户查询", "en": "Customer lookup"},
    "cu_caption": {
        "zh": "输入客户编号，查看其购买记录、RFM 数值和当前层级。",
        "en": "Enter a customer ID to see their purchases, RFM values and current tier.",
    },
    "cu_input": {"zh": "客户编号", "en": "Customer ID"},
    "cu_placeholder": {"zh": "例如 {example}", "en": "e.g. {example}"},
    "cu_examples": {"zh": "示例客户（点选一行即可查看）", "en": "Example customers (select a row to look one up)"},
    "cu_not_found": {
        "zh": "没有找到客户“{customer}”。请检查编号（区分大小写、保留前导零）。",
        "en": "No customer '{customer}' in this data set. Check the ID (case and leading zeros count).",
    },
    "cu_not_in_window": {
        "zh": "客户“{customer}”在当前分析日期和回看窗口内没有购买，因此没有层级。",
        "en": "Customer '{customer}' made no purchase in the current as-of date and window, so has no tier.",
    },
    "cu_tier_now": {"zh": "当前层级", "en": "Tier now"},
    "cu_history": {"zh": "购买记录", "en": "Purchase history"},
    "cu_rows": {"zh": "共 {n} 笔交易（含退货）。", "en": "Transactions: {n} (returns included)."},
    "cu_scores": {"zh": "RFM 数值与分数", "en": "RFM values and scores"},
    # ---- data page
    "da_title": {"zh": "数据", "en": "Data"},
    "da_caption": {
        "zh": "上传交易明细（CSV、Excel 或 Parquet），或使用内置演示数据。每行一笔订单或订单行：客户编号、日期、金额。",
        "en": "Upload a transaction export (CSV, Excel or Parquet) or use the built-in demo data. One row "
        "per order or order line: customer ID, date, amount.",
    },
    "da_current": {"zh": "当前数据集：{name}", "en": "Current data set: {name}"},
    "da_use_demo": {"zh": "使用演示数据", "en": "Use the demo data"},
    "da_upload": {"zh": "上传交易数据", "en": "Upload transactions"},
    "da_upload_help": {
        "zh": "支持 UTF-8 / GBK 编码的 CSV、Excel（.xlsx）和 Parquet；表头可以是中文或英文。",
        "en": "CSV (UTF-8 or GBK), Excel (.xlsx) and Parquet; headers may be English or Chinese.",
    },
    "da_reading": {"zh": "正在读取文件…", "en": "Reading the file…"},
    "da_mapping": {"zh": "列对应关系", "en": "Column mapping"},
    "da_mapping_caption": {
        "zh": "已自动识别各列；如有不对，请在下面更正。",
        "en": "Columns were matched automatically; correct any that are wrong below.",
    },
    "da_none": {"zh": "（无）", "en": "(none)"},
    "da_preview": {"zh": "文件预览（前 20 行）", "en": "File preview (first 20 rows)"},
    "da_dates_ambiguous": {
        "zh": "“{column}”列的日期既可读作“日/月”也可读作“月/日”（例如 {examples}）。请选择：",
        "en": "Dates in '{column}' read both as day/month and month/day (e.g. {examples}). Which is it?",
    },
    "da_date_order": {"zh": "日期顺序", "en": "Date order"},
    "da_dmy": {"zh": "日/月/年（31/12/2024）", "en": "Day/month/year (31/12/2024)"},
    "da_mdy": {"zh": "月/日/年（12/31/2024）", "en": "Month/day/year (12/31/2024)"},
    "da_report": {"zh": "校验结果", "en": "Validation report"},
    "da_rows_read": {"zh": "读取行数", "en": "Rows read"},
    "da_rows_kept": {"zh": "保留行数", "en": "Rows kept"},
    "da_rows_dropped": {"zh": "剔除行数", "en": "Rows dropped"},
    "da_dropped_reason": {"zh": "剔除原因", "en": "Reason"},
    "da_dropped_count": {"zh": "行数", "en": "Rows"},
    "da_dropped_examples": {"zh": "示例", "en": "Examples"},
    "da_name": {"zh": "数据集名称", "en": "Data set name"},
    "da_save": {"zh": "保存并使用这个数据集", "en": "Save and use this data set"},
    "da_saved": {"zh": "已保存，正在使用“{name}”。", "en": "Saved; now using '{name}'."},
    "da_saved_list": {"zh": "已保存的数据集", "en": "Saved data sets"},
    "da_saved_empty": {
        "zh": "还没有保存的数据集。上传一个文件后点“保存”，它就会出现在这里。",
        "en": "No saved data sets yet. Upload a file and press Save; it will appear here.",
    },
    "da_open": {"zh": "打开", "en": "Open"},
    "da_delete": {"zh": "删除", "en": "Delete"},
    "da_in_use": {"zh": "使用中", "en": "In use"},
    "da_rows_customers": {
        "zh": "{rows} 行 · {customers} 位客户 · {first} 至 {last}",
        "en": "{rows} rows · {customers} customers · {first} to {last}",
    },
    "da_template": {"zh": "数据模板", "en": "Template"},
    "da_template_caption": {
        "zh": "不确定格式？下载示例文件，按同样的列整理数据即可。",
        "en": "Not sure about the format? Download a sample and arrange your data the same way.",
    },
    "da_template_en": {"zh": "示例 CSV（英文表头）", "en": "Sample CSV (English headers)"},
    "da_template_zh": {"zh": "示例 CSV（中文表头）", "en": "Sample CSV (Chinese headers)"},
    "da_demo_info": {
        "zh": "演示数据：{customers} 位客户、{rows} 笔交易（{first} 至 {last}），含季节性、退货和流失。",
        "en": "Demo data: {customers} customers, {rows} transactions ({first} to {last}), with "
        "seasonality, returns and churn.",
    },
    "da_ingest_missing": {
        "zh": "上传功能暂不可用（缺少数据读取模块）。",
        "en": "Uploading is not available (the data reader module is missing).",
    },
    "da_notes": {"zh": "读取说明", "en": "What was read"},
    "da_load_error": {"zh": "文件无法使用：", "en": "The file cannot be used: "},
    # ---- export page
    "ex_title": {"zh": "报告导出", "en": "Export"},
    "ex_caption": {
        "zh": "下载一份可离线打开的管理层摘要（HTML），或导出各层级的客户名单。",
        "en": "Download an executive summary that opens offline (HTML), or export customer lists per tier.",
    },
    "ex_summary": {"zh": "管理层摘要", "en": "Executive summary"},
    "ex_summary_caption": {
        "zh": "一个独立的 HTML 文件：核心指标、层级图表和集中度曲线，无需联网即可打开。",
        "en": "One self-contained HTML file with the headline numbers, tier charts and the "
        "concentration curve; opens without internet.",
    },
    "ex_summary_button": {"zh": "下载摘要（HTML）", "en": "Download summary (HTML)"},
    "ex_lists": {"zh": "客户名单", "en": "Customer lists"},
    "ex_lists_tiers": {"zh": "导出哪些层级（不选 = 全部）", "en": "Tiers to export (none selected = all)"},
    "ex_lists_count": {"zh": "共 {n} 位客户。", "en": "{n} customers."},
    "ex_csv": {"zh": "下载 CSV", "en": "Download CSV"},
    "ex_xlsx": {"zh": "下载 Excel", "en": "Download Excel"},
    "ex_lists_note": {
        "zh": "以 = + - @ 开头的文本前加了单引号，防止在表格软件中被当作公式执行。",
        "en": "Text starting with = + - @ gets a leading apostrophe so spreadsheet software never "
        "runs it as a formula.",
    },
    "ex_report_title": {"zh": "客户分层摘要", "en": "Customer tiering summary"},
    "ex_report_meta": {
        "zh": "数据集：{dataset}；截至 {as_of}；{window}；方案：{preset}",
        "en": "Data set: {dataset}; as of {as_of}; {window}; preset: {preset}",
    },
    "ex_generated": {"zh": "由 Tierlens 生成", "en": "Made with Tierlens"},
    "ex_all_sheet": {"zh": "全部客户", "en": "All customers"},
}


def t(key: str, lang: str = "zh", **fmt: object) -> str:
    """The text for ``key`` in ``lang`` ("zh" or "en"), with ``{placeholders}`` filled."""
    entry = TEXT[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**fmt) if fmt else text


def currency_symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " " if currency else "")


def fmt_int(value: float | int | None, lang: str = "zh") -> str:
    """An integer with thousands separators (12,345); "—" for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{round(value):,}"


def fmt_num(value: float | None, lang: str = "zh", digits: int = 1) -> str:
    """A number with thousands separators and ``digits`` decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def _compact(value: float, lang: str) -> tuple[float, str]:
    a = abs(value)
    if lang == "zh":
        # Chinese groups large numbers by 10^4 (万) and 10^8 (亿), not by thousands.
        if a >= 1e8:
            return value / 1e8, "亿"
        if a >= 1e4:
            return value / 1e4, "万"
        return value, ""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if a >= size:
            return value / size, suffix
    return value, ""


def fmt_money(value: float | None, lang: str = "zh", currency: str = "CNY", *, compact: bool = False) -> str:
    """Money with the currency symbol: ¥12,345 / $12,345; compact (three significant digits): ¥1.23万 / $12.3K / $90K."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    symbol = currency_symbol(currency)
    sign = "-" if value < 0 else ""
    if compact:
        # Three significant digits, rounded before the unit is chosen so 999,950 reads $1M,
        # not $1,000K; trailing zeros go ($90K, not $90.00K).
        scaled, suffix = _compact(float(f"{abs(value):.3g}"), lang)
        if suffix:
            digits = max(0, 2 - int(math.log10(scaled)))
            text = f"{scaled:,.{digits}f}"
            return f"{sign}{symbol}{text.rstrip('0').rstrip('.') if digits else text}{suffix}"
    digits = 2 if abs(value) < 100 and not float(value).is_integer() else 0
    return f"{sign}{symbol}{abs(value):,.{digits}f}"


def fmt_pct(share: float | None, lang: str = "zh", digits: int = 1) -> str:
    """A share (0..1) as a percentage: 0.123 -> 12.3%."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "—"
    return f"{share * 100:.{digits}f}%"


def fmt_date(value: dt.date | dt.datetime | str | None, lang: str = "zh") -> str:
    """A date: 2024年6月30日 / 30 Jun 2024."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.date()
    if lang == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {value.strftime('%b')} {value.year}"


def fmt_window(days: int, lang: str = "zh") -> str:
    return t("sb_window_all", lang) if not days else t("sb_window_days", lang, days=fmt_int(days))


def column_label(column: str, lang: str = "zh") -> str:
    """A readable label for a core column name (falls back to the name itself)."""
    return t(column, lang) if column in TEXT else column



# Text of the time and value pages lives in its own module; one table serves every page.
from ui.i18n_time import TEXT_TIME  # noqa: E402

TEXT.update(TEXT_TIME)
