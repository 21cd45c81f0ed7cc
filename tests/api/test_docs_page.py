"""/api/docs/: Swagger UI from our own static files, working under the site's CSP (no
inline script or style, nothing from a CDN)."""

from __future__ import annotations

import re
import shutil

import pytest
from django.contrib.staticfiles import finders

from tests.api.conftest import url

CHROMIUM = shutil.which("chromium")


def test_the_docs_page_loads_only_our_own_files(client, db):
    response = client.get(url("docs"))
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" and "src=" in attrs for attrs, body in scripts)
    assert "<style" not in html and " style=" not in html
    for asset in re.findall(r'(?:src|href)="/static/([^"?]+)"', html):
        assert finders.find(asset), f"missing static file {asset}"
    assert "swagger-ui-bundle.js" in html and "js/api-docs.js" in html


def test_the_schema_is_served_as_openapi_3(client, db):
    response = client.get(url("schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/plans/{plan_pk}/fhir" in schema["paths"]
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["tokenAuth"]["description"],
    }


def test_every_operation_documents_its_errors(client, db):
    schema = client.get(url("schema"), {"format": "json"}).json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"400", "401", "403", "404", "429"} <= set(responses), (method, path)
            if "{plan_pk}" in path and method != "get":
                assert {"409", "412"} <= set(responses), (method, path)
                assert any(p["name"] == "If-Match" for p in operation["parameters"]), (method, path)
            assert operation.get("summary"), (method, path)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_swagger_ui_runs_under_the_csp_in_a_real_browser(api_db, live_server):
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(live_server.url + url("docs"))
        page.wait_for_selector(".swagger-ui .opblock-tag", timeout=20_000)
        title = page.inner_text(".swagger-ui .info .title")
        tags = page.locator(".swagger-ui .opblock-tag").count()
        browser.close()
    assert "ipplan API" in title
    assert tags >= 8
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
