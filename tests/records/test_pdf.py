"""PDFs of the plan and of a meeting record: the text is really in the PDF (read back
with pdftotext), the header names the person, the revision and the print date, and
printing is logged."""

import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone

from ipplan.meetings import services as meeting_services
from ipplan.meetings.models import AgendaItem
from ipplan.plans.models import AccessLog, Plan

from .conftest import apply, client_for, close_meeting, log_entries, start_meeting

pytestmark = pytest.mark.django_db


def pdf_text(response, tmp_path) -> str:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext is missing: apt-get install poppler-utils")
    path = tmp_path / "out.pdf"
    path.write_bytes(response.content)
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(result.stdout.split())


def test_the_plan_pdf_holds_the_plan_with_a_header_on_every_page(plan, person_user, tmp_path):
    revision = Plan.objects.get(pk=plan.pk).revision
    text = pdf_text(
        client_for(person_user).get(reverse("records:plan_pdf", args=[plan.pk])), tmp_path
    )
    today = timezone.localdate().strftime("%d.%m.%Y")
    for expected in [
        "Individual plan for Per Person",
        "17.05.1990",
        f"Plan revision {revision}",
        f"Printed {today}",
        "Egen leilighet",
        "Har signert leiekontrakt",
        "Søke kommunal bolig",
        "Bolig",
        "Kari Koordinator",
    ]:
        assert expected in text, expected
    assert log_entries(plan) == [("per", AccessLog.Via.PDF)]


def test_an_earlier_version_can_be_printed(plan, coordinator, goal, tmp_path):
    old = Plan.objects.get(pk=plan.pk).revision
    apply(
        plan,
        coordinator,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "text", "value": "Kjøpe hus"},
    )
    url = reverse("records:plan_pdf", args=[plan.pk]) + f"?revisjon={old}"
    text = pdf_text(client_for(coordinator).get(url), tmp_path)
    assert "Egen leilighet" in text and "Kjøpe hus" not in text
    assert f"Plan revision {old}" in text


def test_the_record_pdf_holds_the_record(plan, coordinator, specialist, goal, tmp_path):
    meeting = start_meeting(plan, coordinator, place="Rådhuset, rom 3")
    apply(
        plan,
        specialist,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "status", "value": "achieved"},
        meeting=meeting,
    )
    item = AgendaItem.objects.get(meeting=meeting, theme=goal.theme)
    meeting_services.agenda_decision_set(
        item_id=item.pk, user=coordinator, text="Bolig er på plass."
    )
    record = close_meeting(meeting, coordinator)
    text = pdf_text(
        client_for(coordinator).get(reverse("records:record_pdf", args=[record.pk])), tmp_path
    )
    for expected in [
        "Individual plan for Per Person",
        f"Plan revision {record.end_revision}",
        "Rådhuset, rom 3",
        "Bolig er på plass.",
        "Egen leilighet",
        "Pågår",
        "Nådd",
        "Siv Spesialist",
        "Kari Koordinator",
    ]:
        assert expected in text, expected
    assert log_entries(plan) == [("kari", AccessLog.Via.PDF)]


def test_the_pdf_fetches_nothing_from_urls_in_plan_text(
    plan, coordinator, goal, tmp_path, monkeypatch
):
    apply(
        plan,
        coordinator,
        {
            "type": "set",
            "target": "plan",
            "id": plan.pk,
            "field": "needs",
            "value": '<img src="http://127.0.0.1:9/x.png"> file:///etc/passwd',
        },
    )
    import urllib.request

    def refuse(*args, **kwargs):
        raise AssertionError("the PDF renderer tried to fetch a URL")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", refuse)
    text = pdf_text(
        client_for(coordinator).get(reverse("records:plan_pdf", args=[plan.pk])), tmp_path
    )
    assert "file:///etc/passwd" in text  # shown as text, never fetched
