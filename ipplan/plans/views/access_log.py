"""'Who has read my plan' (innsynslogg): for the person and the coordinator."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from ipplan.plans.models import AccessLog, Member

from ._common import log_read, plan_or_404

PAGE_SIZE = 50

# What was read, in words; AccessLog.detail holds these keys.
DETAILS = {
    "": "",
    "plan": _("the plan"),
    "theme": _("a main theme"),
    "goal": _("a goal"),
    "measure": _("a measure"),
    "member": _("a member"),
    "members": _("the responsible group"),
    "consent": _("consent"),
    "access_log": _("the access log"),
}


@login_required
@require_GET
def access_log(request: HttpRequest, pk: int) -> HttpResponse:
    access = plan_or_404(request, pk)
    if not (access.is_person or access.can_manage):
        raise PermissionDenied
    plan = access.plan
    # This page is itself a read of the plan: it shows who the group's members are.
    log_read(request, access, via=AccessLog.Via.PAGE, detail="access_log")
    entries = AccessLog.objects.filter(plan=plan).select_related("user__organisation")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("side"))
    roles = {m.user_id: m for m in Member.objects.filter(plan=plan)}
    rows = [
        {
            "entry": entry,
            "member": roles.get(entry.user_id),
            "what": DETAILS.get(entry.detail, ""),
        }
        for entry in page.object_list
    ]
    context = {"plan": plan, "access": access, "page": page, "rows": rows}
    return render(request, "plans/access_log.html", context)
