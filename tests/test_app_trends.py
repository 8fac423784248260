"""Trends page: the period switch keeps every option readable; charts read well.
AppTest on the seeded demo data, plus the chart builders on tiny hand-written tables.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from apptest import run_app

from ui.charts import trends as trend_charts


def test_period_switch_sits_in_a_wrapping_row_with_the_other_controls():
    at = run_app({"lang": "en"}, "pages/trends.py")
    assert at.segmented_control(key="_w_period").options == ["Week", "Month", "Quarter"]
    # The controls share a wrapping row instead of fixed columns: a column narrower than the
    # three options used to cut "Quarter" off; now a control that does not fit moves down a line.
    row = next(block for block in at.main.children.values()
               if any(getattr(child, "key", None) == "_w_period" for child in getattr(block, "children", {}).values()))
    assert (row.proto.flex_container.direction, row.proto.flex_container.wrap) == (
        row.proto.flex_container.Direction.HORIZONTAL, True)
    assert [getattr(child, "key", None) for child in row.children.values()] == ["_w_kpi_en", "_w_period", "_w_tiers"]


def test_kpi_money_axis_labels_ticks_like_the_rest_of_the_page():
    series = pl.DataFrame({"period_start": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)],
                           "period_end": [dt.date(2024, 1, 31), dt.date(2024, 2, 29)],
                           "tier": ["A", "A"], "value": [1_200_000.0, 3_900_000.0]})
    fig = trend_charts.kpi_lines(series, kpi_name="消费金额", unit="currency", period_label="月", tier_names=("A",))
    assert list(fig.layout.yaxis.ticktext) == ["¥0", "¥100万", "¥200万", "¥300万"]
    assert fig.layout.yaxis.title.text == "消费金额 (¥)"


def test_cohort_title_sits_above_the_month_axis_on_top():
    cohorts = pl.DataFrame({
        "cohort": [dt.date(2024, 1, 1), dt.date(2024, 1, 1)],
        "months_since": pl.Series([0, 1], dtype=pl.Int32), "cohort_size": [4, 4],
        "active": [4, 1], "retention": [1.0, 0.25],
    })
    fig = trend_charts.cohort_heatmap(cohorts, lang="en")
    assert fig.layout.xaxis.side == "top"
    # Pinned to the top of the figure with the margin below it for the axis title and ticks.
    assert (fig.layout.title.yref, fig.layout.title.y, fig.layout.title.yanchor) == ("container", 1, "top")
    assert fig.layout.margin.t == 120
