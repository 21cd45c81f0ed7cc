"""Records pages. Everything under /planer/<id>/ answers 404 to anyone who may not
read the plan; /referat/<id>/ and /kommentarer/<id>/ likewise for the plan they belong to."""

from django.urls import path

from .views import comments, history, person, records

app_name = "records"
urlpatterns = [
    # The person's own view and a member's tasks.
    path("min-plan/", person.my_plan, name="my_plan"),
    path("mine-oppgaver/", person.my_tasks, name="my_tasks"),
    # History.
    path("planer/<int:plan_id>/historikk/", history.history, name="history"),
    path("planer/<int:plan_id>/historikk/<int:revision>/", history.at_revision, name="at_revision"),
    path("planer/<int:plan_id>/endringer/", history.diff, name="diff"),
    path(
        "planer/<int:plan_id>/historikk/felt/<str:target>/<int:target_id>/<str:field>/",
        history.field_history,
        name="field_history",
    ),
    path("planer/<int:plan_id>/gjenopprett-verdi/", history.restore_value, name="restore_value"),
    path("planer/<int:plan_id>/gjenopprett/", history.restore_object, name="restore_object"),
    path("planer/<int:plan_id>/gjennomgatt/", history.review, name="review"),
    # Comments.
    path("planer/<int:plan_id>/kommentarer/", comments.comments, name="comments"),
    path("kommentarer/<int:comment_id>/svar/", comments.comment_reply, name="comment_reply"),
    path("kommentarer/<int:comment_id>/lost/", comments.comment_resolve, name="comment_resolve"),
    path("kommentarer/<int:comment_id>/gjenapne/", comments.comment_reopen, name="comment_reopen"),
    # Meeting records and PDFs.
    path("referat/<int:record_id>/", records.record, name="record"),
    path("referat/<int:record_id>/lest/", records.acknowledge, name="acknowledge"),
    path("referat/<int:record_id>/pdf/", records.record_pdf, name="record_pdf"),
    path("moter/<int:meeting_id>/referat/", records.meeting_record, name="meeting_record"),
    path("planer/<int:plan_id>/pdf/", records.plan_pdf, name="plan_pdf"),
]
