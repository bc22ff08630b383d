"""The member's side, reached by a personal link without an account: read, comment, decide."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from service import auth, db
from service.forms import CommentForm, VerdictForm
from service.rendering import rendered_blocks
from storage.blocks import block_text
from storage.models import Comment, Round, Verdict, Version
from workflows import rounds

bp = Blueprint("member", __name__)


@bp.route("/l/<token>", methods=["GET", "HEAD"])
def open_link(token: str):
    """Exchange the token for a cookie and leave the URL that carries it; never records anything else (invariant 5)."""
    link = rounds.use_link(db.session(write=True), token, note_open=request.method == "GET")
    auth.remember_link(link)
    return redirect(url_for("member.review", participant_id=link.participant_id), 303)


def _context(participant_id: int):
    participant, link = auth.require_participant(participant_id)
    session = db.session()
    round_ = session.get(Round, participant.round_id)
    version = session.get(Version, round_.version_id)
    return participant, link, round_, version


@bp.get("/review/<int:participant_id>/")
def review(participant_id: int, verdict_form: VerdictForm | None = None, comment_form: CommentForm | None = None,
           status: int = 200):
    participant, link, round_, version = _context(participant_id)
    session = db.session()
    verdict = session.get(Verdict, participant.current_verdict_id) if participant.current_verdict_id else None
    comments = session.scalars(select(Comment).where(Comment.round_id == round_.id).order_by(Comment.id)).all()
    if verdict_form is None:
        verdict_form = VerdictForm(value=verdict.value if verdict else None, reason=verdict.reason if verdict else "")
    return render_template(
        "member/review.html", participant=participant, round=round_, version=version, document=round_.document,
        verdict=verdict, comments=comments, verdict_form=verdict_form, comment_form=comment_form or CommentForm(),
        body=rendered_blocks(version, mode="review"),
    ), status


@bp.get("/review/<int:participant_id>/comment")
def comment_form(participant_id: int):
    participant, link, round_, version = _context(participant_id)
    block_id = request.args.get("block", "")
    block = next((b for b in version.blocks if b["id"] == block_id), None)
    if block_id and block is None:
        abort(404)
    return render_template("member/comment.html", participant=participant, round=round_, document=round_.document,
                           version=version, block=block, quote=block_text(block) if block else "",
                           form=CommentForm(block_id=block_id))


@bp.post("/review/<int:participant_id>/comments")
def add_comment(participant_id: int):
    participant, link, round_, version = _context(participant_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return review(participant_id, comment_form=form, status=400)
    rounds.add_comment(db.session(), participant, body=form.body.data, block_id=form.block_id.data or None)
    flash(_("Your comment was saved."))
    return redirect(url_for("member.review", participant_id=participant_id, _anchor="comments"), 303)


@bp.post("/review/<int:participant_id>/verdict")
def give_verdict(participant_id: int):
    participant, link, round_, version = _context(participant_id)
    form = VerdictForm()
    if not form.validate_on_submit():
        return review(participant_id, verdict_form=form, status=400)
    evidence = rounds.Evidence(ip_address=request.remote_addr or "", user_agent=request.user_agent.string,
                               link_id=link.id)
    rounds.record_verdict(db.session(), participant, value=form.value.data, reason=form.reason.data or "",
                          evidence=evidence)
    flash(_("Your verdict was saved. You will receive a confirmation by email."))
    return redirect(url_for("member.review", participant_id=participant_id, _anchor="verdict"), 303)
