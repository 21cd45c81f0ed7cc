"""What every API view shares.

- Plan resolution: a plan is reached only through `resolve_plan`, which answers 404 for
  anyone who may not read it (and for tokens outside their organisation), exactly as
  for a plan that does not exist.
- Revisions: plan-scoped responses carry the plan revision as a strong ETag; writes
  with an If-Match that does not name the current revision get 412, decided under the
  plan row lock that every writer takes, so no write can slip in between.
- Writes go through the service functions (ipplan.plans.services and friends); their
  OperationError codes become HTTP statuses here.
- Every successful plan-level read writes one access-log entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from ipplan.plans import services
from ipplan.plans.models import AccessLog, Member, Plan
from ipplan.plans.permissions import PlanAccess, plan_access, visible_plans
from ipplan.plans.services import OperationError

from .models import ApiToken

MAX_ID = 2**63 - 1
_ID_RE = re.compile(r"[0-9]{1,19}")
# The same pattern is published in the OpenAPI schema (schema.IF_MATCH).
IF_MATCH_PATTERN = r'(W/)?"[0-9]{1,19}"(, *(W/)?"[0-9]{1,19}")*'
IF_MATCH_RE = re.compile(IF_MATCH_PATTERN)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
T = TypeVar("T")


# ------------------------------------------------------------------ errors


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _(
        "The plan has changed since you read it. Fetch it again and reapply your change."
    )
    default_code = "stale"

    def __init__(self, revision: int) -> None:
        super().__init__()
        self.revision = revision


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The change collided with another one. Try again.")
    default_code = "conflict"


def api_error(exc: OperationError) -> exceptions.APIException:
    """A service's refusal as the matching HTTP error."""
    if exc.code == "invalid":
        key = exc.field or api_settings.NON_FIELD_ERRORS_KEY
        return exceptions.ValidationError({key: [exc.message]}, code="invalid")
    if exc.code == "forbidden":
        return exceptions.PermissionDenied(exc.message)
    if exc.code == "not_found":
        return exceptions.NotFound(exc.message)
    return Conflict(exc.message, code=exc.code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """One error shape for every status: {"detail", "code"[, "errors"][, "revision"]}."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = (
            exc.detail
            if isinstance(exc.detail, dict)
            else {api_settings.NON_FIELD_ERRORS_KEY: exc.detail}
        )
        response.data = {"detail": str(_("Invalid input.")), "code": "invalid", "errors": errors}
        return response
    detail = getattr(exc, "detail", None)
    code = detail.code if isinstance(detail, exceptions.ErrorDetail) else "error"
    response.data = {"detail": str(detail) if detail is not None else "", "code": code}
    if isinstance(exc, PreconditionFailed):
        response.data["revision"] = exc.revision
        response["ETag"] = etag(exc.revision)
    return response


def parse_id(raw: Any) -> int:
    """A database id from the URL, or 404 (never a 500 for junk or huge numbers)."""
    text = str(raw)
    if not _ID_RE.fullmatch(text):
        raise exceptions.NotFound()
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise exceptions.NotFound()
    return value


# ------------------------------------------------------------------ access


def token_of(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def _token_membership(token: ApiToken, plan: Any) -> QuerySet[Member]:
    day = timezone.localdate()
    return Member.objects.filter(
        Q(active_to__isnull=True) | Q(active_to__gte=day),
        plan=plan,
        user_id=token.user_id,
        organisation_id=token.organisation_id,
        active_from__lte=day,
    )


def visible_plans_for(request: Request) -> QuerySet[Plan]:
    """The plans this request may see: the user's, narrowed to the token's organisation."""
    plans = visible_plans(request.user)
    token = token_of(request)
    if token is not None:
        plans = plans.filter(Exists(_token_membership(token, OuterRef("pk"))))
    return plans


def resolve_plan(request: Request, raw_plan_id: Any) -> PlanAccess:
    """The request's access to the plan, or 404 whatever the reason it may not see it."""
    plan_id = parse_id(raw_plan_id)
    plan = Plan.objects.select_related("person", "coordinator").filter(pk=plan_id).first()
    if plan is None:
        raise exceptions.NotFound()
    access = plan_access(request.user, plan)
    if not access.can_read:
        raise exceptions.NotFound()
    token = token_of(request)
    if token is not None and not _token_membership(token, plan).exists():
        raise exceptions.NotFound()
    return access


class TokenScope(permissions.BasePermission):
    """Integration tokens are read-only unless issued with write access."""

    message = _("This token may only read.")

    def has_permission(self, request: Request, view: Any) -> bool:
        token = token_of(request)
        return token is None or request.method in SAFE_METHODS or token.allow_write


# ------------------------------------------------------------------ revisions


def etag(revision: int) -> str:
    return f'"{revision}"'


def if_match(request: Request) -> set[int] | None:
    """Revisions named by If-Match; None when absent or "*". A malformed header is a
    client error (400), never silently ignored."""
    header = request.headers.get("If-Match")
    if header is None or header == "*":
        return None
    if not IF_MATCH_RE.fullmatch(header):
        raise exceptions.ValidationError(
            {"If-Match": [_('Send the ETag of a response, e.g. "12", or *.')]}
        )
    return {int(tag) for tag in re.findall(r'"([0-9]+)"', header)}


# ------------------------------------------------------------------ views


class ApiPagination(PageNumberPagination):
    """Pages of 50 (page_size up to 200). Unlike DRF's default, a malformed page or
    page_size is refused (400) rather than silently replaced; a page past the end is 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    last_page_strings = ()

    def get_page_number(self, request: Request, paginator: Any) -> int:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if not _ID_RE.fullmatch(raw) or int(raw) < 1:
            raise exceptions.ValidationError({self.page_query_param: [_("A whole number from 1.")]})
        return int(raw)

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _ID_RE.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: [
                        _("A whole number from 1 to %(max)s.") % {"max": self.max_page_size}
                    ]
                }
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"type": "integer", "minimum": 1},
            self.page_size_query_param: {
                "type": "integer",
                "minimum": 1,
                "maximum": self.max_page_size,
            },
        }
        for parameter in parameters:
            if parameter["name"] in bounds:
                parameter["schema"] = bounds[parameter["name"]]
        return parameters


class ApiViewMixin:
    """Defaults for every API view: JSON only, token scope, one error shape."""

    permission_classes = [permissions.IsAuthenticated, TokenScope]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    pagination_class = ApiPagination

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return exception_handler


class PlanScopedMixin(ApiViewMixin):
    """For views under /plans/{plan_pk}/: resolves the plan after authentication and
    throttling, sets the ETag, records reads in the access log and runs writes."""

    plan_kwarg = "plan_pk"
    access_via: str = AccessLog.Via.API
    access_detail = ""
    access: PlanAccess | None = None
    revision: int | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # An unsupported method is 405 for every id: answered before looking at the plan.
        if not hasattr(self, request.method.lower()):
            return
        if self.plan_kwarg in kwargs:
            self.access = resolve_plan(request, kwargs[self.plan_kwarg])
            self.revision = self.access.plan.revision

    @property
    def plan(self) -> Plan:
        assert self.access is not None
        return self.access.plan

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.access is not None:
            if request.method in ("GET", "HEAD") and response.status_code < 400:
                services.record_access(
                    user=request.user,
                    plan=self.plan,
                    via=self.access_via,
                    detail=self.access_detail or request.path[:200],
                )
            if self.revision is not None and not response.has_header("ETag"):
                response["ETag"] = etag(self.revision)
        return response

    def write(self, action: Callable[[], T]) -> T:
        """Run `action` (service calls, then reading back what to answer) under the plan
        lock, after checking If-Match. Sets self.revision to the revision it produced."""
        wanted = if_match(self.request)
        try:
            with transaction.atomic():
                current = (
                    Plan.objects.select_for_update()
                    .values_list("revision", flat=True)
                    .get(pk=self.plan.pk)
                )
                if wanted is not None and current not in wanted:
                    self.revision = current
                    raise PreconditionFailed(current)
                result = action()
                self.revision = Plan.objects.values_list("revision", flat=True).get(pk=self.plan.pk)
                return result
        except OperationError as exc:
            raise api_error(exc) from exc
