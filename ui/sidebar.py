"""The shared sidebar: language, data, scoring, rules, display, present mode and the share link."""

from __future__ import annotations

import datetime as dt
import math
import os
from typing import Any
from urllib.parse import urlencode, urlsplit

import streamlit as st

from segmentation import columns as C
from segmentation.errors import DataError, RuleError, SettingsError, TierlensError
from segmentation.presets import PRESETS
from segmentation.spec import format_thresholds, parse_thresholds
from ui import cache, session
from ui import view as views
from ui.i18n import LANG_LABELS, fmt_window, t
from ui.layout import error_message, lint_message, md_escape, preset_label, show_error, view_summary
from ui.settings import CURRENCIES, DEMO_ID, MAX_BINS, METHODS, MIN_BINS, NAME_PREFIX, Settings
from ui.tables import cuts_display
from ui.view import View
from ui.widgets import bound, setting_widget

WINDOW_CHOICES = (0, 30, 90, 180, 365, 730)


def _round_edge(x: float) -> float:
    return round(x) if abs(x) >= 10 else round(x, 2)


def _prefill_thresholds(view: View) -> str:
    """Cut points of the current scoring as a thresholds string (starting point for editing)."""
    try:
        cuts = view.cuts
    except TierlensError:
        return ""
    edges = {axis: [_round_edge(e) for e in values] for axis, values in cuts.edges.items()}
    if any(math.isinf(e) for values in edges.values() for e in values):
        return ""
    return format_thresholds(edges)


def render_sidebar(view: View) -> None:
    """The shared sidebar: language, data, scoring, rules, present mode and the share link."""
    lang = view.lang
    s = view.settings
    with st.sidebar:
        setting_widget(
            "lang", st.segmented_control, t("sb_language", lang), options=list(LANG_LABELS),
            format_func=LANG_LABELS.get, required=True,
        )
        if not s.present:
            _data_controls(view)
            _scoring_controls(view)
            _rules_controls(view)
            with st.expander(t("sb_display", lang)):
                setting_widget(
                    "currency", st.selectbox, t("sb_currency", lang), options=["", *CURRENCIES],
                    format_func=lambda c: c or t("sb_currency_auto", lang), per_language=True,
                )
        else:
            st.caption(view_summary(view))
        st.divider()
        setting_widget("present", st.toggle, t("sb_present", lang))
        share_link(views.shown().settings)


def _data_controls(view: View) -> None:
    lang = view.lang
    try:
        saved = cache.saved_datasets()
        names = dict(saved.select("id", "name").iter_rows())
    except DataError as exc:
        st.warning(error_message(exc, lang))
        names = {}
    options = [DEMO_ID, *names]
    # A link to a named data set keeps following its newest version until another one is picked.
    if view.dataset_ref.startswith(NAME_PREFIX):
        options.append(view.dataset_ref)
        names[view.dataset_ref] = t("sb_named_newest", lang, name=view.dataset_ref[len(NAME_PREFIX):])
    setting_widget(
        "dataset", st.selectbox, t("sb_data", lang), options=options,
        format_func=lambda i: t("sb_demo", lang) if i == DEMO_ID else names.get(i, i), then=lambda s: s.with_dataset(s.dataset),
        per_language=True,
    )
    try:
        first, _last = view.dates
    except TierlensError as exc:
        show_error(exc, lang)
        return
    default = view.default_as_of
    lo, hi = first + dt.timedelta(days=1), default

    def encode_as_of(value: str) -> dt.date:
        day = dt.date.fromisoformat(value) if value else default
        return min(max(day, lo), hi)

    def decode_as_of(day: dt.date | None) -> str:
        return "" if day is None or day == default else day.isoformat()

    # A customer file describes its customers at its own dates, already summed up per customer.
    tables = len(view.table_dates)
    as_of_help = t("sb_as_of_help", lang) if not view.customer_level else t("sb_as_of_customers_many", lang, n=tables)
    setting_widget(
        "as_of", st.date_input, t("sb_as_of", lang), encode=encode_as_of, decode=decode_as_of,
        min_value=lo, max_value=hi, help=as_of_help, format="YYYY-MM-DD", depends_on=view.dataset,
        disabled=view.customer_level and tables < 2,
    )
    if view.customer_level and tables < 2:
        st.caption(t("sb_as_of_customers_one", lang, date=view.as_of))
    window_options = list(WINDOW_CHOICES)
    if view.settings.window_days not in window_options:
        window_options.append(view.settings.window_days)
    setting_widget(
        "window_days", st.selectbox, t("sb_window", lang), options=window_options,
        format_func=lambda d: fmt_window(d, lang), per_language=True, disabled=view.customer_level,
    )
    if view.customer_level:
        st.caption(t("sb_window_customers", lang))
    setting_widget(
        "preset", st.selectbox, t("sb_preset", lang), options=list(PRESETS),
        format_func=lambda p: preset_label(PRESETS.get(p), lang), then=lambda s: s.with_preset(s.preset),
        per_language=True, help=view.preset.description(lang),
    )


def _scoring_controls(view: View) -> None:
    lang = view.lang
    with st.expander(t("sb_scoring", lang), expanded=False):

        def commit_method(value: str) -> None:
            now = views.current()
            changes: dict[str, Any] = {"method": value}
            if value == "thresholds" and not now.thresholds:
                changes["thresholds"] = _prefill_thresholds(now)
            session.update_settings(**changes)

        bound(f"_w_method_{lang}", view.method, st.selectbox, t("sb_method", lang), encode=lambda v: v,
              commit=commit_method, options=list(METHODS), format_func=lambda m: t(f"method_{m}", lang))
        fixed = view.method in ("mean", "median")
        bound(
            "_w_bins", (view.bins, fixed), st.slider, t("sb_bins", lang), encode=lambda v: v[0],
            commit=lambda v: session.update_settings(bins=int(v)), min_value=MIN_BINS, max_value=MAX_BINS,
            disabled=fixed, help=t("sb_bins_fixed", lang) if fixed else None,
        )
        if view.method == "thresholds":
            _threshold_inputs(view)
        if view.scoring_conflict:
            st.warning(md_escape(view.scoring_conflict), icon=":material/warning:")
            st.button(t("sb_preset_scoring", lang), key="_preset_scoring", type="tertiary", icon=":material/undo:",
                      on_click=session.update_settings, kwargs={"bins": 0, "method": "", "thresholds": ""})
        st.markdown(f"**{t('sb_cuts', lang)}**")
        try:
            # A static table wraps long ranges ("¥1,061 – <¥2,000") where a data grid would clip them.
            st.table(cuts_display(view.cuts, lang, view.currency), hide_index=True)
        except TierlensError as exc:
            st.error(error_message(exc, lang))


def _threshold_inputs(view: View) -> None:
    lang = view.lang
    try:
        current = view.spec.thresholds_map or {}
    except TierlensError:
        # Cut points that do not fit the bins: keep what was typed in the boxes, the error
        # below them says what to change.
        try:
            current = parse_thresholds(view.thresholds)
        except SettingsError:
            current = {}
    st.caption(t("sb_thr_help", lang))
    axes = (("R", C.RECENCY, "sb_thr_r"), ("F", C.FREQUENCY, "sb_thr_f"), ("M", C.MONETARY, "sb_thr_m"))

    def commit(_value: str) -> None:
        parts = []
        for letter, _axis, _label in axes:
            parts.append(f"{letter}:" + st.session_state.get(f"_w_thr_{letter}", ""))
        try:
            text = format_thresholds(parse_thresholds(";".join(parts)))
        except SettingsError:
            st.session_state["_thr_error"] = True
            return
        st.session_state["_thr_error"] = False
        session.update_settings(thresholds=text)

    for letter, axis, label in axes:
        values = current.get(axis, ())
        bound(
            f"_w_thr_{letter}", view.thresholds, st.text_input, t(label, lang),
            encode=lambda _v, values=values: ", ".join(f"{x:g}" for x in values), commit=commit,
        )
    if st.session_state.get("_thr_error"):
        st.error(t("sb_thr_invalid", lang))


def _rules_controls(view: View) -> None:
    lang = view.lang
    st.markdown(f"**{t('sb_rules', lang)}**")
    preset_text = view.preset_rules

    def commit(text: str) -> None:
        now = views.current()
        same = (text or "").strip() == now.preset_rules.strip()
        session.update_settings(rules="" if same else (text or ""))

    bound(
        "_w_rules", (view.rules, lang, view.settings.preset), st.text_area, t("sb_rules", lang),
        encode=lambda v: v[0], commit=commit, height=220, help=t("sb_rules_help", lang),
        label_visibility="collapsed",
    )
    if view.settings.rules and preset_text:
        st.button(t("sb_rules_reset", lang), on_click=lambda: session.update_settings(rules=""), type="tertiary",
                  icon=":material/undo:")
    try:
        ruleset = view.spec.ruleset
    except RuleError as exc:
        st.error(error_message(exc, lang), icon=":material/error:")
        return
    if ruleset.has_else or not ruleset.rules:
        st.caption(t("sb_rules_ok", lang, n=len(ruleset.names)))
    else:
        # Without an "else" rule the parser adds a catch-all tier; it is not one the user wrote.
        st.caption(t("sb_rules_ok_open", lang, n=len(ruleset.rules), name=md_escape(ruleset.names[-1])))
    _value_order(view)
    try:
        issues = view.lint
    except TierlensError:
        return
    for issue in issues:
        st.warning(lint_message(issue, lang), icon=":material/warning:")


def _value_order(view: View) -> None:
    """The tiers' value order, best first: what upgrades, downgrades and chart order follow."""
    lang = view.lang
    order = view.spec.tier_order
    if view.settings.order:
        note = t("sb_order_custom", lang)
    elif view.settings.rules:
        note = t("sb_order_rules", lang)
    else:
        note = view.preset.value_reason(lang)

    def commit(text: str) -> None:
        names = tuple(line.strip() for line in (text or "").splitlines() if line.strip())
        now = views.current()
        default = () if now.settings.rules else now.preset.value_order(now.lang)
        session.update_settings(order=() if names in ((), default) else names)

    with st.expander(t("sb_order", lang)):
        bound("_w_order", (order, lang), st.text_area, t("sb_order", lang), encode=lambda v: "\n".join(v[0]),
              commit=commit, height=34 * min(len(order), 8) + 20, help=t("sb_order_help", lang),
              label_visibility="collapsed")
        st.caption(md_escape(note))
        unknown = [n for n in view.settings.order if n not in view.spec.ruleset.names]
        if unknown:
            st.warning(t("sb_order_unknown", lang, names=md_escape(", ".join(unknown))), icon=":material/warning:")


PUBLIC_URL_ENV = "TIERLENS_PUBLIC_URL"
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "::1", "")


def public_page_url(page_url: str, public_url: str = "", base_path: str = "") -> str:
    """The page's address as others reach it: ``public_url`` (a deployment's public address,
    e.g. ``https://tiers.example.com/app``) in place of the address this browser used.

    ``base_path`` is Streamlit's ``server.baseUrlPath``; the public address already ends with it.

    >>> public_page_url("http://localhost:8501/app/migration", "https://t.example.com/app", "app")
    'https://t.example.com/app/migration'
    >>> public_page_url("http://localhost:8501/migration")
    'http://localhost:8501/migration'
    """
    if not public_url:
        return page_url
    path = urlsplit(page_url).path.lstrip("/")
    base = base_path.strip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):].lstrip("/")
    return public_url.rstrip("/") + ("/" + path if path else "/")


def only_this_computer(url: str) -> bool:
    """Whether a link points at this computer (localhost), so nobody else can open it."""
    return (urlsplit(url).hostname or "") in _LOCAL_HOSTS


def share_url(settings: Settings, base: str | None = None) -> str:
    """The link that reproduces this view: page URL plus the settings query string.

    The page URL is the deployment's public address when one is set (env ``TIERLENS_PUBLIC_URL``),
    else the address this browser used.
    """
    query = urlencode(settings.to_query())
    if base is None:
        base = public_page_url(st.context.url or "", os.environ.get(PUBLIC_URL_ENV, "").strip(),
                               str(st.get_option("server.baseUrlPath") or ""))
    return f"{base}?{query}" if query else base


def share_link(settings: Settings) -> None:
    lang = settings.lang
    st.markdown(f"**{t('sb_share', lang)}**", help=t("sb_share_help", lang))
    url = share_url(settings)
    st.code(url, language=None, wrap_lines=True)
    if only_this_computer(url):
        st.warning(t("sb_share_local", lang, env=PUBLIC_URL_ENV), icon=":material/public_off:")
