"""OpenAPI defaults for every endpoint, so no view can forget them: integer path ids,
the ETag response header and If-Match request header on plan-scoped operations, and
the error responses each operation can give (all in the one error shape)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from .base import IF_MATCH_PATTERN, MAX_ID

ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}

ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=True,
    description='The plan revision this response reflects, e.g. "12". Send it back in If-Match.',
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    pattern=rf"^(\*|{IF_MATCH_PATTERN})$",
    description=(
        "Optional optimistic concurrency: the ETag (plan revision) your change is based on. "
        "If the plan has moved on, nothing is written and the answer is 412."
    ),
)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="For people.")
    code = serializers.CharField(
        help_text="Machine-readable: invalid, not_authenticated, authentication_failed, "
        "permission_denied, not_found, conflict, stale, throttled, …"
    )
    errors = serializers.DictField(
        required=False,
        help_text="400 only: messages per field (non_field_errors for the whole request).",
    )
    revision = serializers.IntegerField(
        required=False, help_text="412 only: the plan's current revision."
    )


ERRORS = {
    "400": "Invalid input; see `errors`.",
    "401": "Not authenticated, or the token is unknown, expired or revoked.",
    "403": "Authenticated but not allowed (e.g. a read-only member writing, a read-only "
    "token, or a missing CSRF token with session authentication).",
    "404": "No such resource, or not visible to you. The two are indistinguishable.",
    "409": "The change collided with a concurrent one; fetch and try again.",
    "412": "If-Match named a revision that is no longer current; nothing was written.",
    "415": "The request body must be application/json.",
    "429": "Too many requests; see Retry-After.",
}


class ApiSchema(AutoSchema):
    def _is_plan_scoped(self) -> bool:
        return "{plan_pk}" in self.path

    # Views name their serializers per action (request_serializer / response_serializer),
    # since requests and answers differ (e.g. create GoalCreate, answer Goal).
    def get_request_serializer(self) -> Any:
        hook = getattr(self.view, "request_serializer", None)
        return hook() if callable(hook) else super().get_request_serializer()

    def get_response_serializers(self) -> Any:
        hook = getattr(self.view, "response_serializer", None)
        return hook() if callable(hook) else super().get_response_serializers()

    def _get_request_body(self, direction: str = "request") -> Any:
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is None:
            return None  # an action without a body (e.g. restore, start)
        return super()._get_request_body(direction)

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._is_plan_scoped():
            parameters.append(ETAG)
            if self.method not in ("GET", "HEAD", "OPTIONS"):
                parameters.append(IF_MATCH)
        return parameters

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        ids = [v for v in variables if v in ("pk", "id") or v.endswith("_pk")]
        others = [v for v in variables if v not in ids]
        parameters = super()._resolve_path_parameters(others) if others else []
        for name in ids:
            parameters.append(
                {"in": "path", "name": name, "schema": dict(ID_SCHEMA), "required": True}
            )
        return parameters

    def _error_codes(self) -> list[str]:
        # 404 everywhere: unknown ids, and pages past the end of a list.
        codes = ["400", "401", "403", "404", "429"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("415")
        if self._is_plan_scoped() and self.method not in ("GET", "HEAD", "OPTIONS"):
            codes += ["409", "412"]
        return sorted(codes)

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        media_types = self.map_renderers("media_type")
        for code in self._error_codes():
            if code in responses:
                continue
            response: dict[str, Any] = {
                "description": ERRORS[code],
                "content": {m: {"schema": error} for m in media_types},
            }
            if code == "412":
                response["headers"] = {"ETag": {"schema": {"type": "string"}}}
            responses[code] = response
        return responses
