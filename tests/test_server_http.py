"""The running server enforces the project's Streamlit configuration over plain HTTP.

Starts ``streamlit run <app>`` from the project root (so ``.streamlit/config.toml`` applies)
with a 1 MB upload limit, opens a real session over the WebSocket like a browser does, then
checks the health route and that uploads need the XSRF token and respect the size limit.

The target scripts are the probe app in tests/apps and, once it exists, the real app.py; set
``TIERLENS_HTTP_APP`` to a script path (relative to the project root) to test only that one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

requests = pytest.importorskip("requests", reason="requests ships with streamlit")
pytest.importorskip("streamlit", reason="streamlit is not installed")
ws_client = pytest.importorskip("websockets.sync.client", reason="websockets ships with streamlit")

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
XSRF_COOKIE = "_streamlit_xsrf"
UPLOAD_LIMIT_MB = 1


def target_apps() -> list[str]:
    chosen = os.environ.get("TIERLENS_HTTP_APP")
    if chosen:
        return [chosen]
    apps = ["tests/apps/upload_probe.py"]
    if (ROOT / "app.py").exists():
        apps.append("app.py")
    return apps


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base: str
    ws: str
    process: subprocess.Popen


@pytest.fixture(scope="module", params=target_apps())
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    # Settings must come from the project's config.toml, not from the caller's environment.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env = {
        **inherited,
        # The app must not touch the real database, nor fight another instance for its lock.
        "TIERLENS_DB": str(tmp_path_factory.mktemp("db") / "store"),
        "PYTHONPATH": str(ROOT),
    }
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                request.param,
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--server.maxUploadSize",
                str(UPLOAD_LIMIT_MB),
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"streamlit exited early:\n{log.read_text(errors='replace')}")
            try:
                if requests.get(f"{base}/_stcore/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not become healthy:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield Server(base=base, ws=f"ws://127.0.0.1:{port}/_stcore/stream", process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class Session:
    id: str
    xsrf: str


@pytest.fixture
def session(server: Server) -> Iterator[Session]:
    """A live session, opened the way the browser opens one."""
    xsrf = requests.get(f"{server.base}/_stcore/health", timeout=5).cookies[XSRF_COOKIE]
    with ws_client.connect(
        server.ws,
        subprotocols=["streamlit", xsrf],
        additional_headers={"Cookie": f"{XSRF_COOKIE}={xsrf}"},
        open_timeout=10,
        max_size=None,
    ) as ws:
        back = BackMsg()
        back.rerun_script.query_string = ""
        back.rerun_script.page_script_hash = ""
        ws.send(back.SerializeToString())
        deadline = time.monotonic() + 20
        session_id = ""
        while not session_id:
            left = deadline - time.monotonic()
            assert left > 0, "the server never announced a session"
            msg = ForwardMsg()
            msg.ParseFromString(ws.recv(timeout=left))
            if msg.WhichOneof("type") == "new_session":
                session_id = msg.new_session.initialize.session_id
        yield Session(id=session_id, xsrf=xsrf)


def put_file(server: Server, session: Session, data: bytes, *, token: str | None, cookie: str | None):
    headers = {"X-Xsrftoken": token} if token is not None else {}
    cookies = {XSRF_COOKIE: cookie} if cookie is not None else {}
    return requests.put(
        f"{server.base}/_stcore/upload_file/{session.id}/{uuid.uuid4().hex}",
        files={"file": ("orders.csv", data, "text/csv")},
        headers=headers,
        cookies=cookies,
        timeout=30,
    )


def test_health_route_answers_and_sets_the_xsrf_cookie(server: Server) -> None:
    reply = requests.get(f"{server.base}/_stcore/health", timeout=5)
    assert (reply.status_code, reply.text) == (200, "ok")
    assert reply.cookies[XSRF_COOKIE].startswith("2|")


def test_upload_within_limit_with_token_is_accepted(server: Server, session: Session) -> None:
    reply = put_file(
        server, session, b"customer_id,amount\n007,12.5\n", token=session.xsrf, cookie=session.xsrf
    )
    assert reply.status_code == 204


def test_upload_without_xsrf_token_is_refused(server: Server, session: Session) -> None:
    reply = put_file(server, session, b"customer_id,amount\n007,12.5\n", token=None, cookie=None)
    assert reply.status_code == 403


def test_upload_with_cookie_but_no_header_is_refused(server: Server, session: Session) -> None:
    reply = put_file(server, session, b"customer_id,amount\n007,12.5\n", token=None, cookie=session.xsrf)
    assert reply.status_code == 403


def test_upload_with_a_token_from_another_browser_is_refused(server: Server, session: Session) -> None:
    other = requests.get(f"{server.base}/_stcore/health", timeout=5).cookies[XSRF_COOKIE]
    reply = put_file(server, session, b"customer_id,amount\n007,12.5\n", token=other, cookie=session.xsrf)
    assert reply.status_code == 403


def test_oversized_upload_is_refused(server: Server, session: Session) -> None:
    data = b"x" * (UPLOAD_LIMIT_MB * 1024 * 1024 + 4096)
    reply = put_file(server, session, data, token=session.xsrf, cookie=session.xsrf)
    assert reply.status_code == 413


def test_upload_to_an_unknown_session_is_refused(server: Server, session: Session) -> None:
    ghost = Session(id=str(uuid.uuid4()), xsrf=session.xsrf)
    reply = put_file(
        server, ghost, b"customer_id,amount\n007,12.5\n", token=session.xsrf, cookie=session.xsrf
    )
    assert reply.status_code == 400


def test_project_config_hardens_the_server() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["maxUploadSize"] == 200
    assert config["server"]["headless"] is True
    assert config["client"] == {"showErrorDetails": "none", "toolbarMode": "minimal"}
    assert config["browser"] == {"gatherUsageStats": False}
