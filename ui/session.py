"""This session's settings and the browser URL: the one place session state meets the link.

The first run of a session reads the settings from the URL (plain strings, never unpickled);
after that the session holds them and :func:`sync_url` writes them back, so the address bar is
always the share link of what is on screen.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.settings import QueryIssue, Settings, parse_query

_SETTINGS_KEY = "_tierlens_settings"
_ISSUES_KEY = "_tierlens_url_issues"
_VALID_KEY = "_tierlens_last_valid"


def current_settings() -> Settings:
    """This session's settings; on the first run of a session they come from the URL."""
    if _SETTINGS_KEY not in st.session_state:
        settings, issues = parse_query(st.query_params.to_dict())
        st.session_state[_SETTINGS_KEY] = settings
        st.session_state[_ISSUES_KEY] = issues
    return st.session_state[_SETTINGS_KEY]


def set_settings(settings: Settings) -> None:
    """Replace this session's settings (the URL follows on the next :func:`sync_url`)."""
    st.session_state[_SETTINGS_KEY] = settings


def update_settings(**changes: Any) -> Settings:
    """Change some settings fields; returns the new settings."""
    new = current_settings().replace(**changes)
    set_settings(new)
    return new


def open_dataset(dataset_id: str) -> Settings:
    """Switch this session to another data set (with the reset rule of :meth:`Settings.with_dataset`)."""
    new = current_settings().with_dataset(dataset_id)
    set_settings(new)
    return new


def remember_valid(settings: Settings) -> None:
    """Note settings whose tiering could be used: the view kept on screen while an edit cannot."""
    st.session_state[_VALID_KEY] = settings


def last_valid() -> Settings | None:
    """The last settings whose tiering could be used in this session (None before the first)."""
    return st.session_state.get(_VALID_KEY)


def pop_url_issues() -> list[QueryIssue]:
    """Link parameters that were ignored on the first run (returned once)."""
    return st.session_state.pop(_ISSUES_KEY, None) or []


def sync_url(settings: Settings) -> None:
    """Make the browser URL's query string match the settings (plain strings only)."""
    query = settings.to_query()
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)


def leave_pages_directory_mode() -> None:
    """Rerun through app.py when Streamlit ran a page file on its own.

    The product's layout keeps its pages in ``pages/`` next to ``app.py``. Streamlit (1.67) takes
    such a folder as its legacy multipage mode, and the very first request a fresh server process
    gets for a page URL (a shared link right after a restart) runs the page script alone, without
    app.py's navigation and sidebar. The server leaves that mode for good once ``st.navigation``
    has been called; flipping the same flag and rerunning takes the normal path at once. Called
    once, at the top of app.py; ``tests/test_architecture.py`` fails loudly if an upgrade removes
    the flag.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
