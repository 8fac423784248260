"""Tierlens core: from a transaction export to scored, tiered customers.

Pure functions over Polars frames; never imports streamlit or plotly.
"""

from __future__ import annotations

from . import columns
from .errors import AmbiguousDatesError, DataError, RuleError, TierlensError
from .rfm import rfm_table
from .scoring import Cuts, SettingsError, fit_cuts, score

__all__ = [
    "AmbiguousDatesError",
    "Cuts",
    "DataError",
    "RuleError",
    "SettingsError",
    "TierlensError",
    "columns",
    "fit_cuts",
    "rfm_table",
    "score",
]
