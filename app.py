"""Tierlens: the entry point. Page config, navigation, the shared sidebar, URL <-> settings.

Run with ``streamlit run app.py``. Each page under ``pages/`` is a plain script that starts with
``ui.layout.page_start`` (its view of the settings), calls the core through ``ui.cache`` and
renders; core errors from any page are caught here, at one boundary, and shown as a sentence
saying what to do.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from segmentation.errors import TierlensError
from ui import auth, layout, session, sidebar
from ui import view as views
from ui.i18n import t

HERE = Path(__file__).parent

# (section key, [(file, title key, icon, default)]).
PAGES = (
    ("nav_group_tiers", (
        ("pages/overview.py", "nav_overview", ":material/dashboard:", True),
        ("pages/customer.py", "nav_customer", ":material/person_search:", False),
    )),
    ("nav_group_change", (
        ("pages/migration.py", "nav_migration", ":material/swap_vert:", False),
        ("pages/trends.py", "nav_trends", ":material/trending_up:", False),
    )),
    ("nav_group_act", (
        ("pages/clv.py", "nav_clv", ":material/savings:", False),
        ("pages/strategy.py", "nav_strategy", ":material/campaign:", False),
        ("pages/backtest.py", "nav_backtest", ":material/fact_check:", False),
        ("pages/export.py", "nav_export", ":material/download:", False),
    )),
    ("nav_group_data", (
        ("pages/data.py", "nav_data", ":material/database:", False),
    )),
)


def navigation(lang: str) -> st.navigation:
    """The page menu. The default page lives at "/"; its own name (e.g. /overview) is kept
    as a hidden alias, so a typed or older link to it opens the page instead of "not found"."""
    sections = {}
    aliases = []
    for section, pages in PAGES:
        entries = []
        for path, title, icon, default in pages:
            stem = Path(path).stem
            # The default page's internal path must differ from its alias's (both hash to a page id).
            entries.append(st.Page(HERE / path, title=t(title, lang), icon=icon, default=default,
                                   url_path=f"{stem}-home" if default else stem))
            if default:
                aliases.append(st.Page(HERE / path, title=t(title, lang), icon=icon, url_path=stem,
                                       visibility="hidden"))
        sections[t(section, lang)] = entries
    sections[next(iter(sections))] += aliases
    return st.navigation(sections)


def main() -> None:
    st.set_page_config(page_title="Tierlens", page_icon=":material/layers:", layout="wide")
    settings = session.current_settings()
    checked, notes = layout.check_settings(settings)
    if checked != settings:
        session.set_settings(checked)
    for issue in session.pop_url_issues():
        notes.append(t("url_issue", checked.lang, param=issue.param, value=layout.md_escape(issue.value)))
    for note in notes:
        st.toast(note, icon=":material/info:")
    # The link carries the last view that can be shown, never a rule typo or bad thresholds.
    session.sync_url(views.shown().settings)
    auth.require_sign_in(checked.lang)

    page = navigation(checked.lang)
    if layout.dataset_missing(checked):
        # Never another data set in its place: a shared link would pass it off as the sender's.
        layout.show_missing_dataset(checked)
        return
    view = views.current()
    try:
        sidebar.render_sidebar(view)
    except TierlensError as exc:
        layout.show_error(exc, view.lang)
    try:
        page.run()
    except TierlensError as exc:
        layout.show_error(exc, view.lang)
    # A page may change settings during its run; keep the link in step.
    session.sync_url(views.shown().settings)


main()
