"""PostgreSQL goes down hard (immediate shutdown: no checkpoint, crash recovery on the
next start) while twelve people type in three meetings on two workers, and comes back.

Edits sent while it is down get an `error` frame with code `unavailable` and their op
id; the clients keep them and resend them after recovery (as do clients whose socket
broke). Every worker holds pooled connections (DB_CONN_MAX_AGE=60) that the restart
made stale, so they must notice and reconnect too. Nothing is lost, nothing is applied
twice, everyone converges.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults import harness

TYPE_BEFORE = 4.0
PG_DOWN = 4.0
TYPE_AFTER = 5.0


@pytest.mark.slow
async def test_a_database_restart_keeps_every_edit_exactly_once(fault_stack):
    fault_stack.seed(plans=3, editors=4)
    fault_stack.start(workers=2)
    clients = harness.make_clients(fault_stack, per_plan=4, seed=33)
    pg = fault_stack.pg
    try:
        for client in clients:
            client.start(typing=True)
        await harness.wait_connected(clients, timeout=30)
        await asyncio.sleep(TYPE_BEFORE)

        acked_before = sum(len(c.acked) for c in clients)
        await asyncio.to_thread(pg.crash)
        crashed_at = time.monotonic()
        await asyncio.sleep(PG_DOWN)
        await asyncio.to_thread(pg.start)
        back_at = time.monotonic()
        await asyncio.sleep(TYPE_AFTER)

        for client in clients:
            client.typing = False
        stopped_typing = time.monotonic()
        await harness.wait_connected(clients, timeout=60)
        await harness.converge(fault_stack, clients, timeout=60)
        converged = time.monotonic() - stopped_typing
        figures = harness.check(fault_stack, clients)
    finally:
        for client in clients:
            await client.stop()

    unavailable = [e for c in clients for e in c.error_frames if e["code"] == "unavailable"]
    for_ops = [e for e in unavailable if e["op_id"]]
    figures.update(
        killed="PostgreSQL (immediate shutdown, crash recovery on restart)",
        postgres_down_seconds=round(back_at - crashed_at, 2),
        ops_acknowledged_before_the_crash=acked_before,
        unavailable_error_frames=len(unavailable),
        unavailable_error_frames_naming_an_op=len(for_ops),
        seconds_to_converge_after_typing_stopped=round(converged, 2),
    )
    harness.report("postgres_restart", figures)

    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["clients"] >= 10
    # Edits in flight got a clear error frame naming them, which the clients kept and
    # resent: each of those ops was acknowledged in the end (check() saw the text).
    assert for_ops, "no edit was refused while the database was down"
    for error in for_ops:
        assert error["message"] and error["field"] is None
    acked = {op_id for c in clients for op_id in c.acked}
    assert {e["op_id"] for e in for_ops} <= acked
