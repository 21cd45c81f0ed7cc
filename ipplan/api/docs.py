"""The API documentation page: Swagger UI from our own static files (no CDN, no inline
script, so it works under the site's CSP)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse


def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "api/docs.html", {"schema_url": reverse("api:schema")})
