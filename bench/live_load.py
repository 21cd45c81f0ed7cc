"""Live editing under load: ipplan's WebSocket protocol against a bare relay floor.

    .venv/bin/python bench/live_load.py                        # 25 meetings x 8, 30 s
    .venv/bin/python bench/live_load.py --meetings 50 --json var/bench/live-50.json
    .venv/bin/python bench/live_load.py --mode throughput --duration 15

What it does (docs/performance.md has the figures and what limits them):

1. Creates the scratch database ipplan_bench_live (dropped each run and made again
   from a migrated template, see bench/common.py) and seeds, through ipplan's services,
   M plans with K members each (covered by consent), a goal and a measure per plan, and
   a meeting in progress; logs every member in by writing a Django session for them.
2. Starts N ASGI workers the way production runs them (`uvicorn --workers N
   ipplan.asgi:application`, or N daphne processes) on PostgreSQL and Redis
   (RedisPubSubChannelLayer), with DB_CONN_MAX_AGE=60 and DEBUG=0.
3. Opens M x K real WebSocket clients (the `websockets` package; session cookie and
   Origin header like a browser) speaking docs/protocol.md: snapshot, ops and acks in
   revision order, gap -> sync, the OT client state machine per text field.
4. Two typists per meeting type at RATE keystrokes a second (jittered), batched like
   static/js/meeting/store.js: keystrokes are composed into one op, at most one op per
   field in flight, flushed FLUSH_MS (150) after the keystroke or the ack.
5. Measures op -> other participants' receipt latency, op -> own ack latency,
   keystroke -> other participants (batching included), committed ops/s, errors,
   the workers' peak RSS and CPU.
6. After the run: waits for quiescence, then checks every client's revision and text
   against PostgreSQL, and that every revision reached every client exactly once
   (lost and duplicated must be 0) and every acknowledged op is committed exactly once.
7. The floor: the same clients, typing the same way, through bench/floor_relay.py (a
   Channels group relay: no database, no validation) on the same server type, worker
   count and Redis. ipplan's p99 is reported as a ratio to the floor's p99.

Throughput mode steps the typing rate (flushing as soon as the previous op is acked,
since the browser's 150 ms batching caps a typist at ~6.7 ops/s) until the p99 edit
latency passes 100 ms, and reports the committed operations per second of the last step
under it.

On a machine shared with other work, --own-redis (a private redis-server) and --nice -10
(scheduling priority for the run's processes and the PostgreSQL backends of its workers)
keep the neighbours' load out of the figures as far as possible; --setting and
--db-threads run experiments (bench/settings_overlay.py).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from ipplan.live import ot  # noqa: E402  (pure Python, no Django needed)

DB_NAME = "ipplan_bench_live"
TYPISTS_PER_MEETING = 2
SENTENCE = (
    "Per ønsker å bo i egen leilighet nær jobben, og NAV følger opp bostøtten hver uke. "
    "Fastlegen ser på medisinene før neste møte; vi evaluerer målet i august. "
)
MAX_FIELD = 600  # past this, a typist selects and deletes a chunk (keeps fields bounded)
P99_LIMIT_MS = 100.0
THROUGHPUT_RATES = [1, 2, 5, 10, 15, 20, 30, 40, 60, 80, 120, 160]


# =================================================================== seeding (Django)


def seed(meetings: int, participants: int) -> list[dict[str, Any]]:
    """M plans with K members each, through the services; returns what clients need."""
    import datetime

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Permission
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from ipplan.accounts.models import Organisation, User
    from ipplan.meetings import services as meetings_services
    from ipplan.plans import services
    from ipplan.plans.models import Consent, Member, Person, Plan, ThemeTemplate

    for index, title in enumerate(["Bolig", "Helse", "Økonomi"]):
        ThemeTemplate.objects.get_or_create(
            code=f"bench{index}", defaults={"title": title, "position": index}
        )
    org = Organisation.objects.create(name="Mestringsenheten (bench)", kind="Kommune")
    unusable = make_password(None)
    users = User.objects.bulk_create(
        [
            User(
                username=f"bench_{m}_{k}",
                first_name=f"Deltaker{k}",
                last_name=f"Møte{m}",
                organisation=org,
                password=unusable,
            )
            for m in range(meetings)
            for k in range(participants)
        ]
    )
    add_plan = Permission.objects.get(codename="add_plan")
    User.user_permissions.through.objects.bulk_create(
        [
            User.user_permissions.through(user_id=users[m * participants].pk, permission=add_plan)
            for m in range(meetings)
        ]
    )
    persons = Person.objects.bulk_create(
        [
            Person(first_name="Per", last_name=f"Bench{m}", birth_date=datetime.date(1990, 1, 1))
            for m in range(meetings)
        ]
    )
    today = timezone.localdate()
    store = SessionStore()
    sessions = []
    rooms = []
    accesses = [Member.Access.EDIT, Member.Access.COMMENT, Member.Access.READ]
    for m in range(meetings):
        group = users[m * participants : (m + 1) * participants]
        coordinator = User.objects.get(pk=group[0].pk)  # fresh permission cache
        plan = services.plan_create(
            person=persons[m],
            coordinator=coordinator,
            created_by=coordinator,
            period_start=today - datetime.timedelta(days=60),
            period_end=today + datetime.timedelta(days=365),
            status=Plan.Status.ACTIVE,
        )
        theme = plan.themes.order_by("position").first()
        ops = []
        for k, user in enumerate(group[1:], start=1):
            ops.append(
                {
                    "type": "create",
                    "target": "member",
                    "values": {
                        "user": user.pk,
                        "role": Member.Role.SPECIALIST,
                        "organisation": org.pk,
                        "service": "Bench",
                        # The second participant types, so needs edit access.
                        "access": Member.Access.EDIT if k == 1 else accesses[k % 3],
                        "active_from": (today - datetime.timedelta(days=30)).isoformat(),
                    },
                }
            )
        ops.append(
            {
                "type": "create",
                "target": "goal",
                "values": {
                    "theme": theme.pk,
                    "level": "main",
                    "text": "Egen leilighet",
                    "success_criterion": "Har signert leiekontrakt",
                    "evaluation_date": (today + datetime.timedelta(days=90)).isoformat(),
                    "status": "in_progress",
                    "expressed_by": "Per",
                },
            }
        )
        ops.append(
            {
                "type": "create",
                "target": "measure",
                "values": {
                    "theme": theme.pk,
                    "description": "Søke kommunal bolig",
                    "status": "ongoing",
                },
            }
        )
        results = services.apply_operations(
            plan_id=plan.pk,
            user=coordinator,
            ops=[(op, services.new_op_id()) for op in ops],
        )
        goal_id = results[-2].result["id"]
        measure_id = results[-1].result["id"]
        services.consent_record(
            plan_id=plan.pk,
            user=coordinator,
            kind=Consent.Kind.PLAN,
            given_on=today - datetime.timedelta(days=30),
        )
        services.consent_record(
            plan_id=plan.pk,
            user=coordinator,
            kind=Consent.Kind.SHARING,
            given_on=today - datetime.timedelta(days=30),
            members=list(Member.objects.filter(plan=plan).exclude(user=coordinator)),
            scope="Bench",
        )
        meeting = meetings_services.meeting_schedule(
            plan_id=plan.pk, user=coordinator, scheduled_at=timezone.now(), place="Bench"
        )
        meetings_services.meeting_start(meeting_id=meeting.pk, user=coordinator)
        cookies = []
        for user in group:
            key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
            data = {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
            sessions.append(
                Session(
                    session_key=key,
                    session_data=store.encode(data),
                    expire_date=timezone.now() + datetime.timedelta(days=1),
                )
            )
            cookies.append(key)
        rooms.append(
            {
                "index": m,
                "plan": plan.pk,
                "meeting": meeting.pk,
                "users": [u.pk for u in group],
                "cookies": cookies,
                "fields": [["goal", goal_id, "text"], ["measure", measure_id, "description"]],
            }
        )
    Session.objects.bulk_create(sessions)
    return rooms


def db_state(rooms: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Revision, tracked texts and live op ids of every plan, fresh from PostgreSQL."""
    from ipplan.plans.models import Change, Goal, Measure, Plan

    plan_ids = [r["plan"] for r in rooms]
    revisions = dict(Plan.objects.filter(pk__in=plan_ids).values_list("pk", "revision"))
    goals = dict(Goal.objects.filter(plan_id__in=plan_ids).values_list("pk", "text"))
    measures = dict(Measure.objects.filter(plan_id__in=plan_ids).values_list("pk", "description"))
    ops: dict[int, list[str]] = collections.defaultdict(list)
    for plan_id, op_id in Change.objects.filter(plan_id__in=plan_ids, via="live").values_list(
        "plan_id", "op_id"
    ):
        ops[plan_id].append(op_id)
    out = {}
    for room in rooms:
        (_, goal_id, _), (_, measure_id, _) = room["fields"]
        out[room["plan"]] = {
            "rev": revisions[room["plan"]],
            "texts": {
                f"goal:{goal_id}:text": goals[goal_id],
                f"measure:{measure_id}:description": measures[measure_id],
            },
            "live_ops": ops[room["plan"]],
        }
    return out


def call_costs(room: dict[str, Any], calls: int) -> dict[str, Any]:
    """What each kind of database call a socket makes costs, called directly (no ASGI
    server, no thread hop) on the seeded data: queries, wall time and CPU time. In a
    worker all of these run one after another on one thread (database_sync_to_async)."""
    import statistics

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ipplan.accounts.models import User
    from ipplan.live import handlers
    from ipplan.live.snapshot import change_events
    from ipplan.plans.models import Goal, Plan

    plan_id, meeting_id = room["plan"], room["meeting"]
    (_, goal_id, _), _ = room["fields"]
    coordinator = User.objects.get(pk=room["users"][0])
    member = User.objects.get(pk=room["users"][1])

    def text_op(user: Any) -> Any:
        rev = Plan.objects.filter(pk=plan_id).values_list("revision", flat=True)[0]
        length = len(Goal.objects.filter(pk=goal_id).values_list("text", flat=True)[0])
        op = {"type": "text", "target": "goal", "id": goal_id, "field": "text"}
        op["ops"] = [length, "x"] if length < MAX_FIELD else [-1, length - 1]

        def call() -> Any:
            return handlers.apply_op(
                plan_id=plan_id,
                user=user,
                op=op,
                op_id=new_op_id(),
                base_rev=rev,
                meeting_id=meeting_id,
            )

        return call

    def latest_event() -> Any:
        rev = Plan.objects.filter(pk=plan_id).values_list("revision", flat=True)[0]
        return lambda: change_events(plan_id, rev - 1)

    kinds = {
        "apply_op, one text op (coordinator)": lambda: text_op(coordinator),
        "apply_op, one text op (edit member: + consent check)": lambda: text_op(member),
        "change_events, one revision (cache miss, once per process per op)": latest_event,
        "recheck (each socket every 120 s, and on plan.access / user.session)": lambda: (
            lambda: handlers.recheck(
                session_key=room["cookies"][1], user_id=member.pk, plan_id=plan_id
            )
        ),
        "poll (each process every 2 s, for all its sockets; here one room's)": lambda: (
            lambda: handlers.poll(
                plan_ids=[plan_id],
                sessions=dict(zip(room["cookies"], room["users"], strict=True)),
            )
        ),
        "meeting_state_for (each process, per meeting change and every 10 s)": lambda: (
            lambda: handlers.meeting_state_for(plan_id=plan_id, meeting_id=meeting_id)
        ),
        "snapshot (join, resync)": lambda: (
            lambda: handlers.snapshot(plan_id=plan_id, user=member, meeting_id=meeting_id)
        ),
    }
    out = {}
    for label, prepare in kinds.items():
        walls, cpus, queries = [], [], 0
        for i in range(calls + 3):
            call = prepare()
            with CaptureQueriesContext(connection) as captured:
                wall0, cpu0 = time.perf_counter(), time.thread_time()
                call()
                cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
            if i >= 3:  # warm-up calls excluded
                walls.append(wall)
                cpus.append(cpu)
                queries = len(captured.captured_queries)
        out[label] = {
            "queries": queries,
            "wall_ms_median": round(statistics.median(walls) * 1000, 2),
            "wall_ms_p95": round(common.percentile(sorted(walls), 95) * 1000, 2),
            "cpu_ms_median": round(statistics.median(cpus) * 1000, 2),
        }
    return out


# ===================================================================== the clients


class TextField:
    """One text field on one client: the OT client state machine of
    static/js/meeting/textfield.js (outstanding op in flight, buffer composed)."""

    __slots__ = (
        "key",
        "target",
        "id",
        "field",
        "confirmed",
        "visible",
        "out",
        "out_id",
        "out_sent",
        "out_first_key",
        "buf",
        "buf_first_key",
    )

    def __init__(self, target: str, obj_id: int, field: str, text: str) -> None:
        self.key = f"{target}:{obj_id}:{field}"
        self.target, self.id, self.field = target, obj_id, field
        self.confirmed = self.visible = text
        self.out: list | None = None
        self.out_id: str | None = None
        self.out_sent = False
        self.out_first_key = 0.0
        self.buf: list | None = None
        self.buf_first_key = 0.0

    @property
    def idle(self) -> bool:
        return self.out is None and self.buf is None

    def local(self, op: list, now: float) -> None:
        self.visible = ot.apply(self.visible, op)
        if self.out is None:
            self.out, self.out_id, self.out_sent, self.out_first_key = op, new_op_id(), False, now
        elif not self.out_sent and self.buf is None:
            self.out = ot.compose(self.out, op)  # not on the wire yet: keep composing
        else:
            if self.buf is None:
                self.buf, self.buf_first_key = op, now
            else:
                self.buf = ot.compose(self.buf, op)

    def wire_ops(self) -> list:
        """The outstanding op over the whole confirmed value (explicit trailing retain)."""
        ops = ot.normalize(self.out)
        rest = len(self.confirmed) - ot.base_length(ops)
        if rest > 0:
            ops.append(rest)
        return ops

    def remote(self, ops: list) -> list:
        """Someone else's committed op; returns it as applied to the visible text."""
        self.confirmed = ot.apply(self.confirmed, ops)
        server = ops
        if self.out is not None:
            server, self.out = ot.transform(server, self.out, a_first=True)
        if self.buf is not None:
            server, self.buf = ot.transform(server, self.buf, a_first=True)
        self.visible = ot.apply(self.visible, server)
        return server

    def ack(self, ops: list) -> bool:
        """Our outstanding op was committed as `ops`; True if the view had drifted."""
        self.confirmed = ot.apply(self.confirmed, ops)
        self.out, self.out_first_key = self.buf, self.buf_first_key
        self.buf = None
        self.out_id = new_op_id() if self.out is not None else None
        self.out_sent = False
        expected = self.confirmed if self.out is None else ot.apply(self.confirmed, self.out)
        if expected != self.visible:
            self.visible = expected
            return True
        return False

    def drop_pending(self) -> int:
        lost = int(self.out is not None) + int(self.buf is not None)
        self.out = self.buf = self.out_id = None
        self.out_sent = False
        self.visible = self.confirmed
        return lost

    def reset(self, text: str) -> int:
        lost = self.drop_pending()
        self.confirmed = self.visible = text
        return lost


def new_op_id() -> str:
    return uuid.uuid4().hex


class Recorder:
    """Everything one load process measures; times are time.monotonic() (one clock for
    every process on the machine)."""

    def __init__(self) -> None:
        self.sent_at: dict[str, tuple[float, float]] = {}  # op_id -> (sent, first key)
        self.deliveries: list[tuple[float, float, float]] = []  # (at, latency, key latency)
        self.acks: list[tuple[float, float]] = []  # (at, latency)
        self.keystrokes: list[float] = []
        self.sent: list[float] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self.events: collections.Counter[str] = collections.Counter()
        self.lag: list[tuple[float, float]] = []  # (at, event loop lag)


class Client:
    """One participant's socket. `mode` is "ipplan" (docs/protocol.md) or "floor" (the
    relay: frames come back as sent, to everyone in the room including the sender)."""

    def __init__(self, run: Run, room: dict[str, Any], index: int, url: str, origin: str) -> None:
        self.run = run
        self.room = room
        self.index = index
        self.url = url
        self.origin = origin
        self.cookie = room["cookies"][index]
        self.ws: Any = None
        self.fields: dict[str, TextField] = {}
        self.typing: TextField | None = None
        self.cursor = 0
        self.rev: int | None = None
        self.start_rev: int | None = None
        self.receipts: collections.Counter = collections.Counter()
        self.recovered: set = set()
        self.sent_ids: list[str] = []
        self.snapshots = 0
        self.syncing = False
        self.held: list[dict] = []
        self.dirty = asyncio.Event()
        self.closed_code: int | None = None
        self.tasks: list[asyncio.Task] = []
        self.acked: list[str] = []
        self.dropped = 0
        self.drifts = 0
        self.ready = asyncio.Event()

    # ------------------------------------------------------------ connecting

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(
            self.url,
            origin=self.origin,
            additional_headers={"Cookie": f"sessionid={self.cookie}"},
            compression=None,
            max_size=2**22,
            open_timeout=120,
            ping_interval=None,
            close_timeout=5,
        )
        self.tasks.append(asyncio.ensure_future(self.reader()))
        if self.run.mode == "floor":
            for target, obj_id, field in self.room["fields"]:
                self.fields[f"{target}:{obj_id}:{field}"] = TextField(target, obj_id, field, "")
            self.ready.set()
        await asyncio.wait_for(self.ready.wait(), 120)

    async def reader(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                now = time.monotonic()
                message = json.loads(raw)
                if self.run.mode == "floor":
                    self.on_relay(message, now)
                else:
                    await self.on_message(message, now)
        except ConnectionClosed as exc:
            self.closed_code = exc.rcvd.code if exc.rcvd else 1006
        except Exception:
            self.run.recorder.errors["client_exception"] += 1
            import traceback

            traceback.print_exc()
        finally:
            if not self.run.closing:
                self.run.recorder.errors[f"closed_{self.closed_code}"] += 1
            self.ready.set()

    # ------------------------------------------------------- ipplan messages

    async def on_message(self, m: dict, now: float) -> None:
        kind = m["type"]
        if kind in ("op", "ack"):
            self.receipts[m["rev"]] += 1  # every unsolicited delivery of a revision
            if self.syncing:
                self.held.append(m)
            else:
                await self.on_change(m, now, live=True)
        elif kind == "ops":
            # The reply to our sync: fills the gap (those revisions count as recovered).
            self.syncing = False
            for event in m["ops"]:
                if self.receipts.get(event["rev"], 0) == 0:
                    self.recovered.add(event["rev"])
                await self.on_change(event, now, live=False)
            held, self.held = self.held, []
            for event in held:
                await self.on_change(event, now, live=False)
        elif kind == "snapshot":
            self.on_snapshot(m)
        elif kind == "error":
            self.on_error(m)
        else:
            self.run.recorder.events[kind] += 1

    def on_snapshot(self, m: dict) -> None:
        plan = m["plan"]
        by_key = {}
        for target, obj_id, field in self.room["fields"]:
            items = plan["goals"] if target == "goal" else plan["measures"]
            obj = next(o for o in items if o["id"] == obj_id)
            by_key[f"{target}:{obj_id}:{field}"] = (target, obj_id, field, obj[field] or "")
        if self.rev is None:
            self.start_rev = m["rev"]
            for key, (target, obj_id, field, text) in by_key.items():
                self.fields[key] = TextField(target, obj_id, field, text)
        else:
            # A correcting snapshot (after a refused op): it replaces our state; the
            # revisions it skips count as recovered, not received.
            self.snapshots += 1
            self.run.recorder.events["snapshot_mid_run"] += 1
            self.recovered.update(range(self.rev + 1, m["rev"] + 1))
            for key, (*_, text) in by_key.items():
                self.dropped += self.fields[key].reset(text)
            self.cursor = min(self.cursor, len(self.typing.visible)) if self.typing else 0
        self.rev = m["rev"]
        self.syncing = False
        self.held = []
        self.ready.set()

    async def on_change(self, m: dict, now: float, *, live: bool) -> None:
        rev = m["rev"]
        if rev <= self.rev:
            return  # already applied (a duplicate shows in self.receipts)
        if rev > self.rev + 1:
            self.run.recorder.events["gap"] += 1
            self.held.append(m)
            if not self.syncing:
                self.syncing = True
                await self.ws.send(json.dumps({"type": "sync", "since": self.rev}))
            return
        self.rev = rev
        op = m["op"]
        op_id = m["op_id"]
        field = self.fields.get(f"{op['target']}:{op.get('id')}:{op.get('field')}")
        mine = field is not None and field.out_id == op_id and field.out_sent
        recorder = self.run.recorder
        if mine:
            sent = recorder.sent_at.get(op_id)
            if sent and live:
                recorder.acks.append((now, now - sent[0]))
            self.acked.append(op_id)
            if field.ack(op["ops"]):
                self.drifts += 1
            self.cursor = min(self.cursor, len(field.visible))
            self.dirty.set()
            return
        if live and m["type"] == "op":
            sent = recorder.sent_at.get(op_id)
            if sent:
                recorder.deliveries.append((now, now - sent[0], now - sent[1]))
        if field is not None and op["type"] == "text":
            applied = field.remote(op["ops"])
            if field is self.typing:
                self.cursor = ot.transform_index(min(self.cursor, len(field.visible)), applied)
                self.cursor = min(self.cursor, len(field.visible))

    def on_error(self, m: dict) -> None:
        code = m["code"]
        self.run.recorder.errors[code] += 1
        field = self.typing
        if field is None or m.get("op_id") != field.out_id:
            return
        if code in {"rate_limited", "unavailable", "conflict"}:
            field.out_sent = False  # resend later with the same op_id
            asyncio.get_running_loop().call_later(0.5, self.dirty.set)
        else:
            self.dropped += field.drop_pending()  # a snapshot follows

    # -------------------------------------------------------- floor messages

    def on_relay(self, m: dict, now: float) -> None:
        op_id = m["op_id"]
        self.receipts[op_id] += 1
        field = self.typing
        recorder = self.run.recorder
        sent = recorder.sent_at.get(op_id)
        if field is not None and field.out_id == op_id and field.out_sent:
            if sent:
                recorder.acks.append((now, now - sent[0]))
            self.acked.append(op_id)
            field.ack(field.out)  # the relay does not transform: our own op comes back
            self.dirty.set()
        elif sent:
            recorder.deliveries.append((now, now - sent[0], now - sent[1]))

    # ---------------------------------------------------------------- typing

    def start_typing(self, key: str, cursor_at_end: bool) -> None:
        self.typing = self.fields[key]
        self.cursor = len(self.typing.visible) if cursor_at_end else 0
        self.tasks.append(asyncio.ensure_future(self.typist()))
        self.tasks.append(asyncio.ensure_future(self.flusher()))

    def keystroke(self, now: float, rng: random.Random) -> None:
        field = self.typing
        text = field.visible
        cursor = min(self.cursor, len(text))
        if len(text) >= MAX_FIELD:
            # Select the start of the field and delete it (keeps fields bounded).
            cut = 80
            op = [-cut]
        elif cursor > 0 and rng.random() < 0.08:
            op = [cursor - 1, -1] if cursor > 1 else [-1]  # backspace
        else:
            ch = SENTENCE[self.run.char_index % len(SENTENCE)]
            self.run.char_index += 1
            op = [cursor, ch] if cursor else [ch]
        op = ot.normalize(op)
        field.local(op, now)
        self.cursor = ot.transform_index(cursor, op, own=True)
        self.run.recorder.keystrokes.append(now)
        self.dirty.set()

    async def typist(self) -> None:
        rng = random.Random(hash((self.room["index"], self.index)))
        loop = asyncio.get_running_loop()
        next_at = loop.time() + rng.uniform(0, 1.0 / max(self.run.rate, 1))
        while not self.run.closing:
            rate = self.run.rate
            if rate <= 0:
                await asyncio.sleep(0.05)
                next_at = loop.time()
                continue
            next_at += rng.uniform(0.5, 1.5) / rate
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:
                next_at = loop.time()  # fell far behind (overloaded client): don't burst
            if self.run.rate > 0 and self.closed_code is None:
                self.keystroke(time.monotonic(), rng)

    async def flusher(self) -> None:
        field = self.typing
        while not self.run.closing:
            await self.dirty.wait()
            self.dirty.clear()
            if self.run.flush > 0:
                await asyncio.sleep(self.run.flush)
            if field.out is None or field.out_sent or self.closed_code is not None:
                continue
            if self.run.mode == "ipplan" and (self.syncing or self.rev is None):
                self.dirty.set()
                await asyncio.sleep(0.05)
                continue
            ops = field.wire_ops()
            frame = json.dumps(
                {
                    "type": "op",
                    "op_id": field.out_id,
                    "base_rev": self.rev or 0,
                    "op": {
                        "type": "text",
                        "target": field.target,
                        "id": field.id,
                        "field": field.field,
                        "ops": ops,
                    },
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            field.out_sent = True
            now = time.monotonic()
            self.run.recorder.sent_at[field.out_id] = (now, field.out_first_key)
            self.run.recorder.sent.append(now)
            self.sent_ids.append(field.out_id)
            try:
                await self.ws.send(frame)
            except Exception:
                self.run.recorder.errors["send_failed"] += 1

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()


# ================================================================ the load process


class Run:
    """Shared state of one load process."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.rate = 0.0
        self.flush = 0.15
        self.closing = False
        self.char_index = 0
        self.recorder = Recorder()


def _window(values: list[tuple], start: float, end: float) -> list[tuple]:
    return [v for v in values if start <= v[0] < end]


def step_report(run: Run, start: float, end: float, cpu: float) -> dict[str, Any]:
    r = run.recorder
    deliveries = _window(r.deliveries, start, end)
    return {
        "window": [start, end],
        "deliveries": [d[1] for d in deliveries],
        "key_latencies": [d[2] for d in deliveries],
        "acks": [a[1] for a in _window(r.acks, start, end)],
        "keystrokes": sum(1 for t in r.keystrokes if start <= t < end),
        "ops_sent": sum(1 for t in r.sent if start <= t < end),
        "loop_lag": [v[1] for v in _window(r.lag, start, end)],
        "cpu_seconds": cpu,
    }


async def _lag_monitor(run: Run) -> None:
    """How late the load process's event loop wakes up: if this grows, the client, not
    the server, is adding latency."""
    loop = asyncio.get_running_loop()
    while not run.closing:
        before = loop.time()
        await asyncio.sleep(0.01)
        run.recorder.lag.append((time.monotonic(), loop.time() - before - 0.01))


async def load_main(conn: Any, mode: str, rooms: list[dict], urls: list[str], origin: str) -> None:
    loop = asyncio.get_running_loop()

    async def recv() -> dict:
        return await loop.run_in_executor(None, conn.recv)

    run = Run(mode)
    clients: list[Client] = []
    for room in rooms:
        for k in range(len(room["cookies"])):
            n = len(clients)
            if mode == "floor":
                path = f"/relay/r{room['plan']}/"
            else:
                path = f"/ws/plans/{room['plan']}/?meeting={room['meeting']}"
            base = urls[n % len(urls)]
            clients.append(Client(run, room, k, base + path, origin))

    started = time.monotonic()
    gate = asyncio.Semaphore(20)

    async def open_one(client: Client) -> bool:
        async with gate:
            try:
                await client.connect()
                return client.closed_code is None
            except Exception as exc:
                run.recorder.errors[f"connect_{type(exc).__name__}"] += 1
                return False

    ok = await asyncio.gather(*(open_one(c) for c in clients))
    conn.send(
        {
            "ready": sum(ok),
            "failed": len(ok) - sum(ok),
            "connect_seconds": time.monotonic() - started,
        }
    )
    lag_task = asyncio.ensure_future(_lag_monitor(run))
    typing_started = False
    while True:
        cmd = await recv()
        if cmd["cmd"] == "step":
            run.rate = cmd["rate"]
            run.flush = cmd["flush"]
            if not typing_started:
                typing_started = True
                for client in clients:
                    if client.index < TYPISTS_PER_MEETING and client.closed_code is None:
                        target, obj_id, field = client.room["fields"][
                            0 if cmd["same_field"] else client.index
                        ]
                        client.start_typing(f"{target}:{obj_id}:{field}", client.index == 0)
            cpu0 = time.process_time()
            start = time.monotonic()
            await asyncio.sleep(max(0.0, cmd["until"] - time.monotonic()))
            end = time.monotonic()
            conn.send(step_report(run, start, end, time.process_time() - cpu0))
        elif cmd["cmd"] == "quiesce":
            run.rate = 0
            deadline = time.monotonic() + cmd["timeout"]
            typists = [c for c in clients if c.typing is not None and c.closed_code is None]
            while time.monotonic() < deadline and not all(c.typing.idle for c in typists):
                for c in typists:
                    if not c.typing.idle:
                        c.dirty.set()
                await asyncio.sleep(0.1)
            conn.send({"pending": sum(not c.typing.idle for c in typists)})
        elif cmd["cmd"] == "verify":
            conn.send(await _finals(run, clients, cmd.get("revs"), cmd["timeout"]))
        elif cmd["cmd"] == "close":
            run.closing = True
            lag_task.cancel()
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
            conn.send({"closed": True})
            return


async def _finals(run: Run, clients: list[Client], revs: dict | None, timeout: float) -> dict:
    """Wait until every client has caught up, then account for every change."""
    deadline = time.monotonic() + timeout
    if run.mode == "ipplan":
        while time.monotonic() < deadline and any(
            c.closed_code is None and c.rev is not None and c.rev < revs[c.room["plan"]]
            for c in clients
        ):
            await asyncio.sleep(0.1)
    else:
        sent_by_room: dict[int, set[str]] = collections.defaultdict(set)
        for c in clients:
            if c.typing is not None:
                sent_by_room[c.room["plan"]].update(c.sent_ids)
        while time.monotonic() < deadline and any(
            c.closed_code is None and len(sent_by_room[c.room["plan"]] - set(c.receipts)) > 0
            for c in clients
        ):
            await asyncio.sleep(0.1)
    out = []
    for c in clients:
        if run.mode == "ipplan":
            expected = range((c.start_rev or 0) + 1, (c.rev or 0) + 1)
            lost = [r for r in expected if c.receipts.get(r, 0) == 0 and r not in c.recovered]
        else:
            expected_ids = sent_by_room[c.room["plan"]]
            lost = [i for i in expected_ids if c.receipts.get(i, 0) == 0]
        out.append(
            {
                "plan": c.room["plan"],
                "index": c.index,
                "start_rev": c.start_rev,
                "rev": c.rev,
                "texts": {k: f.confirmed for k, f in c.fields.items()},
                "visible": {k: f.visible for k, f in c.fields.items()},
                "lost": len(lost),
                "duplicated": sum(n - 1 for n in c.receipts.values() if n > 1),
                "received": sum(c.receipts.values()),
                "recovered": len(c.recovered),
                "acked": c.acked if c.typing is not None else [],
                "pending": 0 if c.typing is None or c.typing.idle else 1,
                "dropped_edits": c.dropped,
                "drifts": c.drifts,
                "snapshots": c.snapshots,
                "closed": c.closed_code,
            }
        )
    r = run.recorder
    return {
        "clients": out,
        "errors": dict(r.errors),
        "events": dict(r.events),
    }


def _loader_entry(conn: Any, mode: str, rooms: list[dict], urls: list[str], origin: str) -> None:
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    try:
        runner(load_main(conn, mode, rooms, urls, origin))
    except Exception as exc:
        import traceback

        traceback.print_exc()
        with contextlib.suppress(Exception):
            conn.send({"crashed": repr(exc)})


# ==================================================================== orchestration


class RssSampler(threading.Thread):
    """Polls the workers' resident set size; VmHWM gives the true peak at the end."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak: dict[int, int] = dict.fromkeys(pids, 0)
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(0.5):
            for pid in self.pids:
                rss = common.memory_kib(pid).get("VmRSS", 0)
                self.peak[pid] = max(self.peak[pid], rss)

    def result(self) -> list[dict[str, Any]]:
        self.stop_event.set()
        out = []
        for pid in self.pids:
            mem = common.memory_kib(pid)
            out.append(
                {
                    "pid": pid,
                    "peak_rss_mib": round(max(mem.get("VmHWM", 0), self.peak[pid]) / 1024, 1),
                    "rss_end_mib": round(mem.get("VmRSS", 0) / 1024, 1),
                }
            )
        return out


def _split(rooms: list[dict], parts: int) -> list[list[dict]]:
    return [rooms[i::parts] for i in range(parts) if rooms[i::parts]]


def run_target(
    target: str,
    args: argparse.Namespace,
    rooms: list[dict],
    database: str,
    steps: list[float],
    log_dir: Path,
) -> dict[str, Any]:
    """Start the servers for `target` (ipplan or floor), run the load, verify."""
    from django.db import connections

    extra = {}
    if args.mode == "throughput":
        # Typists flush as fast as acks come back: lift the per-socket frame limit.
        extra = {"IPPLAN_LIVE_RATE_PER_SECOND": "1000", "IPPLAN_LIVE_RATE_BURST": "2000"}
    extra["DB_CONN_MAX_AGE"] = str(args.conn_max_age)
    if args.db_threads and target == "ipplan":
        extra["IPPLAN_LIVE_DB_THREADS"] = str(args.db_threads)
    if (args.setting or args.db_option) and target == "ipplan":
        # An experiment: ipplan's settings with some overridden (bench/settings_overlay.py).
        extra["DJANGO_SETTINGS_MODULE"] = "bench.settings_overlay"
        extra["BENCH_SETTINGS"] = json.dumps(args.setting)
        extra["BENCH_DB_OPTIONS"] = json.dumps(args.db_option)
    env = common.server_env(
        database if target == "ipplan" else None, redis_url=args.redis_url, **extra
    )
    app = "ipplan.asgi:application" if target == "ipplan" else "bench.floor_relay:application"
    servers = common.Servers(
        args.server, app, args.workers, env, log_dir / f"{target}.log", ws=args.ws
    )
    print(f"\n== {target}: {args.server} x {args.workers} workers, load {common.loadavg()}")
    if args.ipplan:  # (Django is set up only then: --no-ipplan runs the floor alone)
        connections.close_all()  # never fork with an open database connection
    with servers:
        pids = servers.worker_pids()
        sampler = RssSampler(pids)
        sampler.start()
        ctx = multiprocessing.get_context("fork")
        pipes, procs = [], []
        for part in _split(rooms, args.load_procs):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_loader_entry,
                args=(child, target, part, servers.urls(""), servers.origin),
                daemon=True,
            )
            proc.start()
            pipes.append(parent)
            procs.append(proc)

        def ask(message: dict | None, timeout: float) -> list[dict]:
            if message is not None:
                for pipe in pipes:
                    pipe.send(message)
            answers = []
            for pipe in pipes:
                if not pipe.poll(timeout):
                    raise RuntimeError(f"{target}: load process did not answer {message}")
                answer = pipe.recv()
                if "crashed" in answer:
                    raise RuntimeError(f"{target}: load process crashed: {answer['crashed']}")
                answers.append(answer)
            return answers

        try:
            ready = ask(None, 600)
            connected = sum(a["ready"] for a in ready)
            failed = sum(a["failed"] for a in ready)
            print(
                f"   {connected} connected, {failed} failed in "
                f"{max(a['connect_seconds'] for a in ready):.1f} s; settling {args.settle} s"
            )
            time.sleep(args.settle)
            if args.nice:
                backends = _database_backends(database) if target == "ipplan" else []
                reniced = common.renice([*pids, *(p.pid for p in procs), *backends], args.nice)
                print(f"   reniced {reniced} processes (workers, load, PostgreSQL backends)")
            per_worker = [common.established(pid, servers.ports) for pid in pids]
            print(f"   connections per worker: {per_worker}")
            results = []
            flush = args.flush_ms / 1000
            for index, rate in enumerate(steps):
                profilers = _start_profilers(args, target, pids, log_dir) if index == 0 else []
                worker_cpu0 = {pid: common.cpu_seconds(pid) for pid in pids}
                threads0 = [common.thread_cpu_seconds(pid) for pid in pids]
                services0 = common.service_cpu_seconds()
                started = time.monotonic()
                wall0 = time.time()
                load_cpu0 = sum(common.cpu_seconds(p.pid) for p in procs)
                machine0 = common.machine_cpu()
                load0 = common.loadavg()
                until = time.monotonic() + args.duration
                answers = ask(
                    {
                        "cmd": "step",
                        "rate": rate,
                        "flush": flush,
                        "until": until,
                        "same_field": args.same_field,
                    },
                    args.duration + 120,
                )
                step = _merge_step(answers, rate, args.duration)
                # Unix times, to place what the workers logged (e.g. BENCH_GC_LOG).
                step["window"] = [round(wall0, 3), round(time.time(), 3)]
                if profilers:
                    step["profiles"] = _finish_profilers(profilers)
                step["worker_cpu_percent"] = [
                    round(100 * (common.cpu_seconds(pid) - worker_cpu0[pid]) / args.duration, 1)
                    for pid in pids
                ]
                step["load_cpu_percent"] = round(
                    100
                    * (sum(common.cpu_seconds(p.pid) for p in procs) - load_cpu0)
                    / args.duration,
                    1,
                )
                step["machine_busy_percent"] = common.busy_percent(machine0, common.machine_cpu())
                step["cpu_ms_per_op"] = _cpu_per_op(
                    step,
                    pids=pids,
                    threads0=threads0,
                    services0=services0,
                    elapsed=time.monotonic() - started,
                    cores=os.cpu_count() or 1,
                )
                step["loadavg"] = f"{load0} -> {common.loadavg()}"
                results.append(step)
                _print_step(target, index, step)
                if args.mode == "throughput" and (
                    (step["edit_latency_ms"]["p99"] or 0) > P99_LIMIT_MS
                    or step["edit_latency_ms"]["n"] == 0
                ):
                    break
            pending = sum(a["pending"] for a in ask({"cmd": "quiesce", "timeout": 60}, 90))
            revs = None
            if target == "ipplan":
                time.sleep(0.5)
                db = db_state(rooms)
                revs = {plan: state["rev"] for plan, state in db.items()}
            finals = ask({"cmd": "verify", "revs": revs, "timeout": 30}, 60)
            memory = sampler.result()
            ask({"cmd": "close"}, 60)
        finally:
            for proc in procs:
                proc.join(10)
                if proc.is_alive():
                    proc.kill()
        verdict = _verify(target, finals, db_state(rooms) if target == "ipplan" else None)
        verdict["pending_after_quiesce"] = pending
        return {
            "target": target,
            "server": args.server,
            "ws": args.ws,
            "workers": args.workers,
            "connections": connected,
            "connect_failures": failed,
            "connect_seconds": round(max(a["connect_seconds"] for a in ready), 1),
            "connections_per_worker": per_worker,
            "steps": results,
            "correctness": verdict,
            "workers_memory": memory,
            "server_log_tail": _log_tail(servers.log),
        }


def _start_profilers(
    args: argparse.Namespace, target: str, pids: list[int], log_dir: Path
) -> list[tuple[subprocess.Popen, Path]]:
    """py-spy on every worker for the first step: collapsed stacks, all threads,
    idle samples included (time a thread spends waiting for PostgreSQL shows up)."""
    if not args.profile or target not in args.profile_targets:
        return []
    out = []
    for n, pid in enumerate(pids):
        path = log_dir / f"profile-{target}-worker{n}.txt"
        cmd = [
            str(common.VENV_BIN / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(min(args.duration, 20))),
            "--rate",
            "250",
            "--format",
            "raw",
            "--threads",
            "--idle",
            "--nonblocking",
            "--output",
            str(path),
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out.append((proc, path))
    return out


def _finish_profilers(profilers: list[tuple[subprocess.Popen, Path]]) -> dict[str, Any]:
    """Wait for py-spy; summarise each worker's threads (bench/common.py's rules)."""
    out = {}
    for proc, path in profilers:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        try:
            out[str(path)] = common.summarise_profile(path)
        except OSError:
            out[str(path)] = {"error": (proc.stderr.read() or b"").decode()[-500:]}
        for kind, data in out[str(path)].items():
            if kind in {"db", "loop"}:
                top = ", ".join(f"{k} {v} %" for k, v in list(data["percent"].items())[:6])
                print(f"   profile {path.name} {kind} thread: {top}")
    return out


def _database_backends(database: str) -> list[int]:
    """The PostgreSQL backend processes serving the bench database (the workers keep
    their connections, DB_CONN_MAX_AGE)."""
    from django.db import connection

    name = database.rsplit("/", 1)[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        pids = [row[0] for row in cursor.fetchall()]
    connection.close()
    return pids


def _log_tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text()[-3000:]
    return ""


def _merge_step(answers: list[dict], rate: float, duration: float) -> dict[str, Any]:
    deliveries = [v for a in answers for v in a["deliveries"]]
    keys = [v for a in answers for v in a["key_latencies"]]
    acks = [v for a in answers for v in a["acks"]]
    lag = [v for a in answers for v in a["loop_lag"]]
    window = max(a["window"][1] for a in answers) - min(a["window"][0] for a in answers)
    window = window or duration
    return {
        "rate_per_typist": rate,
        "seconds": round(window, 2),
        "edit_latency_ms": common.summary_ms(deliveries),
        "ack_latency_ms": common.summary_ms(acks),
        "keystroke_to_others_ms": common.summary_ms(keys),
        "committed_ops_per_second": round(len(acks) / window, 1),
        "ops_sent_per_second": round(sum(a["ops_sent"] for a in answers) / window, 1),
        "keystrokes_per_second": round(sum(a["keystrokes"] for a in answers) / window, 1),
        "deliveries_per_second": round(len(deliveries) / window, 1),
        "load_loop_lag_ms": common.summary_ms(lag),
        "load_process_cpu_percent": [round(100 * a["cpu_seconds"] / window, 1) for a in answers],
    }


def _cpu_per_op(
    step: dict,
    *,
    pids: list[int],
    threads0: list[dict[str, float]],
    services0: dict[str, float],
    elapsed: float,
    cores: int,
) -> dict[str, float]:
    """Where the machine's CPU went in a step, in ms per committed op: the workers'
    event loops and other (database) threads, PostgreSQL and Redis (all of the
    machine's: run nothing else beside a run), the load client, and the whole machine
    (busy share x cores). What is left of `machine` is the kernel's softirq work and
    anything else running."""
    rate = step["committed_ops_per_second"]
    if not rate or elapsed <= 0:
        return {}
    threads1 = [common.thread_cpu_seconds(pid) for pid in pids]
    services1 = common.service_cpu_seconds()

    def per_op(seconds: float) -> float:
        # CPU seconds per second of the step, per committed op per second.
        return round(1000 * seconds / elapsed / rate, 2)

    pairs = list(zip(threads0, threads1, strict=True))
    return {
        "workers_loop": per_op(sum(t1["loop"] - t0["loop"] for t0, t1 in pairs)),
        "workers_threads": per_op(sum(t1["threads"] - t0["threads"] for t0, t1 in pairs)),
        "postgres": per_op(services1["postgres"] - services0["postgres"]),
        "redis": per_op(services1["redis"] - services0["redis"]),
        "load": round(10 * step["load_cpu_percent"] / rate, 2),
        "machine": round(10 * step["machine_busy_percent"] * cores / rate, 2),
    }


def _print_step(target: str, index: int, step: dict) -> None:
    e, a = step["edit_latency_ms"], step["ack_latency_ms"]
    print(
        f"   step {index} rate {step['rate_per_typist']}/s: {step['committed_ops_per_second']} "
        f"ops/s, edit p50 {e['p50']} p95 {e['p95']} p99 {e['p99']} max {e['max']} ms, "
        f"ack p99 {a['p99']} ms, workers CPU {step['worker_cpu_percent']} %, "
        f"load CPU {step['load_cpu_percent']} %, machine {step['machine_busy_percent']} %"
    )
    if step.get("cpu_ms_per_op"):
        parts = ", ".join(f"{k} {v}" for k, v in step["cpu_ms_per_op"].items())
        print(f"   CPU ms per committed op: {parts}")


def _verify(target: str, finals: list[dict], db: dict | None) -> dict[str, Any]:
    clients = [c for f in finals for c in f["clients"]]
    errors: collections.Counter = collections.Counter()
    events: collections.Counter = collections.Counter()
    for f in finals:
        errors.update(f["errors"])
        events.update(f["events"])
    lost = sum(c["lost"] for c in clients)
    duplicated = sum(c["duplicated"] for c in clients)
    verdict: dict[str, Any] = {
        "clients": len(clients),
        "lost": lost,
        "duplicated": duplicated,
        "receipts": sum(c["received"] for c in clients),
        "recovered_by_sync_or_snapshot": sum(c["recovered"] for c in clients),
        "errors": dict(errors),
        "events": dict(events),
        "pending_edits": sum(c["pending"] for c in clients),
        "dropped_edits": sum(c["dropped_edits"] for c in clients),
        "view_repairs": sum(c["drifts"] for c in clients),
        "closed_sockets": sum(1 for c in clients if c["closed"] is not None),
    }
    if db is None:
        return verdict
    behind = 0
    text_mismatch = 0
    for c in clients:
        state = db[c["plan"]]
        if c["rev"] != state["rev"]:
            behind += 1
            lost += max(0, state["rev"] - (c["rev"] or 0))
        for key, text in c["texts"].items():
            if text != state["texts"][key] or c["visible"][key] != state["texts"][key]:
                text_mismatch += 1
    acked = collections.Counter(op_id for c in clients for op_id in c["acked"])
    committed = collections.Counter(op_id for s in db.values() for op_id in s["live_ops"])
    verdict.update(
        lost=lost,
        clients_behind_database=behind,
        text_mismatches=text_mismatch,
        committed_live_ops=sum(committed.values()),
        acked_ops=sum(acked.values()),
        acked_not_committed=sum(1 for op_id in acked if op_id not in committed),
        committed_not_acked=sum(1 for op_id in committed if op_id not in acked),
        committed_twice=sum(1 for n in committed.values() if n > 1),
        acked_twice=sum(1 for n in acked.values() if n > 1),
    )
    return verdict


# ============================================================================ main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--meetings", type=int, default=25)
    p.add_argument("--participants", type=int, default=8)
    p.add_argument("--duration", type=float, default=30.0, help="seconds (per step)")
    p.add_argument("--rate", type=float, default=5.0, help="keystrokes/s per typist")
    p.add_argument("--mode", choices=["latency", "throughput"], default="latency")
    p.add_argument("--rates", type=float, nargs="*", help="throughput mode: the rate steps")
    p.add_argument("--server", choices=["uvicorn", "daphne"], default="uvicorn")
    p.add_argument(
        "--ws",
        choices=["auto", "websockets", "websockets-sansio", "wsproto"],
        default="auto",
        help="uvicorn's WebSocket implementation (auto is websockets-sansio in uvicorn 0.55)",
    )
    p.add_argument("--json", dest="json_path", help="write the results here")
    p.add_argument(
        "--flush-ms",
        type=float,
        default=None,
        help="batching interval (default 150 as in the browser; 0 in throughput mode)",
    )
    p.add_argument("--same-field", action="store_true", help="both typists in one field")
    p.add_argument("--floor", dest="floor", action="store_true", default=None)
    p.add_argument("--no-floor", dest="floor", action="store_false")
    p.add_argument("--no-ipplan", dest="ipplan", action="store_false", default=True)
    p.add_argument("--load-procs", type=int, default=1, help="load client processes")
    p.add_argument("--settle", type=float, default=3.0, help="seconds between connect and typing")
    p.add_argument("--conn-max-age", type=int, default=60, help="DB_CONN_MAX_AGE of the workers")
    p.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="experiment: override a Django setting in the workers (VALUE is JSON)",
    )
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="renice the workers, load processes and their PostgreSQL backends (e.g. -10) "
        "so a busy shared machine disturbs the figures less; reported in the JSON",
    )
    p.add_argument(
        "--db-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="experiment: a psycopg option for the workers' database connection, e.g. "
        "server_side_binding=true (VALUE is JSON)",
    )
    p.add_argument(
        "--db-threads",
        type=int,
        default=0,
        help="experiment: IPPLAN_LIVE_DB_THREADS for the workers (default: the setting's "
        "default, 4 threads per worker)",
    )
    p.add_argument("--redis-url", default=common.REDIS_URL)
    p.add_argument(
        "--own-redis",
        action="store_true",
        help="start a private redis-server for the run (instead of --redis-url)",
    )
    p.add_argument("--database", default=common.database_url(DB_NAME))
    p.add_argument("--log-dir", default=str(common.ROOT / "var" / "bench"))
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the workers during the first step (collapsed stacks in --log-dir; "
        "summarise with bench/profile_summary.py)",
    )
    p.add_argument("--profile-targets", nargs="*", default=["ipplan"])
    p.add_argument(
        "--call-costs",
        type=int,
        default=100,
        help="after the run, time N direct calls of each database call a socket makes",
    )
    args = p.parse_args(argv)
    if args.flush_ms is None:
        args.flush_ms = 0.0 if args.mode == "throughput" else 150.0
    if args.floor is None:
        args.floor = args.mode == "latency"
    args.setting = _name_values(args.setting)
    args.db_option = _name_values(args.db_option)
    return args


def _name_values(items: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs; VALUE is JSON where it parses, else a string."""
    values: dict[str, Any] = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            values[name] = json.loads(value)
        except ValueError:
            values[name] = value
    return values


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.nice:
        # The scheduler groups processes by session (autogroup): a nice value only
        # counts against the group's own processes unless the group itself is reniced.
        common.renice([os.getpid()], args.nice)
    try:
        return _main(args)
    finally:
        if args.nice:
            common.renice([os.getpid()], 0)


def _main(args: argparse.Namespace) -> dict[str, Any]:
    started = common.now_iso()
    info = common.machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, load {info['loadavg_at_start']}")
    rooms: list[dict] = []
    database = args.database
    if args.ipplan:
        t0 = time.monotonic()
        common.recreate_database(database)  # migrated
        common.setup_django(database)
        common.offset_ids()
        rooms = seed(args.meetings, args.participants)
        print(
            f"seeded {len(rooms)} plans x {args.participants} members in "
            f"{time.monotonic() - t0:.1f} s (database {database.rsplit('/', 1)[1]})"
        )
    else:
        rooms = [
            {
                "index": m,
                "plan": 7_000_000 + m,
                "meeting": 0,
                "users": [],
                "cookies": [""] * args.participants,
                "fields": [["goal", 1, "text"], ["measure", 2, "description"]],
            }
            for m in range(args.meetings)
        ]
    steps = [args.rate] if args.mode == "latency" else (args.rates or THROUGHPUT_RATES)
    log_dir = Path(args.log_dir)
    results: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        if args.own_redis:
            redis = stack.enter_context(common.OwnRedis(log_dir / "redis.log"))
            args.redis_url = redis.url
            if args.nice:
                common.renice([redis.proc.pid], args.nice)
            print(f"own redis-server on port {redis.port}")
        if args.floor:
            results["floor"] = run_target("floor", args, rooms, database, steps, log_dir)
        if args.ipplan:
            results["ipplan"] = run_target("ipplan", args, rooms, database, steps, log_dir)
    report = {
        "benchmark": "live_load",
        "started": started,
        "finished": common.now_iso(),
        "machine": info,
        "loadavg_at_end": common.loadavg(),
        "scenario": {
            "mode": args.mode,
            "server": args.server,
            "ws": args.ws,
            "workers": args.workers,
            "meetings": args.meetings,
            "participants": args.participants,
            "connections": args.meetings * args.participants,
            "typists_per_meeting": TYPISTS_PER_MEETING,
            "rate_per_typist": args.rate if args.mode == "latency" else steps,
            "flush_ms": args.flush_ms,
            "same_field": args.same_field,
            "duration_seconds": args.duration,
            "load_procs": args.load_procs,
            "db_conn_max_age": args.conn_max_age,
            "settings_overridden": args.setting,
            "database_options": args.db_option,
            "nice": args.nice,
            "db_threads_experiment": args.db_threads,
            "channel_layer": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "redis": "private redis-server" if args.own_redis else args.redis_url,
        },
        "results": results,
    }
    if args.ipplan and args.call_costs:
        report["call_costs"] = call_costs(rooms[0], args.call_costs)
    report["summary"] = summarise(args, results)
    print_summary(args, report)
    common.write_json(args.json_path, report)
    return report


def _best_step(target: dict, mode: str) -> dict:
    steps = target["steps"]
    if mode == "latency":
        return steps[0]
    under = [s for s in steps if (s["edit_latency_ms"]["p99"] or 1e9) <= P99_LIMIT_MS]
    return max(under, key=lambda s: s["committed_ops_per_second"]) if under else steps[0]


def summarise(args: argparse.Namespace, results: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, target in results.items():
        step = _best_step(target, args.mode)
        c = target["correctness"]
        out[name] = {
            "rate_per_typist": step["rate_per_typist"],
            "committed_ops_per_second": step["committed_ops_per_second"],
            "edit_p50_ms": step["edit_latency_ms"]["p50"],
            "edit_p95_ms": step["edit_latency_ms"]["p95"],
            "edit_p99_ms": step["edit_latency_ms"]["p99"],
            "edit_max_ms": step["edit_latency_ms"]["max"],
            "ack_p50_ms": step["ack_latency_ms"]["p50"],
            "ack_p99_ms": step["ack_latency_ms"]["p99"],
            "lost": c["lost"],
            "duplicated": c["duplicated"],
            "errors": sum(c["errors"].values()),
            "peak_rss_mib": [w["peak_rss_mib"] for w in target["workers_memory"]],
        }
    if args.mode == "throughput":
        for name, target in results.items():
            under = [
                s for s in target["steps"] if (s["edit_latency_ms"]["p99"] or 1e9) <= P99_LIMIT_MS
            ]
            out[name]["p99_limit_ms"] = P99_LIMIT_MS
            out[name]["steps"] = [
                [s["rate_per_typist"], s["committed_ops_per_second"], s["edit_latency_ms"]["p99"]]
                for s in target["steps"]
            ]
            out[name]["committed_ops_per_second_under_limit"] = (
                max(s["committed_ops_per_second"] for s in under) if under else None
            )
    if "floor" in out and "ipplan" in out and out["floor"]["edit_p99_ms"]:
        out["p99_ratio_to_floor"] = round(
            out["ipplan"]["edit_p99_ms"] / out["floor"]["edit_p99_ms"], 2
        )
    return out


def print_summary(args: argparse.Namespace, report: dict) -> None:
    s = report["summary"]
    rows = []
    for name in ("floor", "ipplan"):
        if name not in s:
            continue
        r = s[name]
        rows.append(
            [
                name,
                r["rate_per_typist"],
                r["committed_ops_per_second"],
                r["edit_p50_ms"],
                r["edit_p95_ms"],
                r["edit_p99_ms"],
                r["edit_max_ms"],
                r["ack_p50_ms"],
                r["ack_p99_ms"],
                r["lost"],
                r["duplicated"],
                r["errors"],
                "/".join(str(v) for v in r["peak_rss_mib"]),
            ]
        )
    sc = report["scenario"]
    print(
        f"\n{sc['meetings']} meetings x {sc['participants']} = {sc['connections']} connections, "
        f"{sc['server']} x {sc['workers']} workers, {args.mode}, {sc['duration_seconds']} s"
        f"{' per step' if args.mode == 'throughput' else ''}, load {report['loadavg_at_end']}"
    )
    print(
        common.table(
            [
                "target",
                "keys/s/typist",
                "ops/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "ack p50",
                "ack p99",
                "lost",
                "dup",
                "errors",
                "peak RSS MiB",
            ],
            rows,
        )
    )
    for name in ("floor", "ipplan"):
        if args.mode == "throughput" and name in s:
            best = s[name]["committed_ops_per_second_under_limit"]
            steps = "; ".join(f"{r}/s: {o} ops/s, p99 {p} ms" for r, o, p in s[name]["steps"])
            print(f"{name} steps (keys/s/typist): {steps}")
            print(
                f"{name}: committed ops/s with p99 <= {P99_LIMIT_MS:.0f} ms: "
                + (f"{best}" if best is not None else "none (p99 over the limit at every step)")
            )
    if "p99_ratio_to_floor" in s:
        print(f"ipplan p99 / floor p99 = {s['p99_ratio_to_floor']} (target <= 3)")
    if "call_costs" in report:
        print("\nDatabase calls of a socket, called directly (load " + common.loadavg() + "):")
        print(
            common.table(
                ["call", "queries", "wall ms (median)", "wall ms p95", "CPU ms (median)"],
                [
                    [k, v["queries"], v["wall_ms_median"], v["wall_ms_p95"], v["cpu_ms_median"]]
                    for k, v in report["call_costs"].items()
                ],
            )
        )
    if "ipplan" in report["results"]:
        c = report["results"]["ipplan"]["correctness"]
        print(
            "ipplan correctness: "
            + ", ".join(f"{k} {v}" for k, v in c.items() if k not in {"events"})
        )


if __name__ == "__main__":
    main()
