"""Widgets bound to the view's settings.

Widgets mirror :class:`ui.settings.Settings`, which stays the single source of truth: a bound
widget is (re)initialised from the settings whenever they changed elsewhere (a link, a preset
switch, present mode hiding it), and its ``on_change`` callback writes the new value back
before the script reruns, so every page of that run sees the new settings.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import streamlit as st

from ui import session
from ui.settings import Settings

_SRC = "_src"


def bound(
    key: str,
    current: Hashable,
    widget: Callable[..., Any],
    label: str,
    *,
    encode: Callable[[Any], Any],
    commit: Callable[[Any], None],
    **kwargs: Any,
) -> Any:
    """Render ``widget`` mirroring a settings value.

    ``current`` is what the widget shows, in settings terms; when it differs from what the
    widget was last initialised from, the widget is reset to ``encode(current)``. ``commit``
    receives the widget's new value in its change callback.
    """
    src = f"{_SRC}{key}"
    if key not in st.session_state or st.session_state.get(src) != current:
        st.session_state[key] = encode(current)
        st.session_state[src] = current
    else:
        # A widget's identity includes the page it is drawn on: after a page change the same key
        # is a new widget that would start empty (a period switch with nothing selected while
        # the chart says "by month"). Writing the value back makes the new widget show it.
        st.session_state[key] = st.session_state[key]
    options = kwargs.get("options")

    def on_change() -> None:
        value = st.session_state[key]
        if options is not None and not _among(value, options):
            # Option widgets send their shown label back; a label from before a language switch
            # is no option at all. Drop it and let the next run show the settings value again.
            st.session_state.pop(src, None)
            return
        commit(value)

    return widget(label, key=key, on_change=on_change, **kwargs)


def _among(value: Any, options: Sequence[Any]) -> bool:
    """Whether a widget value (one option, or a list of them) is made of the given options."""
    if isinstance(value, list):  # a multiselect
        return all(v in options for v in value)
    return value in options


def setting_widget(
    field: str,
    widget: Callable[..., Any],
    label: str,
    *,
    encode: Callable[[Any], Any] = lambda v: v,
    decode: Callable[[Any], Any] = lambda v: v,
    then: Callable[[Settings], Settings] | None = None,
    depends_on: Hashable = None,
    per_language: bool = False,
    key_suffix: str = "",
    **kwargs: Any,
) -> Any:
    """A widget bound to one Settings field (for pages: period, cut mode, tiers, ...).

    ``encode``/``decode`` convert between the settings value and the widget value;
    ``then`` adjusts the new settings after a change (e.g. reset what depends on it);
    ``depends_on`` names anything else the widget's value depends on (e.g. the data set,
    for a date whose default is the data's last day), so it is reset when that changes.
    ``per_language`` gives the widget one key per language (``_w_<field>_<lang>``): option
    widgets hold their shown label, so a translated selectbox must be a new widget after a
    language switch. Every bound widget is also re-initialised when the language changes,
    which makes the browser redraw its labels. ``key_suffix`` tells apart several widgets that
    each edit one part of the same field (``_w_<field>_<suffix>``, e.g. one cost per channel).

    Example::

        setting_widget("period", st.segmented_control, "Period", options=["W", "M", "Q"])
    """
    settings = session.current_settings()

    def commit(value: Any) -> None:
        new = session.current_settings().replace(**{field: decode(value)})
        session.set_settings(then(new) if then else new)

    current = (getattr(settings, field), depends_on, settings.lang)
    key = f"_w_{field}_{settings.lang}" if per_language else f"_w_{field}"
    if key_suffix:
        key = f"{key}_{key_suffix}"
    return bound(key, current, widget, label, encode=lambda c: encode(c[0]), commit=commit, **kwargs)


def relabel(key: str, lang: str) -> str:
    """``key`` for a page's own option widget whose labels are translated; returns ``key``.

    Option widgets keep the label they show in the browser, so after a language switch they
    would go on showing (and later send back) the other language's label. Writing the
    widget's value back once after the switch makes Streamlit send the new label.
    """
    seen = f"_lang{key}"
    if key in st.session_state and st.session_state.get(seen, lang) != lang:
        st.session_state[key] = st.session_state[key]
    st.session_state[seen] = lang
    return key


def column_pickers(
    labels: Mapping[str, str],
    headers: Sequence[str],
    defaults: Mapping[str, str | None],
    *,
    key: Callable[[str], str],
    none_label: str,
    lang: str,
    per_row: int,
) -> dict[str, str | None]:
    """One select box per field for the column that holds it (or none), preset to ``defaults``.

    ``labels``: field -> label shown, in display order; ``key``: field -> widget key. Returns
    field -> the chosen header, or None.
    """
    options = ["", *headers]
    cols = st.columns(per_row)
    picked: dict[str, str | None] = {}
    for i, (field, label) in enumerate(labels.items()):
        guess = defaults.get(field) or ""
        picked[field] = cols[i % per_row].selectbox(
            label, options=options, index=options.index(guess) if guess in options else 0,
            format_func=lambda h: h or none_label, key=relabel(key(field), lang),
        ) or None
    return picked
