"""Every response carries a Content Security Policy without unsafe-inline, refuses
framing, and pages for signed-in users are not cached."""

import pytest

from .conftest import sign_in


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_strict_csp(response) -> None:
    assert "Content-Security-Policy" in response, response
    directives = csp_directives(response)
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["default-src"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_login_page_has_a_strict_policy(client, db):
    response = client.get("/logg-inn/")
    assert response.status_code == 200
    assert_strict_csp(response)


def test_a_signed_in_page_has_a_strict_policy_and_is_not_cached(client, plan, coordinator):
    sign_in(client, coordinator)
    response = client.get(f"/planer/{plan.pk}/rediger/")
    assert response.status_code == 200
    assert_strict_csp(response)
    assert "no-store" in response["Cache-Control"]


def test_the_plan_page_has_a_strict_policy_and_is_not_cached(client, plan, coordinator):
    client.force_login(coordinator)
    response = client.get(f"/planer/{plan.pk}/")
    assert response.status_code == 200
    assert_strict_csp(response)
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/finnes-ikke/", "/admin/", "/logg-inn/kode/"])
def test_error_pages_and_redirects_have_the_policy_too(client, db, path):
    response = client.get(path)
    assert response.status_code in {302, 404}
    assert_strict_csp(response)


def test_the_policy_denies_browser_features_the_product_does_not_use(client, db):
    response = client.get("/logg-inn/")
    assert "camera=()" in response["Permissions-Policy"]
    assert "microphone=()" in response["Permissions-Policy"]


def test_the_session_cookie_is_http_only_and_same_site(client, coordinator):
    response = sign_in(client, coordinator)
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
