"""Strategy page layout: one tier at a time with its own list, every tier side by side, and
what-ifs told in revenue. AppTest on the seeded demo data (literal numbers), plus the chart
builders on tiny hand-written tables.
"""

from __future__ import annotations

import json

import polars as pl
from apptest import run_app
from streamlit.testing.v1 import AppTest

from segmentation.presets import get_preset
from ui.charts import strategy as strategy_charts

TIERS_EN = ["Key value", "Key development", "Key retention", "Key win-back", "General value",
            "General development", "General retention", "General win-back"]


def open_strategy(query: dict[str, str]) -> AppTest:
    return run_app(query, "pages/strategy.py")


def chart(at: AppTest, key: str) -> dict:
    return next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id.endswith(key))


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def test_one_tier_at_a_time_with_its_list_and_every_tier_side_by_side():
    at = open_strategy({"lang": "en"})
    assert [tab.label for tab in at.tabs] == ["Suggestions per tier", "Budget split", "What if"]
    picker = at.pills(key="_w_focus")
    assert picker.value == 0
    # The picker shows each tier's top priority: act now, plan, or nothing for routine upkeep.
    # Tiers follow the preset's value order (General value ranks above Key retention).
    assert picker.options[:3] == [":red[:material/priority_high:] Key value",
                                  ":orange[:material/event_upcoming:] Key development",
                                  ":orange[:material/event_upcoming:] General value"]
    assert picker.options[-1] == "General win\\-back"
    assert "Because: share of revenue 55.0% (≥ 30%) · Channel: Phone" in texts(at.caption)
    assert "**Customer list (1,206)**" in texts(at.markdown)

    compare = at.dataframe[0].value
    # Rows in the preset's value order.
    assert compare["Tier"].tolist() == list(get_preset("cn8").value_order("en"))
    assert compare["Priority"].tolist() == ["Act now", "Plan", "Plan", "Act now", "Plan", "Plan", "Routine",
                                            "Routine"]
    assert compare["Customers"].tolist() == [1206, 268, 549, 391, 2736, 174, 250, 2426]
    assert round(compare["Revenue share this period"][0], 1) == 55.0

    picker.set_value(7).run()
    assert not at.exception
    assert "#### General win\\-back" in texts(at.markdown)
    assert "**Customer list (2,426)**" in texts(at.markdown)
    assert [b.key for b in at.get("download_button")] == ["st_csv_7", "st_xlsx_7"]
    assert "Because: share of revenue 55.0% (≥ 30%) · Channel: Phone" not in texts(at.caption)


def test_a_pick_past_the_last_tier_falls_back_to_the_first_when_the_rules_shrink():
    at = open_strategy({"lang": "en"})
    at.pills(key="_w_focus").set_value(7).run()
    at.selectbox(key="_w_preset_en").set_value("value3").run()
    assert not at.exception
    assert at.pills(key="_w_focus").value == 0
    assert len(at.pills(key="_w_focus").options) == 3


def test_what_if_shows_revenue_lost_gained_and_net():
    at = open_strategy({"lang": "en"})
    fall = chart(at, "st_what_if_chart")["data"][0]
    assert fall["type"] == "waterfall"
    assert fall["x"] == ["Leaving<br>Key development", "Joining<br>Key value", "Net change"]
    assert [round(v) for v in fall["y"]] == [-5507, 6201, 694]
    assert fall["text"] == ["-¥5,507", "+¥6,201", "+¥694"]
    assert at.metric[[m.label for m in at.metric].index("Change in period revenue")].value == "+¥694"


def test_what_if_revenue_waterfall_on_a_tiny_table():
    rows = pl.DataFrame({"tier": ["A", "B"], "amount_change": [500.0, -50.0]})
    fig = strategy_charts.what_if_revenue(rows, source="B", target="A", net=450.0, lang="zh", currency="CNY")
    fall = fig.data[0]
    assert list(fall.x) == ["离开<br>B", "进入<br>A", "净变化"]
    assert list(fall.y) == [-50.0, 500.0, 450.0]
    assert list(fall.measure) == ["relative", "relative", "total"]
    assert list(fall.text) == ["-¥50", "+¥500", "+¥450"]
    # Room above the highest level (-50 + 500) and below the lowest (-50) for the labels.
    low, high = fig.layout.yaxis.range
    assert low < -50 and high > 450
    assert fig.layout.yaxis.title.text == "销售额变化（¥）"


def test_budget_bar_says_which_bar_is_which_in_a_subtitle_instead_of_a_legend():
    rows = pl.DataFrame({"tier": ["A", "B"], "spend": [20.0, 5.0], "expected_incremental_revenue": [500.0, 40.0]})
    fig = strategy_charts.budget_bar(rows, lang="en", currency="USD", tier_names=("A", "B"))
    # A legend would show the first tier's colour for every spend bar.
    assert fig.layout.showlegend is False
    assert fig.layout.title.subtitle.text == "Solid: planned spend · hatched: expected extra revenue"
    returns, _budget = fig.data
    assert returns.marker.pattern.shape == "/"


def tab_container(at: AppTest):
    """The tabs' block proto (holds the tab a fresh page opens on)."""
    found = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "HasField") and "tab_container" in type(proto).DESCRIPTOR.fields_by_name \
                and proto.HasField("tab_container"):
            found.append(proto.tab_container)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found[0]


def test_the_chosen_tier_and_tab_are_part_of_the_shared_link():
    at = open_strategy({"lang": "en"})
    assert tab_container(at).default_tab_index == 0
    at.pills(key="_w_focus").set_value(5).run()  # the sixth tier in value order
    assert at.query_params["focus"] == "Key win-back"
    # Back to the default tier: the link stays clean.
    at.pills(key="_w_focus").set_value(0).run()
    assert "focus" not in at.query_params

    shared = open_strategy({"lang": "en", "focus": "Key win-back", "tab": "what_if"})
    assert shared.pills(key="_w_focus").value == 5
    assert "**Customer list (174)**" in texts(shared.markdown)
    assert tab_container(shared).default_tab_index == 2


def test_a_link_to_a_tier_the_rules_do_not_have_opens_the_first_tier():
    at = open_strategy({"lang": "en", "focus": "Nobody's tier", "tab": "nonsense"})
    assert at.pills(key="_w_focus").value == 0
    assert tab_container(at).default_tab_index == 0
    assert "**Customer list (1,206)**" in texts(at.markdown)
