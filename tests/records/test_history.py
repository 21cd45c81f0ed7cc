"""History: the plan at revision N is exactly the plan that was live at N."""

import random

import pytest

from ipplan.plans import services
from ipplan.plans.models import Goal, Measure, Plan, Theme
from ipplan.records.history import field_timeline, plan_state_at, plan_state_live, plan_states_at

from .conftest import apply, type_text

pytestmark = pytest.mark.django_db


def test_state_at_every_revision_equals_the_live_state_then(
    plan, coordinator, specialist, goal, measure, in_days
):
    seen = {plan.revision: plan_state_live(plan)}

    def step(op, user=coordinator):
        apply(plan, user, op)
        p = Plan.objects.get(pk=plan.pk)
        seen[p.revision] = plan_state_live(p)

    themes = list(Theme.objects.filter(plan=plan).order_by("position"))
    step(
        {
            "type": "set",
            "target": "theme",
            "id": themes[0].pk,
            "field": "title",
            "value": "Bolig og hjem",
        }
    )
    step({"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"})
    step({"type": "move", "target": "theme", "id": themes[3].pk, "position": 0})
    step(
        {
            "type": "create",
            "target": "goal",
            "values": {
                "theme": themes[1].pk,
                "text": "Jobbe to dager i uka",
                "success_criterion": "Arbeidsavtale",
                "evaluation_date": in_days(60),
            },
        }
    )
    new_goal = Goal.objects.latest("pk")
    step({"type": "move", "target": "goal", "id": goal.pk, "theme": themes[1].pk, "position": 0})
    step({"type": "delete", "target": "theme", "id": themes[5].pk})
    step(
        {
            "type": "set",
            "target": "measure",
            "id": measure.pk,
            "field": "due_date",
            "value": in_days(45),
        },
        user=specialist,
    )
    step({"type": "delete", "target": "goal", "id": new_goal.pk})
    step({"type": "set", "target": "plan", "id": plan.pk, "field": "needs", "value": "Trygg bolig"})
    step({"type": "restore", "target": "goal", "id": new_goal.pk})
    step({"type": "restore", "target": "theme", "id": themes[5].pk})
    step(
        {
            "type": "create",
            "target": "measure",
            "values": {"theme": themes[2].pk, "description": "Møte hos NAV", "position": 0},
        }
    )
    step(
        {
            "type": "create",
            "target": "course",
            "values": {
                "kind": "lar",
                "provider": "LAR Sør",
                "status": "ongoing",
                "start_date": in_days(0),
            },
        }
    )
    course = plan.courses.get().pk
    step(
        {"type": "set", "target": "course", "id": course, "field": "provider", "value": "LAR Vest"}
    )
    step({"type": "delete", "target": "course", "id": course})
    step({"type": "restore", "target": "course", "id": course})
    type_text(plan, coordinator, "theme", themes[2].pk, "current_situation", "Gjeld")
    p = Plan.objects.get(pk=plan.pk)
    seen[p.revision] = plan_state_live(p)

    revisions = sorted(seen)
    states = plan_states_at(p, revisions)
    for revision, state in zip(revisions, states, strict=True):
        assert state == seen[revision], f"revision {revision}"
    # The history of the default theme's title starts from the template's title.
    assert plan_state_at(p, 1)["themes"][0]["title"] == "Bolig"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_edits_replay_to_the_same_states(plan, coordinator, in_days, seed):
    rng = random.Random(seed)
    seen = {}
    for _ in range(80):
        themes = list(Theme.objects.alive().filter(plan=plan))
        goals = list(Goal.objects.alive().filter(plan=plan))
        measures = list(Measure.objects.alive().filter(plan=plan))
        dead = list(
            Goal.objects.filter(plan=plan, deleted_at__isnull=False, theme__deleted_at__isnull=True)
        ) + list(
            Measure.objects.filter(
                plan=plan, deleted_at__isnull=False, theme__deleted_at__isnull=True
            )
        )
        choice = rng.randrange(9)
        theme = rng.choice(themes)
        try:
            if choice == 0:
                apply(
                    plan,
                    coordinator,
                    {
                        "type": "create",
                        "target": "goal",
                        "values": {
                            "theme": theme.pk,
                            "text": f"Mål {rng.random():.3f}",
                            "success_criterion": "x",
                            "evaluation_date": in_days(rng.randrange(1, 200)),
                        },
                    },
                )
            elif choice == 1:
                values = {"theme": theme.pk, "description": f"Tiltak {rng.random():.3f}"}
                if rng.random() < 0.5:
                    values["position"] = rng.randrange(4)
                tied = [g for g in goals if g.theme_id == theme.pk]
                if tied and rng.random() < 0.6:
                    values["goal"] = rng.choice(tied).pk
                apply(plan, coordinator, {"type": "create", "target": "measure", "values": values})
            elif choice == 2 and goals:
                g = rng.choice(goals)
                apply(
                    plan,
                    coordinator,
                    {
                        "type": "move",
                        "target": "goal",
                        "id": g.pk,
                        "theme": rng.choice(themes).pk,
                        "position": rng.randrange(4),
                    },
                )
            elif choice == 3 and measures:
                m = rng.choice(measures)
                apply(
                    plan,
                    coordinator,
                    {
                        "type": "move",
                        "target": "measure",
                        "id": m.pk,
                        "theme": rng.choice(themes).pk,
                        "position": rng.randrange(4),
                    },
                )
            elif choice == 4 and (goals or measures):
                obj = rng.choice(goals + measures)
                target = "goal" if isinstance(obj, Goal) else "measure"
                apply(plan, coordinator, {"type": "delete", "target": target, "id": obj.pk})
            elif choice == 5 and dead:
                obj = rng.choice(dead)
                target = "goal" if isinstance(obj, Goal) else "measure"
                apply(plan, coordinator, {"type": "restore", "target": target, "id": obj.pk})
            elif choice == 6 and goals:
                g = rng.choice(goals)
                apply(
                    plan,
                    coordinator,
                    {
                        "type": "set",
                        "target": "goal",
                        "id": g.pk,
                        "field": "text",
                        "value": g.text + " pluss",
                    },
                )
            elif choice == 7:
                apply(
                    plan,
                    coordinator,
                    {
                        "type": "move",
                        "target": "theme",
                        "id": theme.pk,
                        "position": rng.randrange(7),
                    },
                )
            elif choice == 8 and measures:
                m = rng.choice(measures)
                apply(
                    plan,
                    coordinator,
                    {
                        "type": "set",
                        "target": "measure",
                        "id": m.pk,
                        "field": "status",
                        "value": rng.choice(["planned", "ongoing", "done"]),
                    },
                )
        except services.OperationError:
            continue
        p = Plan.objects.get(pk=plan.pk)
        seen[p.revision] = plan_state_live(p)
    revisions = sorted(seen)
    for revision, state in zip(revisions, plan_states_at(plan, revisions), strict=True):
        assert state == seen[revision], f"revision {revision}"
    # A few stopping points only: the values of superseded edits are never read.
    sparse = revisions[::7]
    for revision, state in zip(sparse, plan_states_at(plan, sparse), strict=True):
        assert state == seen[revision], f"revision {revision}"


def test_field_timeline_names_every_value_with_its_author(plan, coordinator, specialist, goal):
    apply(
        plan,
        specialist,
        {
            "type": "set",
            "target": "goal",
            "id": goal.pk,
            "field": "text",
            "value": "Egen leilighet i sentrum",
        },
    )
    apply(
        plan,
        coordinator,
        {
            "type": "set",
            "target": "goal",
            "id": goal.pk,
            "field": "text",
            "value": "Egen leilighet nær jobb",
        },
    )
    timeline = field_timeline(plan, "goal", goal.pk, "text")
    assert [e["value"] for e in timeline] == [
        "Egen leilighet",
        "Egen leilighet i sentrum",
        "Egen leilighet nær jobb",
    ]
    assert [e["user_id"] for e in timeline] == [coordinator.pk, specialist.pk, coordinator.pk]
