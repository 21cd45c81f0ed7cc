"""Consent (samtykke): record and withdraw.

The coordinator records consent; the coordinator or the person may withdraw it, and
the withdrawal takes effect at once (access is computed fresh on every request)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ipplan.plans import services
from ipplan.plans.forms import ConsentForm, ConsentWithdrawForm
from ipplan.plans.models import AccessLog

from ._common import consent_status, log_read, plan_consent_valid, plan_or_404
from .plan import load_consents, load_members


@login_required
@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest, pk: int) -> HttpResponse:
    access = plan_or_404(request, pk)
    if not (access.can_manage or access.is_person):
        raise PermissionDenied
    plan = access.plan
    form = ConsentForm(plan=plan) if access.can_manage else None
    action = request.POST.get("action")
    if request.method == "POST" and action == "withdraw":
        withdraw = ConsentWithdrawForm(request.POST)
        if withdraw.is_valid():
            try:
                services.consent_withdraw(
                    plan_id=plan.pk, user=request.user, consent_id=withdraw.cleaned_data["consent"]
                )
            except services.OperationError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("The consent was withdrawn."))
        return HttpResponseRedirect(reverse("plans:consent", args=[plan.pk]))
    if request.method == "POST":
        if not access.can_manage:
            raise PermissionDenied
        form = ConsentForm(request.POST, plan=plan)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.consent_record(
                    plan_id=plan.pk,
                    user=request.user,
                    kind=data["kind"],
                    given_on=data["given_on"],
                    expires_on=data["expires_on"],
                    members=list(data["members"]),
                    scope=data["scope"],
                )
            except services.OperationError as error:
                form.add_operation_error(error)
            else:
                messages.success(request, _("The consent was recorded."))
                return HttpResponseRedirect(reverse("plans:consent", args=[plan.pk]))
    today = timezone.localdate()
    members = load_members(plan)
    consents = load_consents(plan)
    context = {
        "plan": plan,
        "access": access,
        "form": form,
        "today": today,
        "consents": [
            {
                "consent": c,
                "valid": c.is_valid_on(today),
                "expired": c.expires_on is not None and c.expires_on < today,
                "members": [m for m in members if m.pk in c.member_ids],
            }
            for c in consents
        ],
        "member_rows": consent_status(plan, members, consents, today),
        "plan_consent": plan_consent_valid(consents, today),
    }
    log_read(request, access, via=AccessLog.Via.PAGE, detail="consent")
    return render(request, "plans/consent.html", context)
