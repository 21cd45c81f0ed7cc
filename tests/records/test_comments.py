"""Comment threads: members with comment access comment, read-only members only read,
and resolving is for whoever started the thread or an editor."""

import pytest
from django.urls import reverse

from ipplan.plans.models import AccessLog, Plan, Theme
from ipplan.records import services
from ipplan.records.models import Comment

from .conftest import client_for, log_entries

pytestmark = pytest.mark.django_db


def post_comment(user, plan, about, body="Kan vi ta dette på neste møte?"):
    return client_for(user).post(
        reverse("records:comments", args=[plan.pk]), {"about": about, "body": body}
    )


def test_a_commenter_starts_a_thread_on_a_goal(plan, commenter, goal):
    response = post_comment(commenter, plan, f"goal:{goal.pk}")
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert (comment.author, comment.target_type, comment.target_id, comment.parent) == (
        commenter,
        "goal",
        goal.pk,
        None,
    )
    assert response["Location"].endswith(f"#comment-{comment.pk}")


def test_a_read_only_member_reads_but_cannot_comment(plan, commenter, reader, goal):
    post_comment(commenter, plan, f"goal:{goal.pk}")
    client = client_for(reader)
    page = client.get(reverse("records:comments", args=[plan.pk])).content.decode()
    assert "Kan vi ta dette på neste møte?" in page
    assert 'name="body"' not in page
    post_comment(reader, plan, f"goal:{goal.pk}", "Fra fastlegen")
    root = Comment.objects.get()
    client.post(reverse("records:comment_reply", args=[root.pk]), {"body": "Svar"})
    client.post(reverse("records:comment_resolve", args=[root.pk]))
    assert Comment.objects.count() == 1 and Comment.objects.get().resolved_at is None
    assert log_entries(plan, via=AccessLog.Via.PAGE) == [("frida", "page")]


def test_replies_and_resolving(plan, commenter, specialist, coordinator, measure):
    root = services.comment_create(
        plan_id=plan.pk,
        user=commenter,
        target_type="measure",
        target_id=measure.pk,
        body="Søknaden er sendt",
    )
    client_for(specialist).post(
        reverse("records:comment_reply", args=[root.pk]), {"body": "Fint, takk"}
    )
    reply = Comment.objects.get(parent=root)
    assert (reply.author, reply.target_type, reply.target_id) == (specialist, "measure", measure.pk)
    # The author resolves their own thread; replying opens it again.
    client_for(commenter).post(reverse("records:comment_resolve", args=[root.pk]))
    root.refresh_from_db()
    assert root.resolved_by == commenter and root.resolved_at is not None
    services.comment_reply(comment_id=reply.pk, user=coordinator, body="Vi følger opp")
    root.refresh_from_db()
    assert root.resolved_at is None
    # An editor may resolve anyone's thread.
    client_for(specialist).post(reverse("records:comment_resolve", args=[root.pk]))
    root.refresh_from_db()
    assert root.resolved_by == specialist


def test_a_commenter_cannot_resolve_someone_elses_thread(plan, commenter, specialist, goal):
    root = services.comment_create(
        plan_id=plan.pk, user=specialist, target_type="goal", target_id=goal.pk, body="Hei"
    )
    with pytest.raises(services.OperationError) as error:
        services.comment_resolve(comment_id=root.pk, user=commenter)
    assert error.value.code == "forbidden"


def test_the_person_comments_on_their_own_plan(plan, person_user):
    theme = Theme.objects.get(plan=plan, title="Økonomi")
    post_comment(person_user, plan, f"theme:{theme.pk}", "Jeg vil ha hjelp med regningene")
    assert Comment.objects.get().author == person_user


@pytest.mark.parametrize("about", ["goal:999999", "plan:1", "", "theme:abc"])
def test_bad_targets_are_refused_with_a_message(plan, commenter, about):
    response = post_comment(commenter, plan, about)
    assert response.status_code == 302
    assert not Comment.objects.exists()


def test_a_target_of_another_plan_is_refused(plan, other_plan, coordinator):
    theme = Theme.objects.filter(plan=other_plan).first()
    post_comment(coordinator, plan, f"theme:{theme.pk}")
    assert not Comment.objects.exists()


def test_empty_and_overlong_comments_are_refused(plan, commenter, goal):
    post_comment(commenter, plan, f"goal:{goal.pk}", "   ")
    post_comment(commenter, plan, f"goal:{goal.pk}", "x" * (services.MAX_COMMENT + 1))
    assert not Comment.objects.exists()


def test_a_closed_plan_takes_no_comments(plan, coordinator, commenter, goal):
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.CLOSED)
    post_comment(commenter, plan, f"goal:{goal.pk}")
    assert not Comment.objects.exists()


def test_outsiders_get_404_everywhere(plan, commenter, outsider, goal):
    root = services.comment_create(
        plan_id=plan.pk, user=commenter, target_type="goal", target_id=goal.pk, body="Hei"
    )
    client = client_for(outsider)
    assert client.get(reverse("records:comments", args=[plan.pk])).status_code == 404
    assert post_comment(outsider, plan, f"goal:{goal.pk}").status_code == 404
    for name in ("comment_reply", "comment_resolve", "comment_reopen"):
        assert (
            client.post(reverse(f"records:{name}", args=[root.pk]), {"body": "x"}).status_code
            == 404
        )
    assert (
        client.post(reverse("records:comment_reply", args=[999999]), {"body": "x"}).status_code
        == 404
    )
    assert Comment.objects.count() == 1
