"""Pages for coordinators and editors: networks, members, documents, versions, rounds, finalising."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from service.web import auth, db, routing
from service.web.field_errors import refuse
from service.web.final_files import dossier_file, final_file
from service.web.forms import (
    ConfirmForm,
    ConfirmStepForm,
    CsvForm,
    DocumentForm,
    DocumentRuleForm,
    ExtendForm,
    FinaliseForm,
    MemberForm,
    NetworkForm,
    NetworkRuleForm,
    ProcessForm,
    ReplyForm,
    RepresentativeForm,
    RoundForm,
    ScheduleForm,
    VersionForm,
)
from service.web.i18n import CSV_PROBLEMS, ERRORS, error_message
from service.web.rendering import download, page_response, rendered_blocks, rendered_comments
from service.web.templating import findings_text
from storage.database.models import (
    Blob,
    Comment,
    Document,
    Finalisation,
    Membership,
    Network,
    Organisation,
    Participant,
    Round,
    Version,
)
from workflows.domain import (
    attention,
    comments,
    consequences,
    deciders,
    decisions,
    documents,
    exports,
    finalising,
    listing,
    membership,
    minutes,
    people,
    proposals,
    reminders,
    rounds,
    timeline,
    undelivered,
)
from workflows.domain import commentaartabel as commentaartabel_export
from workflows.domain import (
    versions as version_list,
)
from workflows.domain.wording import TIMEZONE
from workflows.errors import Conflict, CsvRejected, DomainError, InvalidInput
from workflows.text import redlines

bp = Blueprint("staff", __name__)

COORDINATOR = ("coordinator",)
STAFF = ("coordinator", "editor")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _get(model, id_: int, *options):
    obj = db.session().get(model, id_, options=options)
    if obj is None:
        abort(404)
    return obj


@bp.get("/")
def dashboard():
    person = auth.current_person()
    if person is None:
        return redirect(url_for("auth.sign_in"))
    rows = db.session().execute(
        select(Membership, Network).join(Network, Membership.network_id == Network.id)
        .where(Membership.person_id == person.id, Membership.left_at.is_(None)).order_by(Network.name)
    ).all()
    # No network is involved here: the person sees their own name (shown to them alone).
    own_name = people.own_name(db.session(), person.id)
    return render_template("staff/dashboard.html", person=person, own_name=own_name, rows=rows,
                           attention=attention.dashboard(db.session(), person.id, memberships=rows),
                           form=NetworkForm(your_name=own_name))


@bp.post("/networks")
def create_network():
    person = auth.require_person()
    form = NetworkForm()
    if not form.validate_on_submit():
        return render_template("staff/dashboard.html", person=person, own_name=people.own_name(db.session(), person.id),
                               rows=[], form=form), 400
    network = membership.create_network(db.session(), form.name.data, coordinator=person,
                                        coordinator_name=form.your_name.data)
    return redirect(url_for("staff.network", network_id=network.id), 303)


def _network_page(network: Network, status: int = 200, **forms):
    person, own = auth.require_role(network.id, *STAFF)
    session = db.session()
    # The members a page at a time, searchable by name, organisation or address (a network may have thousands).
    search = request.args.get("q", "").strip()[:200]
    members, member_total = listing.members_page(session, network.id, search=search, page=routing.page_arg())
    docs = session.scalars(select(Document).where(Document.network_id == network.id).order_by(Document.id.desc())).all()
    context = dict(network=network, person=person, own=own, members=members.items, member_pages=members,
                   member_total=member_total, search=search, documents=docs,
                   member_form=MemberForm(), csv_form=CsvForm(), document_form=DocumentForm(),
                   confirm=ConfirmForm(), csv_problems=None,
                   undelivered=undelivered.count_undelivered(session, network.id),
                   failed_webhooks=undelivered.failed_webhook_counts(session, [network.id]).get(network.id, 0),
                   rule_form=NetworkRuleForm(rule=network.decision_rule), representative_form=RepresentativeForm())
    context.update(forms)
    return render_template("staff/network.html", **context), status


@bp.get("/n/<int:network_id>")
def network(network_id: int):
    return _network_page(_get(Network, network_id))


@bp.post("/n/<int:network_id>/members")
def add_member(network_id: int):
    network = _get(Network, network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    form = MemberForm()
    if not form.validate_on_submit():
        return _network_page(network, 400, member_form=form)
    try:
        membership.add_member(db.session(), network, name=form.name.data, email=form.email.data,
                              organisation_name=form.organisation.data or "", role=form.role.data, actor=person)
    except (InvalidInput, Conflict) as refused:  # at the field it is about (an address already in the network too)
        db.session().rollback()
        refuse({"name_required": form.name, "unknown_role": form.role}.get(refused.code, form.email), refused)
        return _network_page(network, refused.status, member_form=form)
    flash(_("%(name)s was added.", name=form.name.data))
    return redirect(url_for("staff.network", network_id=network.id), 303)


@bp.post("/n/<int:network_id>/members/import")
def import_members(network_id: int):
    network = _get(Network, network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    form = CsvForm()
    if not form.validate_on_submit():
        return _network_page(network, 400, csv_form=form)
    try:
        added = membership.import_members_csv(db.session(), network, form.file.data.read(), actor=person)
    except CsvRejected as rejected:
        problems = [(line, str(CSV_PROBLEMS.get(code, code)), value) for line, code, value in rejected.params["problems"]]
        refuse(form.file, str(ERRORS["csv_rejected"]))  # at the file input, which names the list of lines
        return _network_page(network, 400, csv_problems=problems, csv_form=form)
    flash(_("%(count)s people were imported.", count=len(added)))
    return redirect(url_for("staff.network", network_id=network.id), 303)


@bp.post("/n/<int:network_id>/decision-rule")
def set_network_rule(network_id: int):
    network = _get(Network, network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    form = NetworkRuleForm()
    if not form.validate_on_submit():
        return _network_page(network, 400, rule_form=form)
    decisions.set_network_rule(db.session(), network, form.rule.data, actor=person)
    flash(_("The decision rule is saved."))
    return redirect(url_for("staff.network", network_id=network.id, _anchor="decision-rule"), 303)


@bp.post("/n/<int:network_id>/members/<int:membership_id>/representative")
def set_representative(network_id: int, membership_id: int):
    network = _get(Network, network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    member = _get(Membership, membership_id)
    form = RepresentativeForm()
    if member.network_id != network.id or not form.validate_on_submit():
        abort(400)
    marked = form.representative.data == "1"
    decisions.set_representative(db.session(), member, marked, actor=person)
    organisation = member.organisation.name if member.organisation else ""
    flash(_("%(name)s represents %(organisation)s.", name=member.name, organisation=organisation) if marked else
          _("%(name)s no longer represents %(organisation)s.", name=member.name, organisation=organisation))
    return redirect(url_for("staff.network", network_id=network.id, _anchor="members"), 303)


@bp.post("/n/<int:network_id>/members/<int:membership_id>/remove")
def remove_member(network_id: int, membership_id: int):
    network = _get(Network, network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    member = _get(Membership, membership_id)
    form = ConfirmStepForm()
    if member.network_id != network.id or not form.validate_on_submit():
        abort(400)
    if not form.is_confirmed:
        return render_template("staff/confirm_remove_member.html", form=form, network=network,
                               what=consequences.removing_member(db.session(), member))
    membership.remove_member(db.session(), member, actor=person)
    flash(_("%(name)s has left the network.", name=member.name))
    return redirect(url_for("staff.network", network_id=network.id), 303)


@bp.post("/n/<int:network_id>/documents")
def create_document(network_id: int):
    network = _get(Network, network_id)
    person, _own = auth.require_role(network.id, *STAFF)
    form = DocumentForm()
    if not form.validate_on_submit():
        return _network_page(network, 400, document_form=form)
    document = documents.create_document(db.session(), network, kind=form.kind.data, title=form.title.data,
                                         actor=person)
    return redirect(url_for("staff.document", document_id=document.id), 303)


def _document_page(document: Document, status: int = 200, **forms):
    person, own = auth.require_role(document.network_id, *STAFF)
    session = db.session()
    # The versions, rounds and their figures, read once for the timeline, the next step and the upload's warning.
    known = timeline.facts(session, document)
    versions, round_list, latest = known.versions, known.rounds, known.latest
    rule = known.rule_for(document, latest) if latest else decisions.rule_of(document)
    # Where everyone stands on the newest version: counted in SQL, those without akkoord first, one page of them.
    agreement = finalising.agreement(session, document, latest, rule=rule, limit=listing.PER_PAGE) if latest else None
    chronological = list(reversed(round_list))
    # Who stands where: a page of the current members with a vote × every round (a colleague's suggestion is
    # marked), each round with its figures (`known`); further pages behind the page links.
    voter_pages = listing.voters_page(session, document.network_id, page=routing.page_arg(),
                                      total=agreement.total if agreement and rule == "person" else None,
                                      among=deciders.among(document))
    voters = voter_pages.items
    round_ids = [r.id for r in chronological]
    # Per organisation: organisations × rounds (each expandable to its people), their verdict per round.
    by_organisation = any(r.decision_rule == "organisation" for r in round_list) or \
        decisions.rule_of(document) == "organisation"
    organisation_cells = decisions.organisation_cells(session, [r.id for r in round_list]) if by_organisation else {}
    # Per organisation the rows are its organisations (their people inside): all of them, from `parties`.
    standing = (finalising.parties(session, document, latest) if latest else []) if by_organisation else []
    cells = listing.matrix_cells(session, round_ids, [m.person_id for p in standing for m in p.members]
                                 if by_organisation else [m.person_id for m in voters])
    # A final document shows the hashes of what everyone received, so a copy can be checked against them.
    finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document.id)) \
        if document.status == "final" else None
    final_sizes = {kind: format_decimal(size) for kind, size in exports.final_file_sizes(session, finalisation).items()} \
        if finalisation is not None else {}
    context = dict(
        finalisation=finalisation, final_sizes=final_sizes,
        authors=people.names_in_network(session, document.network_id, {v.author_id for v in versions}),
        cells=cells, chronological=chronological, voters=voters, voter_pages=voter_pages,
        round_figures=known.figures,
        by_organisation=by_organisation, organisation_cells=organisation_cells,
        decision_rule=rule,
        rule_form=DocumentRuleForm(rule=document.decision_rule or ""), rule_locked=bool(round_list),
        history=list(reversed(timeline.timeline(session, document, known, finalisation))),
        document=document, network=document.network, person=person, own=own, versions=versions, rounds=round_list,
        open_round=known.open_round, latest=latest, standings=standing, agreement=agreement,
        # The next version after proposals' wording was taken (the draft next version): it addresses the comments
        # taken over, those proposals among them.
        version_form=VersionForm(taken_over=bool(round_list and latest and round_list[0].version_id == latest.id
                                                 and known.figures[round_list[0].id].taken)),
        round_form=RoundForm(version_id=latest.id if latest else ""),
        superseding=consequences.superseding_round(session, document, known),
        finalise_form=FinaliseForm(version_id=latest.id if latest else ""), missing=None,
        next_step=attention.next_step(session, document, known,
                                      agreed=agreement.unanimous if agreement is not None else None),
    )
    context.update(forms)
    return render_template("staff/document.html", **context), status


@bp.get("/d/<int:document_id>")
def document(document_id: int):
    return _document_page(_get(Document, document_id, joinedload(Document.network)))  # the page shows its network


@bp.post("/d/<int:document_id>/decision-rule")
def set_document_rule(document_id: int):
    document = _get(Document, document_id)
    person, _own = auth.require_role(document.network_id, *COORDINATOR)
    form = DocumentRuleForm()
    if not form.validate_on_submit():
        return _document_page(document, 400, rule_form=form)
    decisions.set_document_rule(db.session(), document, form.rule.data or None, actor=person)
    flash(_("The decision rule is saved."))
    return redirect(url_for("staff.document", document_id=document.id, _anchor="decision-rule"), 303)


@bp.post("/d/<int:document_id>/versions")
def upload_version(document_id: int):
    document = _get(Document, document_id)
    person, _own = auth.require_role(document.network_id, *STAFF)
    form = VersionForm()
    if not form.validate_on_submit():
        return _document_page(document, 400, version_form=form)
    session = db.session()
    last_round = comments.last_round(session, document.id)
    addresses: list[int] = []
    if last_round is not None:
        try:  # checked before the file is read, so a wrong number costs no import
            addresses = comments.chosen_comments(session, last_round, numbers=form.addresses.data or "",
                                                 taken_over=bool(form.taken_over.data))
        except InvalidInput as wrong:
            form.addresses.errors = [error_message(wrong.code, wrong.params)]
            return _document_page(document, 400, version_form=form)
    # The upload closes the open round: only when the uploader ticked that it may, on a form that showed this round.
    superseding = consequences.superseding_round(session, document)
    if superseding is not None and not (form.close_open_round.data
                                        and form.supersedes.data == str(superseding.round.id)):
        form.close_open_round.errors = [_("Round %(number)s is open. Tick that it may close, or upload later.",
                                          number=superseding.round.number)]
        return _document_page(document, 400, version_form=form)
    upload = form.file.data
    try:
        version = documents.upload_version(session, document, filename=upload.filename or "upload",
                                           data=upload.read(), change_note=form.change_note.data or "",
                                           actor=person, addresses=addresses,
                                           confirmed=superseding.round.id if superseding is not None else None)
    except InvalidInput as refused:  # not a readable Word, Markdown or text file: nothing is kept
        session.rollback()
        refuse(form.file, refused)
        return _document_page(_get(Document, document_id), 400, version_form=form)
    flash(_("Version %(number)s is saved.", number=version.number))
    if superseding is not None:
        flash(_("Round %(number)s is closed; the %(count)s people in it are told by email.",
                number=superseding.round.number, count=superseding.participants))
    if addresses:
        flash(_("It addresses %(count)s comments of round %(round)s.", count=len(addresses), round=last_round.number))
    if version.findings:
        flash(_("Found in this file: %(findings)s.", findings=findings_text(version.findings)))
    return redirect(url_for("staff.version", version_id=version.id), 303)


@bp.get("/v/<int:version_id>")
def version(version_id: int):
    version = _get(Version, version_id)
    document = version.document
    person, own = auth.require_role(document.network_id, *STAFF)
    others = version_list.versions_of(db.session(), document.id)
    body = rendered_blocks(version, mode="read")
    author = people.names_in_network(db.session(), document.network_id, [version.author_id]).get(version.author_id, "")
    page = render_template("staff/version.html", version=version, document=document, network=document.network,
                           own=own, others=others, body=body, author=author,
                           addressed=comments.addressed_by(db.session(), version.id),
                           # After an upload: what comes next (only about the newest version).
                           next_step=attention.next_step(db.session(), document)
                           if others and others[0].id == version.id else None)
    return page_response(page, body)


@bp.get("/v/<int:version_id>/download.docx")
def version_docx(version_id: int):
    version = _get(Version, version_id)
    auth.require_role(version.document.network_id, *STAFF)
    filename, data = exports.version_docx(db.session(), version)
    return download(data, DOCX, filename)


@bp.get("/v/<int:version_id>/original")
def version_original(version_id: int):
    version = _get(Version, version_id)
    auth.require_role(version.document.network_id, *STAFF)
    blob = _get(Blob, version.original_sha256)
    return download(blob.data, "application/octet-stream", version.original_filename)


@bp.get("/d/<int:document_id>/compare")
def compare(document_id: int):
    document = _get(Document, document_id)
    person, own = auth.require_role(document.network_id, *STAFF)
    versions = version_list.versions_of(db.session(), document.id)
    old, new = _compared_versions(document, versions)
    result = redlines.redline(old.blocks, new.blocks)
    return render_template("staff/compare.html", document=document, network=document.network, own=own,
                           versions=versions, old=old, new=new, redline=result)


def _compared_versions(document: Document, versions: list[Version] | None = None) -> tuple[Version, Version]:
    """The ?old= and ?new= versions of this document, or the latest two."""
    versions = versions if versions is not None else version_list.versions_of(db.session(), document.id)
    by_id = {v.id: v for v in versions}
    old = by_id.get(request.args.get("old", type=int))
    new = by_id.get(request.args.get("new", type=int))
    if old is None or new is None:
        if len(versions) < 2:
            abort(404)
        old, new = versions[1], versions[0]
    return old, new


@bp.post("/d/<int:document_id>/rounds")
def open_round(document_id: int):
    document = _get(Document, document_id)
    person, _own = auth.require_role(document.network_id, *COORDINATOR)
    form = RoundForm()
    if not form.validate_on_submit():
        return _document_page(document, 400, round_form=form)
    deadline = form.deadline.data.replace(tzinfo=TIMEZONE)
    try:
        round_ = rounds.open_round(db.session(), document, deadline=deadline, message=form.message.data or "",
                                   actor=person,
                                   version_id=int(form.version_id.data) if form.version_id.data else None,
                                   bring_in_word_comments=bool(form.word_comments.data),
                                   comment_visibility=form.comment_visibility.data or "all")
    except InvalidInput as refused:
        db.session().rollback()
        refuse(form.comment_visibility if refused.code == "unknown_visibility" else form.deadline, refused)
        return _document_page(_get(Document, document_id), 400, round_form=form)
    flash(_("Round %(number)s is open; the invitations are being sent.", number=round_.number))
    return redirect(url_for("staff.round_page", round_id=round_.id), 303)


def _round_with_document(round_id: int) -> Round:
    """The round with its document and network, in one statement (a page's cost stays the same at any size)."""
    round_ = db.session().scalar(select(Round).options(joinedload(Round.document).joinedload(Document.network))
                                 .where(Round.id == round_id))
    if round_ is None:
        abort(404)
    return round_


@bp.get("/r/<int:round_id>")
def round_page(round_id: int, extend_form: ExtendForm | None = None, schedule_form: ScheduleForm | None = None,
               status: int = 200):
    """`extend_form`, `schedule_form`: a refused form, shown again with its errors and what was typed."""
    session = db.session()
    round_ = _round_with_document(round_id)
    document = round_.document
    person, own = auth.require_role(document.network_id, *STAFF)
    # What needs attention first: the figures, who still has to respond, who said niet akkoord; then everyone, and
    # the comments, a page at a time (the page costs the same for 10 people or 1,000).
    shown = attention.chosen_filter(request.args.get("toon"))
    overview = listing.round_people(session, round_, shown=shown, page=routing.page_arg())
    step = attention.next_step(session, document)  # shown on the document's last round only
    stats, progress, reminders_sent = listing.comment_figures(session, round_.id)
    comment_pages = listing.Page([], min(routing.page_arg("comments_page"), listing.comment_page_count(stats[0])),
                                 stats[0])
    comment_count, comments_html = rendered_comments(session, round_.id, link_passages=False, stats=stats,
                                                     page=(comment_pages.number, comment_pages.per_page))
    page = render_template("staff/round.html", round=round_, document=document, network=document.network, own=own,
                           overview=overview, shown=shown, entries=overview.everyone.items,
                           everyone=overview.everyone, comment_pages=comment_pages,
                           next_step=step if step is not None and step.round is not None
                           and step.round.id == round_.id else None,
                           comment_count=comment_count, comments_html=comments_html,
                           confirm=ConfirmForm(), progress=progress,
                           extend_form=extend_form or ExtendForm(), schedule_form=schedule_form or ScheduleForm(
                               days=", ".join(str(d) for d in round_.reminder_days)),
                           reminders_sent=reminders_sent, max_reminders=reminders.MAX_REMINDERS)
    return page_response(page, comments_html, status=status)


PROCESSING_PAGE = 50


@bp.get("/r/<int:round_id>/processing")
def processing(round_id: int, failed: tuple[int, ProcessForm] | None = None, status: int = 200,
               failed_reply: tuple[int, ReplyForm] | None = None):
    """Every comment of the round in order, 50 to a page: a processed one stays in its place, folded, and can be
    changed until the next version is uploaded. `failed`, `failed_reply`: a comment's form that was refused, shown
    with its errors and what was typed."""
    session = db.session()
    round_ = _round_with_document(round_id)
    document = round_.document
    person, own = auth.require_role(document.network_id, *STAFF)
    todo_only = request.args.get("show") == "todo"
    page = routing.page_arg()
    # Each author by the name this network knows them by (a comment's: the membership they took part with).
    query = (
        select(Comment, Membership.name, Organisation.name)
        .join(Participant, Comment.participant_id == Participant.id)
        .join(Membership, Participant.membership_id == Membership.id)
        .outerjoin(Organisation, Membership.organisation_id == Organisation.id)
        .where(Comment.round_id == round_.id, Comment.parent_id.is_(None))
    )
    if todo_only:
        query = query.where(Comment.processed_at.is_(None))
    rows = session.execute(query.order_by(Comment.id).limit(PROCESSING_PAGE + 1)
                           .offset((page - 1) * PROCESSING_PAGE)).all()[:PROCESSING_PAGE + 1]
    shown = rows[:PROCESSING_PAGE]
    threads: dict[int, list] = {}
    for reply, name in session.execute(
        select(Comment, func.coalesce(people.name_in_network(document.network_id, Comment.person_id), ""))
        .where(Comment.parent_id.in_([c.id for c, _name, _organisation in shown])).order_by(Comment.id)
    ):
        threads.setdefault(reply.parent_id, []).append((reply, name))
    progress = comments.progress(session, round_.id)
    # What comes next shows once every comment is processed; its newest version also says whether a version came
    # after this round's (then the processing is settled), so that the page costs no more statements with it.
    step = attention.next_step(session, document) if progress.total and progress.done else None
    if step is not None and step.version is not None:
        settled_by = step.version.number if step.version.id != round_.version_id else None
    else:
        settled_by = comments.newer_version(session, round_)
    # Proposals on the page: the others on the same words (maybe on another page), and whose wording is taken.
    on_words = proposals.overview(session, round_.id) \
        if any(c.proposed_text is not None for c, _name, _organisation in shown) else None
    return render_template("staff/processing.html", round=round_, document=document, network=document.network,
                           own=own, rows=shown, more=len(rows) > PROCESSING_PAGE, page=page, threads=threads,
                           todo_only=todo_only, progress=progress,
                           form=ProcessForm(formdata=None), failed=failed, reply_form=ReplyForm(),
                           failed_reply=failed_reply, settled_by=settled_by, next_step=step,
                           proposals=on_words, per_page=PROCESSING_PAGE,
                           addressed=comments.addressed_in(session, [c.id for c, _name, _organisation in shown]),
                           discussed=minutes.discussed_in(session, [c.id for c, _name, _organisation in shown])), status


@bp.get("/r/<int:round_id>/commentaartabel")
def commentaartabel(round_id: int):
    """The round's comments and how each was processed, as a table (and as .docx / .xlsx)."""
    round_ = _get(Round, round_id)
    document = round_.document
    person, own = auth.require_role(document.network_id, *STAFF)
    locale = str(get_locale())
    fmt = request.args.get("format")
    if fmt in ("docx", "xlsx"):
        filename, mimetype, data = commentaartabel_export.export(db.session(), round_.id, fmt, locale)
        return download(data, mimetype, filename)
    rows = commentaartabel_export.rows_for_round(db.session(), round_.id, locale)
    return render_template("staff/commentaartabel.html", round=round_, document=document, network=document.network,
                           own=own, rows=rows)


@bp.get("/r/<int:round_id>/draft")
def draft_next_version(round_id: int):
    """The draft next version as .docx: the round's version with the wording taken from its proposals as Word
    tracked changes by the members who proposed them (reading it changes nothing)."""
    round_ = _round_with_document(round_id)
    auth.require_role(round_.document.network_id, *STAFF)
    if not comments.progress(db.session(), round_.id).taken:  # an empty draft would only be the version itself
        flash(_("No proposal's wording is taken yet: there is no draft next version."))
        return redirect(url_for("staff.processing", round_id=round_.id), 303)
    filename, data = proposals.draft_docx(db.session(), round_)
    return download(data, DOCX, filename)


# The refusals of processing a proposal shown at its form's field (any other is the error page).
PROPOSAL_REFUSALS = ("proposal_collision", "proposal_unchanged", "text_control_characters", "too_long")


@bp.post("/comments/<int:comment_id>/process")
def process_comment(comment_id: int):
    comment = _get(Comment, comment_id)
    round_ = _get(Round, comment.round_id)
    person, _own = auth.require_role(round_.document.network_id, *STAFF)
    form = ProcessForm()
    # The page shows a form per comment: the ids of this one's fields, for the error summary's links.
    form.disposition.id, form.answer.id = f"disposition-{comment.id}", f"answer-{comment.id}"
    form.take_text.id, form.taken_text.id = f"take-text-{comment.id}", f"taken-text-{comment.id}"
    if not form.validate_on_submit():
        return processing(round_.id, failed=(comment.id, form), status=400)  # the page it came from, at the field
    # Deels overgenomen takes the edited text when it is ticked (overgenomen takes the proposed text as it is).
    edited = form.taken_text.data or "" if comment.proposed_text is not None and form.take_text.data \
        and form.disposition.data == "deels_overgenomen" else None
    try:
        comments.process_comment(db.session(), comment, disposition=form.disposition.data,
                                 answer=form.answer.data or "", actor=person, taken_text=edited)
    except (Conflict, InvalidInput) as refused:
        if refused.code not in PROPOSAL_REFUSALS:
            raise
        # Another proposal on the same words is taken, or the edited text cannot be taken: nothing changes, and
        # the page says so at the field it is about.
        db.session().rollback()
        refuse(form.taken_text if edited is not None else form.disposition, refused)
        return processing(round_.id, failed=(comment.id, form), status=409 if isinstance(refused, Conflict) else 400)
    flash(_("The processing of the comment was saved."))
    back = auth.safe_next(request.form.get("next"), url_for("staff.processing", round_id=round_.id))
    return redirect(f"{back.split('#')[0]}#comment-{comment.id}", 303)


@bp.post("/comments/<int:comment_id>/reply")
def reply_to_comment(comment_id: int):
    """The project group answers in a comment's thread (the member reads it on their pages)."""
    comment = _get(Comment, comment_id)
    round_ = _get(Round, comment.round_id)
    person, _own = auth.require_role(round_.document.network_id, *STAFF)
    form = ReplyForm()
    form.body.id = f"reply-{comment.id}"
    back = auth.safe_next(request.form.get("next"), url_for("staff.processing", round_id=round_.id))
    if not form.validate_on_submit():  # the processing page again, the error at the reply's field
        return processing(round_.id, failed_reply=(comment.id, form), status=400)
    reply = rounds.add_reply(db.session(), comment.id, body=form.body.data, staff=person)
    flash(_("Your reply was saved."))
    return redirect(f"{back.split('#')[0]}#comment-{reply.parent_id}", 303)


@bp.post("/r/<int:round_id>/deadline")
def extend_deadline(round_id: int):
    round_ = _get(Round, round_id)
    person, _own = auth.require_role(round_.document.network_id, *COORDINATOR)
    form = ExtendForm()
    if not form.validate_on_submit():
        return round_page(round_.id, extend_form=form, status=400)
    try:
        reminders.extend_deadline(db.session(), round_, form.deadline.data.replace(tzinfo=TIMEZONE), actor=person)
    except InvalidInput as refused:  # not later than the deadline it has
        db.session().rollback()
        refuse(form.deadline, refused)
        return round_page(round_id, extend_form=form, status=400)
    flash(_("The deadline is moved; everyone in the round is told."))
    return redirect(url_for("staff.round_page", round_id=round_.id), 303)


@bp.post("/r/<int:round_id>/remind")
def remind_now(round_id: int):
    round_ = _get(Round, round_id)
    person, _own = auth.require_role(round_.document.network_id, *COORDINATOR)
    form = ConfirmStepForm()
    if not form.validate_on_submit():
        abort(400)
    if not form.is_confirmed:
        return render_template("staff/confirm_remind.html", form=form, round=round_, document=round_.document,
                               network=round_.document.network, what=consequences.reminding_now(db.session(), round_))
    count = reminders.send_now(db.session(), round_, actor=person)
    flash(_("A reminder goes to %(count)s people without a verdict.", count=count))
    return redirect(url_for("staff.round_page", round_id=round_.id), 303)


@bp.post("/r/<int:round_id>/schedule")
def reminder_schedule(round_id: int):
    round_ = _get(Round, round_id)
    person, _own = auth.require_role(round_.document.network_id, *COORDINATOR)
    form = ScheduleForm()
    if not form.validate_on_submit():
        return round_page(round_.id, schedule_form=form, status=400)
    try:
        days = [int(part) for part in form.days.data.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        days = [-1]  # refused below with the same message as any other bad schedule
    try:
        reminders.set_schedule(db.session(), round_, days, actor=person)
    except InvalidInput as refused:
        db.session().rollback()
        refuse(form.days, refused)
        return round_page(round_id, schedule_form=form, status=400)
    flash(_("The reminder schedule is saved."))
    return redirect(url_for("staff.round_page", round_id=round_.id), 303)


@bp.post("/r/<int:round_id>/close")
def close_round(round_id: int):
    round_ = _get(Round, round_id)
    person, _own = auth.require_role(round_.document.network_id, *COORDINATOR)
    form = ConfirmStepForm()
    if not form.validate_on_submit():
        abort(400)
    if not form.is_confirmed:
        return render_template("staff/confirm_close_round.html", form=form, round=round_, document=round_.document,
                               network=round_.document.network, what=consequences.closing_round(db.session(), round_))
    rounds.close_round(db.session(), round_, actor=person)
    flash(_("The round is closed."))
    return redirect(url_for("staff.round_page", round_id=round_.id), 303)


@bp.post("/r/<int:round_id>/participants/<int:participant_id>/resend")
def resend_link(round_id: int, participant_id: int):
    round_ = _get(Round, round_id)
    person, _own = auth.require_role(round_.document.network_id, *COORDINATOR)
    participant = _get(Participant, participant_id)
    if participant.round_id != round_.id or not ConfirmForm().validate_on_submit():
        abort(400)
    rounds.resend_link(db.session(), participant, actor=person)
    flash(_("A new link was sent to %(name)s; the old link no longer works.", name=participant.membership.name))
    return redirect(url_for("staff.round_page", round_id=round_.id), 303)


@bp.post("/d/<int:document_id>/finalise")
def finalise(document_id: int):
    document = _get(Document, document_id)
    person, _own = auth.require_role(document.network_id, *COORDINATOR)
    form = FinaliseForm()
    if not form.validate_on_submit():
        abort(400)
    version = _get(Version, int(form.version_id.data))
    try:
        if not form.is_confirmed:
            return render_template("staff/confirm_finalise.html", form=form, document=document,
                                   network=document.network, version=version,
                                   what=consequences.finalising_version(db.session(), document, version))
        finalising.finalise_document(db.session(), document, version, actor=person)
    except DomainError as error:
        db.session().rollback()
        flash(_("Not final: %(reason)s", reason=_error_text(error)), "error")
        return _document_page(_get(Document, document_id), error.status)
    flash(_("The document is final. Everyone receives it by email."))
    return redirect(url_for("staff.document", document_id=document.id), 303)


def _error_text(error: DomainError) -> str:
    return error_message(error.code, error.params)


@bp.get("/d/<int:document_id>/final.pdf")
def final_pdf(document_id: int):
    document = _get(Document, document_id)
    auth.require_role(document.network_id, *STAFF)
    if document.status != "final":
        abort(404)
    return final_file(document, "pdf")


@bp.get("/d/<int:document_id>/compare.docx")
def compare_docx(document_id: int):
    """The redline as Word tracked changes: Accept all gives the newer version, Reject all the older one."""
    document = _get(Document, document_id)
    person, _own = auth.require_role(document.network_id, *STAFF)
    old, new = _compared_versions(document)
    data = exports.redline_docx(old.blocks, new.blocks, author="Akkoord", date=new.created_at,
                                       title=f"{document.title}: v{old.number} → v{new.number}")
    return download(data, DOCX, exports.safe_filename(f"{document.title} v{old.number}-v{new.number}", ".docx"))


@bp.get("/d/<int:document_id>/final.docx")
def final_docx(document_id: int):
    document = _get(Document, document_id)
    auth.require_role(document.network_id, *STAFF)
    if document.status != "final":
        abort(404)
    return final_file(document, "docx")


def _dossier(document_id: int, kind: str):
    document = _get(Document, document_id)
    auth.require_role(document.network_id, *STAFF)
    if document.status != "final":
        abort(404)
    return dossier_file(document, kind)


@bp.get("/d/<int:document_id>/dossier.pdf")
def dossier_pdf(document_id: int):
    """The evidence dossier of a final document, for people to read."""
    return _dossier(document_id, "pdf")


@bp.get("/d/<int:document_id>/dossier.json")
def dossier_json(document_id: int):
    """The same dossier for machines: the bytes whose sha256 the audit trail holds."""
    return _dossier(document_id, "json")


