"""What one live text op costs in CPU, all in, inside one process.

One meeting of K participants, each a socket on ipplan's real ASGI application
(Channels' WebsocketCommunicator: no network, no uvicorn), the channel layer on Redis.
One typist sends N text ops, each after the previous one's ack, and each op is awaited
at every other socket. The figure is this process's CPU time (every thread: the event
loop, the sockets' database threads) per op: apply, commit, notify, read the event,
fan it out to K - 1 sockets and ack it. It shows what a worker spends per op without
the machine-wide noise of bench/live_load.py; PostgreSQL's own CPU is not in it.

    .venv/bin/python bench/op_cost.py [--ops 300] [--participants 8] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

DB_NAME = "ipplan_bench_opcost"
ORIGIN = "http://127.0.0.1"


async def _recv_until(communicator: Any, wanted: Any, timeout: float = 10) -> dict:
    while True:
        message = json.loads(await communicator.receive_from(timeout=timeout))
        if wanted(message):
            return message


async def measure(room: dict[str, Any], ops: int) -> dict[str, Any]:
    from channels.testing import WebsocketCommunicator

    from ipplan.asgi import application

    plan_id, meeting_id = room["plan"], room["meeting"]
    _target, goal_id, _field = room["fields"][0]
    sockets = []
    for cookie in room["cookies"]:
        communicator = WebsocketCommunicator(
            application,
            f"/ws/plans/{plan_id}/?meeting={meeting_id}",
            headers=[
                (b"host", b"127.0.0.1"),
                (b"origin", ORIGIN.encode()),
                (b"cookie", f"sessionid={cookie}".encode()),
            ],
        )
        connected, _code = await communicator.connect(timeout=10)
        if not connected:
            raise SystemExit("a socket was refused")
        snapshot = await _recv_until(communicator, lambda m: m["type"] == "snapshot")
        sockets.append(communicator)
    rev = snapshot["rev"]
    text = next(g for g in snapshot["plan"]["goals"] if g["id"] == goal_id)["text"]
    await asyncio.sleep(1)  # joins, presence and meeting messages settle
    typist, others = sockets[0], sockets[1:]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(ops):
        length = len(text)
        if length < 400:
            components: list = [length, "x"]
            text += "x"
        else:
            components = [-1, length - 1]
            text = text[1:]
        frame = {
            "type": "op",
            "op_id": uuid.uuid4().hex,
            "base_rev": rev,
            "op": {"type": "text", "target": "goal", "id": goal_id, "field": "text"},
        }
        frame["op"]["ops"] = components
        await typist.send_to(text_data=json.dumps(frame))
        ack = await _recv_until(typist, lambda m: m["type"] in {"ack", "error"})
        if ack["type"] != "ack":
            raise SystemExit(f"the op was refused: {ack}")
        rev = ack["rev"]
        for other in others:
            await _recv_until(other, lambda m, r=rev: m.get("rev") == r)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    for communicator in sockets:
        await communicator.disconnect()
    return {
        "ops": ops,
        "participants": len(sockets),
        "cpu_ms_per_op": round(cpu / ops * 1000, 2),
        "wall_ms_per_op": round(wall / ops * 1000, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ops", type=int, default=300)
    p.add_argument("--participants", type=int, default=8)
    p.add_argument("--database", default=common.database_url(DB_NAME))
    p.add_argument("--redis-url", default=common.REDIS_URL)
    p.add_argument("--json", dest="json_path")
    args = p.parse_args(argv)

    info = common.machine()
    common.recreate_database(args.database)
    common.setup_django(
        args.database,
        REDIS_URL=args.redis_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DB_CONN_MAX_AGE="60",
        DEBUG="0",
        # One typist sending each op as soon as the last is acked outruns the per-socket
        # rate limit (50/s) now that an op costs a few ms; a browser never gets near it.
        IPPLAN_LIVE_RATE_PER_SECOND="100000",
        IPPLAN_LIVE_RATE_BURST="100000",
    )
    common.offset_ids()
    from bench.live_load import seed

    room = seed(1, args.participants)[0]
    result = asyncio.run(measure(room, args.ops))
    print(f"machine: {info['cpu']}, {info['cores']} cores, load {common.loadavg()}")
    print(
        common.table(
            ["ops", "participants", "CPU ms per op (this process)", "wall ms per op"],
            [
                [
                    result["ops"],
                    result["participants"],
                    result["cpu_ms_per_op"],
                    result["wall_ms_per_op"],
                ]
            ],
        )
    )
    report = {"benchmark": "op_cost", "machine": info, "result": result}
    common.write_json(args.json_path, report)
    return report


if __name__ == "__main__":
    main()
