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
from .errors import AmbiguousDatesError, DataError, RuleError, TierlensError
from .ingest import LoadReport, detect_columns, list_tables, load_transactions, read_table
from .presets import PRESETS, Preset, get_preset
from .rfm import rfm_table
from .rules import LintIssue, RuleSet, assign_tiers, lint_rules, parse_rules, reachability
from .scoring import Cuts, SettingsError, add_ranks, empty_levels, fit_cuts, score, suggest_thresholds
from .spec import TieringSpec, format_thresholds, parse_thresholds

__all__ = [
    "PRESETS",
    "AmbiguousDatesError",
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
    "demo",
    "detect_columns",
    "empty_levels",
    "fit_cuts",
    "format_thresholds",
    "get_preset",
    "lint_rules",
    "list_tables",
    "load_transactions",
    "parse_rules",
    "parse_thresholds",
    "presets",
    "reachability",
    "read_table",
    "rfm_table",
    "score",
    "suggest_thresholds",
]


def __getattr__(name: str):
    # Heavier optional parts load on first use: `seg.clv` (scipy), `seg.store` (file locks, Parquet).
    if name in {"clv", "store", "snapshots", "migration", "kpis", "strategy", "playbook", "enrich", "backtest"}:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'segmentation' has no attribute {name!r}")
