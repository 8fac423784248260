"""Saving, opening and deleting data sets: the store's changes and what they do to the view."""

from __future__ import annotations

from typing import Any

import polars as pl

from segmentation.ingest import reason_text
from ui import cache, session
from ui.settings import DEMO_ID

__all__ = ["DEMO_ID", "delete_dataset", "dropped_table", "save_dataset"]


def save_dataset(tx: pl.DataFrame, *, name: str, report: Any, raw: bytes | None) -> str:
    """Store a loaded data set and make it the current one; returns its id."""
    dataset_id = cache.store().save(tx, name=name, report=report.to_dict() if hasattr(report, "to_dict") else report,
                                    raw=raw)
    cache.forget_datasets()
    session.open_dataset(dataset_id)
    return dataset_id


def delete_dataset(dataset_id: str) -> None:
    """Remove a stored data set; the view falls back to the demo when it was the current one."""
    cache.store().delete(dataset_id)
    cache.forget_datasets()
    if session.current_settings().dataset == dataset_id:
        session.open_dataset(DEMO_ID)


def dropped_table(report: Any, lang: str) -> pl.DataFrame:
    """Dropped rows per reason with example row numbers (reason text from the loader)."""
    rows = []
    for reason, n in report.dropped.items():
        if not n:
            continue
        examples = report.examples.get(reason, ())
        rows.append((reason_text(reason, lang), int(n), ", ".join(str(e.get("row", "")) for e in examples)))
    return pl.DataFrame(rows, schema={"reason": pl.String, "rows": pl.Int64, "examples": pl.String}, orient="row")
