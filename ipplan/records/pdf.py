"""PDFs of a plan and of a meeting record, rendered with WeasyPrint.

The HTML comes from our own templates and the stylesheet from static/css/print.css,
read from disk. WeasyPrint may fetch nothing else: its URL fetcher accepts only data:
URLs, so a plan text that looks like a URL can never make the server fetch anything.
WeasyPrint needs Pango (Debian: libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
and a font (fonts-dejavu-core).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

STYLESHEET = "css/print.css"


@cache
def _stylesheet_text() -> str:
    path = finders.find(STYLESHEET)
    if not path:
        raise RuntimeError(f"{STYLESHEET} is missing from the static files")
    return Path(path).read_text(encoding="utf-8")


def render_pdf(html: str) -> bytes:
    import weasyprint  # heavy import: only when a PDF is asked for
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=False)
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[weasyprint.CSS(string=_stylesheet_text())])


def pdf_response(
    request: HttpRequest, template: str, context: dict[str, Any], *, filename: str
) -> HttpResponse:
    html = render_to_string(template, context, request=request)
    response = HttpResponse(render_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
