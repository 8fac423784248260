"""Customer-level files load into the customer table and drive scoring, rules and presets."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segmentation as seg
from segmentation.errors import DataError

D = dt.date
RFM_SCHEMA = {
    "customer_id": pl.String, "recency_days": pl.Int64, "frequency": pl.Int64, "monetary": pl.Float64,
    "first_purchase": pl.Date, "last_purchase": pl.Date, "tenure_days": pl.Int64, "avg_order_value": pl.Float64,
}

CRM = (
    b"Customer ID,Last Order Date,First Order Date,Orders,Total Spend,Tier Code\n"
    b"007,2024-06-01,2023-01-15,3,\"$1,200.50\",gold\n"
    b"A-17,2024-06-20,2024-06-20,1,$30,\n"
    b"B2,2024-05-01,,2,$80,silver\n"
    b"C3,2024-06-10,2024-01-01,0,$0,\n"
    b",2024-06-10,2024-01-01,4,$10,\n"
    b"D4,soon,2024-01-01,4,$10,\n"
    b"E5,2024-06-10,2024-01-01,-2,$10,\n"
    b"F6,2024-06-10,2024-01-01,2.5,$10,\n"
    b"G7,2024-06-10,2024-01-01,2,lots,\n"
    b"H8,2024-06-10,2024-07-01,2,$10,\n"
    b"007,2024-06-01,2023-01-15,3,\"$1,200.50\",gold\n"
)


def test_crm_export_hand_worked():
    customers, report = seg.load_customers(CRM)
    # As for transactions, the default reference day is the day after the latest purchase.
    assert report.as_of == "2024-06-21"
    assert customers.schema == {**RFM_SCHEMA, "Tier Code": pl.String}
    assert customers.rows() == [
        ("007", 20, 3, 1200.5, D(2023, 1, 15), D(2024, 6, 1), 523, 400.5 / 1.0 if False else 1200.5 / 3, "gold"),
        ("A-17", 1, 1, 30.0, D(2024, 6, 20), D(2024, 6, 20), 1, 30.0, None),
        ("B2", 51, 2, 80.0, None, D(2024, 5, 1), None, 40.0, "silver"),
    ]
    assert report.rows_read == 11 and report.rows_kept == 3
    assert report.dropped == {
        "duplicate_row": 1, "missing_customer_id": 1, "bad_last_purchase": 1, "bad_frequency": 2,
        "no_purchases": 1, "bad_monetary": 1, "bad_first_purchase": 1,
    }
    assert report.rows_read == report.rows_kept + sum(report.dropped.values())
    assert [e["row"] for e in report.examples["bad_frequency"]] == [8, 9]
    assert report.mapping_used["frequency"] == "Orders"
    assert any("Dropped 2 rows: the number of orders" in line for line in report.summary_lines())
    assert any("订单数" in line for line in report.summary_lines("zh"))


def test_chinese_headers_and_recency_in_days_need_a_reference_date():
    data = "客户编号,距今天数,购买次数,累计消费金额,渠道\nA1,10,2,300,App\nA2,400,1,50,门店\n".encode()
    with pytest.raises(DataError, match="reference date"):
        seg.load_customers(data)
    customers, report = seg.load_customers(data, as_of="2024-06-30")
    assert report.recency_source == "recency_days"
    assert customers.select("customer_id", "recency_days", "last_purchase", "monetary", "渠道").rows() == [
        ("A1", 10, D(2024, 6, 20), 300.0, "App"),
        ("A2", 400, D(2023, 5, 27), 50.0, "门店"),
    ]


def test_last_purchase_after_the_reference_date_is_dropped():
    data = b"id,last_purchase,frequency,monetary\na,2024-06-01,1,5\nb,2024-07-02,1,5\n"
    customers, report = seg.load_customers(data, as_of="2024-06-30")
    assert customers["customer_id"].to_list() == ["a"]
    assert report.dropped == {"after_as_of": 1}


def test_duplicate_customer_ids_with_different_values_are_refused():
    data = b"customer_id,last_purchase,frequency,monetary\na,2024-06-01,1,5\nb,2024-06-02,1,5\na,2024-06-03,2,9\n"
    with pytest.raises(DataError, match=r"“a” appears on rows 2, 4 .*one row per customer"):
        seg.load_customers(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"customer_id,frequency,monetary\na,1,5\n", "last purchase date"),
        (b"customer_id,last_purchase,monetary\na,2024-01-01,5\n", "number of orders"),
        (b"name,city\nx,y\n", "customer id column"),
        (b"customer_id,last_purchase,frequency,monetary\na,2024-01-01,0,0\n", "No usable customers"),
        (b"\x00\x01\x02binary", "Tierlens"),
    ],
)
def test_bad_files_say_what_is_missing(data, message):
    with pytest.raises(DataError, match=message):
        seg.load_customers(data)


def test_mapping_overrides_detection_and_unknown_fields_are_refused():
    data = b"who,when,n,spend,total\na,2024-01-01,2,10,999\n"
    mapping = {"customer_id": "who", "last_purchase": "when", "frequency": "n", "monetary": "spend"}
    customers, _ = seg.load_customers(data, mapping=mapping)
    # The unmapped column is an extra, and a numeric one stays a number.
    assert customers.select("monetary", "total").row(0) == (10.0, 999)
    with pytest.raises(DataError, match="not a field of a customer file"):
        seg.load_customers(data, mapping={"amount": "spend"})
    with pytest.raises(DataError, match="not in the file"):
        seg.load_customers(data, mapping={"monetary": "price"})


def test_rfm_table_output_round_trips_and_every_preset_tiers_it(tmp_path):
    tx = seg.demo.generate(300, seed=3)
    want = seg.rfm_table(tx, as_of="2025-06-30")
    path = tmp_path / "customers.parquet"
    want.write_parquet(path)
    customers, report = seg.load_customers(path, as_of="2025-06-30")
    assert customers.equals(want)
    assert report.rows_kept == want.height and report.dropped == {}
    for preset in seg.PRESETS:
        preset = seg.get_preset(preset) if isinstance(preset, str) else preset
        scored = seg.score(customers, bins=preset.bins, method=preset.method, thresholds=preset.thresholds)
        tiers = seg.assign_tiers(scored, seg.parse_rules(preset.rules_en))
        expected = seg.assign_tiers(
            seg.score(want, bins=preset.bins, method=preset.method, thresholds=preset.thresholds),
            seg.parse_rules(preset.rules_en),
        )
        assert tiers["tier"].to_list() == expected["tier"].to_list(), preset.id


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 400),  # days before the reference date
            st.integers(0, 50),  # orders
            st.integers(-10_000, 1_000_000),  # spend in cents
        ),
        min_size=1,
        max_size=30,
    )
)
def test_recency_from_dates_and_from_days_agree(rows):
    as_of = D(2025, 1, 1)
    by_date = "id,last_purchase,frequency,monetary\n" + "".join(
        f"c{i},{(as_of - dt.timedelta(days=d)).isoformat()},{f},{m / 100}\n" for i, (d, f, m) in enumerate(rows)
    )
    by_days = "id,recency,frequency,monetary\n" + "".join(
        f"c{i},{d},{f},{m / 100}\n" for i, (d, f, m) in enumerate(rows)
    )
    buyers = [(f"c{i}", d, f, m / 100) for i, (d, f, m) in enumerate(rows) if f > 0]
    if not buyers:
        with pytest.raises(DataError, match="No usable customers"):
            seg.load_customers(by_date.encode(), as_of=as_of)
        return
    a, _ = seg.load_customers(by_date.encode(), as_of=as_of)
    b, _ = seg.load_customers(by_days.encode(), as_of=as_of)
    assert a.equals(b)
    # Independent of the loader: the rows as written, buyers only, sorted by id.
    assert a.select("customer_id", "recency_days", "frequency", "monetary").rows() == sorted(buyers)


POINTS = (
    "id,last_purchase,orders,spend,points,credit,zip,note\n"
    'a,2024-06-01,3,"¥1,200",\"1,200\",2.5,00123,x\n'
    "b,2024-06-02,1,¥30,80,1,10001,y\n"
    "c,2024-06-03,2,¥80,,0.25,20002,\n"
    "d,2024-06-04,5,¥500,150,4,30003,7\n"
).encode()


def test_numeric_extra_columns_stay_numbers_so_rules_can_use_them():
    customers, _ = seg.load_customers(POINTS)
    assert customers.schema["points"] == pl.Int64
    assert customers.schema["credit"] == pl.Float64
    # Codes with leading zeros and free text stay text.
    assert customers.schema["zip"] == pl.String and customers.schema["note"] == pl.String
    assert dict(zip(customers["customer_id"], customers["points"], strict=True)) == {
        "a": 1200, "b": 80, "c": None, "d": 150}
    tiered = seg.assign_tiers(seg.score(customers), seg.parse_rules("VIP: points >= 100\nOthers: else"))
    assert dict(zip(tiered["customer_id"], tiered["tier"].cast(pl.String), strict=True)) == {
        "a": "VIP", "b": "Others", "c": "Others", "d": "VIP"}
    tiered = seg.assign_tiers(seg.score(customers), seg.parse_rules("Credit: credit * 2 > 4.5\nRest: else"))
    assert sorted(tiered.filter(pl.col("tier") == "Credit")["customer_id"].to_list()) == ["a", "d"]


def test_an_extra_column_with_one_word_in_it_stays_text():
    data = POINTS.replace(b"d,2024-06-04,5,\xc2\xa5500,150", b"d,2024-06-04,5,\xc2\xa5500,many")
    customers, _ = seg.load_customers(data)
    assert customers.schema["points"] == pl.String
    assert customers["points"].to_list() == ["1,200", "80", None, "many"]


@pytest.mark.parametrize(("data", "found"), [(POINTS, "CNY (¥)"), (CRM, "USD ($)"),
                                              (POINTS.replace("¥".encode(), b""), None)])
def test_the_spend_columns_currency_is_detected_and_reported(data, found):
    _, report = seg.load_customers(data)
    assert report.currency == found and report.to_dict()["currency"] == found
    assert any("currency" in line for line in report.summary_lines()) == (found is not None)
