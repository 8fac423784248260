"""Page frame: the header every page starts with, and the one place core errors become UI.

Every page begins with :func:`page_start`, which leaves Streamlit's legacy pages-directory
mode when a fresh server was asked for a page URL first (see
:func:`ui.session.leave_pages_directory_mode`), builds the run's :class:`~ui.view.View` and draws
the header that says which data set, date, window and preset the page shows.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from segmentation.errors import DataError, RuleError, TierlensError
from segmentation.presets import PRESETS, Preset
from ui import cache, session
from ui import view as views
from ui.i18n import fmt_date, fmt_window, t
from ui.settings import DEMO_ID, Settings
from ui.view import View


def page_start(title_key: str, caption_key: str | None = None, *, over_time: bool = False) -> View:
    """Start a page: leave the legacy pages mode if needed, build the view, draw the header.

    ``over_time``: the page tiers customers at past dates, so rules on P_ALIVE or CLV get a line
    saying how those are scored there.
    """
    session.leave_pages_directory_mode()
    view = views.current()
    page_header(title_key, caption_key, view, over_time=over_time)
    return view


def page_header(title_key: str, caption_key: str | None, view: View, *, over_time: bool = False) -> None:
    """Page title, a one-line explanation and the data context (data set, date, window, preset)."""
    st.title(t(title_key, view.lang))
    if caption_key:
        st.caption(t(caption_key, view.lang))
    st.caption(view_summary(view))
    if over_time and _needs_clv(view):
        st.caption(t("clv_rules_over_time", view.lang))


def _needs_clv(view: View) -> bool:
    try:
        return view.spec.needs_clv
    except TierlensError:
        return False  # the sidebar shows the rule error


def error_message(exc: TierlensError, lang: str) -> str:
    """The user-facing sentence for a core error (rule errors get a localised position).

    Escaped for st.markdown-based elements: messages quote user text (rules, names).
    """
    if isinstance(exc, RuleError) and getattr(exc, "line", 0):
        detail = getattr(exc, "detail", str(exc))
        return t("sb_rules_error", lang, line=exc.line, column=exc.column, detail=md_escape(detail))
    return md_escape(str(exc))


def lint_message(issue: Any, lang: str) -> str:
    """A rule linter finding in the UI language, escaped for markdown (it quotes tier names)."""
    return md_escape(issue.message_zh if lang == "zh" else issue.message_en)


def show_error(exc: TierlensError, lang: str) -> None:
    """The one place core errors become UI: a sentence and what to do next."""
    st.error(t("error_prefix", lang) + error_message(exc, lang) + "\n\n" + t("error_hint", lang), icon=":material/error:")


def view_summary(view: View) -> str:
    lang = view.lang
    try:
        as_of = fmt_date(view.as_of_date, lang)
    except (TierlensError, ValueError):
        as_of = view.settings.as_of or "—"
    return t(
        "sb_summary", lang, dataset=dataset_label(view), as_of=as_of,
        window=fmt_window(view.settings.window_days, lang), preset=preset_label(view.preset, lang),
    )


def dataset_label(view: View) -> str:
    """The current data set's display name, escaped for markdown (names come from users)."""
    return t("sb_demo", view.lang) if view.dataset == DEMO_ID else md_escape(view.dataset_name)


def preset_label(preset: Preset | None, lang: str) -> str:
    return "—" if preset is None else preset.name(lang)


def show_lint(view: View) -> None:
    """Rule linter findings, or a line saying there are none."""
    lang = view.lang
    st.subheader(t("lint_title", lang))
    issues = view.lint
    if not issues:
        st.success(t("lint_none", lang), icon=":material/check_circle:")
    for issue in issues:
        st.warning(lint_message(issue, lang), icon=":material/warning:")


_MD_SPECIAL = "\\`*_{}[]()#+-.!|<>$~"


def md_escape(text: str) -> str:
    """Text from data (names, ids) made literal inside st.markdown (no links, emphasis, math)."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))


def check_settings(settings: Settings) -> tuple[Settings, list[str]]:
    """Replace a data set or preset id the app does not know; returns messages to show."""
    lang = settings.lang
    notes: list[str] = []
    if settings.preset not in PRESETS:
        notes.append(t("unknown_preset", lang, value=md_escape(settings.preset)))
        settings = settings.replace(preset=Settings().preset)
    if settings.dataset != DEMO_ID:
        try:
            known = bool(cache.resolve_dataset(settings.dataset))
        except DataError:
            known = False
        if not known:
            notes.append(t("unknown_dataset", lang, value=md_escape(settings.dataset)))
            settings = settings.with_dataset(DEMO_ID)
    return settings, notes
