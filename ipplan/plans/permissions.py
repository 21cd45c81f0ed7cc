"""Who may see and change a plan. Every view, API endpoint and socket message asks here.

Rules (the foundation issue, section 4):
- the coordinator of a plan manages it (edit + members + consent);
- the person sees their own plan (and acts at their member access level, if any);
- any other member needs an active membership *and* a valid sharing consent that
  covers them; withdrawal or expiry removes access at once;
- everyone else gets 404: we never reveal that a plan exists.
A closed plan is read-only for everyone.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from .models import Consent, Member, Plan


class Level(enum.IntEnum):
    NONE = 0
    READ = 1
    COMMENT = 2
    EDIT = 3
    MANAGE = 4


_ACCESS_LEVEL = {
    Member.Access.READ: Level.READ,
    Member.Access.COMMENT: Level.COMMENT,
    Member.Access.EDIT: Level.EDIT,
}


@dataclass(frozen=True)
class PlanAccess:
    plan: Plan
    level: Level
    member: Member | None
    is_person: bool
    is_coordinator: bool
    user: Any = None

    @property
    def can_read(self) -> bool:
        return self.level >= Level.READ

    @property
    def can_comment(self) -> bool:
        return self.level >= Level.COMMENT

    @property
    def can_edit(self) -> bool:
        return self.level >= Level.EDIT and self.plan.status != Plan.Status.CLOSED

    @property
    def can_manage(self) -> bool:
        return self.level >= Level.MANAGE

    def can_edit_measure(self, measure_responsible_user_id: int | None) -> bool:
        """Members with comment access may still update measures they are responsible for."""
        if self.can_edit:
            return True
        return (
            self.level >= Level.COMMENT
            and self.plan.status != Plan.Status.CLOSED
            and self.member is not None
            and measure_responsible_user_id == self.member.user_id
        )


def _today() -> datetime.date:
    return timezone.localdate()


def _active_member_q(day: datetime.date, prefix: str = "") -> Q:
    p = prefix
    return Q(**{f"{p}active_from__lte": day}) & (
        Q(**{f"{p}active_to__isnull": True}) | Q(**{f"{p}active_to__gte": day})
    )


def covering_consents(day: datetime.date, member: Any) -> QuerySet[Consent]:
    """Valid sharing consents on `day` that cover `member` (a Member, or an OuterRef
    to one in a subquery)."""
    return Consent.objects.filter(Consent.valid_q(day), kind=Consent.Kind.SHARING, members=member)


def covering_consent_exists(member: Member, day: datetime.date | None = None) -> bool:
    return covering_consents(day or _today(), member).only("pk").exists()


def plan_access(user: object, plan: Plan) -> PlanAccess:
    """The user's access to this plan, computed fresh from the database."""
    return replace(_plan_access(user, plan), user=user)


def _plan_access(user: object, plan: Plan) -> PlanAccess:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return PlanAccess(plan, Level.NONE, None, False, False)
    day = _today()
    # The membership and whether a sharing consent covers it, in one query.
    member = (
        member_of(plan_id=plan.pk, user_id=user.pk, day=day)  # type: ignore[attr-defined]
        .annotate(covered_by_sharing_consent=Exists(covering_consents(day, OuterRef("pk"))))
        .first()
    )
    return access_from(
        plan,
        user,
        person_user_id=plan.person.user_id,
        member=member,
        covered=bool(member and member.covered_by_sharing_consent),
    )


def member_of(*, plan_id: Any, user_id: Any, day: datetime.date) -> QuerySet[Member]:
    """The user's active membership of the plan on `day` (first() of it, if any)."""
    members = Member.objects.filter(_active_member_q(day), plan_id=plan_id, user_id=user_id)
    return members if members.ordered else members.order_by("pk")


def access_from(
    plan: Plan,
    user: Any,
    *,
    person_user_id: int | None,
    member: Member | None,
    covered: bool,
) -> PlanAccess:
    """The rules above, given what was read: the membership (from member_of) and whether
    a valid sharing consent covers it. The live editor's hot path reads these in a
    query of its own (plans/hotpath.py) and decides here, so the rules stay in one place."""
    none = PlanAccess(plan, Level.NONE, None, False, False)
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return none
    is_coordinator = plan.coordinator_id == user.pk
    is_person = person_user_id is not None and person_user_id == user.pk
    if is_coordinator:
        return PlanAccess(plan, Level.MANAGE, member, is_person, True)
    if is_person:
        level = _ACCESS_LEVEL[member.access] if member else Level.COMMENT
        return PlanAccess(plan, max(level, Level.READ), member, True, False)
    if member is None:
        return none
    if member.role == Member.Role.COORDINATOR:
        # A co-coordinator named in the group manages like the coordinator.
        if covered:
            return PlanAccess(plan, Level.MANAGE, member, False, True)
        return none
    if not covered:
        return none
    return PlanAccess(plan, _ACCESS_LEVEL[member.access], member, False, False)


def visible_plans(user: object) -> QuerySet[Plan]:
    """Plans the user may read, in one query (for lists and dashboards)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return Plan.objects.none()
    day = _today()
    consent = Consent.objects.filter(
        Consent.valid_q(day), kind=Consent.Kind.SHARING, members=OuterRef("pk")
    )
    covered_member = Member.objects.filter(
        _active_member_q(day), Exists(consent), plan=OuterRef("pk"), user=user
    )
    return Plan.objects.filter(
        Q(coordinator=user) | Q(person__user=user) | Exists(covered_member)
    ).select_related("person", "coordinator")


def get_plan_or_404(user: object, plan_id: int, *, need: Level = Level.READ) -> PlanAccess:
    """The plan and the user's access, or 404 whether it does not exist or is not theirs."""
    try:
        plan = Plan.objects.select_related("person", "coordinator").get(pk=plan_id)
    except (Plan.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    access = plan_access(user, plan)
    if access.level < Level.READ:
        raise Http404
    # The user may see the plan, so refusing openly reveals nothing new.
    if access.level < need or (need == Level.EDIT and not access.can_edit):
        raise PermissionDenied
    return access
