"""Optional sign-in: open when unconfigured, closed to everyone not on the allow-list."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui.auth import is_allowed


@pytest.mark.parametrize(
    "email, emails, domains, expected",
    [
        ("ceo@shop.example", ["ceo@shop.example"], [], True),
        ("CEO@Shop.Example", ["ceo@shop.example"], [], True),
        ("ana@shop.example", [], ["shop.example"], True),
        ("ana@shop.example", [], ["@shop.example"], True),
        ("eve@evilshop.example", [], ["shop.example"], False),
        ("eve@shop.example.evil", [], ["shop.example"], False),
        ("ana@shop.example", [], [], False),  # sign-in on, no allow-list: nobody
        (None, ["x@y.z"], ["y.z"], False),
        ("not-an-email", [], ["not-an-email"], False),
    ],
)
def test_allow_list(email, emails, domains, expected):
    assert is_allowed(email, emails, domains) is expected


def test_unconfigured_app_runs_open():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    assert not at.exception
    assert at.metric, "the overview renders without any sign-in"


def test_configured_app_asks_to_sign_in_and_shows_no_data():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "id",
        "client_secret": "secret",
        "server_metadata_url": "https://id.example/.well-known/openid-configuration",
    }
    at.secrets["access"] = {"allowed_domains": ["shop.example"]}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["登录"]
    assert not at.metric and not at.dataframe, "no numbers before sign-in"
