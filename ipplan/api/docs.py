"""The API documentation page: Swagger UI from our own static files (no CDN, no inline
script, so it works under the site's CSP)."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions


def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "api/docs.html", {"schema_url": reverse("api:schema")})


@csrf_exempt  # it changes nothing; a POST to a wrong path is 404, not a CSRF failure
def not_found(request: HttpRequest) -> JsonResponse:
    """Any other path under /api/: the API's JSON 404, not the site's HTML page."""
    return JsonResponse(
        {"detail": str(exceptions.NotFound.default_detail), "code": "not_found"}, status=404
    )
