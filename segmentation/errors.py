"""The one exception hierarchy of the core.

Every error the core raises on purpose derives from :class:`TierlensError`, which is a
``ValueError``, so the UI catches exactly one type at its boundary and shows the message:

- :class:`DataError`: the input data cannot be used (unreadable file, no usable rows,
  ambiguous dates the caller must resolve, a data set the store does not know, ...).
- :class:`RuleError`: tier rule text is malformed or not allowed; says what, where, and what
  was expected.
- :class:`SettingsError`: scoring settings that cannot be used (bins out of range, malformed or
  miscounted thresholds).

Messages are written for a marketer, not a programmer: they say what is wrong and what to do.
Anything else that escapes the core is a bug and should surface in tests.

An error may also carry a ``code`` and ``params`` (plain values), so a user interface can say the
same thing in its own language; the English message stays the default wording.

>>> err = SettingsError("R needs 1 cut points for 2 scores, got 2.", code="thr_count",
...                     params={"axis": "recency_days", "needed": 1, "got": 2})
>>> (err.code, err.params["needed"], str(err))
('thr_count', 1, 'R needs 1 cut points for 2 scores, got 2.')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TierlensError(ValueError):
    """Base class of every error the core raises deliberately.

    ``code`` ("" when none) names the kind of problem and ``params`` its values, for messages
    in other languages.
    """

    def __init__(self, message: str = "", *args: object, code: str = "", params: Mapping[str, Any] | None = None):
        super().__init__(message, *args)
        self.code = code
        self.params = dict(params or {})


class DataError(TierlensError):
    """The data cannot be used as given; the message says why and what to do."""


class AmbiguousDatesError(DataError):
    """Dates read equally well as day/month and month/day; the caller must choose.

    ``column`` names the date column and ``examples`` holds a few raw values that fit both
    orders. Pass ``date_order="dmy"`` or ``"mdy"`` to :func:`segmentation.load_transactions`.
    """

    def __init__(self, message: str, *, column: str = "", examples: tuple[str, ...] = ()):
        super().__init__(message, code="ambiguous_dates", params={"column": column})
        self.column = column
        self.examples = examples


class RuleError(TierlensError):
    """Tier rule text is malformed or not allowed.

    ``line`` and ``column`` are 1-based positions in the rule text (0 when not applicable).
    """

    def __init__(self, message: str, *, line: int = 0, column: int = 0, code: str = "",
                 params: Mapping[str, Any] | None = None):
        super().__init__(message, code=code, params=params)
        self.line = line
        self.column = column


class SettingsError(TierlensError):
    """Scoring settings that cannot be used (bins out of range, malformed thresholds)."""
