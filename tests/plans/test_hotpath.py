"""The live editor's hot path (ipplan/plans/hotpath.py) answers exactly as the general
path does: the same random stream of text ops (and a few structural ones between
them), from every persona, is applied once with the hot path and once without, from the
same savepoint, and every answer, every Change row and every text must be equal."""

import datetime
import random

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ipplan.meetings import services as meetings
from ipplan.plans import hotpath, services
from ipplan.plans.models import Change, Goal, Measure, Plan, Theme
from ipplan.plans.services import OperationError

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the hot path runs on PostgreSQL only"
)

TEXT_FIELDS = {
    "plan": ["what_matters", "needs", "resources"],
    "theme": ["title", "current_situation"],
    "goal": ["text", "success_criterion", "expressed_by"],
    "measure": ["description", "how"],
}


def _text_op(current: str, rng: random.Random) -> list:
    """A valid op on `current`, or now and then one that is not."""
    n = len(current)
    roll = rng.random()
    if roll < 0.05:
        return rng.choice([[n + 3, "x"], "not a list", [-(n + 1)], [], [n, 5], [n, "\x00z"]])
    if roll < 0.08:
        return [n, "y" * rng.choice([10, 20_001])]
    at = rng.randint(0, n)
    if n and rng.random() < 0.3:
        length = rng.randint(1, min(3, n))
        at = min(at, n - length)
        op = [at, -length, n - at - length]
    else:
        op = [at, rng.choice(["a", "bo ", "ø", "🙂", "Per "]), n - at]
    return [c for c in op if c != 0]


class Stream:
    """A reproducible stream of ops for one plan; answers are recorded as given."""

    def __init__(self, seed, plan, personas, meetings_ids, foreign_goal):
        self.rng = random.Random(seed)
        self.plan = plan
        self.personas = personas
        self.meeting_ids = meetings_ids
        self.foreign_goal = foreign_goal
        self.op_ids: list[tuple[object, str]] = []

    def objects(self):
        plan = Plan.objects.get(pk=self.plan.pk)
        return {
            "plan": [plan],
            "theme": list(Theme.objects.filter(plan=plan)),
            "goal": list(Goal.objects.filter(plan=plan)),
            "measure": list(Measure.objects.filter(plan=plan)),
        }

    def next(self, step):
        rng = self.rng
        user = rng.choice(self.personas)
        revision = Plan.objects.get(pk=self.plan.pk).revision
        objects = self.objects()
        meeting_id = rng.choice(self.meeting_ids)
        op_id = f"op-{step}"
        if self.op_ids and rng.random() < 0.07:
            owner, op_id = rng.choice(self.op_ids)  # a resend, or another user's op id
            user = owner if rng.random() < 0.7 else user
        if rng.random() < 0.1:
            # Structural or scalar edits between the text ops (general path in both).
            goal = rng.choice(objects["goal"])
            op = rng.choice(
                [
                    {"type": "delete", "target": "goal", "id": goal.pk},
                    {"type": "restore", "target": "goal", "id": goal.pk},
                    {"type": "set", "target": "plan", "field": "status", "value": "closed"},
                    {"type": "set", "target": "plan", "field": "status", "value": "active"},
                    {"type": "set", "target": "plan", "field": "status", "value": "active"},
                    {"type": "set", "target": "plan", "field": "status", "value": "active"},
                    {
                        "type": "set",
                        "target": "goal",
                        "id": goal.pk,
                        "field": "status",
                        "value": "achieved",
                    },
                ]
            )
            return user, op, revision, op_id, meeting_id
        target = rng.choice(list(TEXT_FIELDS))
        obj = rng.choice(objects[target])
        field = rng.choice(TEXT_FIELDS[target])
        current = getattr(obj, field) or ""
        op = {"type": "text", "target": target, "id": obj.pk, "field": field}
        op["ops"] = _text_op(current, rng)
        base = revision
        roll = rng.random()
        if roll < 0.25 and revision > 3:
            base = revision - rng.randint(1, 3)  # behind: transformed, or stale
        elif roll < 0.28:
            base = rng.choice([revision + 1, -1, True, None, "7"])
        roll = rng.random()
        if roll < 0.03:
            op["id"] = self.foreign_goal.pk
        elif roll < 0.05:
            op["id"] = str(obj.pk)
        elif roll < 0.06:
            op["id"] = True
        elif roll < 0.07:
            op["field"] = rng.choice(["level", "nothing", "status"])
        elif roll < 0.08:
            op["target"] = rng.choice(["member", "course", "consent"])
        elif roll < 0.09:
            op_id = rng.choice(["", "x" * 65, 17])
        return user, op, base, op_id, meeting_id


def _answer(plan_id, user, op, base, op_id, meeting_id):
    try:
        result = services.apply_operations(
            plan_id=plan_id,
            user=user,
            ops=[(op, op_id)],
            base_revision=base,
            meeting_id=meeting_id,
            via="live",
        )[0]
    except OperationError as exc:
        return ("refused", exc.code, str(exc.message), exc.field)
    return ("ok", result.revision, result.duplicate, result.op, result.result)


def _state(plan_id, since):
    changes = [
        {k: v for k, v in row.items() if k not in {"id", "at"}}
        for row in Change.objects.filter(plan_id=plan_id, revision__gt=since)
        .order_by("revision")
        .values()
    ]
    plan = Plan.objects.filter(pk=plan_id).values("revision", "status", *TEXT_FIELDS["plan"])
    texts = {
        target: list(
            model.objects.filter(plan_id=plan_id).order_by("pk").values("pk", *TEXT_FIELDS[target])
        )
        for target, model in {"theme": Theme, "goal": Goal, "measure": Measure}.items()
    }
    return changes, list(plan), texts


def _run(settings, hot, stream_args, steps):
    settings.IPPLAN_HOT_PATH = hot
    stream = Stream(*stream_args)
    plan_id = stream.plan.pk
    since = Plan.objects.get(pk=plan_id).revision
    answers = []
    for step in range(steps):
        user, op, base, op_id, meeting_id = stream.next(step)
        answer = _answer(plan_id, user, op, base, op_id, meeting_id)
        if answer[0] == "ok" and not answer[2]:
            stream.op_ids.append((user, op_id))
        answers.append((step, answer))
    return answers, _state(plan_id, since)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_hot_path_answers_as_the_general_path_does(
    seed,
    monkeypatch,
    settings,
    plan,
    other_plan,
    coordinator,
    specialist,
    commenter,
    reader,
    person_user,
    outsider,
):
    live = meetings.meeting_schedule(plan_id=plan.pk, user=coordinator, scheduled_at=timezone.now())
    meetings.meeting_start(meeting_id=live.pk, user=coordinator)
    planned = meetings.meeting_schedule(
        plan_id=plan.pk, user=coordinator, scheduled_at=timezone.now() + datetime.timedelta(days=7)
    )
    foreign_goal = services.object_create(
        plan_id=other_plan.pk,
        user=coordinator,
        target="goal",
        values={
            "theme": other_plan.themes.first().pk,
            "level": "main",
            "text": "Annen plan",
            "success_criterion": "Noe målbart",
            "evaluation_date": datetime.date.today() + datetime.timedelta(days=30),
            "status": "in_progress",
        },
    )
    personas = [coordinator, coordinator, coordinator, specialist, specialist, specialist]
    personas += [commenter, commenter, reader]
    personas += [person_user, outsider]
    stream_args = (
        seed,
        plan,
        personas,
        [None, live.pk, live.pk, planned.pk, 10**12],
        Goal.objects.get(pk=foreign_goal.result["id"]),
    )
    applied = []
    write = hotpath._write  # once per op the hot path applies

    def counting(*args):
        applied.append(args[2])
        return write(*args)

    monkeypatch.setattr(hotpath, "_write", counting)
    savepoint = transaction.savepoint()
    hot = _run(settings, True, stream_args, 200)
    transaction.savepoint_rollback(savepoint)
    general = _run(settings, False, stream_args, 200)

    for (step, hot_answer), (_step, general_answer) in zip(hot[0], general[0], strict=True):
        assert hot_answer == general_answer, f"step {step}"
    assert hot[1] == general[1]
    answers = [a for _s, a in hot[0]]
    hot_applied = len(applied)
    # The stream exercised what it is meant to: accepted text ops, transformed ones,
    # duplicates and refusals of several kinds.
    accepted = [a for a in answers if a[0] == "ok" and not a[2] and a[3]["type"] == "text"]
    assert len(accepted) > 30
    assert hot_applied == len(accepted)  # every one of them by the hot path
    assert any(a[0] == "ok" and a[2] for a in answers)
    codes = {a[1] for a in answers if a[0] == "refused"}
    assert {"forbidden", "invalid", "stale"} <= codes
    assert any(c["meeting_id"] == live.pk for c in hot[1][0])


def _statements(queries):
    """What was sent, without the test transaction's savepoints (a request has none)."""
    # (Django logs a prepared statement's text as None.)
    return [(q["sql"] or "prepared")[:50] for q in queries if "SAVEPOINT" not in (q["sql"] or "")]


@pytest.fixture
def round_trips(monkeypatch):
    """The batches the hot path sends, each in one round trip (pipelined)."""
    sent = []
    real = hotpath.run_batch

    def counting(statements, using="default"):
        sent.append(len(statements))
        return real(statements, using)

    monkeypatch.setattr(hotpath, "run_batch", counting)
    return sent


def test_a_plain_text_op_takes_two_round_trips(plan, coordinator, round_trips):
    goal = Goal.objects.get(plan=plan)
    op = {"type": "text", "target": "goal", "id": goal.pk, "field": "text", "ops": [14, "!"]}
    with CaptureQueriesContext(connection) as queries:
        services.apply_operation(
            plan_id=plan.pk, user=coordinator, op=op, base_revision=plan.revision, op_id="a"
        )
    # Lock; op id, meeting, access and the text; the text ops since the base (none);
    # then write field, revision and change.
    assert len(_statements(queries)) == 4, _statements(queries)
    assert round_trips == [3, 1]
    assert Goal.objects.get(pk=goal.pk).text == "Egen leilighet!"


def test_an_op_behind_the_revision_is_transformed_in_the_same_round_trips(
    plan, coordinator, specialist, round_trips
):
    goal = Goal.objects.get(plan=plan)
    base = plan.revision
    services.apply_operation(
        plan_id=plan.pk,
        user=coordinator,
        op={"type": "text", "target": "goal", "id": goal.pk, "field": "text", "ops": ["Min ", 14]},
        base_revision=base,
    )
    op = {"type": "text", "target": "goal", "id": goal.pk, "field": "text", "ops": [14, "!"]}
    round_trips.clear()
    with CaptureQueriesContext(connection) as queries:
        result = services.apply_operation(
            plan_id=plan.pk, user=specialist, op=op, base_revision=base, op_id="b"
        )
    assert len(_statements(queries)) == 4
    assert round_trips == [3, 1]
    assert result.op["ops"] == [18, "!"]
    change = Change.objects.get(plan=plan, op_id="b")
    assert (change.user, change.after, change.base_revision) == (
        specialist,
        "Min Egen leilighet!",
        base,
    )
