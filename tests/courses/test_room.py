"""The meeting room's read-only course list: the section, and the translated names the
script (static/js/meeting/courses.js) renders the live state's courses with."""

from __future__ import annotations

import datetime
import html
import json
import re

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ipplan.meetings import services as meeting_services


def _room(plan, coordinator, user):
    day = timezone.localdate() + datetime.timedelta(days=1)
    meeting = meeting_services.meeting_schedule(
        plan_id=plan.pk,
        user=coordinator,
        scheduled_at=timezone.make_aware(datetime.datetime.combine(day, datetime.time(10))),
    )
    meeting_services.meeting_start(meeting_id=meeting.pk, user=coordinator)
    client = Client()
    client.force_login(user)
    return client.get(reverse("meetings:room", args=[meeting.pk]))


def test_the_room_has_a_course_section_with_names_for_the_script(plan, coordinator, reader):
    response = _room(plan, coordinator, reader)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="room-courses"' in page and 'id="room-course-list"' in page
    raw = re.search(r'data-course-labels="([^"]*)"', page).group(1)
    labels = json.loads(html.unescape(raw))
    assert set(labels["kind"]) == {
        "tsb_inpatient",
        "tsb_outpatient",
        "lar",
        "mh_inpatient",
        "mh_outpatient",
        "other",
    }
    assert set(labels["status"]) == {"referred", "ongoing", "completed", "broken_off"}
    assert all(labels[k] for k in ("referral_date", "start_date", "planned_end", "end_date"))
    assert "<script>" not in page.replace('<script type="module"', "")
