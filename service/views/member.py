"""The member's side, reached by a personal link without an account: read, comment, decide."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from service.web import auth, db, limits, routing
from service.web.extensions import limiter
from service.web.field_errors import refuse
from service.web.final_files import dossier_file
from service.web.forms import CommentForm, LinkRequestForm, VerdictForm, on_behalf_verdict_form
from service.web.passage_comments import annotated, by_passage
from service.web.rendering import (
    cached_page,
    page_response,
    rendered_anchors,
    rendered_blocks,
    rendered_comments,
)
from service.web.sessions import LINKS
from storage.blocks import block_text
from storage.database.models import Verdict
from storage.formats.docx_draft import TEXT_TYPES
from workflows.domain import address_requests, comments, decisions, dossier, minutes, rounds, substitutes, successors
from workflows.errors import InvalidInput
from workflows.text import anchoring, redlines
from workflows.text.labels import find_words

# A proposal's field is offered filled with the words it would replace: not for a passage longer than a proposal may be
# (rounds.MAX_SELECTION_LENGTH), where the member selects the words to change instead.
_PROPOSAL_LIMIT = rounds.MAX_SELECTION_LENGTH

bp = Blueprint("member", __name__)

# Offsets and ids from a query string: ASCII digits only (str.isdigit also takes "²"), within the database's range.
_NUMBER = re.compile(r"[0-9]{1,9}")
# The review page shows the newest comments under the text; all of them are one link away.
NEWEST_COMMENTS = 20
# The passage a member just commented on: the next review page says so there (where the member lands), once.
SAVED_AT = "comment_saved_at"


@bp.route("/link", methods=["GET", "POST"])
@limiter.limit(limits.address_requests, methods=["POST"])
def request_link():
    """Lost your link? Ask for it by email address; the answer never tells whether the address is known, and the
    request does the same work either way (a worker looks the address up and sends fresh links). It revokes
    nothing, and beyond the address's share of mails it sends nothing: no stranger can cut a member off."""
    form = LinkRequestForm()
    if form.validate_on_submit():
        if limits.mail_allowed("lost_link", form.email.data):
            address_requests.record(db.session(), "lost_link", form.email.data)
        return render_template("member/link_sent.html", email=form.email.data)
    return render_template("member/request_link.html", form=form), 400 if form.is_submitted() else 200


@bp.route("/l/<token>", methods=["GET", "HEAD"])
@limiter.shared_limit(limits.token_links, scope=limits.TOKEN_LINKS)
@limiter.shared_limit(limits.failed_secrets, scope=limits.FAILED_SECRETS, deduct_when=limits.refused)
def open_link(token: str):
    """Exchange the token for a cookie and leave the URL that carries it; records nothing (invariant 5: mail
    scanners follow every link before the person does)."""
    link = rounds.use_link(db.session(), token)
    auth.remember_link(link)
    generate_csrf()  # set in the same cookie, so the review page renders (and caches) the same from its first view
    if request.args.get("to") == "changes":
        return redirect(url_for("member.changes", participant_id=link.participant_id), 303)
    if request.args.get("to") == "commentaartabel" and _NUMBER.fullmatch(request.args.get("round", "")):
        return redirect(url_for("member.commentaartabel", participant_id=link.participant_id,
                                round_id=int(request.args["round"])), 303)
    return redirect(url_for("member.review", participant_id=link.participant_id), 303)


@bp.post("/review/<int:participant_id>/seen")
def seen(participant_id: int):
    """The page's script reports the person's first tap, scroll or key press: the round page's "opened"."""
    participant, link = auth.require_participant(participant_id)
    rounds.note_opened(db.session(), participant)
    rounds.note_link_used(db.session(), link)
    return "", 204


def _context(participant_id: int):
    participant, link = auth.require_participant(participant_id)
    return participant, link, participant.round, participant.round.version


@bp.get("/review/<int:participant_id>/")
def review(participant_id: int, verdict_form: VerdictForm | None = None, comment_form: CommentForm | None = None,
           status: int = 200, on_behalf: tuple[int, VerdictForm] | None = None):
    """`on_behalf`: a substitute's refused verdict for an absent colleague (substitution id, form), shown again."""
    state = auth.participant_state(participant_id)
    session = db.session()
    stats = (state.comment_count, state.newest_comment_id, state.last_processed)
    viewer = auth.comment_viewer(state)
    # Whom this person may act for now (a substitute), and who acts for them: shown on the page, keys its cache.
    standing_in = substitutes.page_state(session, state.person_id, state.round_id) if state.substitutions \
        else substitutes.NOTHING
    privacy = state.privacy_statement or ""  # the network's, shown folded
    holds_newer = _holds_link(state.newest_participant_id)
    saved_at = cookie.pop(SAVED_AT, None)

    def render() -> tuple[str, tuple]:
        participant, _link, round_, version = _context(participant_id)
        verdict = session.get(Verdict, participant.current_verdict_id) if participant.current_verdict_id else None
        _count, comments_html = rendered_comments(session, round_.id, link_passages=True, newest=NEWEST_COMMENTS,
                                                  stats=stats, viewer=viewer, reply_links=round_.is_open)
        anchors = rendered_anchors(session, round_.id, stats=stats, viewer=viewer)
        text = rendered_blocks(version, mode="review" if round_.is_open else "closed")  # no comment links when over
        # Each passage's comments after it, as this reader may see them.
        body = annotated(text, by_passage(session, round_.id, stats=stats, viewer=viewer, reply_links=round_.is_open),
                         saved=saved_at, saved_message=_("Your comment was saved."))
        earlier = comments.earlier_count(session, participant.person_id, version)
        page = render_template(
            "member/review.html", participant=participant, round=round_, version=version, document=round_.document,
            verdict=verdict, comment_count=stats[0], comments_html=comments_html, newest=NEWEST_COMMENTS,
            verdict_form=verdict_form or VerdictForm(value=verdict.value if verdict else None,
                                                     reason=verdict.reason if verdict else ""),
            comment_form=comment_form or CommentForm(), body=body, earlier=earlier, anchors=anchors,
            group_only=viewer is not None, capacity=decisions.capacity(round_, participant),
            internal=decisions.internal_view(session, participant), dossier=_dossier_open(round_.document),
            standing_in=standing_in, on_behalf_forms={
                a.substitution_id: on_behalf[1] if on_behalf and on_behalf[0] == a.substitution_id else
                on_behalf_verdict_form(a.substitution_id, formdata=None, value=a.verdict_value)
                for a in standing_in.acting_for},
            privacy=privacy, onward=_onward(participant), holds_newer_link=holds_newer,
        )
        return page, (body, anchors, comments_html)  # in the order they appear on the page

    if verdict_form or comment_form or status != 200 or cookie.get("_flashes") or saved_at:
        page, fragments = render()
        return page_response(page, *fragments, status=status)
    # A member rereads this page often and a 200-page text makes it large: the page is cached under
    # everything it shows. The link was checked above, on this request.
    if "csrf_token" not in cookie:
        generate_csrf()  # the page's forms carry a token signed from this session's raw token
    key = ("review", participant_id, state.link_id, state.current_verdict_id, state.status, state.deadline,
           stats, str(get_locale()), cookie["csrf_token"], request.full_path, state.document_status,
           state.organisation_verdict_id, state.organisation_comment_id,  # per organisation: its colleagues' acts
           standing_in,
           privacy,
           state.newest_round_id, state.newest_round_status, state.newest_participant_id, holds_newer)  # what followed
    return cached_page(key, render)


@bp.get("/review/<int:participant_id>/comments")
def all_comments(participant_id: int):
    participant, link, round_, version = _context(participant_id)
    viewer = rounds.comment_viewer(participant)
    comment_count, comments_html = rendered_comments(db.session(), round_.id, link_passages=False, viewer=viewer,
                                                     reply_links=round_.is_open)
    onward = _onward(participant)
    page = render_template("member/comments.html", participant=participant, round=round_, document=round_.document,
                           version=version, comment_count=comment_count, comments_html=comments_html,
                           onward=onward, holds_newer_link=_holds_link(onward and onward.newer_participant_id))
    return page_response(page, comments_html)


@bp.get("/review/<int:participant_id>/changes")
def changes(participant_id: int):
    """What changed since the version this member last reviewed, as a redline."""
    participant, link, round_, version = _context(participant_id)
    since = comments.last_reviewed_version(db.session(), participant.person_id, version)
    result = redlines.redline(since.blocks, version.blocks) if since else None
    return render_template("member/changes.html", participant=participant, round=round_, document=round_.document,
                           version=version, since=since, redline=result)


@bp.get("/review/<int:participant_id>/earlier")
def earlier_comments(participant_id: int):
    """My comments on earlier versions, found in this version's text, with what the project group did with them."""
    participant, link, round_, version = _context(participant_id)
    followed = comments.followed_comments(db.session(), participant.person_id, version)
    blocks = {b["id"]: b for b in version.blocks}
    addressed = comments.addressed_in(db.session(), [f.comment.id for f in followed])
    discussed = minutes.discussed_in(db.session(), [f.comment.id for f in followed])
    return render_template("member/earlier.html", participant=participant, round=round_, document=round_.document,
                           version=version, followed=followed, blocks=blocks, addressed=addressed,
                           discussed=discussed)


def _selection(block: dict | None, form: CommentForm) -> tuple[int, int] | None:
    """The span of the passage a reader selected, as the form carries it (None: the whole passage)."""
    if block is None or not (form.start.data or form.end.data or form.selected.data):
        return None
    return anchoring.locate_selection(block_text(block), int(form.start.data or 0), int(form.end.data or 0),
                                      form.selected.data or "")


@bp.get("/review/<int:participant_id>/comment")
def comment_form(participant_id: int, form: CommentForm | None = None, status: int = 200):
    """The form for a comment: general, on a passage, on a selected span of it, or a reply in a thread."""
    participant, link, round_, version = _context(participant_id)
    if not round_.is_open:  # a stale tab or bookmark: the page of the round says what followed it
        flash(_("This round is closed: you can no longer comment or give a verdict."))
        return redirect(url_for("member.review", participant_id=participant_id), 303)
    form = form or CommentForm(formdata=None, block_id=request.args.get("block", ""),
                               start=request.args.get("start", ""), end=request.args.get("end", ""),
                               selected=request.args.get("text", "")[:10000],
                               parent_id=request.args.get("reply", ""))
    if form.parent_id.data:
        return _reply_page(participant, round_, form, status)
    block_id = form.block_id.data or ""
    block = next((b for b in version.blocks if b["id"] == block_id), None)
    if block_id and block is None:
        abort(404)
    if not (_NUMBER.fullmatch(form.start.data or "") and _NUMBER.fullmatch(form.end.data or "")):
        form.start.data = form.end.data = ""
    span = _selection(block, form)
    text = block_text(block) if block else ""
    if span is not None:
        form.start.data, form.end.data = str(span[0]), str(span[1])
        form.selected.data = text[span[0]:span[1]]
    elif form.selected.data:  # the selection is not in the passage as read: comment on the whole passage
        flash(_("The selected text was not found in that passage; your comment will be on the whole passage."))
        form.start.data = form.end.data = form.selected.data = ""
    proposable = _proposable(block)
    if proposable and form.proposed_text.data is None:  # a fresh form: the words it would replace, to edit
        form.proposed_text.data = form.selected.data if span else text
    return render_template("member/comment.html", participant=participant, round=round_, document=round_.document,
                           version=version, block=block, text=text, span=span, form=form,
                           proposable=proposable), status


def _proposable(block: dict | None) -> bool:
    """Whether a member may propose wording for this passage here: its text (not a table, image or note)."""
    return block is not None and block["type"] in TEXT_TYPES and len(block_text(block)) <= _PROPOSAL_LIMIT


def _reply_page(participant, round_, form: CommentForm, status: int):
    session = db.session()
    parent_id = routing.parse_id(form.parent_id.data)
    if parent_id is None:
        abort(404)
    try:
        root = rounds.thread_root(session, parent_id, round_.id)
    except InvalidInput:
        abort(404)
    if not rounds.can_see_thread(round_, root, participant.person_id, is_staff=participant.membership.is_staff):
        abort(404)
    form.body.label.text = _("Your reply")
    _count, thread_html = rendered_comments(session, round_.id, link_passages=False, viewer=None,
                                            thread=root.id)
    page = render_template("member/reply.html", participant=participant, round=round_, document=round_.document,
                           root=root, thread_html=thread_html, form=form)
    return page_response(page, thread_html, status=status)


@bp.post("/review/<int:participant_id>/comments")
def add_comment(participant_id: int):
    participant, link, round_, version = _context(participant_id)
    form = CommentForm()
    if not form.validate_on_submit():
        if form.parent_id.data or form.block_id.data or form.start.data or form.selected.data:
            return comment_form(participant_id, form=form, status=400)  # back to the form it came from
        return review(participant_id, comment_form=form, status=400)
    from_passage = not form.selected.data  # the proposal's field was filled with the whole passage
    if form.words.data and not form.parent_id.data and not _named_words(version, form):
        return comment_form(participant_id, form=form, status=400)
    proposal = None if form.parent_id.data else _proposal(version, form, from_passage)
    if proposal is False:
        return comment_form(participant_id, form=form, status=400)
    if proposal is None and not (form.body.data or "").strip():  # the reason may be left out of a proposal only
        offered = not form.parent_id.data and _proposable(_block(version, form.block_id.data))
        refuse(form.body, _("Type your comment, or change the proposed text to propose other wording.") if offered
               else InvalidInput("comment_required"))
        if form.parent_id.data or form.block_id.data:
            return comment_form(participant_id, form=form, status=400)
        return review(participant_id, comment_form=form, status=400)
    session = db.session()
    rounds.note_link_used(session, link)
    if form.parent_id.data:
        reply = rounds.add_reply(session, int(form.parent_id.data), body=form.body.data, participant=participant)
        flash(_("Your reply was saved."))
        return redirect(url_for("member.all_comments", participant_id=participant_id, _anchor=f"comment-{reply.id}"),
                        303)
    if proposal is not None:
        start, end, selected, proposed_text = proposal
    else:
        start = int(form.start.data) if form.start.data else None
        end = int(form.end.data) if form.end.data else None
        selected, proposed_text = form.selected.data or "", None
    try:
        rounds.add_comment(session, participant, body=form.body.data or "", block_id=form.block_id.data or None,
                           start=start, end=end, selected=selected, kind=form.kind.data or "general",
                           proposed_text=proposed_text)
    except InvalidInput as refused:  # shown at the field it is about, on the form it came from
        session.rollback()
        about_proposal = refused.code in _PROPOSAL_REFUSALS or refused.params.get("field") == "proposed_text"
        refuse(form.proposed_text if about_proposal and proposal is not None else form.body, refused)
        if form.block_id.data or form.start.data or form.selected.data:
            return comment_form(participant_id, form=form, status=400)
        return review(participant_id, comment_form=form, status=400)
    if form.block_id.data:  # back at the passage, where the page says the comment was saved
        cookie[SAVED_AT] = form.block_id.data
        return redirect(url_for("member.review", participant_id=participant_id, _anchor=form.block_id.data), 303)
    flash(_("Your comment was saved."))
    return redirect(url_for("member.review", participant_id=participant_id, _anchor="comments"), 303)


# Refusals of rounds.add_comment about the proposed wording, shown at its field.
_PROPOSAL_REFUSALS = {"proposal_unchanged", "proposal_not_text", "proposal_needs_passage", "too_long",
                      "selection_not_found"}


def _block(version, block_id: str | None) -> dict | None:
    return next((b for b in version.blocks if b["id"] == block_id), None) if block_id else None


def _proposal(version, form: CommentForm, from_passage: bool):
    """The wording a member proposes, as rounds.add_comment takes it: (start, end, selected, proposed text), None
    when they propose none (the field left as it was offered), False when the form says two things at once.

    The field was offered filled with the selected words, or with the whole passage (`from_passage`); edited there,
    only the words changed are proposed (edited_span), so "60 maanden" in a long passage reads "60 → 12". Deleting is
    a tick ("Delete these words"), not an emptied field, so that clearing the field by mistake proposes nothing."""
    block = _block(version, form.block_id.data)
    offered = bool(form.proposed_text.raw_data)
    if block is None or not (offered or form.delete.data):
        return None
    text = block_text(block)
    typed = (form.proposed_text.data or "").replace("\r\n", "\n").replace("\r", "\n")
    named = from_passage and bool(form.selected.data)  # words named on the form became the selection
    original = text if from_passage else form.selected.data
    start = int(form.start.data) if form.start.data else None
    end = int(form.end.data) if form.end.data else None
    # Only other words count: an emptied field proposes nothing (deleting is the tick), nor does a line break or a
    # space a keyboard left in it on the way to the button.
    changed = offered and typed.split() != original.split() and bool(typed.strip())
    if form.delete.data:
        if changed:
            refuse(form.proposed_text, _("Either delete the words or change them, not both: untick the box or undo "
                                         "the change."))
            return False
        if named:
            form.proposed_text.data = form.selected.data  # as the form now shows them: the named words, marked
        return start, end, form.selected.data or "", ""
    if not changed:
        if named:
            form.proposed_text.data = form.selected.data
        return None
    if not from_passage:
        return start, end, form.selected.data or "", typed
    if named:  # the words named only point; the change made in the passage is the proposal
        form.start.data = form.end.data = form.selected.data = ""
    start, end, wording = anchoring.edited_span(text, typed)
    return start, end, text[start:end], wording


def _named_words(version, form: CommentForm) -> bool:
    """The words a member typed or pasted to say what in the passage the comment is on (a selection without a mouse):
    found, they become the selection; not found, the field says so and nothing is saved."""
    block = next((b for b in version.blocks if b["id"] == form.block_id.data), None)
    if block is None:
        return True  # no passage, no words to find (an unknown passage is refused when the comment is added)
    text = block_text(block)
    span = find_words(text, form.words.data)
    if span is None:
        form.words.errors = [*form.words.errors, _("These words are not in the passage. Copy them from the passage "
                                                   "as they stand there, or leave this field empty to comment on "
                                                   "the whole passage.")]
        return False
    form.start.data, form.end.data = str(span[0]), str(span[1])
    form.selected.data = text[span[0]:span[1]]
    return True


@bp.post("/review/<int:participant_id>/verdict")
def give_verdict(participant_id: int):
    participant, link, round_, version = _context(participant_id)
    form = VerdictForm()
    if not form.validate_on_submit():
        return review(participant_id, verdict_form=form, status=400)
    evidence = rounds.Evidence(ip_address=request.remote_addr or "", user_agent=request.user_agent.string,
                               link_id=link.id)
    try:
        verdict = rounds.record_verdict(db.session(), participant, value=form.value.data,
                                        reason=form.reason.data or "", evidence=evidence)
    except InvalidInput as refused:  # niet akkoord without a reason: at the reason, the choice kept
        db.session().rollback()
        refuse(form.value if refused.code == "unknown_verdict" else form.reason, refused)
        return review(participant_id, verdict_form=form, status=400)
    rounds.note_link_used(db.session(), link)
    if verdict.suggestion:
        flash(_("Your suggestion was saved; your organisation's representatives see it."))
    else:
        flash(_("Your verdict was saved. You will receive a confirmation by email."))
    return redirect(url_for("member.review", participant_id=participant_id, _anchor="verdict"), 303)


def _onward(participant) -> successors.Onward | None:
    """What followed the participant's round, when it is over (None while it is open)."""
    if participant.round.is_open:
        return None
    return successors.onward(db.session(), participant.round, participant.person_id)


def _holds_link(participant_id: int | None) -> bool:
    """Whether this browser holds a personal link for that participant (so a link to their page opens it)."""
    return participant_id is not None and str(participant_id) in cookie.get(LINKS, {})


def _dossier_open(document) -> bool:
    return document.status == "final" and dossier.open_to_members(db.session(), document)


def _dossier(participant_id: int, kind: str):
    """The evidence dossier of the final document this personal link is for: every member organisation may keep
    it (not when a round kept comments to the project group: it holds every comment)."""
    _participant, _link, round_, _version = _context(participant_id)
    if not _dossier_open(round_.document):
        abort(404)
    return dossier_file(round_.document, kind)


@bp.get("/review/<int:participant_id>/dossier.pdf")
def dossier_pdf(participant_id: int):
    return _dossier(participant_id, "pdf")


@bp.get("/review/<int:participant_id>/dossier.json")
def dossier_json(participant_id: int):
    return _dossier(participant_id, "json")


# Routes on this blueprint kept in modules of their own: the text's table of contents, search, downloads and print
# views (member_document), the commentaartabel of processed rounds, for members (member_tables), and a member's
# returned Word file (member_returned).
from service.views import member_document, member_returned, member_tables  # noqa: E402,F401
