"""Optional sign-in: OpenID Connect through ``st.login`` plus an allow-list of emails or domains.

Unconfigured (no ``[auth]`` section in ``.streamlit/secrets.toml``), the app runs open, which
is what a marketer running it on a laptop wants. A deployment turns sign-in on with secrets:

    [auth]
    redirect_uri = "https://tierlens.example.com/oauth2callback"
    cookie_secret = "a long random string"
    client_id = "..."
    client_secret = "..."
    server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"

    [access]
    allowed_emails = ["ceo@example.com"]
    allowed_domains = ["example.com"]

With sign-in on and no allow-list, nobody is let in: an open door must be a decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import streamlit as st

from ui.i18n import t


def is_allowed(email: str | None, emails: Iterable[str] = (), domains: Iterable[str] = ()) -> bool:
    """Whether a signed-in email may use the app (case-insensitive, exact domain match).

    Example:
        >>> is_allowed("Ana@Shop.example", domains=["shop.example"])
        True
        >>> is_allowed("eve@evilshop.example", domains=["shop.example"])
        False
    """
    if not email or "@" not in email:
        return False
    address = email.strip().lower()
    domain = address.rsplit("@", 1)[1]
    allowed_emails = {e.strip().lower() for e in emails}
    allowed_domains = {d.strip().lower().lstrip("@") for d in domains}
    return address in allowed_emails or domain in allowed_domains


def _secrets() -> Mapping[str, Any]:
    try:
        return {key: st.secrets[key] for key in ("auth", "access") if key in st.secrets}
    except Exception:  # no secrets file at all: Streamlit raises its own not-found error
        return {}


def auth_configured() -> bool:
    return "auth" in _secrets()


def require_sign_in(lang: str) -> None:
    """Stop the run unless sign-in is off, or the user is signed in and on the allow-list."""
    secrets = _secrets()
    if "auth" not in secrets:
        return
    if not getattr(st.user, "is_logged_in", False):
        st.title("Tierlens")
        st.info(t("auth_sign_in_needed", lang))
        st.button(t("auth_sign_in", lang), on_click=st.login, type="primary")
        st.stop()
    access = secrets.get("access", {})
    email = getattr(st.user, "email", None)
    if not is_allowed(email, access.get("allowed_emails", ()), access.get("allowed_domains", ())):
        st.error(t("auth_not_allowed", lang, email=str(email or "?")))
        st.button(t("auth_sign_out", lang), on_click=st.logout)
        st.stop()
    with st.sidebar:
        st.caption(t("auth_signed_in_as", lang, email=str(email)))
        st.button(t("auth_sign_out", lang), on_click=st.logout, key="auth_sign_out")
