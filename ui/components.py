"""Shared render helpers: the sidebar, page headers, the error boundary and small tables.

Widgets mirror :class:`ui.settings.Settings`, which stays the single source of truth: a bound
widget is (re)initialised from the settings whenever they changed elsewhere (a link, a preset
switch, present mode hiding it), and its ``on_change`` callback writes the new value back
before the script reruns, so every page of that run sees the new settings.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any
from urllib.parse import urlencode

import polars as pl
import streamlit as st

from segmentation import columns as C
from segmentation.errors import DataError, RuleError, TierlensError
from ui import state
from ui.i18n import LANG_LABELS, fmt_date, fmt_int, fmt_money, fmt_num, fmt_pct, fmt_window, t
from ui.settings import CURRENCIES, MAX_BINS, METHODS, MIN_BINS, Settings, format_thresholds, parse_thresholds

WINDOW_CHOICES = (0, 30, 90, 180, 365, 730)
_SRC = "_src"


# --------------------------------------------------------------------------------- binding


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
    which makes the browser redraw its labels.

    Example::

        setting_widget("period", st.segmented_control, "Period", options=["W", "M", "Q"])
    """
    settings = state.current_settings()

    def commit(value: Any) -> None:
        new = state.current_settings().replace(**{field: decode(value)})
        state.set_settings(then(new) if then else new)

    current = (getattr(settings, field), depends_on, settings.lang)
    key = f"_w_{field}_{settings.lang}" if per_language else f"_w_{field}"
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


# --------------------------------------------------------------------------------- boundary


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


def page_header(title_key: str, caption_key: str | None, ctx: state.Context) -> None:
    """Page title, a one-line explanation and the data context (data set, date, window, preset)."""
    st.title(t(title_key, ctx.lang))
    if caption_key:
        st.caption(t(caption_key, ctx.lang))
    st.caption(view_summary(ctx))


def view_summary(ctx: state.Context) -> str:
    lang = ctx.lang
    try:
        as_of = fmt_date(ctx.as_of_date, lang)
    except (TierlensError, ValueError):
        as_of = ctx.settings.as_of or "—"
    return t(
        "sb_summary", lang, dataset=dataset_label(ctx), as_of=as_of,
        window=fmt_window(ctx.settings.window_days, lang), preset=preset_label(ctx.preset, lang),
    )


def dataset_label(ctx: state.Context) -> str:
    """The current data set's display name, escaped for markdown (names come from users)."""
    return t("sb_demo", ctx.lang) if ctx.dataset == state.DEMO_ID else md_escape(ctx.dataset_name)


def preset_label(preset: Any, lang: str) -> str:
    if preset is None:
        return "—"
    return preset.name_zh if lang == "zh" else preset.name_en


# --------------------------------------------------------------------------------- settings checks


def check_settings(settings: Settings) -> tuple[Settings, list[str]]:
    """Replace a data set or preset id the app does not know; returns messages to show."""
    lang = settings.lang
    notes: list[str] = []
    catalogue = state.presets()
    if catalogue and settings.preset not in catalogue:
        notes.append(t("unknown_preset", lang, value=md_escape(settings.preset)))
        settings = settings.replace(preset=Settings().preset)
    if settings.dataset != state.DEMO_ID:
        try:
            known = state.store().exists(settings.dataset)
        except DataError:
            known = False
        if not known:
            notes.append(t("unknown_dataset", lang, value=md_escape(settings.dataset)))
            settings = settings.replace(dataset=state.DEMO_ID, as_of="", customer="", compare=(), tiers=())
    return settings, notes


# --------------------------------------------------------------------------------- sidebar


def _on_preset(new: Settings) -> Settings:
    # A preset brings its own scoring and rules; keep nothing from the previous one.
    return new.replace(bins=0, method="", thresholds="", rules="", tiers=())


def _on_dataset(new: Settings) -> Settings:
    return new.replace(as_of="", customer="", compare=(), tiers=())


def _round_edge(x: float) -> float:
    return round(x) if abs(x) >= 10 else round(x, 2)


def _prefill_thresholds(ctx: state.Context) -> str:
    """Cut points of the current scoring as a thresholds string (starting point for editing)."""
    try:
        cuts = ctx.cuts
    except TierlensError:
        return ""
    edges = {axis: [_round_edge(e) for e in values] for axis, values in cuts.edges.items()}
    if any(math.isinf(e) for values in edges.values() for e in values):
        return ""
    return format_thresholds(edges)


def render_sidebar(ctx: state.Context) -> None:
    """The shared sidebar: language, data, scoring, rules, present mode and the share link."""
    lang = ctx.lang
    s = ctx.settings
    with st.sidebar:
        setting_widget(
            "lang", st.segmented_control, t("sb_language", lang), options=list(LANG_LABELS),
            format_func=LANG_LABELS.get, required=True,
        )
        if not s.present:
            _data_controls(ctx)
            _scoring_controls(ctx)
            _rules_controls(ctx)
            with st.expander(t("sb_display", lang)):
                setting_widget(
                    "currency", st.selectbox, t("sb_currency", lang), options=["", *CURRENCIES],
                    format_func=lambda c: c or t("sb_currency_auto", lang), per_language=True,
                )
        else:
            st.caption(view_summary(ctx))
        st.divider()
        setting_widget("present", st.toggle, t("sb_present", lang))
        share_link(ctx.settings)


def _data_controls(ctx: state.Context) -> None:
    lang = ctx.lang
    try:
        saved = state.saved_datasets()
        names = dict(saved.select("id", "name").iter_rows())
    except DataError as exc:
        st.warning(md_escape(str(exc)))
        names = {}
    options = [state.DEMO_ID, *names]
    setting_widget(
        "dataset", st.selectbox, t("sb_data", lang), options=options,
        format_func=lambda i: t("sb_demo", lang) if i == state.DEMO_ID else names.get(i, i), then=_on_dataset,
        per_language=True,
    )
    try:
        first, _last = ctx.dates
    except TierlensError as exc:
        show_error(exc, lang)
        return
    default = ctx.default_as_of
    lo, hi = first + dt.timedelta(days=1), default

    def encode_as_of(value: str) -> dt.date:
        day = dt.date.fromisoformat(value) if value else default
        return min(max(day, lo), hi)

    def decode_as_of(day: dt.date | None) -> str:
        return "" if day is None or day == default else day.isoformat()

    setting_widget(
        "as_of", st.date_input, t("sb_as_of", lang), encode=encode_as_of, decode=decode_as_of,
        min_value=lo, max_value=hi, help=t("sb_as_of_help", lang), format="YYYY-MM-DD", depends_on=ctx.dataset,
    )
    window_options = list(WINDOW_CHOICES)
    if ctx.settings.window_days not in window_options:
        window_options.append(ctx.settings.window_days)
    setting_widget(
        "window_days", st.selectbox, t("sb_window", lang), options=window_options,
        format_func=lambda d: fmt_window(d, lang), per_language=True,
    )
    catalogue = state.presets()
    if catalogue:
        setting_widget(
            "preset", st.selectbox, t("sb_preset", lang), options=list(catalogue),
            format_func=lambda p: preset_label(catalogue.get(p), lang), then=_on_preset, per_language=True,
            help=getattr(ctx.preset, "description_zh" if lang == "zh" else "description_en", None),
        )


def _scoring_controls(ctx: state.Context) -> None:
    lang = ctx.lang
    with st.expander(t("sb_scoring", lang), expanded=False):

        def commit_method(value: str) -> None:
            now = state.get_context()
            changes: dict[str, Any] = {"method": value}
            if value == "thresholds" and not now.thresholds:
                changes["thresholds"] = _prefill_thresholds(now)
            state.update_settings(**changes)

        bound(f"_w_method_{lang}", ctx.method, st.selectbox, t("sb_method", lang), encode=lambda v: v,
              commit=commit_method, options=list(METHODS), format_func=lambda m: t(f"method_{m}", lang))
        fixed = ctx.method in ("mean", "median")
        bound(
            "_w_bins", (ctx.bins, fixed), st.slider, t("sb_bins", lang), encode=lambda v: v[0],
            commit=lambda v: state.update_settings(bins=int(v)), min_value=MIN_BINS, max_value=MAX_BINS,
            disabled=fixed, help=t("sb_bins_fixed", lang) if fixed else None,
        )
        if ctx.method == "thresholds":
            _threshold_inputs(ctx)
        st.markdown(f"**{t('sb_cuts', lang)}**")
        try:
            st.dataframe(cuts_display(ctx.cuts, lang, ctx.currency), hide_index=True, width="stretch")
        except TierlensError as exc:
            st.error(error_message(exc, lang))


def _threshold_inputs(ctx: state.Context) -> None:
    lang = ctx.lang
    try:
        current = parse_thresholds(ctx.thresholds) if ctx.thresholds else {}
    except ValueError:
        current = {}
    st.caption(t("sb_thr_help", lang))
    axes = (("R", C.RECENCY, "sb_thr_r"), ("F", C.FREQUENCY, "sb_thr_f"), ("M", C.MONETARY, "sb_thr_m"))

    def commit(_value: str) -> None:
        parts = []
        for letter, _axis, _label in axes:
            parts.append(f"{letter}:" + st.session_state.get(f"_w_thr_{letter}", ""))
        try:
            text = format_thresholds(parse_thresholds(";".join(parts)))
        except ValueError:
            st.session_state["_thr_error"] = True
            return
        st.session_state["_thr_error"] = False
        state.update_settings(thresholds=text)

    for letter, axis, label in axes:
        values = current.get(axis, ())
        bound(
            f"_w_thr_{letter}", ctx.thresholds, st.text_input, t(label, lang),
            encode=lambda _v, values=values: ", ".join(f"{x:g}" for x in values), commit=commit,
        )
    if st.session_state.get("_thr_error"):
        st.error(t("sb_thr_invalid", lang))


def _rules_controls(ctx: state.Context) -> None:
    lang = ctx.lang
    st.markdown(f"**{t('sb_rules', lang)}**")
    preset_text = ctx.preset_rules

    def commit(text: str) -> None:
        now = state.get_context()
        same = (text or "").strip() == now.preset_rules.strip()
        state.update_settings(rules="" if same else (text or ""))

    bound(
        "_w_rules", (ctx.rules, lang, ctx.settings.preset), st.text_area, t("sb_rules", lang),
        encode=lambda v: v[0], commit=commit, height=220, help=t("sb_rules_help", lang),
        label_visibility="collapsed",
    )
    if ctx.settings.rules and preset_text:
        st.button(t("sb_rules_reset", lang), on_click=lambda: state.update_settings(rules=""), type="tertiary",
                  icon=":material/undo:")
    from segmentation.rules import parse_rules

    try:
        ruleset = parse_rules(ctx.rules, unassigned=ctx.unassigned)
    except RuleError as exc:
        st.error(error_message(exc, lang), icon=":material/error:")
        return
    if ruleset.has_else or not ruleset.rules:
        st.caption(t("sb_rules_ok", lang, n=len(ruleset.names)))
    else:
        # Without an "else" rule the parser adds a catch-all tier; it is not one the user wrote.
        st.caption(t("sb_rules_ok_open", lang, n=len(ruleset.rules), name=md_escape(ruleset.names[-1])))
    try:
        issues = ctx.lint
    except TierlensError:
        return
    for issue in issues:
        st.warning(lint_message(issue, lang), icon=":material/warning:")


def share_url(settings: Settings, base: str | None = None) -> str:
    """The link that reproduces this view: page URL plus the settings query string."""
    query = urlencode(settings.to_query())
    base = base if base is not None else (st.context.url or "")
    return f"{base}?{query}" if query else base


def share_link(settings: Settings) -> None:
    lang = settings.lang
    st.markdown(f"**{t('sb_share', lang)}**", help=t("sb_share_help", lang))
    st.code(share_url(settings), language=None, wrap_lines=True)


# --------------------------------------------------------------------------------- tables


def _range_text(axis: str, lower: float | None, upper: float | None, currency: str, lang: str) -> str:
    """A readable value range for one score: integer ranges for R and F, bounds for M."""
    if axis == C.RECENCY:
        # lower < R <= upper on whole days
        lo = None if lower is None else math.floor(lower) + 1
        hi = None if upper is None else math.floor(upper)
    elif axis == C.FREQUENCY:
        # lower <= F < upper on whole purchases
        lo = None if lower is None else math.ceil(lower)
        hi = None if upper is None else math.ceil(upper) - 1
    else:
        money = lambda x: fmt_money(x, lang, currency)  # noqa: E731
        if lower is None and upper is None:
            return "—"
        if lower is None:
            return f"< {money(upper)}"
        if upper is None:
            return f"≥ {money(lower)}"
        return f"{money(lower)} – <{money(upper)}"
    if lo is None and hi is None:
        return "—"
    if lo is None:
        return f"≤ {fmt_int(hi)}"
    if hi is None:
        return f"≥ {fmt_int(lo)}"
    if hi < lo:
        return "—"
    return fmt_int(lo) if lo == hi else f"{fmt_int(lo)}–{fmt_int(hi)}"


def cuts_display(cuts: Any, lang: str, currency: str) -> pl.DataFrame:
    """Cut points as a compact table: one row per score, a value-range column per axis."""
    table = cuts.table()
    columns: dict[str, list[str]] = {}
    for axis in C.RFM_AXES:
        rows = table.filter(pl.col("axis") == axis).sort("score", descending=True)
        columns[axis] = [
            _range_text(axis, lo, hi, currency, lang) for lo, hi in rows.select("lower", "upper").iter_rows()
        ]
    scores = list(range(cuts.bins, 0, -1))
    return pl.DataFrame({
        t("score", lang): [str(x) for x in scores],
        "R": columns[C.RECENCY],
        "F": columns[C.FREQUENCY],
        "M": columns[C.MONETARY],
    })


def tier_table(summary: pl.DataFrame, lang: str, currency: str, *, compact: bool = False) -> pl.DataFrame:
    """The tier summary with formatted, translated columns for display.

    ``compact`` puts each share next to its count and uses short headers, so the table fits a
    page without scrolling sideways (the full form is for reports).
    """
    if compact:
        return pl.DataFrame({
            t("tier", lang): summary[C.TIER].to_list(),
            t("tt_customers", lang): [
                f"{fmt_int(n)} ({fmt_pct(s)})" for n, s in zip(summary["customers"], summary["customer_share"],
                                                                  strict=True)
            ],
            t("tt_revenue", lang): [
                f"{fmt_money(v, lang, currency, compact=True)} ({fmt_pct(s)})"
                for v, s in zip(summary["revenue"], summary["revenue_share"], strict=True)
            ],
            t("tt_per_customer", lang): [fmt_money(v, lang, currency) for v in summary["avg_monetary"]],
            t("tt_recency", lang): [fmt_num(v, lang, 0) for v in summary["avg_recency"]],
            t("tt_frequency", lang): [fmt_num(v, lang, 1) for v in summary["avg_frequency"]],
        })
    return pl.DataFrame({
        t("tier", lang): summary[C.TIER].to_list(),
        t("customers", lang): [fmt_int(v) for v in summary["customers"]],
        t("customer_share", lang): [fmt_pct(v) for v in summary["customer_share"]],
        t("revenue", lang): [fmt_money(v, lang, currency) for v in summary["revenue"]],
        t("revenue_share", lang): [fmt_pct(v) for v in summary["revenue_share"]],
        t("avg_monetary", lang): [fmt_money(v, lang, currency) for v in summary["avg_monetary"]],
        t("avg_recency", lang): [fmt_num(v, lang, 0) for v in summary["avg_recency"]],
        t("avg_frequency", lang): [fmt_num(v, lang, 1) for v in summary["avg_frequency"]],
    })


def display_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame ready for st.dataframe: dates as YYYY-MM-DD text (not midnight timestamps)."""
    return frame.with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d"))


def table_height(rows: int, *, max_rows: int = 15) -> int:
    """Pixel height that shows ``rows`` rows of st.dataframe without scrolling (up to max_rows)."""
    return 38 + 35 * min(rows, max_rows)


def translated(frame: pl.DataFrame, lang: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Rename core column names to their labels in ``lang`` (for display tables)."""
    from ui.i18n import column_label

    cols = columns or frame.columns
    return frame.select(cols).rename({c: column_label(c, lang) for c in cols})


def show_lint(ctx: state.Context) -> None:
    """Rule linter findings, or a line saying there are none."""
    lang = ctx.lang
    st.subheader(t("lint_title", lang))
    issues = ctx.lint
    if not issues:
        st.success(t("lint_none", lang), icon=":material/check_circle:")
    for issue in issues:
        st.warning(lint_message(issue, lang), icon=":material/warning:")


_MD_SPECIAL = "\\`*_{}[]()#+-.!|<>$~"


def md_escape(text: str) -> str:
    """Text from data (names, ids) made literal inside st.markdown (no links, emphasis, math)."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))
