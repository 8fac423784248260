"""As-of dates as the core accepts them (private helper of rfm and the engines)."""

from __future__ import annotations

import datetime as dt

from .errors import DataError


def to_date(value: dt.date | dt.datetime | str | None) -> dt.date | None:
    """Normalise an as-of value (date, datetime or ISO string) to a date; ``None`` stays ``None``.

    Raises:
        DataError: the string is not an ISO date (YYYY-MM-DD).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise DataError(f"'{value}' is not a date; write it as YYYY-MM-DD, e.g. 2024-06-30.",
            code="bad_date", params={"value": str(value)[:40]},
        ) from None
