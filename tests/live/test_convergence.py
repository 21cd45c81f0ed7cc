"""Randomised convergence: many clients edit one plan at once through the real socket.

Each schedule makes a fresh plan and runs six protocol-level clients against the real
consumer (two tabs each for the coordinator and a specialist, a commenter, a reader)
plus a form writer going through the services directly. The clients type into the
same text fields, create, move and delete goals and measures, set statuses and dates
(some invalid, some forbidden), suffer random delivery delays, lose messages, drop
their connection and reconnect, resend and ask for snapshots. After quiescence:

* every client's state equals a fresh snapshot from the database;
* replaying the op log from the schedule's first snapshot gives the same state;
* every op a client saw acknowledged is in the log exactly once, no refused op is,
  and every op of a client that is in the log was acknowledged to it;
* every character anyone typed is still there unless its author deleted it.

The number of schedules and the seed come from the environment:
IPPLAN_CONVERGENCE_CASES (default 200) and IPPLAN_CONVERGENCE_SEED. The seed fixes
every client decision (what to edit, when to drop, which message to lose); the exact
interleaving still depends on timing. Ten schedules share a plan (each starts from the
state the previous one left), so a failure names the seed of its first schedule too;
rerun that block with IPPLAN_CONVERGENCE_SEED=<first> IPPLAN_CONVERGENCE_CASES=<n>.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import json
import os
import random
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from ipplan.live import ot
from ipplan.live.snapshot import apply_event, change_events, plan_snapshot
from ipplan.plans import services
from ipplan.plans.models import Change, Consent, Member, Person, Plan

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CASES = int(os.environ.get("IPPLAN_CONVERGENCE_CASES", "200"))
SEED = int(os.environ.get("IPPLAN_CONVERGENCE_SEED", "20261124"))

SCHEDULES_PER_PLAN = 10  # later schedules start from the state earlier ones left
TRACKED = ("what_matters", "needs")  # plan text fields with per-author character checks
ALPHABETS = [
    "ABCDEFGHIJ",
    "abcdefghij",
    "😀😁😂😃😄😅😆😇😈😉",  # outside the BMP: positions count code points
    "KLMNOPQRST",
    "klmnopqrst",
    "ÆØÅæøå€§¤£",
]
P_DELAY = 0.3  # a message is processed late
P_LOSE = 0.03  # an op/ack message is lost (the client sees a revision gap)
P_DROP = 0.06  # the connection drops before an action
P_RESYNC = 0.02  # the client asks for a fresh snapshot
P_DOUBLE = 0.05  # a frame is sent twice


def _owner(char: str) -> int | None:
    for index, alphabet in enumerate(ALPHABETS):
        if char in alphabet:
            return index
    return None


# ------------------------------------------------------------------------ the plan


def make_plan(number: int, users: dict[str, Any]) -> Plan:
    """A fresh plan with the personas as members (as in tests/conftest.py)."""
    today = datetime.date.today()
    person = Person.objects.create(
        first_name="Per", last_name=f"Person {number}", birth_date=datetime.date(1990, 5, 17)
    )
    plan = services.plan_create(
        person=person,
        coordinator=users["kari"],
        created_by=users["kari"],
        period_start=today - datetime.timedelta(days=60),
        period_end=today + datetime.timedelta(days=365),
        status=Plan.Status.ACTIVE,
    )
    members = []
    for name, access in (("siv", "edit"), ("nils", "comment"), ("frida", "read")):
        result = services.object_create(
            plan_id=plan.pk,
            user=users["kari"],
            target="member",
            values={
                "user": users[name].pk,
                "role": "specialist",
                "access": access,
                "active_from": today - datetime.timedelta(days=30),
            },
        )
        members.append(Member.objects.get(pk=result.result["id"]))
    services.consent_record(
        plan_id=plan.pk,
        user=users["kari"],
        kind=Consent.Kind.SHARING,
        given_on=today - datetime.timedelta(days=30),
        members=members,
    )
    theme = plan.themes.order_by("position").first()
    goal = services.object_create(
        plan_id=plan.pk,
        user=users["kari"],
        target="goal",
        values={
            "theme": theme.pk,
            "text": "Egen leilighet",
            "success_criterion": "Har leiekontrakt",
            "evaluation_date": today + datetime.timedelta(days=90),
        },
    )
    services.object_create(
        plan_id=plan.pk,
        user=users["kari"],
        target="measure",
        values={
            "theme": theme.pk,
            "goal": goal.result["id"],
            "description": "Søke kommunal bolig",
            "responsible": members[1].pk,  # Nils may edit this one
        },
    )
    return Plan.objects.get(pk=plan.pk)


# ---------------------------------------------------------------------- the client


class Pending:
    __slots__ = ("op_id", "op", "frame", "text_key")

    def __init__(self, op: dict[str, Any]) -> None:
        self.op_id = uuid.uuid4().hex
        self.op = op  # for text ops: the local version, transformed as others' ops arrive
        self.frame: dict[str, Any] | None = None  # as sent (resent unchanged)
        self.text_key = (op["target"], op.get("id"), op["field"]) if op["type"] == "text" else None


class SimClient:
    """A client following docs/protocol.md: one op in flight, text ops transformed
    against incoming ops, gap detection, reconnect with `since`, resend by op_id."""

    def __init__(self, index: int, user: Any, cookie: str, plan: Plan, edit_rate: float) -> None:
        self.index = index
        self.user = user
        self.cookie = cookie
        self.plan = plan
        self.edit_rate = edit_rate
        self.rng = random.Random(index)
        self.alphabet = ALPHABETS[index]
        self.state: dict[str, Any] | None = None  # the committed state at self.rev
        self.rev = 0
        self.pending: list[Pending] = []
        self.ghosts: dict[str, dict] = {}  # sent, then replaced by a snapshot: resend only
        self.sent: set[str] = set()
        self.acked: set[str] = set()
        self.refused: set[str] = set()
        self.refusal_codes: dict[str, str] = {}  # op_id -> error code, for failure reports
        self.syncing = False
        self.comm: WebsocketCommunicator | None = None
        self.reader: asyncio.Task | None = None
        self.ready = asyncio.Event()
        self.problems: list[str] = []
        self.seen_deleted: dict[str, set[int]] = {"theme": set(), "goal": set()}
        self.lose = P_LOSE
        self.dropped: list[WebsocketCommunicator] = []
        self.last_sync = 0.0

    def begin(self, rng: random.Random) -> None:
        """A new schedule: fresh decisions and fresh bookkeeping (nothing is in flight)."""
        self.rng = rng
        self.lose = P_LOSE
        self.sent, self.acked, self.refused = set(), set(), set()
        self.refusal_codes = {}

    # -- connection

    async def connect(self) -> None:
        from ipplan.asgi import application

        query = f"?since={self.rev}" if self.state is not None else ""
        comm = WebsocketCommunicator(
            application,
            f"/ws/plans/{self.plan.pk}/{query}",
            headers=[
                (b"host", b"testserver"),
                (b"origin", b"http://testserver"),
                (b"cookie", f"sessionid={self.cookie}".encode()),
            ],
        )
        connected, _ = await comm.connect(timeout=10)
        assert connected
        self.comm = comm
        self.syncing = self.state is not None  # the `ops` reply is on its way
        self.ready = asyncio.Event()
        self.reader = asyncio.ensure_future(self._read(comm))
        # Resend what may not have arrived (the server applies each op_id once).
        if self.pending and self.pending[0].frame is not None:
            await self._send(self.pending[0].frame)
        for frame in list(self.ghosts.values()):
            await self._send(frame)
        # A client edits only once it has the state (snapshot or catch-up).
        await asyncio.wait_for(self.ready.wait(), 15)

    async def drop(self) -> None:
        """The connection goes away; whatever was on its way to the client is lost."""
        comm, self.comm = self.comm, None
        if self.reader is not None:
            self.reader.cancel()
        if comm is not None and not comm.future.done():
            # Like a network drop, the client does not wait for the server to notice.
            await comm.send_input({"type": "websocket.disconnect", "code": 1006})
            self.dropped.append(comm)

    async def finish(self) -> None:
        await self.drop()
        for comm in self.dropped:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await comm.wait(timeout=5)

    async def _send(self, frame: dict) -> None:
        if self.comm is not None:
            await self.comm.send_to(text_data=json.dumps(frame, ensure_ascii=False))

    async def _read(self, comm: WebsocketCommunicator) -> None:
        while True:
            output = await comm.output_queue.get()
            if output["type"] == "websocket.close":
                self.problems.append(f"closed by the server: {output.get('code')}")
                return
            message = json.loads(output["text"])
            if self.rng.random() < P_DELAY:
                await asyncio.sleep(self.rng.uniform(0, 0.02))
            if comm is not self.comm:
                return
            try:
                self.handle(message)
            except Exception as exc:  # a client bug or a protocol violation
                self.problems.append(f"{type(exc).__name__}: {exc} on {message['type']}")
                raise
            await self.pump()

    # -- receiving

    def handle(self, message: dict) -> None:
        kind = message["type"]
        if kind in {"snapshot", "ops"}:
            self.ready.set()
        if kind == "snapshot":
            self.state = message["plan"]
            self.rev = message["rev"]
            for item in self.pending:
                if item.frame is not None:
                    self.ghosts[item.op_id] = item.frame
            self.pending = []
            self.syncing = False
            # Sent but not acknowledged: send again. The ack says whether the snapshot
            # already has it (rev <= ours) or it is new (applied like an op).
            for frame in list(self.ghosts.values()):
                asyncio.ensure_future(self._send(frame))
        elif kind == "ops":
            self.syncing = False
            for item in message["ops"]:
                self._change(item)
            if self.rev < message["rev"]:
                self.problems.append(f"ops reply ended at {self.rev}, not {message['rev']}")
        elif kind in {"op", "ack"}:
            if message["rev"] <= self.rev:
                self._change(message)  # old news, but an ack still settles its op
            elif self.syncing or self.rng.random() < self.lose:
                return  # lost (or superseded by the `ops` reply on its way)
            else:
                self._change(message)
        elif kind == "error":
            self._error(message)

    def _change(self, message: dict) -> None:
        rev, op_id = message["rev"], message["op_id"]
        if op_id in self.sent:
            self.acked.add(op_id)
        if rev <= self.rev:
            if self.pending and self.pending[0].op_id == op_id:
                self.pending.pop(0)  # a late ack of something already applied
            self.ghosts.pop(op_id, None)
            return
        if rev != self.rev + 1:
            self.syncing = True
            asyncio.ensure_future(self._send({"type": "sync", "since": self.rev}))
            return
        op = message["op"]
        mine = bool(self.pending) and self.pending[0].op_id == op_id
        if mine:
            self.pending.pop(0)
        else:
            self.ghosts.pop(op_id, None)
            if op["type"] == "text":
                key = (op["target"], op["id"], op["field"])
                incoming = op["ops"]
                for item in self.pending:
                    if item.text_key == key:
                        incoming, item.op["ops"] = ot.transform(
                            incoming, item.op["ops"], a_first=True
                        )
            if op["type"] == "delete" and op["target"] in self.seen_deleted:
                self.seen_deleted[op["target"]].add(op["id"])
        apply_event(self.state, op)
        self.rev = rev

    def _error(self, message: dict) -> None:
        op_id, code = message["op_id"], message["code"]
        if code in {"bad_frame"} or op_id is None:
            self.problems.append(f"unexpected error {message}")
            return
        if code in {"rate_limited", "unavailable", "conflict"}:
            if self.pending and self.pending[0].op_id == op_id:
                asyncio.ensure_future(self._resend_later(self.pending[0].frame))
            return
        self.refused.add(op_id)
        self.refusal_codes[op_id] = code
        self.ghosts.pop(op_id, None)
        if self.pending and self.pending[0].op_id == op_id:
            refused = self.pending.pop(0)  # a snapshot follows and puts the view right
            if refused.text_key is not None:
                # Later edits of that field were made on top of the refused one, so
                # they go too, as the browser's field drops its buffer (store.js
                # refuse()); none was sent (one op in flight). Kept, they no longer
                # fit the text, and an edit before the snapshot arrives (it may wait
                # up to a second) failed in ot.apply.
                self.pending = [p for p in self.pending if p.text_key != refused.text_key]

    async def _resend_later(self, frame: dict) -> None:
        await asyncio.sleep(0.05)
        await self._send(frame)

    # -- sending

    async def pump(self) -> None:
        """Send the next pending op if none is in flight."""
        if self.comm is None or self.syncing or not self.pending:
            return
        item = self.pending[0]
        if item.frame is not None:
            return
        op = copy.deepcopy(item.op)
        if op["type"] == "text":
            # The op must span the whole field at base_rev: add the trailing retain.
            text = self._text(self.state, item.text_key) or ""
            missing = len(text) - ot.base_length(op["ops"])
            op["ops"] = ot.normalize(op["ops"]) + ([missing] if missing > 0 else [])
            if not op["ops"]:
                op["ops"] = [len(text)] if text else []
        item.frame = {"type": "op", "op_id": item.op_id, "base_rev": self.rev, "op": op}
        self.sent.add(item.op_id)
        await self._send(item.frame)
        if self.rng.random() < P_DOUBLE:
            await self._send(item.frame)

    # -- the local view and edits

    @staticmethod
    def _text(state: dict | None, key: tuple) -> str | None:
        if state is None:
            return None
        target, obj_id, field = key
        if target == "plan":
            return state.get(field) or ""
        for obj in state[target + "s"]:
            if obj["id"] == obj_id:
                return obj.get(field) or ""
        return None

    def local_text(self, key: tuple) -> str | None:
        text = self._text(self.state, key)
        if text is None:
            return None
        for item in self.pending:
            if item.text_key == key:
                text = ot.apply(text, item.op["ops"])
        return text

    def edit(self) -> None:
        """Make one random local edit (appended to pending)."""
        state, rng = self.state, self.rng
        if state is None:
            return
        roll = rng.random()
        if roll < 0.55:
            choices = [("plan", state["id"], f) for f in TRACKED]
            choices += [("goal", g["id"], "text") for g in state["goals"]]
            choices += [("theme", t["id"], "current_situation") for t in state["themes"][:2]]
            key = rng.choice(choices)
            text = self.local_text(key)
            if text is None:
                return
            own = [i for i, c in enumerate(text) if c in self.alphabet]
            if own and rng.random() < 0.3:
                start = rng.choice(own)
                end = start
                while end + 1 < len(text) and text[end + 1] in self.alphabet and end - start < 3:
                    end += 1
                ops = [start, -(end - start + 1), len(text) - end - 1]
            else:
                pos = rng.randint(0, len(text))
                chars = "".join(rng.choice(self.alphabet) for _ in range(rng.randint(1, 3)))
                ops = [pos, chars, len(text) - pos]
            op = {"type": "text", "target": key[0], "id": key[1], "field": key[2]}
            op["ops"] = ot.normalize([c for c in ops if c != 0])
            if op["ops"]:
                self.pending.append(Pending(op))
            return
        themes = [t["id"] for t in state["themes"]]
        goals, measures = state["goals"], state["measures"]
        today = datetime.date.today()
        options: list[dict] = [
            {
                "type": "create",
                "target": "goal",
                "values": {
                    "theme": rng.choice(themes),
                    "text": "Nytt mål",
                    "success_criterion": "Målt",
                    "evaluation_date": str(today + datetime.timedelta(days=rng.randint(1, 200))),
                    "position": rng.randint(0, 3),
                },
            },
            {
                "type": "create",
                "target": "measure",
                "values": {"theme": rng.choice(themes), "description": "Nytt tiltak"},
            },
            {
                "type": "move",
                "target": "theme",
                "id": rng.choice(themes),
                "position": rng.randint(0, 7),
            },
        ]
        if goals:
            goal = rng.choice(goals)
            options += [
                {
                    "type": "move",
                    "target": "goal",
                    "id": goal["id"],
                    "position": rng.randint(0, 4),
                    "theme": rng.choice(themes),
                },
                {
                    "type": "set",
                    "target": "goal",
                    "id": goal["id"],
                    "field": "status",
                    "value": rng.choice(["in_progress", "achieved", "revised", "bogus"]),
                },
                {
                    "type": "set",
                    "target": "goal",
                    "id": goal["id"],
                    "field": "evaluation_date",
                    "value": str(today + datetime.timedelta(days=rng.choice([10, 100, -400]))),
                },
                {"type": "delete", "target": "goal", "id": goal["id"]},
            ]
        if measures:
            measure = rng.choice(measures)
            options += [
                {
                    "type": "move",
                    "target": "measure",
                    "id": measure["id"],
                    "position": rng.randint(0, 4),
                    "theme": rng.choice(themes),
                },
                {
                    "type": "set",
                    "target": "measure",
                    "id": measure["id"],
                    "field": "status",
                    "value": rng.choice(["ongoing", "done", "cancelled"]),
                },
                {
                    "type": "set",
                    "target": "measure",
                    "id": measure["id"],
                    "field": "responsible",
                    "value": rng.choice([m["id"] for m in state["members"]]),
                },
                {"type": "delete", "target": "measure", "id": measure["id"]},
            ]
        if rng.random() < 0.1:
            options.append({"type": "delete", "target": "theme", "id": rng.choice(themes)})
        for target, ids in self.seen_deleted.items():
            if ids:
                options.append({"type": "restore", "target": target, "id": rng.choice(sorted(ids))})
        self.pending.append(Pending(rng.choice(options)))

    async def act(self, steps: int) -> None:
        for _ in range(steps):
            await asyncio.sleep(self.rng.uniform(0, 0.03))
            roll = self.rng.random()
            if roll < P_DROP:
                await self.drop()
                await asyncio.sleep(self.rng.uniform(0, 0.05))
                await self.connect()
            elif roll < P_DROP + P_RESYNC and self.comm is not None:
                await self._send({"type": "resync"})
            elif self.rng.random() > self.edit_rate:
                await self._send(
                    {"type": "presence", "focus": self.rng.choice([None, "plan:1:needs"])}
                )
            else:
                self.edit()
                await self.pump()

    def settled(self, revision: int) -> bool:
        return (
            self.comm is not None
            and not self.pending
            and not self.ghosts
            and not self.syncing
            and self.rev == revision
        )


# ----------------------------------------------------------------------- the checks


def check_log(plan_id: int, first_rev: int, first_state: dict, clients: list[SimClient]) -> dict:
    """Replay the log; check acks, refusals and every typed character. Returns the
    fresh snapshot."""
    revision, fresh = plan_snapshot(plan_id)
    replayed = copy.deepcopy(first_state)
    for event in change_events(plan_id, first_rev):
        apply_event(replayed, event["op"])
    assert replayed == fresh, "replaying the log does not give the database state"

    logged = list(Change.objects.filter(plan_id=plan_id).values_list("op_id", flat=True))
    assert len(logged) == len(set(logged)) == revision
    logged_set = set(logged)
    for client in clients:
        mine_logged = client.sent & logged_set
        unacked = {i: client.refusal_codes.get(i, "no answer") for i in mine_logged - client.acked}
        assert client.acked == mine_logged, (
            f"client {client.index}: acked {len(client.acked)}, in the log {len(mine_logged)};"
            f" logged without an ack: {unacked}"
        )
        assert not (client.refused & logged_set), f"client {client.index}: a refused op is logged"

    # Every character typed into the tracked fields survives unless its author deleted it.
    owner_of = {}
    for client in clients:
        for op_id in client.sent:
            owner_of[op_id] = client.index
    texts = {field: first_state[field] for field in TRACKED}
    inserted = {(f, i): 0 for f in TRACKED for i in range(len(ALPHABETS))}
    deleted = dict(inserted)
    changes = Change.objects.filter(
        plan_id=plan_id, revision__gt=first_rev, target_type="plan", kind="text", field__in=TRACKED
    ).order_by("revision")
    for change in changes:
        field, author = change.field, owner_of.get(change.op_id)
        position, text = 0, texts[field]
        for component in change.payload["ops"]:
            if isinstance(component, str):
                for char in component:
                    if _owner(char) is not None:
                        assert _owner(char) == author, "typed someone else's characters"
                        inserted[(field, author)] += 1
            elif component > 0:
                position += component
            else:
                for char in text[position : position - component]:
                    victim = _owner(char)
                    assert victim == author, f"r{change.revision} deleted another person's text"
                    deleted[(field, victim)] += 1
                position -= component
        texts[field] = change.after
    for field in TRACKED:
        final = fresh[field]
        for index in range(len(ALPHABETS)):
            before = sum(1 for c in first_state[field] if _owner(c) == index)
            count = sum(1 for c in final if _owner(c) == index)
            expected = before + inserted[(field, index)] - deleted[(field, index)]
            assert count == expected, (field, index, count, expected)
    return fresh


WHO = ["kari", "kari", "siv", "siv", "nils", "frida"]  # two tabs each for Kari and Siv
EDIT_RATE = {"kari": 1.0, "siv": 1.0, "nils": 0.4, "frida": 0.2}


async def run_schedule(seed: int, plan: Plan, clients: list[SimClient], users: dict) -> dict:
    """One schedule on `plan` with connected `clients`, from whatever state earlier
    schedules left: act at random, reach quiescence, check everything."""
    rng = random.Random(seed)
    first_rev, first_state = await database_sync_to_async(plan_snapshot)(plan.pk)
    for client in clients:
        client.begin(random.Random(rng.random()))

    async def form_writer() -> None:
        writer_rng = random.Random(rng.random())
        for _ in range(writer_rng.randint(0, 3)):
            await asyncio.sleep(writer_rng.uniform(0, 0.1))
            await database_sync_to_async(_form_edit)(plan.pk, users["kari"], writer_rng)

    try:
        steps = [rng.randint(3, 9) for _ in clients]
        await asyncio.gather(
            form_writer(), *(c.act(n) for c, n in zip(clients, steps, strict=True))
        )

        # Quiescence: reconnect the dropped, let everything in flight settle.
        await asyncio.gather(*(c.connect() for c in clients if c.comm is None))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        revision = -1
        while True:
            idle = all(c.comm is not None and not c.pending and not c.syncing for c in clients)
            if idle or revision < 0:
                revision = await database_sync_to_async(_revision)(plan.pk)
            for client in clients:
                client.lose = 0.0
                await client.pump()
                # Behind with nothing arriving: it lost the last message(s) (perhaps
                # the ack of its op in flight) and no later one showed the gap. A real
                # client notices with a timer; here quiescence is the timer.
                behind = not client.syncing and client.rev < revision
                if behind and client.comm is not None and loop.time() - client.last_sync > 0.5:
                    client.last_sync = loop.time()
                    await client._send({"type": "sync", "since": client.rev})
            if all(c.settled(revision) for c in clients):
                break
            if loop.time() > deadline:
                states = [
                    (c.index, c.rev, len(c.pending), len(c.ghosts), c.syncing, c.problems[:3])
                    for c in clients
                ]
                raise AssertionError(f"no quiescence at r{revision}: {states}")
            await asyncio.sleep(0.02)

        problems = [(c.index, p) for c in clients for p in c.problems]
        assert not problems, problems[:5]
        fresh = await database_sync_to_async(check_log)(plan.pk, first_rev, first_state, clients)
        for client in clients:
            assert client.state == fresh, f"client {client.index} differs from the database"
    except AssertionError as error:
        first = SEED + (seed - SEED) // SCHEDULES_PER_PLAN * SCHEDULES_PER_PLAN
        raise AssertionError(
            f"seed {seed} (schedule {seed - first + 1} of the plan whose first seed is"
            f" {first}): {error}"
        ) from error
    return {
        "ops": sum(len(c.acked) for c in clients),
        "refused": sum(len(c.refused) for c in clients),
    }


def _revision(plan_id: int) -> int:
    return Plan.objects.values_list("revision", flat=True).get(pk=plan_id)


def _form_edit(plan_id: int, user: Any, rng: random.Random) -> None:
    """An edit through a form (the services directly): it must appear live."""
    plan = Plan.objects.get(pk=plan_id)
    goals = list(plan.goals.alive())
    if not goals:
        return
    with contextlib.suppress(services.OperationError):  # e.g. deleted meanwhile
        services.object_update(
            plan_id=plan_id,
            user=user,
            target="goal",
            target_id=rng.choice(goals).pk,
            values={"status": rng.choice(["not_started", "in_progress", "achieved"])},
        )


@pytest.fixture
def personas(coordinator, specialist, commenter, reader):
    return {"kari": coordinator, "siv": specialist, "nils": commenter, "frida": reader}


def test_clients_converge_on_the_database_state(personas, theme_templates, live_db):
    from tests.live.conftest import session_cookie

    # Two sessions each: the tabs of one person are separate sockets and sessions.
    cookies = {name: [session_cookie(u), session_cookie(u)] for name, u in personas.items()}
    totals = {"ops": 0, "refused": 0}

    async def main() -> None:
        for block in range(0, CASES, SCHEDULES_PER_PLAN):
            plan = await database_sync_to_async(make_plan)(block, personas)
            clients = [
                SimClient(i, personas[name], cookies[name][i % 2], plan, EDIT_RATE[name])
                for i, name in enumerate(WHO)
            ]
            try:
                await asyncio.gather(*(client.connect() for client in clients))
                for case in range(block, min(block + SCHEDULES_PER_PLAN, CASES)):
                    try:
                        stats = await run_schedule(SEED + case, plan, clients, personas)
                    except Exception as exc:
                        # Name the schedule (a client's own exception does not).
                        where = f"schedule {SEED + case} (case {case}, block {block})"
                        raise AssertionError(f"{where}: {exc!r}") from exc
                    totals["ops"] += stats["ops"]
                    totals["refused"] += stats["refused"]
            finally:
                await asyncio.gather(*(client.finish() for client in clients))

    # Keep database connections open between calls, as production should
    # (DB_CONN_MAX_AGE); live_db closes the database threads' connections afterwards.
    settings_dict = connections["default"].settings_dict
    settings_dict["CONN_MAX_AGE"] = 600
    try:
        asyncio.run(main())
    finally:
        settings_dict["CONN_MAX_AGE"] = 0
        asyncio.run(database_sync_to_async(connections.close_all)())
    # The schedules did real work: many acknowledged ops and some refusals.
    assert totals["ops"] >= CASES * 5
    assert totals["refused"] >= 1
    print(f"\n{CASES} schedules: {totals['ops']} acknowledged ops, {totals['refused']} refused")
