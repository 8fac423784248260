"""Page frame: the header every page starts with, and the one place core errors become UI.

Every page begins with :func:`page_start`, which leaves Streamlit's legacy pages-directory
mode when a fresh server was asked for a page URL first (see
:func:`ui.session.leave_pages_directory_mode`), builds the run's :class:`~ui.view.View` and draws
the header that says which data set, date, window and preset the page shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from segmentation.errors import DataError, RuleError, SettingsError, TierlensError
from segmentation.ingest import reason_text
from segmentation.presets import PRESETS, Preset
from ui import cache, session
from ui import view as views
from ui.i18n import TEXT, column_label, fmt_date, fmt_window, t
from ui.settings import DEMO_ID, Settings
from ui.view import View

_T = TypeVar("_T")

# Phones (and touch screens) get the first screen for numbers and the first chart.
# Streamlit has no size options for metrics, titles or static tables, so this one style sheet
# sets them; it only touches containers keyed "kpis..." (rows of metrics), the sidebar's
# cut-point table and Plotly's toolbar, which covers chart titles on a touch screen (a tap
# shows it, and it stays over the title).
PHONE_CSS = """<style>
@media (max-width: 640px) {
  h1 { font-size: 1.75rem !important; padding: 0.25rem 0 0.5rem !important; }
  [class*="st-key-kpis"] [data-testid="stColumn"] { min-width: 0 !important; }
  [class*="st-key-kpis"] [data-testid="stHorizontalBlock"] { gap: 0.4rem !important; }
  [class*="st-key-kpis"] [data-testid="stMetric"] { padding: 0.35rem 0.25rem !important; min-height: 0 !important; }
  /* The bordered box's own inner padding (15 px a side) left a 390 px phone ~45 px per label,
     which broke words mid-way ("Custom/ers"). */
  [class*="st-key-kpis"] [data-testid="stMetric"] > div { padding: 0.3rem 0.3rem !important; }
  [class*="st-key-kpis"] [data-testid="stMetricLabel"] p { overflow-wrap: normal !important; word-break: normal !important; }
  [class*="st-key-kpis"] [data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"],
  [class*="st-key-kpis"] [data-testid="stMetricLabel"] p { white-space: normal !important; line-height: 1.25 !important; }
  [class*="st-key-kpis"] [data-testid="stMetricValue"] { font-size: 1.2rem !important; }
  [class*="st-key-kpis"] [data-testid="stMetricLabel"] p { font-size: 0.78rem !important; }
}
/* The sidebar's cut-point table: every range readable in a narrow column (R and F ranges
   and headers on one line; money ranges may wrap at their spaces). */
[data-testid="stSidebar"] [data-testid="stTable"] th,
[data-testid="stSidebar"] [data-testid="stTable"] td { padding: 0.3rem 0.45rem !important; }
[data-testid="stSidebar"] [data-testid="stTable"] th *,
[data-testid="stSidebar"] [data-testid="stTable"] td * { font-size: 0.82rem !important; }
[data-testid="stSidebar"] [data-testid="stTable"] th *,
[data-testid="stSidebar"] [data-testid="stTable"] td:not(:last-child) * { white-space: nowrap !important; }
@media (hover: none), (max-width: 640px) {
  .modebar-container { display: none !important; }
}
</style>"""


def page_start(
    title_key: str, caption_key: str | None = None, *, over_time: bool = False, customers_caption_key: str | None = None,
) -> View:
    """Start a page: leave the legacy pages mode if needed, build the view, draw the header.

    ``over_time``: the page tiers customers at past dates, so rules on P_ALIVE or CLV get a line
    saying how those are scored there. ``customers_caption_key``: the explanation to show
    instead of ``caption_key`` on a customer-level data set, where the page shows less.
    """
    session.leave_pages_directory_mode()
    view = views.shown()
    st.html(PHONE_CSS)
    if customers_caption_key and view.customer_level:
        caption_key = customers_caption_key
    page_header(title_key, caption_key, view, over_time=over_time)
    return view


def page_header(title_key: str, caption_key: str | None, view: View, *, over_time: bool = False) -> None:
    """Page title, a one-line explanation and the data context (data set, date, window, preset)."""
    st.title(t(title_key, view.lang))
    if view.stale:
        st.warning(t("stale_banner", view.lang), icon=":material/update_disabled:")
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
    """The user-facing sentence for a core error, in ``lang`` (rule errors with their position).

    Errors with a known ``code`` are worded from ``text.json`` (``err_<code>``) with their
    params, so no internal name (``recency_days``) or English reaches a Chinese page; a rule or
    settings error without one gets a general sentence in Chinese and the core's (English)
    sentence in English. Escaped for st.markdown-based elements: messages quote user text.
    """
    detail = _localised(exc, lang)
    if isinstance(exc, RuleError) and getattr(exc, "line", 0):
        return t("sb_rules_error", lang, line=exc.line, column=exc.column, detail=md_escape(detail))
    return md_escape(detail)


def error_text(exc: TierlensError, lang: str) -> str:
    """:func:`error_message` as plain text (not escaped), for HTML and other non-Markdown output."""
    return _localised(exc, lang)


# Periods as the core names them, and their codes in text.json (tm_period_<code>).
_PERIOD_CODES = {"week": "W", "month": "M", "quarter": "Q"}


def error_params(params: dict[str, Any], lang: str) -> dict[str, Any]:
    """An error's params ready for its sentence in ``lang``: core names become labels.

    Column and field names (``recency_days``, ``customer_id``) become their on-screen labels, a
    drop reason its words, a side ("left"/"right") and a period their word, ``where`` (a column
    or "") a bracketed note, and a pair ``x_en``/``x_zh`` the one value ``x`` in ``lang``.
    """
    out: dict[str, Any] = {}
    for k, v in params.items():
        if k in ("axis", "field", "other_field"):
            v = column_label(str(v), lang)
        elif k == "fields":
            v = ("、" if lang == "zh" else ", ").join(column_label(str(f), lang) for f in v)
        elif k == "reason":
            v = reason_text(str(v), lang)
        elif k == "side":
            v = t(f"err_side_{v}", lang)
        elif k == "period" and v in _PERIOD_CODES:
            v = t(f"tm_period_{_PERIOD_CODES[v]}", lang).lower()
        elif k == "where":
            v = t("err_where_column", lang, column=v) if v else ""
        out[k] = v
    for k in list(out):
        if k.endswith(("_en", "_zh")):
            value = out.pop(k)
            if k.endswith(f"_{lang}"):
                out[k[:-3]] = value
    return out


def _localised(exc: TierlensError, lang: str) -> str:
    code = getattr(exc, "code", "")
    key = f"err_{code}"
    if code and key in TEXT:
        try:
            return t(key, lang, **error_params(exc.params, lang))
        except (KeyError, IndexError):
            pass  # a param the text does not have: fall through to the general wording
    if lang == "en":
        return getattr(exc, "detail", str(exc))
    if isinstance(exc, RuleError):
        return t("err_rule_general", lang)
    if isinstance(exc, SettingsError):
        return t("err_settings_general", lang)
    # An error without a sentence of its own: say so in the page's language, with the detail.
    return t("err_data_general", lang, detail=getattr(exc, "detail", str(exc)))


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
    # No lookback window applies to a customer file's own table.
    window = 0 if view.customer_level else view.settings.window_days
    return t(
        "sb_summary", lang, dataset=dataset_label(view), as_of=as_of,
        window=fmt_window(window, lang), preset=preset_label(view.preset, lang),
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
    """Replace a preset id the app does not know; returns messages to show.

    A data set id the store does not know is left as it is: :func:`dataset_missing` tells the
    app to show :func:`show_missing_dataset` instead of any page, because showing other data under
    a shared link would look like the sender's numbers.
    """
    lang = settings.lang
    notes: list[str] = []
    if settings.preset not in PRESETS:
        notes.append(t("unknown_preset", lang, value=md_escape(settings.preset)))
        settings = settings.replace(preset=Settings().preset)
    return settings, notes


def dataset_missing(settings: Settings) -> bool:
    """Whether the settings name a stored data set that does not exist (deleted, mistyped id)."""
    if settings.dataset == DEMO_ID:
        return False
    try:
        return not cache.resolve_dataset(settings.dataset)
    except DataError:
        return True


def show_missing_dataset(settings: Settings) -> None:
    """The page a link to a missing data set opens: what happened and what to do, no numbers."""
    lang = settings.lang
    st.title(t("missing_title", lang))
    st.error(t("missing_body", lang, value=md_escape(settings.dataset)), icon=":material/link_off:")
    st.markdown(t("missing_todo", lang))

    if st.button(t("missing_open_list", lang), icon=":material/database:", type="primary", key="missing_open_list"):
        session.open_dataset(DEMO_ID)
        st.switch_page("pages/data.py")


def save_controls(save: Callable[[str | None], str], *, name: str, tag: str, checked: Any, lang: str,
                  prefix: str = "") -> None:
    """Save a checked load and offer a stable name for it (the Data page, either kind of file).

    The load becomes the view's data at once, saved under its file name, so "upload, then look
    at the Overview" shows this file, never the demo; once per load and choice of options, so
    opening another data set afterwards is not undone by the next rerun. A stable name lets a
    scheduled refresh replace the data behind a shared link later. ``save(dataset)`` stores the
    load (``dataset``: the stable name, or None) and returns its id; ``prefix`` keeps the
    widget keys of the two kinds of file apart.
    """
    if st.session_state.get("_auto_saved") != checked:
        try:
            with st.status(t("da_stage_saving", lang)) as status:
                saved_id = save(None)
                status.update(state="complete")
        except DataError as exc:
            st.error(error_message(exc, lang), icon=":material/error:")
            return
        st.session_state["_auto_saved"] = checked
        st.session_state["_auto_saved_id"] = saved_id
        st.session_state["_saved_name"] = name
        st.rerun()
    if st.button(t("da_go_overview", lang), type="primary", icon=":material/dashboard:", key=f"{prefix}go_overview"):
        st.switch_page("pages/overview.py")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        stable = st.text_input(t("da_dataset_name", lang), key=f"{prefix}dataset_{tag}", max_chars=200,
                               help=t("da_dataset_name_help", lang), width=320)
        if st.button(t("da_save_named", lang), icon=":material/bookmark_add:", key=f"{prefix}save_named",
                     disabled=not stable.strip()):
            try:
                save(stable.strip())
            except DataError as exc:
                st.error(error_message(exc, lang), icon=":material/error:")
            else:
                st.session_state["_saved_name"] = stable.strip()
                st.rerun()


def with_progress(compute: Callable[..., _T], *, remembered: bool, label: Callable[[int, int], str]) -> _T:
    """``compute(progress)`` under a progress bar labelled ``label(done, total)``, removed when
    done; a remembered result is returned without a bar (it would only flash)."""
    if remembered:
        return compute()
    bar = st.progress(0.0)
    try:
        return compute(lambda done, total: bar.progress(done / total if total else 1.0, text=label(done, total)))
    finally:
        bar.empty()
