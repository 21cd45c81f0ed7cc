"""One of two worker processes is killed (SIGKILL) while twelve people type in three
meetings. Its sockets die with it, mid-edit; the load balancer sends their reconnects
to the surviving worker, where they resume from their last revision and resend what
was not acknowledged. Nothing is lost, nothing is applied twice, everyone converges.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults import harness

TYPE_BEFORE = 4.0
TYPE_AFTER = 5.0


@pytest.mark.slow
async def test_a_killed_worker_moves_its_clients_to_the_other_without_loss(fault_stack):
    fault_stack.seed(plans=3, editors=4)
    fault_stack.start(workers=2)
    victim, survivor = fault_stack.workers
    clients = harness.make_clients(fault_stack, per_plan=4, seed=22)
    try:
        for client in clients:
            client.start(typing=True)
        await harness.wait_connected(clients, timeout=30)
        await asyncio.sleep(TYPE_BEFORE)

        on_victim = [c for c in clients if c.server == victim.ws_base]
        assert len(on_victim) >= 5, "the load balancer should have spread the clients"
        in_flight = sum(1 for c in on_victim for f in c.fields.values() if f.inflight or f.buffer)
        victim.kill()
        killed_at = time.monotonic()
        moved = await harness.wait_reopened(on_victim, after=killed_at, timeout=30)
        await asyncio.sleep(TYPE_AFTER)

        for client in clients:
            client.typing = False
        stopped_typing = time.monotonic()
        await harness.converge(fault_stack, clients, timeout=60)
        converged = time.monotonic() - stopped_typing
        figures = harness.check(fault_stack, clients)
    finally:
        for client in clients:
            await client.stop()

    assert all(c.server == survivor.ws_base for c in on_victim)
    reopened = [c for c in on_victim if any(t > killed_at for t, _ in c.opens)]
    assert len(reopened) == len(on_victim), "every client of the killed worker reconnected"
    figures.update(
        killed="one of two uvicorn worker processes (SIGKILL)",
        clients_on_the_killed_worker=len(on_victim),
        edits_pending_on_them_at_the_kill=in_flight,
        seconds_until_they_were_back_on_the_other_worker=round(moved, 2),
        seconds_to_converge_after_typing_stopped=round(converged, 2),
    )
    harness.report("worker_kill", figures)
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["clients"] >= 10
