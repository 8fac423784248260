"""Chart builders and frame shaping of the time pages, on tiny hand-written tables."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest

from segmentation import kpis, migration, strategy
from segmentation import summary as S
from segmentation.clv import holdout_verdict, tier_clv_summary
from segmentation.migration import migration_matrix, migration_rates, sankey_flows
from segmentation.snapshots import snapshots
from ui import tables
from ui.charts import clv as clv_charts
from ui.charts import migration as migration_charts
from ui.charts import strategy as strategy_charts
from ui.charts import style
from ui.charts import trends as trend_charts
from ui.i18n import explain_why, t

D1, D2 = dt.date(2024, 1, 31), dt.date(2024, 2, 29)
RULES = "Big: M >= 20\nSmall: else"


@pytest.fixture
def snaps() -> pl.DataFrame:
    # a: Small -> Big (upgrade), b: Small -> Small, c: new in February (Small)
    tx = pl.DataFrame({
        "customer_id": ["a", "a", "b", "c"],
        "order_date": [dt.date(2024, 1, 5), dt.date(2024, 2, 3), dt.date(2024, 1, 10), dt.date(2024, 2, 10)],
        "amount": [10.0, 30.0, 5.0, 7.0],
        "order_id": ["1", "2", "3", "4"],
    })
    return snapshots(tx, [D1, D2], rules=RULES)


# ----------------------------------------------------------------------------- text


def test_time_page_texts_come_from_the_one_table():
    assert t("mg_title", "en") == "Tier migration"
    with pytest.raises(KeyError):
        t("no_such_key", "en")


# ----------------------------------------------------------------------------- migration


def test_sankey_places_dates_in_columns_and_colours_links_by_direction(snaps):
    flows = sankey_flows(snaps)
    fig = migration_charts.sankey(flows.nodes, flows.links, tier_names=("Big", "Small"), lang="en", currency="USD")
    trace = fig.data[0]
    assert list(trace.node.label) == ["New · 1", "Small · 2", "Big · 1", "Small · 2"]
    assert [round(x, 2) for x in trace.node.x] == [0.01, 0.01, 0.99, 0.99]
    # Big is drawn above Small on the later date (rule order, best first).
    assert trace.node.y[2] < trace.node.y[3]
    assert list(trace.link.value) == [1, 1, 1]
    assert list(trace.link.color) == [
        migration_charts.LINK_COLOURS["new"], migration_charts.LINK_COLOURS["up"], migration_charts.LINK_COLOURS["same"],
    ]
    assert trace.node.color[2] == style.tier_colors(["Big", "Small"])["Big"] and trace.node.color[0] == style.NEW_COLOUR
    assert "1 customers (100.0% of the source)" in trace.link.customdata[0]
    assert [a.text for a in fig.layout.annotations] == ["<b>31 Jan 2024</b>", "<b>29 Feb 2024</b>"]
    assert fig.layout.title.text == "How customers moved between tiers"


def test_transition_heatmap_rows_are_sources_columns_destinations(snaps):
    matrix = migration_matrix(snaps, D1, D2)
    fig = migration_charts.transition_heatmap(matrix, tier_names=("Big", "Small"), d1=D1.isoformat(), d2=D2.isoformat(),
                                         lang="en")
    heat = fig.data[0]
    assert list(heat.y) == ["New", "Small"]
    assert list(heat.x) == ["Big", "Small"]
    assert [list(r) for r in heat.z] == [[0.0, 1.0], [0.5, 0.5]]
    assert [list(r) for r in heat.text] == [["", "100%"], ["50%", "50%"]]
    assert fig.layout.xaxis.title.text == "Tier on the later date"
    # The dates go on a line of their own: Plotly never wraps a title, so a phone would cut them off.
    assert fig.layout.title.text == "Transition matrix"
    assert fig.layout.title.subtitle.text == "31 Jan 2024 → 29 Feb 2024"


def test_tiny_shares_read_less_than_one_percent():
    matrix = pl.DataFrame({
        "from_state": ["Big", "Big"], "to_state": ["Big", "Small"], "direction": ["same", "down"],
        "customers": [999, 1], "revenue": [0.0, 0.0], "share": [0.999, 0.001],
    })
    fig = migration_charts.transition_heatmap(matrix, tier_names=("Big", "Small"), d1="2024-01-31", d2="2024-02-29")
    assert list(fig.data[0].text[0]) == ["100%", "<1%"]


def test_rates_bar_stacks_four_shares_per_tier(snaps):
    rates = migration.tier_rates(migration_rates(snaps, D1, D2))
    fig = migration_charts.rates_bar(rates, d1="2024-01-31", d2="2024-02-29", lang="en")
    assert [tr.name for tr in fig.data] == ["Upgraded", "Unchanged", "Downgraded", "Left the window"]
    assert list(fig.data[0].y) == ["Small"]
    assert [tr.x[0] for tr in fig.data] == [0.5, 0.5, 0.0, 0.0]
    assert fig.layout.barmode == "stack"


def test_overall_rates_and_newcomers(snaps):
    overall = migration.overall_rates(migration_rates(snaps, D1, D2))
    assert (overall["customers"], overall["upgrade_rate"]) == (2, 0.5)
    assert migration.newcomers(migration_matrix(snaps, D1, D2)) == 1
    assert migration.largest_move(migration_matrix(snaps, D1, D2), "Small") == "Big"


def test_movers_display_translates_states_and_columns():
    frame = pl.DataFrame({"customer_id": ["x"], "from_state": ["__new__"], "to_state": ["Big"],
                          "monetary_then": [None], "monetary_now": [12.346], "last_purchase_now": [D2],
                          "revenue": [12.346]}, schema_overrides={"monetary_then": pl.Float64})
    shown = tables.movers_display(frame, "en")
    assert shown.columns == ["Customer ID", "From", "To", "Amount spent (M) (then)", "Amount spent (M) (now)",
                             "Last purchase", "Net spend in between"]
    assert shown.row(0) == ("x", "New", "Big", None, 12.35, D2, 12.35)


# ----------------------------------------------------------------------------- trends


def test_kpi_lines_one_line_per_tier_in_rule_order_with_ratio_axis():
    series = pl.DataFrame({
        "period_start": [dt.date(2024, 1, 1)] * 3 + [dt.date(2024, 2, 1)] * 3,
        "period_end": [dt.date(2024, 1, 31)] * 3 + [dt.date(2024, 2, 29)] * 3,
        "tier": ["Small", "Big", "__all__"] * 2,
        "value": [0.5, 0.25, 0.4, 0.6, None, 0.5],
    })
    fig = trend_charts.kpi_lines(series, kpi_name="Churn rate", unit="ratio", period_label="Month",
                                tier_names=("Big", "Small"), lang="en")
    assert [tr.name for tr in fig.data] == ["Big", "Small", "All customers"]
    assert list(fig.data[1].y) == [0.5, 0.6]
    assert fig.data[2].line.dash == "dash"
    assert fig.data[0].line.color == style.tier_colors(["Big", "Small"])["Big"]
    assert fig.layout.yaxis.tickformat == ".0%"
    assert fig.layout.title.text == "Churn rate per tier, by Month"


def test_kpi_lines_money_axis_has_currency():
    series = pl.DataFrame({"period_start": [dt.date(2024, 1, 1)], "period_end": [dt.date(2024, 1, 31)],
                           "tier": ["Big"], "value": [100.0]})
    fig = trend_charts.kpi_lines(series, kpi_name="Revenue", unit="currency", period_label="Month",
                                tier_names=("Big",), lang="en", currency="USD")
    assert fig.layout.yaxis.title.text == "Revenue ($)"
    assert fig.layout.yaxis.tickprefix == "$"


def test_kpi_series_keeps_chosen_tiers_and_drop_empty_tiers():
    trends = pl.DataFrame({
        "period_start": [dt.date(2024, 1, 1)] * 3, "period_end": [dt.date(2024, 1, 31)] * 3,
        "tier": ["Big", "Small", "Unassigned"], "customers": [3, 2, 0], "active_customers": [1, 1, 0],
        "orders": [4, 1, 0],
    })
    assert kpis.drop_empty_tiers(trends)["tier"].to_list() == ["Big", "Small"]
    series = kpis.kpi_series(trends, "orders", ("Small",))
    assert series.rows() == [(dt.date(2024, 1, 1), dt.date(2024, 1, 31), "Small", 1.0)]


def test_cohort_heatmap_labels_percentages():
    cohorts = pl.DataFrame({
        "cohort": [dt.date(2024, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 1)],
        "months_since": pl.Series([0, 1, 0], dtype=pl.Int32), "cohort_size": [4, 4, 2],
        "active": [4, 1, 2], "retention": [1.0, 0.25, 1.0],
    })
    fig = trend_charts.cohort_heatmap(cohorts, lang="en")
    heat = fig.data[0]
    assert list(heat.y) == ["2024-01", "2024-02"]
    assert [list(r) for r in heat.z] == [[1.0, 0.25], [1.0, None]]
    assert [list(r) for r in heat.text] == [["100%", "25%"], ["100%", ""]]
    assert fig.layout.xaxis.title.text == "Months since first purchase"


# ----------------------------------------------------------------------------- strategy


def test_explain_why_names_metrics_in_the_language():
    assert explain_why("revenue_share 42.3% >= 30%", "zh") == "销售额占比 42.3%（≥ 30%）"
    assert explain_why("upgrade_rate 1.0% < 5%; customers 80 >= 50", "en") == (
        "upgrade rate 1.0% (< 5%); customers 80 (≥ 50)"
    )
    assert explain_why("always", "en") == "standing advice for this kind of tier"


def test_budget_bar_groups_spend_and_return_in_rule_order_on_a_log_axis():
    # Rows arrive in budget order; the chart lists tiers in rule order (C, A, B).
    rows = pl.DataFrame({"tier": ["A", "B", "C"], "spend": [20.0, 0.0, 5000.0],
                         "expected_incremental_revenue": [500.0, 0.0, 90000.0]})
    fig = strategy_charts.budget_bar(rows, lang="en", currency="USD", tier_names=("C", "A", "B"))
    returns, budget = fig.data
    assert [returns.name, budget.name] == ["Expected extra revenue", "Budget"]
    assert list(budget.y) == ["C", "A", "B"]
    assert list(budget.x) == [5000.0, 20.0, None]
    assert list(returns.x) == [90000.0, 500.0, None]
    assert list(budget.text) == ["$5,000", "$20", ""]
    assert list(returns.text) == ["$90K", "$500", ""]
    assert list(budget.marker.color) == list(style.tier_colors(["C", "A", "B"]).values())
    assert list(fig.layout.xaxis.tickvals)[:3] == [20, 50, 100]
    assert fig.layout.xaxis.type == "log" and fig.layout.barmode == "group"


def test_budget_split_keeps_the_unallocated_rest_apart():
    allocation = pl.DataFrame({"tier": ["A", "Empty", "__unallocated__"], "customers": [10, 0, None],
                               "spend": [20.0, 0.0, 5.0], "expected_incremental_revenue": [30.0, 0.0, None],
                               "reason": ["full", "no_customers", "too_small"]})
    rows, _spent, _expected, left, _reason = strategy.budget_split(allocation)
    assert (rows["tier"].to_list(), left) == (["A"], 5.0)


def test_what_if_rows_and_display():
    result = pl.DataFrame({
        "tier": ["A", "B", "Empty", "__all__"], "customers_before": [10, 100, 0, 110],
        "customers_after": [20, 90, 0, 110], "customers_change": [10, -10, 0, 0],
        "amount_before": [500.0, 500.0, 0.0, 1000.0], "amount_after": [1000.0, 450.0, 0.0, 1450.0],
        "amount_change": [500.0, -50.0, 0.0, 450.0],
    })
    rows, total = strategy.what_if_rows(result)
    assert rows["tier"].to_list() == ["A", "B"] and total["amount_change"] == 450.0
    assert tables.what_if_display(rows, "en", "USD")["Revenue change"].to_list() == ["+$500", "-$50"]


# ----------------------------------------------------------------------------- CLV


def test_clv_histogram_goes_logarithmic_only_when_skewed():
    even = pl.DataFrame({"clv": [float(x) for x in range(1, 101)]})
    hist, log = S.clv_histogram(even, bins=10)
    assert log is False and hist["customers"].sum() == 100
    skewed = pl.DataFrame({"clv": [0.001] * 10 + [10.0] * 80 + [5000.0] * 10})
    hist, log = S.clv_histogram(skewed, bins=8)
    assert log is True
    assert hist["lower"][0] == 1.0  # values below one currency unit share the first bar
    assert hist["customers"].to_list()[0] == 10 and hist["customers"].sum() == 100
    fig = clv_charts.clv_histogram(hist, log=True, horizon_days=365, lang="en", currency="USD")
    assert fig.layout.xaxis.type == "log"
    assert list(fig.layout.xaxis.tickvals) == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
    assert fig.layout.xaxis.ticktext[-1] == "$5,000"
    assert fig.layout.xaxis.title.text == "Predicted value ($)"
    assert fig.layout.title.text == "Predicted customer value (365 days)"


def test_clv_per_tier_bars_count_repeat_and_one_time_buyers():
    tiered = pl.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "tier": pl.Series(["Big", "Big", "Small", "Small"], dtype=pl.Enum(["Big", "Small", "X"])),
    })
    scores = pl.DataFrame({"customer_id": ["a", "c", "d"], "p_alive": [0.9, 0.2, 1.0], "clv": [100.0, 10.0, 4.0],
                           "repeat_buyer": [True, True, False], "past_typical_gap": [None, None, True]})
    stats = tier_clv_summary(tiered, scores)
    assert stats.select("tier", "customers", "scored", "mean_p_alive_repeat", "one_time_buyers").rows() == [
        ("Big", 2, 1, 0.9, 0), ("Small", 2, 2, 0.2, 1),
    ]
    assert S.unscored(tiered.join(scores, on="customer_id", how="left")) == 1
    fig = clv_charts.clv_tier_bar(stats, value="mean_p_alive_repeat", tier_names=("Big", "Small", "X"), lang="en")
    # The one-time buyer's P(alive) = 1 stays out of the bar.
    assert list(fig.data[0].x) == [0.9, 0.2] and list(fig.data[0].text) == ["90%", "20%"]
    assert [list(c) for c in fig.data[0].customdata] == [["1", "0 (—)"], ["1", "1 (100%)"]]


def test_alive_sample_is_bounded_and_one_trace_per_tier():
    n = 300
    tiered = pl.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)], "tier": ["Big" if i % 3 else "Small" for i in range(n)],
        "recency_days": list(range(n)), "frequency": [2] * n, "p_alive": [0.5] * n, "clv": [1.0] * n,
    })
    sample = S.alive_sample(tiered, n=50)
    assert sample.height == 50
    assert S.alive_sample(tiered, n=50).equals(sample)  # seeded
    fig = clv_charts.alive_scatter(sample, tier_names=("Big", "Small"), lang="en")
    assert [tr.type for tr in fig.data] == ["scattergl", "scattergl"]
    assert sum(len(tr.x) for tr in fig.data) == 50
    assert fig.layout.yaxis.tickformat == ".0%"


def test_alive_scatter_shows_one_time_buyers_apart():
    sample = pl.DataFrame({
        "customer_id": ["a", "b", "c"], "tier": ["Big", "Big", "Small"], "recency_days": [10, 20, 30],
        "frequency": [1, 3, 1], "p_alive": [1.0, 0.4, 1.0], "clv": [5.0, 9.0, 2.0],
    })
    fig = clv_charts.alive_scatter(sample, tier_names=("Big", "Small"), lang="en")
    assert [tr.name for tr in fig.data] == ["One purchase only: the model cannot judge yet", "Big"]
    assert list(fig.data[0].x) == [10, 30] and list(fig.data[1].y) == [0.4]


def test_holdout_chart_and_trust_levels():
    frame = pl.DataFrame({"calibration_repeat_purchases": ["0", "1"], "customers": [10, 5],
                          "actual_mean": [0.5, 1.0], "predicted_mean": [0.4, 1.2]})
    fig = clv_charts.holdout_chart(frame, lang="en")
    assert [tr.name for tr in fig.data] == ["Actual purchases", "Predicted purchases"]
    assert list(fig.data[1].y) == [0.4, 1.2]
    assert [holdout_verdict(e).level for e in (0.05, -0.2, 0.4, float("nan"))] == ["good", "rough", "do_not_use",
                                                                                   "do_not_use"]


def test_sankey_leaves_out_labels_that_would_overlap_but_keeps_hover():
    # One date, tiers of 1,000 / 5 / 5 / 5 / 1,000 customers: the three small ones sit within a
    # few pixels of each other.
    tiers = ("A", "B", "C", "D", "E")
    sizes = (1000, 5, 5, 5, 1000)
    nodes = pl.DataFrame({
        "node": [f"{n}@1" for n in tiers] + [f"{n}@2" for n in tiers],
        "date": [dt.date(2024, 1, 31)] * 5 + [dt.date(2024, 2, 29)] * 5,
        "state": list(tiers) * 2, "customers": list(sizes) * 2,
    })
    links = pl.DataFrame({"source": [f"{n}@1" for n in tiers], "target": [f"{n}@2" for n in tiers],
                          "direction": ["same"] * 5, "customers": list(sizes), "revenue": [1.0] * 5})
    fig = migration_charts.sankey(nodes, links, tier_names=tiers, lang="en", currency="USD")
    node = fig.data[0].node
    labels = list(node.label)
    assert labels[0] == "A · 1,000" and labels[4] == "E · 1,000"
    assert 1 <= sum(bool(x) for x in labels[1:4]) < 3
    # Labels drawn in one column are at least a line apart (plot height x position).
    plot_px = fig.layout.height - 100
    ys = sorted(y * plot_px for y, label in zip(node.y[:5], labels[:5], strict=True) if label)
    assert all(b - a >= 17 for a, b in itertools.pairwise(ys))
    # Every node still names itself on hover.
    assert list(node.customdata[:5]) == [f"{n} (31 Jan 2024)" for n in tiers]
