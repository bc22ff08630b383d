"""API for a member, with their personal round token as the bearer token: read the round's version and the
comments they may see, comment, reply, and give a verdict. Nothing else."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from service.api import schemas as s
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.documents import blocks_response, redline_out, text_response, version_out
from service.api.helpers import page
from service.api.registry import operation
from service.api.rounds import comment_out, round_authors, verdict_out
from service.web import db
from storage.database.models import Comment, Verdict, Version
from workflows.domain import comments, decisions, people, rounds, substitutes
from workflows.errors import NotFound

TAG = "Member (personal round token)"


def _participation() -> s.Participation:
    participant = caller().participant
    round_ = participant.round
    verdict = db.session().get(Verdict, participant.current_verdict_id) if participant.current_verdict_id else None
    internal = decisions.internal_view(db.session(), participant)
    view = s.OrganisationView(
        organisation_id=internal.organisation.id, organisation=internal.organisation.name,
        verdict=verdict_out(internal.verdict, None) if internal.verdict else None,
        suggestions=[verdict_out(v, v.id) for _name, v in internal.suggestions]) if internal else None
    standing_in = substitutes.page_state(db.session(), participant.person_id, round_.id)
    return s.Participation(
        participant_id=participant.id, person=s.PersonOut.known_as(participant.person, participant.membership.name),
        can_vote=participant.can_vote, round=s.RoundOut.model_validate(round_),
        document=s.DocumentBrief.model_validate(round_.document),
        version=version_out(db.session().get(Version, round_.version_id)),
        verdict=verdict_out(verdict, verdict.id) if verdict else None,
        capacity=decisions.capacity(round_, participant), organisation_view=view,
        acting_for=[s.ActingForOut(**vars(a)) for a in standing_in.acting_for],
        absences=[s.AbsenceOut(**vars(a)) for a in standing_in.absences])


@operation(bp, "GET", "/participation", summary="The round this token is for: document, version, deadline and "
           "your verdict", tag=TAG, caller="member", response=s.Participation)
def get_participation():
    return _participation()


@operation(bp, "GET", "/participation/version/blocks", summary="The version under review as structured blocks",
           tag=TAG, caller="member", response=s.Blocks, etag=True)
def participation_blocks():
    return blocks_response(db.session().get(Version, caller().participant.round.version_id))


@operation(bp, "GET", "/participation/version/text", summary="The version under review as plain text", tag=TAG,
           caller="member", media={"text/plain": {"type": "string"}}, etag=True)
def participation_text():
    return text_response(db.session().get(Version, caller().participant.round.version_id))


@operation(bp, "GET", "/participation/changes", summary="What changed since the version you last reviewed "
           "(a 404 problem when you did not review an earlier one)", tag=TAG, caller="member", response=s.RedlineOut,
           errors=(404,))
def participation_changes():
    participant = caller().participant
    version = db.session().get(Version, participant.round.version_id)
    since = comments.last_reviewed_version(db.session(), participant.person_id, version)
    if since is None:
        raise NotFound()
    return redline_out(since, version)


@operation(bp, "GET", "/participation/earlier-comments", summary="Your comments on earlier versions, placed in the "
           "version under review, with what the project group did with them", tag=TAG, caller="member",
           response=s.EarlierComments)
def participation_earlier_comments():
    participant = caller().participant
    version = db.session().get(Version, participant.round.version_id)
    followed = comments.followed_comments(db.session(), participant.person_id, version)
    addressed = comments.addressed_in(db.session(), [f.comment.id for f in followed])
    authors = people.names_in_network(db.session(), caller().network_id, [participant.person_id])  # all theirs
    return s.EarlierComments(items=[s.EarlierComment(
        comment=comment_out(f.comment, authors), version_number=f.version_number,
        placement=s.PlacementOut.model_validate(f.placement), addressed_in=addressed.get(f.comment.id, []))
        for f in followed])


@operation(bp, "GET", "/participation/comments", summary="The round's comments you may see (all, or only your "
           "own threads when the round shows comments to the project group only)", tag=TAG, caller="member",
           query=s.PageQuery, response=s.CommentPage, paginated=True)
def participation_comments(query: s.PageQuery):
    participant = caller().participant
    statement = select(Comment).where(Comment.round_id == participant.round_id)
    viewer = rounds.comment_viewer(participant)
    if viewer is not None:
        statement = statement.where(comments.own_threads(viewer))
    authors = round_authors(participant.round_id)
    return page(statement, Comment.id, query, lambda comment: comment_out(comment, authors), s.CommentPage)


@operation(bp, "POST", "/participation/comments", summary="Comment, in general or on a passage (block_id), or "
           "propose wording for it (proposed_text)", tag=TAG, caller="member", body=s.MemberCommentIn,
           response=s.CommentOut, status=201, errors=(400, 409), idempotent=True)
def participation_comment(body: s.MemberCommentIn):
    comment = rounds.add_comment(db.session(), caller().participant, body=body.body, block_id=body.block_id,
                                 start=body.start, end=body.end, selected=body.selected, kind=body.kind,
                                 proposed_text=body.proposed_text)
    rounds.note_link_used(db.session(), caller().link)
    return comment_out(comment)


@operation(bp, "POST", "/participation/comments/{comment_id}/replies", summary="Reply in the thread of a comment "
           "you can see", tag=TAG, caller="member", body=s.ReplyIn, response=s.CommentOut, status=201,
           errors=(400, 409), idempotent=True)
def participation_reply(comment_id: int, body: s.ReplyIn):
    reply = rounds.add_reply(db.session(), comment_id, body=body.body, participant=caller().participant)
    rounds.note_link_used(db.session(), caller().link)
    return comment_out(reply)


@operation(bp, "POST", "/participation/verdicts", summary="Give your verdict (the last one before the round "
           "closes counts), or, with on_behalf_of, the verdict of an absent colleague you stand in for", tag=TAG,
           caller="member", body=s.VerdictIn, response=s.VerdictOut, status=201, errors=(400, 403, 404, 409),
           idempotent=True)
# 403: an observer, an organisation without a vote, or a substitution not running now; 404: not your substitution
def participation_verdict(body: s.VerdictIn):
    who = caller()
    evidence = rounds.Evidence(ip_address=request.remote_addr or "", user_agent=request.user_agent.string,
                               link_id=who.link.id)
    if body.on_behalf_of is not None:
        verdict = substitutes.record_verdict_for(db.session(), who.participant, body.on_behalf_of, value=body.value,
                                                 reason=body.reason, evidence=evidence)
    else:
        verdict = rounds.record_verdict(db.session(), who.participant, value=body.value, reason=body.reason,
                                        evidence=evidence)
    rounds.note_link_used(db.session(), who.link)
    return verdict_out(verdict, verdict.id)


def _substitution_out(substitution) -> s.SubstitutionOut:
    return s.SubstitutionOut(id=substitution.id, absent_name=substitution.absent.name,
                             substitute_name=substitution.substitute.name, starts_at=substitution.starts_at,
                             ends_at=substitution.ends_at, ended_at=substitution.ended_at)


@operation(bp, "GET", "/participation/substitutes", summary="Who may stand in for you (plaatsvervangers), and your "
           "substitutions not yet over, either way round", tag=TAG, caller="member", response=s.Substitutes)
def participation_substitutes():
    participant = caller().participant
    session = db.session()
    return s.Substitutes(
        candidates=[s.SubstituteCandidate(membership_id=m.id, name=m.name)
                    for m in substitutes.candidates(session, participant.membership)],
        substitutions=[_substitution_out(x) for x in substitutes.of_person(session, caller().network_id,
                                                                            participant.person_id)])


@operation(bp, "POST", "/participation/substitutes", summary="Name a colleague of your organisation as your "
           "substitute for a period; you both receive an email", tag=TAG, caller="member", body=s.SubstituteIn,
           response=s.SubstitutionOut, status=201, errors=(400, 409), idempotent=True)
def participation_name_substitute(body: s.SubstituteIn):
    who = caller()
    substitution = substitutes.name_substitute(db.session(), who.participant.membership,
                                               body.substitute_membership_id, starts_at=body.starts_at,
                                               ends_at=body.ends_at, actor=who.participant.person)
    rounds.note_link_used(db.session(), who.link)
    return _substitution_out(substitution)


@operation(bp, "POST", "/participation/substitutes/{substitution_id}/end", summary="Take over again: your "
           "substitute no longer acts for you (verdicts given so far stay)", tag=TAG, caller="member",
           response=s.SubstitutionOut, errors=(409,))
def participation_end_substitution(substitution_id: int):
    who = caller()
    substitution = substitutes.get(db.session(), who.network_id, substitution_id)
    if substitution.absent.person_id != who.participant.person_id:
        raise NotFound()
    substitution = substitutes.end_substitution(db.session(), substitution, actor=who.participant.person)
    rounds.note_link_used(db.session(), who.link)
    return _substitution_out(substitution)
