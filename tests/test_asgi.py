"""The ASGI application (what daphne/uvicorn serve) answers HTTP with the login page.

No database is needed for these answers (no session cookie yet), so the tests run
without one: pytest-django would refuse any query.
"""

from channels.testing import HttpCommunicator

from ipplan.asgi import application


async def test_the_asgi_app_serves_the_login_page_over_http():
    communicator = HttpCommunicator(
        application, "GET", "/logg-inn/", headers=[(b"host", b"127.0.0.1")]
    )
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 200
    headers = {k.decode().lower(): v.decode() for k, v in response["headers"]}
    assert headers["content-type"].startswith("text/html")
    body = response["body"].decode()
    assert 'name="username"' in body and 'name="password"' in body
    assert 'action="/logg-inn/"' in body


async def test_the_asgi_app_sends_anonymous_visitors_from_a_plan_to_the_login_page():
    communicator = HttpCommunicator(
        application, "GET", "/planer/1/", headers=[(b"host", b"127.0.0.1")]
    )
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 302
    headers = {k.decode().lower(): v.decode() for k, v in response["headers"]}
    assert headers["location"].startswith("/logg-inn/?next=")


def test_a_real_http_server_running_the_asgi_app_serves_the_login_page():
    """The same application behind uvicorn on a local port, fetched over TCP."""
    import socket
    import threading
    import time
    import urllib.request

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            application, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/logg-inn/", timeout=10) as response:
            assert response.status == 200
            body = response.read().decode()
            assert "Content-Security-Policy" in response.headers
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert 'name="username"' in body and 'name="password"' in body


def _frozen_after_loading_the_app(**env: str) -> int:
    """How many objects a fresh process has frozen once it has loaded the ASGI app."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", "import gc, ipplan.asgi; print(gc.get_freeze_count())"],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ipplan.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


def test_a_worker_freezes_what_it_loaded_so_full_collections_skip_it():
    # Django, the apps and their modules: tens of thousands of objects.
    assert _frozen_after_loading_the_app() > 10_000


def test_the_freeze_can_be_turned_off():
    assert _frozen_after_loading_the_app(IPPLAN_GC_FREEZE="0") == 0
