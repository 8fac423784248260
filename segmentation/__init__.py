"""Tierlens core: from a transaction export to scored, tiered customers.

Pure functions over Polars frames; never imports streamlit or plotly.

Errors (one hierarchy, all ``ValueError``)::

    TierlensError
    ├── DataError            the data cannot be used as given
    │   └── AmbiguousDatesError   day/month order must be chosen by the caller
    ├── RuleError            tier rule text is malformed or not allowed
    └── SettingsError        scoring settings cannot be used
"""


from . import columns, demo, presets
from .customers import CustomerReport, load_customers
from .errors import AmbiguousDatesError, DataError, RuleError, TierlensError
from .ingest import LoadReport, detect_columns, load_transactions, read_table
from .presets import PRESETS, Preset, get_preset
from .rfm import customer_table_from_parquet, rfm_table
from .rules import LintIssue, RuleSet, assign_tiers, lint_rules, parse_rules, reachability
from .scoring import Cuts, SettingsError, add_ranks, fit_cuts, score
from .spec import TieringSpec, format_thresholds, parse_thresholds

__all__ = [
    "PRESETS",
    "AmbiguousDatesError",
    "CustomerReport",
    "Cuts",
    "DataError",
    "LintIssue",
    "LoadReport",
    "Preset",
    "RuleError",
    "RuleSet",
    "SettingsError",
    "TieringSpec",
    "TierlensError",
    "add_ranks",
    "assign_tiers",
    "columns",
    "customer_table_from_parquet",
    "demo",
    "detect_columns",
    "fit_cuts",
    "format_thresholds",
    "get_preset",
    "lint_rules",
    "load_customers",
    "load_transactions",
    "parse_rules",
    "parse_thresholds",
    "presets",
    "reachability",
    "read_table",
    "rfm_table",
    "score",
]


def __getattr__(name: str):
    # Heavier optional parts load on first use: `seg.clv` (scipy), `seg.store` (DuckDB),
    # `seg.spark` (PySpark, itself imported only when Spark is used).
    if name in {"clv", "store", "spark", "snapshots", "migration", "kpis", "strategy", "playbook", "enrich"}:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'segmentation' has no attribute {name!r}")
