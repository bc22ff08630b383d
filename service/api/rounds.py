"""API: comment rounds (open, extend, remind, close), their participants and verdicts, the comments and their
processing, and the commentaartabel."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from service.api import schemas as s
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.helpers import failure_words, load, page
from service.api.problems import caller_locale
from service.api.registry import operation
from service.web import db
from service.web.rendering import download
from storage.database.models import Comment, Document, Participant, Round, Verdict
from workflows.domain import commentaartabel as commentaartabel_export
from workflows.domain import comments, people, reminders, rounds, undelivered
from workflows.errors import NotFound

TAG_ROUNDS = "Rounds"
TAG_COMMENTS = "Comments"
COORDINATOR = ("coordinator",)
BINARY = {"type": "string", "format": "binary"}


def round_detail(round_: Round) -> s.RoundDetail:
    session = db.session()
    summary = rounds.summary(session, round_)
    progress = comments.progress(session, round_.id)
    return s.RoundDetail(**s.RoundOut.model_validate(round_).model_dump(), voters=summary.voters,
                         decided=summary.decided, comments=progress.total, processed_comments=progress.processed,
                         reminders_sent=reminders.reminders_sent(session, round_.id))


def verdict_out(verdict: Verdict, current_id: int | None) -> s.VerdictOut:
    on_behalf_of = s.OnBehalfOf(substitution_id=verdict.substitution_id, name=verdict.on_behalf_of_name,
                                email=verdict.on_behalf_of_email) if verdict.substitution_id else None
    return s.VerdictOut(**{name: getattr(verdict, name) for name in s.VerdictOut.model_fields
                           if name not in ("current", "on_behalf_of")},
                        current=verdict.id == current_id, on_behalf_of=on_behalf_of)


def participant_out(p: Participant) -> s.ParticipantOut:
    """The participant by the name on the membership they take part with."""
    return s.ParticipantOut(id=p.id, round_id=p.round_id, person=s.PersonOut.known_as(p.person, p.membership.name),
                            membership_id=p.membership_id, can_vote=p.can_vote, added_at=p.added_at,
                            removed_at=p.removed_at, first_opened_at=p.first_opened_at,
                            verdict=verdict_out(p.current_verdict, p.current_verdict_id) if p.current_verdict else None)


def comment_out(comment: Comment, authors: dict[int, str] | None = None) -> s.CommentOut:
    """The comment with its author by the name the caller's network knows them by; `authors` (person id -> that
    name): when the caller has them."""
    if authors is None:
        authors = people.names_in_network(db.session(), caller().network_id, [comment.person_id])
    return s.CommentOut(**{name: getattr(comment, name) for name in s.CommentOut.model_fields if name != "person_name"},
                        person_name=authors.get(comment.person_id, ""))


def round_authors(round_id: int) -> dict[int, str]:
    """The names of everyone who commented or replied in the round, as the caller's network knows them."""
    return people.names_in_network(db.session(), caller().network_id, db.session().scalars(
        select(Comment.person_id).where(Comment.round_id == round_id).distinct()))


@operation(bp, "GET", "/documents/{document_id}/rounds", summary="The document's rounds", tag=TAG_ROUNDS,
           query=s.PageQuery, response=s.RoundPage, paginated=True)
def list_rounds(document_id: int, query: s.PageQuery):
    load(Document, document_id)
    statement = select(Round).where(Round.document_id == document_id)
    return page(statement, Round.id, query, s.RoundOut.model_validate, s.RoundPage)


@operation(bp, "POST", "/documents/{document_id}/rounds", summary="Open a round on the newest version and invite "
           "every member", tag=TAG_ROUNDS, roles=COORDINATOR, body=s.RoundIn, response=s.RoundDetail, status=201,
           errors=(400, 409), idempotent=True)
def open_round(document_id: int, body: s.RoundIn):
    document = load(Document, document_id)
    round_ = rounds.open_round(db.session(), document, deadline=body.deadline, message=body.message,
                               actor=caller().person, version_id=body.version_id,
                               bring_in_word_comments=body.bring_in_word_comments,
                               comment_visibility=body.comment_visibility)
    return round_detail(round_)


@operation(bp, "GET", "/rounds/{round_id}", summary="A round with its progress", tag=TAG_ROUNDS,
           response=s.RoundDetail)
def get_round(round_id: int):
    return round_detail(load(Round, round_id))


@operation(bp, "POST", "/rounds/{round_id}/deadline", summary="Move the deadline later (everyone is told)",
           tag=TAG_ROUNDS, roles=COORDINATOR, body=s.DeadlineIn, response=s.RoundDetail, errors=(400, 409),
           idempotent=True)
def extend_deadline(round_id: int, body: s.DeadlineIn):
    round_ = load(Round, round_id)
    reminders.extend_deadline(db.session(), round_, body.deadline, actor=caller().person)
    return round_detail(round_)


@operation(bp, "PUT", "/rounds/{round_id}/reminder-schedule", summary="Set the days before the deadline that "
           "reminders go out", tag=TAG_ROUNDS, roles=COORDINATOR, body=s.ScheduleIn, response=s.RoundDetail,
           errors=(400, 409))
def set_schedule(round_id: int, body: s.ScheduleIn):
    round_ = load(Round, round_id)
    reminders.set_schedule(db.session(), round_, body.days, actor=caller().person)
    return round_detail(round_)


@operation(bp, "POST", "/rounds/{round_id}/reminders", summary="Send a reminder now to everyone without a verdict",
           tag=TAG_ROUNDS, roles=COORDINATOR, response=s.ReminderOut, status=201, errors=(409,), idempotent=True)
def remind_now(round_id: int):
    round_ = load(Round, round_id)
    return s.ReminderOut(queued=reminders.send_now(db.session(), round_, actor=caller().person))


@operation(bp, "POST", "/rounds/{round_id}/close", summary="Close the round", tag=TAG_ROUNDS, roles=COORDINATOR,
           response=s.RoundDetail, errors=(409,), idempotent=True)
def close_round(round_id: int):
    round_ = load(Round, round_id)
    rounds.close_round(db.session(), round_, actor=caller().person)
    return round_detail(load(Round, round_id))


@operation(bp, "GET", "/rounds/{round_id}/participants", summary="Who takes part, with their verdict that counts",
           tag=TAG_ROUNDS, query=s.PageQuery, response=s.ParticipantPage, paginated=True)
def list_participants(round_id: int, query: s.PageQuery):
    load(Round, round_id)
    statement = (select(Participant).where(Participant.round_id == round_id)
                 .options(joinedload(Participant.current_verdict), selectinload(Participant.membership)))

    mail = undelivered.latest_invitations(db.session(), round_id)

    def convert(participant: Participant) -> s.ParticipantOut:
        out = participant_out(participant)
        invitation = mail.get(participant.person_id)
        if invitation is not None:
            out.invitation_status, out.invitation_sent_at = invitation.status, invitation.sent_at
            out.invitation_failure, out.invitation_next_attempt_at = invitation.failure, invitation.next_attempt_at
            out.invitation_failure_text = failure_words(invitation.failure)
        return out

    return page(statement, Participant.id, query, convert, s.ParticipantPage)


@operation(bp, "POST", "/rounds/{round_id}/participants/{participant_id}/resend-link", summary="Send a fresh "
           "personal link (the old one stops working)", tag=TAG_ROUNDS, roles=COORDINATOR, response=s.ParticipantOut,
           errors=(403,), idempotent=True)
def resend_link(round_id: int, participant_id: int):
    round_ = load(Round, round_id)
    participant = load(Participant, participant_id)
    if participant.round_id != round_.id:
        raise NotFound()
    rounds.resend_link(db.session(), participant, actor=caller().person)
    return participant_out(participant)


@operation(bp, "GET", "/rounds/{round_id}/verdicts", summary="Every verdict given in the round (the latest per "
           "participant counts)", tag=TAG_ROUNDS, query=s.PageQuery, response=s.VerdictPage, paginated=True)
def list_verdicts(round_id: int, query: s.PageQuery):
    load(Round, round_id)
    current = dict(db.session().execute(select(Participant.id, Participant.current_verdict_id)
                                        .where(Participant.round_id == round_id)).all())
    statement = select(Verdict).where(Verdict.round_id == round_id)
    return page(statement, Verdict.id, query, lambda v: verdict_out(v, current.get(v.participant_id)), s.VerdictPage)


@operation(bp, "GET", "/rounds/{round_id}/comments", summary="The round's comments and replies", tag=TAG_COMMENTS,
           query=s.CommentQuery, response=s.CommentPage, paginated=True)
def list_comments(round_id: int, query: s.CommentQuery):
    load(Round, round_id)
    statement = select(Comment).where(Comment.round_id == round_id)
    if query.unprocessed:
        statement = statement.where(Comment.processed_at.is_(None), Comment.parent_id.is_(None))
    authors = round_authors(round_id)
    return page(statement, Comment.id, query, lambda comment: comment_out(comment, authors), s.CommentPage)


@operation(bp, "GET", "/comments/{comment_id}", summary="A comment", tag=TAG_COMMENTS, response=s.CommentOut)
def get_comment(comment_id: int):
    return comment_out(load(Comment, comment_id))


@operation(bp, "POST", "/comments/{comment_id}/process", summary="Give a comment its disposition and an answer",
           tag=TAG_COMMENTS, body=s.ProcessIn, response=s.CommentOut, errors=(400, 409), idempotent=True)
def process_comment(comment_id: int, body: s.ProcessIn):
    comment = load(Comment, comment_id)
    comments.process_comment(db.session(), comment, disposition=body.disposition, answer=body.answer,
                             actor=caller().person)
    return comment_out(comment)


@operation(bp, "POST", "/comments/{comment_id}/replies", summary="Reply in a comment's thread for the project "
           "group", tag=TAG_COMMENTS, body=s.ReplyIn, response=s.CommentOut, status=201, errors=(400, 409),
           idempotent=True)
def reply(comment_id: int, body: s.ReplyIn):
    load(Comment, comment_id)
    answer = rounds.add_reply(db.session(), comment_id, body=body.body, staff=caller().person)
    return comment_out(answer)


@operation(bp, "GET", "/rounds/{round_id}/commentaartabel", summary="The commentaartabel: every comment with how "
           "it was processed", tag=TAG_COMMENTS, response=s.Commentaartabel)
def commentaartabel(round_id: int):
    load(Round, round_id)
    rows = commentaartabel_export.rows_for_round(db.session(), round_id, caller_locale())
    return s.Commentaartabel(round_id=round_id, rows=[s.CommentaartabelRow(**vars(row)) for row in rows])


def _table_download(round_id: int, fmt: str):
    load(Round, round_id)
    filename, mimetype, data = commentaartabel_export.export(db.session(), round_id, fmt, caller_locale())
    return download(data, mimetype, filename)


@operation(bp, "GET", "/rounds/{round_id}/commentaartabel.docx", summary="The commentaartabel as a Word document",
           tag=TAG_COMMENTS, media={commentaartabel_export.MIMETYPES["docx"]: BINARY})
def commentaartabel_docx(round_id: int):
    return _table_download(round_id, "docx")


@operation(bp, "GET", "/rounds/{round_id}/commentaartabel.xlsx", summary="The commentaartabel as a spreadsheet",
           tag=TAG_COMMENTS, media={commentaartabel_export.MIMETYPES["xlsx"]: BINARY})
def commentaartabel_xlsx(round_id: int):
    return _table_download(round_id, "xlsx")

