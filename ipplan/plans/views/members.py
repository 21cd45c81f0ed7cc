"""The responsible group (ansvarsgruppe): list, add, edit, end a membership.

Only the coordinator manages the group (services check it again). Members are never
deleted: ending a membership sets its last day, so history keeps who took part."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ipplan.plans import services
from ipplan.plans.forms import MemberAddForm, MemberDeactivateForm, MemberEditForm
from ipplan.plans.models import AccessLog, Member
from ipplan.plans.permissions import Level, PlanAccess

from ._common import consent_status, edit_initial, log_read, plan_or_404, save_edit
from .plan import load_consents, load_members


def members_url(access: PlanAccess) -> str:
    return reverse("plans:members", args=[access.plan.pk])


@login_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, pk: int) -> HttpResponse:
    access = plan_or_404(request, pk, need=Level.MANAGE)
    plan = access.plan
    form = MemberAddForm(request.POST or None, plan=plan)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        organisation = values.pop("organisation")
        if organisation is None:
            # Default: the organisation the user works for.
            organisation = (
                get_user_model()
                .objects.filter(pk=values["user"])
                .values_list("organisation", flat=True)
                .first()
            )
        else:
            organisation = organisation.pk
        values["organisation"] = organisation
        try:
            services.object_create(
                plan_id=plan.pk, user=request.user, target="member", values=values
            )
        except services.OperationError as error:
            form.add_operation_error(error)
        else:
            messages.success(
                request,
                _("The member was added. Remember to record consent to sharing for them."),
            )
            return HttpResponseRedirect(members_url(access))
    today = timezone.localdate()
    rows = consent_status(plan, load_members(plan), load_consents(plan), today)
    log_read(request, access, via=AccessLog.Via.PAGE, detail="members")
    context = {"plan": plan, "access": access, "form": form, "member_rows": rows, "today": today}
    return render(request, "plans/members.html", context)


def _member(access: PlanAccess, member_pk: int) -> Member:
    return get_object_or_404(
        Member.objects.select_related("user", "organisation"), plan=access.plan, pk=member_pk
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    access = plan_or_404(request, pk, need=Level.MANAGE)
    member = _member(access, member_pk)
    form = MemberEditForm(request.POST or None, initial=edit_initial(member, "member", access.plan))
    if (
        request.method == "POST"
        and form.is_valid()
        and save_edit(request, access=access, form=form, target="member", obj=member)
    ):
        messages.success(request, _("The member was saved."))
        return HttpResponseRedirect(members_url(access))
    log_read(request, access, via=AccessLog.Via.EDIT, detail="member")
    context = {"plan": access.plan, "access": access, "form": form, "member": member}
    return render(request, "plans/member_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def member_deactivate(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    """End a membership: the last day is set, access ends the day after."""
    access = plan_or_404(request, pk, need=Level.MANAGE)
    member = _member(access, member_pk)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    form = MemberDeactivateForm(
        request.POST or None, initial={"active_to": max(yesterday, member.active_from)}
    )
    # The plan's coordinator keeps access through the plan itself; ending the
    # membership would only hide them from the group.
    blocked = member.user_id == access.plan.coordinator_id
    if request.method == "POST" and not blocked and form.is_valid():
        try:
            services.object_update(
                plan_id=access.plan.pk,
                user=request.user,
                target="member",
                target_id=member.pk,
                values={"active_to": form.cleaned_data["active_to"]},
            )
        except services.OperationError as error:
            form.add_operation_error(error)
        else:
            messages.success(request, _("The membership was ended."))
            return HttpResponseRedirect(members_url(access))
    log_read(request, access, via=AccessLog.Via.EDIT, detail="member")
    context = {
        "plan": access.plan,
        "access": access,
        "form": form,
        "member": member,
        "blocked": blocked,
    }
    return render(request, "plans/member_deactivate.html", context)
