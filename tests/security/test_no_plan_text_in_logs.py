"""No plan text in application logs or error reports.

Each test writes a distinctive string into a plan (or a request), captures every log
record at DEBUG from every logger, and the text our console handler writes, and checks
that the string is in none of it. Each test also checks that something *was* logged or
written, so a silent pass cannot hide a broken capture."""

import io
import logging
import sys

import pytest
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import path
from django.views.debug import ExceptionReporter

from ipplan.core.logfilters import WITHHELD, PlanDataExceptionReporter
from ipplan.plans import services
from ipplan.plans.models import Plan

from .conftest import form_with_field, sign_in

SECRET = "Hemmelig-planTekst-7f3a9"


@pytest.fixture
def all_logs(caplog):
    """Every logger at DEBUG; yields (caplog, text written by our console handler)."""
    saved = {}
    for name in [None, *logging.root.manager.loggerDict]:
        logger = logging.getLogger(name)
        if isinstance(logger, logging.Logger):
            saved[name] = logger.level
            logger.setLevel(logging.DEBUG)
    console = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert console, "the console handler from settings.LOGGING is missing"
    stream = io.StringIO()
    old_streams = [h.setStream(stream) for h in console]
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog, stream
    finally:
        for handler, old in zip(console, old_streams, strict=True):
            handler.setStream(old)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def logged_text(caplog, stream) -> str:
    parts = [stream.getvalue()]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
    return "\n".join(parts)


def test_an_edit_through_the_service_layer_logs_no_plan_text(all_logs, plan, coordinator):
    caplog, stream = all_logs
    services.object_update(
        plan_id=plan.pk,
        user=coordinator,
        target="plan",
        target_id=plan.pk,
        values={"what_matters": SECRET},
    )
    assert Plan.objects.get(pk=plan.pk).what_matters == SECRET
    logging.getLogger("ipplan.test").info("capture works")  # proves the capture is live
    text = logged_text(caplog, stream)
    assert "capture works" in text
    assert SECRET not in text


def test_an_edit_through_the_plan_page_logs_no_plan_text(all_logs, client, plan, coordinator):
    caplog, stream = all_logs
    sign_in(client, coordinator)
    edit_url = f"/planer/{plan.pk}/rediger/"
    page = client.get(edit_url)
    assert page.status_code == 200
    action, values = form_with_field(page.content.decode(), "what_matters")
    values["what_matters"] = [SECRET]
    response = client.post(action or edit_url, values)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Plan.objects.get(pk=plan.pk).what_matters == SECRET
    text = logged_text(caplog, stream)
    assert "/logg-inn/" in text or caplog.records  # the requests were seen
    assert SECRET not in text


def test_a_refused_edit_logs_no_plan_text(all_logs, client, plan, reader):
    caplog, stream = all_logs
    sign_in(client, reader)  # read-only member: the edit is refused
    response = client.post(f"/planer/{plan.pk}/rediger/", {"what_matters": SECRET})
    assert response.status_code in {403, 404}
    text = logged_text(caplog, stream)
    assert "Forbidden" in text or "Not Found" in text  # django.request logged the refusal
    assert SECRET not in text


def boom(request: HttpRequest) -> HttpResponse:
    # What a database error quoting a value looks like, e.g. a unique violation's
    # 'Key (text)=(...) already exists'.
    raise IntegrityError(f"duplicate key: Key (text)=({request.POST['text']}) already exists")


urlpatterns = [path("boom/", boom)]


@pytest.mark.urls(__name__)
def test_a_crash_whose_error_quotes_plan_text_logs_the_traceback_without_it(all_logs, db):
    from django.test import Client

    caplog, stream = all_logs
    client = Client(raise_request_exception=False)
    response = client.post("/boom/", {"text": SECRET})
    assert response.status_code == 500
    written = stream.getvalue()
    assert "Internal Server Error: /boom/" in written
    assert "IntegrityError" in written and "Traceback" in written  # still debuggable
    assert WITHHELD in written
    assert SECRET not in written
    # The record's message itself carries only the path.
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert SECRET not in response.content.decode()


def test_error_reports_hide_the_request_body_and_the_error_text(db, settings):
    settings.DEBUG = False
    request = RequestFactory().post("/planer/1/rediger/", {"what_matters": SECRET})
    try:
        raise ValueError(f"bad value {SECRET}")
    except ValueError:
        reporter = PlanDataExceptionReporter(request, *sys.exc_info())
        text = reporter.get_traceback_text()
        html = reporter.get_traceback_html()
    assert "what_matters" in text  # the field is named ...
    assert SECRET not in text  # ... but its value is not shown
    assert SECRET not in html
    assert isinstance(reporter, ExceptionReporter)


def test_the_settings_use_the_redacting_reporter_and_formatter(settings):
    assert settings.DEFAULT_EXCEPTION_REPORTER == "ipplan.core.logfilters.PlanDataExceptionReporter"
    assert (
        settings.DEFAULT_EXCEPTION_REPORTER_FILTER
        == "ipplan.core.logfilters.PlanDataReporterFilter"
    )
    assert settings.LOGGING["loggers"]["django.db.backends"]["level"] == "WARNING"
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "redacting"
