"""A socket ends with the right to it, across worker processes and without Redis.

tests/live/test_consumer_refusals.py covers, in one process: logout (signal), session
expiry and a deactivated account (timer), membership ended and consent withdrawn
(notification), frames over 256 KiB (4413) and floods (4429). What only real processes
show, and what is here:

* a logout through the logout page on one worker closes that session's sockets on the
  other worker too, within 5 s (and leaves the user's other sessions open);
* ending a membership or withdrawing consent in another process (a form, the API)
  closes the member's sockets on every worker within 5 s;
* a consent that expires (its date passes: no edit, no notification), a session whose
  age runs out and a password change close the sockets within 5 s;
* with Redis dead, so that no notification arrives, logout, membership removal and
  consent withdrawal still close the sockets within 5 s (the periodic check);
* through uvicorn: a frame over 256 KiB gets 4413, one over the server's 1 MiB cap is
  cut off by the server, a flood gets 4429, and other sockets carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.faults import harness, stack
from tests.faults.simclient import SimClient

LIMIT = 5.0  # seconds: the bound for every ending


@pytest.fixture(scope="module")
def lifetime(private_pg, request) -> Iterator[harness.FaultStack]:
    """One stack for the module; each test works on its own plan (index below)."""
    pg, template = private_pg
    if pg.process is None or pg.process.poll() is not None:
        pg.start()
    workdir = Path(tempfile.mkdtemp(prefix="ipplan_fault_lifetime_"))
    fs = harness.FaultStack(pg, template, "socket_lifetime", workdir)
    failed_before = request.session.testsfailed
    try:
        fs.seed(plans=9, editors=3, spare_sessions=1)
        fs.start(workers=2)
        yield fs
    finally:
        if os.environ.get("IPPLAN_FAULT_KEEP_LOGS") or request.session.testsfailed > failed_before:
            harness.keep_logs(fs, "socket_lifetime")
        fs.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _plan(fs: harness.FaultStack, index: int) -> dict[str, Any]:
    return fs.seeded["plans"][index]


def _socket(fs: harness.FaultStack, plan: dict, user: dict, *, worker: int, session: int = 0):
    return SimClient(
        f"{user['username']}-w{worker}-s{session}",
        endpoints=fs.endpoints(),
        prefer=worker,
        plan_id=plan["id"],
        meeting_id=plan["meeting"],
        cookie=user["sessions"][session],
        fields=[],
        seed=worker,
    )


async def _open(fs: harness.FaultStack, *clients: SimClient) -> None:
    for client in clients:
        client.start()
    await harness.wait_connected(list(clients), timeout=30)
    for client in clients:
        assert client.server == fs.workers[client.prefer].ws_base


async def _closed_within(client: SimClient, since: float, code: int) -> float:
    """Seconds from `since` until the server closed the socket with `code`."""
    deadline = since + LIMIT + 5
    while client.final_close is None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert client.final_close == code, (
        client.name,
        client.final_close,
        [(round(t - since, 2), c) for t, c in client.closes],
        dict(client.errors),
    )
    return client.closes[-1][0] - since


async def _still_open(client: SimClient) -> None:
    assert client.connected and client.final_close is None, client.closes
    client.problems.clear()


def _control(fs: harness.FaultStack, *args: str) -> float:
    return stack.control(fs.database_url, *args)["at"]


def http_logout(worker: stack.Worker, session: str) -> float:
    """Log out through the page, as a person does: GET a page for the CSRF token, then
    POST /logg-ut/. Returns the monotonic time of the logout's response."""
    host, port = "127.0.0.1", worker.port
    conn = http.client.HTTPConnection(host, port, timeout=15)
    cookie = f"sessionid={session}"
    conn.request("GET", "/", headers={"Cookie": cookie, "Host": f"{host}:{port}"})
    response = conn.getresponse()
    page = response.read().decode()
    assert response.status == 200, response.status
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith("csrftoken="):
            cookie += "; " + value.split(";")[0]
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token})
    conn.request(
        "POST",
        "/logg-ut/",
        body=body,
        headers={
            "Cookie": cookie,
            "Host": f"{host}:{port}",
            "Origin": f"http://{host}:{port}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 302, response.status
    return time.monotonic()


async def _stop(*clients: SimClient) -> None:
    await asyncio.gather(*(c.stop() for c in clients))


# ------------------------------------------------------------ across processes


async def test_logout_on_one_worker_closes_the_session_on_every_worker(lifetime):
    plan = _plan(lifetime, 0)
    siv = plan["users"][1]
    here = _socket(lifetime, plan, siv, worker=0)
    there = _socket(lifetime, plan, siv, worker=1)
    other_session = _socket(lifetime, plan, siv, worker=1, session=1)
    await _open(lifetime, here, there, other_session)
    try:
        at = await asyncio.to_thread(http_logout, lifetime.workers[0], siv["sessions"][0])
        took = [await _closed_within(c, at, 4401) for c in (here, there)]
        await asyncio.sleep(0.5)
        await _still_open(other_session)
    finally:
        await _stop(here, there, other_session)
    harness.report("lifetime_logout", {"seconds_to_close": [round(t, 2) for t in took]})
    assert max(took) < LIMIT


@pytest.mark.parametrize(
    ("index", "action", "code"),
    [
        (1, "end-membership", 4403),
        (2, "withdraw-consent", 4403),
        (3, "expire-consent", 4403),
        (4, "change-password", 4401),
    ],
)
async def test_an_ended_right_closes_the_sockets_on_every_worker(lifetime, index, action, code):
    plan = _plan(lifetime, index)
    kari, siv = plan["users"][0], plan["users"][1]
    on_0 = _socket(lifetime, plan, siv, worker=0)
    on_1 = _socket(lifetime, plan, siv, worker=1)
    coordinator = _socket(lifetime, plan, kari, worker=1)
    await _open(lifetime, on_0, on_1, coordinator)
    try:
        args = ["--plan", str(plan["id"])]
        if action == "end-membership":
            args += ["--user", str(siv["id"])]
        if action == "change-password":
            args = ["--user", str(siv["id"])]
        at = await asyncio.to_thread(_control, lifetime, action, *args)
        took = [await _closed_within(c, at, code) for c in (on_0, on_1)]
        await _still_open(coordinator)
    finally:
        await _stop(on_0, on_1, coordinator)
    harness.report(f"lifetime_{action}", {"seconds_to_close": [round(t, 2) for t in took]})
    assert max(took) < LIMIT


async def test_an_expired_session_closes_its_sockets_within_5_seconds(lifetime):
    plan = _plan(lifetime, 5)
    siv = plan["users"][2]
    sockets = [_socket(lifetime, plan, siv, worker=w) for w in (0, 1)]
    await _open(lifetime, *sockets)
    try:
        at = await asyncio.to_thread(
            _control, lifetime, "expire-session", "--session", siv["sessions"][0]
        )
        took = [await _closed_within(c, at, 4401) for c in sockets]
    finally:
        await _stop(*sockets)
    harness.report("lifetime_expire-session", {"seconds_to_close": [round(t, 2) for t in took]})
    assert max(took) < LIMIT


async def test_without_redis_every_ending_still_closes_within_5_seconds(lifetime):
    """No notification can travel: the sockets' own periodic check must do it."""
    plans = [_plan(lifetime, i) for i in (6, 7, 8)]
    logout_user, member_user, consent_user = (p["users"][1] for p in plans)
    sockets = {
        "logout": [_socket(lifetime, plans[0], logout_user, worker=w) for w in (0, 1)],
        "end-membership": [_socket(lifetime, plans[1], member_user, worker=w) for w in (0, 1)],
        "withdraw-consent": [_socket(lifetime, plans[2], consent_user, worker=w) for w in (0, 1)],
    }
    everyone = [c for group in sockets.values() for c in group]
    await _open(lifetime, *everyone)
    lifetime.redis.kill()
    took: dict[str, list[float]] = {}
    try:
        at = await asyncio.to_thread(http_logout, lifetime.workers[1], logout_user["sessions"][0])
        took["logout"] = [await _closed_within(c, at, 4401) for c in sockets["logout"]]
        at = await asyncio.to_thread(
            _control,
            lifetime,
            "end-membership",
            "--plan",
            str(plans[1]["id"]),
            "--user",
            str(member_user["id"]),
        )
        took["end-membership"] = [
            await _closed_within(c, at, 4403) for c in sockets["end-membership"]
        ]
        at = await asyncio.to_thread(
            _control, lifetime, "withdraw-consent", "--plan", str(plans[2]["id"])
        )
        took["withdraw-consent"] = [
            await _closed_within(c, at, 4403) for c in sockets["withdraw-consent"]
        ]
    finally:
        lifetime.redis.start()
        await _stop(*everyone)
    harness.report(
        "lifetime_without_redis",
        {k: [round(t, 2) for t in v] for k, v in took.items()},
    )
    assert max(t for v in took.values() for t in v) < LIMIT


# --------------------------------------------------------------- frame limits


async def _raw(fs: harness.FaultStack, plan: dict, user: dict, worker: int = 0) -> Any:
    """A bare socket (retrying the handshake a few times, as the browser would: just
    after a Redis restart one can fail while the worker's pub/sub connection resumes)."""
    base = fs.workers[worker].ws_base
    for attempt in range(10):
        try:
            ws = await connect(
                f"{base}/ws/plans/{plan['id']}/",
                origin=base.replace("ws://", "http://"),
                additional_headers={"Cookie": f"sessionid={user['sessions'][0]}"},
                max_size=2**23,
                open_timeout=10,
            )
            break
        except InvalidStatus:
            if attempt == 9:
                raise
            await asyncio.sleep(0.5)
    first = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert first["type"] == "snapshot"
    return ws, first["rev"]


async def _close_code(ws: Any, timeout: float = 10) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed:
        return ws.close_code


async def test_frame_and_rate_limits_hold_through_the_real_server(lifetime):
    plan = _plan(lifetime, 0)
    kari, nils = plan["users"][0], plan["users"][2]
    bystander, rev = await _raw(lifetime, plan, nils, worker=1)
    try:
        big, _ = await _raw(lifetime, plan, kari)
        frame = {
            "type": "op",
            "op_id": "big",
            "base_rev": rev,
            "op": {
                "type": "text",
                "target": "plan",
                "id": plan["id"],
                "field": "needs",
                "ops": ["x" * (300 * 1024)],
            },
        }
        await big.send(json.dumps(frame))
        assert await _close_code(big) == 4413

        huge, _ = await _raw(lifetime, plan, kari)
        await huge.send("{" + " " * (2 * 1024 * 1024) + "}")
        assert await _close_code(huge) in {1009, 1006}  # the server's own cap: cut off

        flood, _ = await _raw(lifetime, plan, kari)
        with contextlib.suppress(ConnectionClosed):
            for _ in range(1000):  # burst 200, then over 200 refused within 10 s
                await flood.send('{"type": "ping"}')
        assert await _close_code(flood) == 4429

        # The others carry on, and nothing was applied.
        await bystander.send('{"type": "ping"}')
        while json.loads(await asyncio.wait_for(bystander.recv(), 10))["type"] != "pong":
            pass
        revisions = await lifetime.revisions()
        assert revisions[plan["id"]] == rev
    finally:
        await bystander.close()
