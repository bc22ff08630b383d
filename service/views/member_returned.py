"""A member's returned Word file: upload it, see what was found in it as inline redlines and Word comments, submit
what they tick or nothing; and, for the project group, the file itself as the evidence of the comments it produced.
A GET only shows (mail scanners follow links); every change is a POST."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from service.views.member import _context, bp
from service.web import auth, db
from service.web.field_errors import refuse
from service.web.rendering import download
from service.web.returned_forms import ReturnedChoiceForm, ReturnedFileForm
from storage.blocks import block_text
from storage.database.models import STAFF_ROLES, Blob, ReturnedFile, Round, Version, utcnow
from workflows.domain import returned_files, rounds
from workflows.errors import InvalidInput
from workflows.text.returned import NEW_PASSAGE, REMOVED_PASSAGE, REPLACED_PASSAGE, TEXT

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Around a changed stretch the page shows this much of its passage, so the member sees where it is.
CONTEXT = 40
FIRST_WORDS = 80


@dataclass(frozen=True)
class Shown:
    """One item of what was found, as the page shows it."""

    number: int
    kind: str  # text, new_passage, removed_passage, replaced_passage, or comment
    passage: str  # the first words of the passage it is on ("" for none)
    before: str = ""
    old: str = ""
    new: str = ""
    after: str = ""
    author: str = ""


@bp.get("/review/<int:participant_id>/returned")
def returned_upload_page(participant_id: int, form: ReturnedFileForm | None = None, status: int = 200):
    participant, _link, round_, version = _context(participant_id)
    files = returned_files.returned_files_of(db.session(), participant)
    return render_template("member/returned_upload.html", participant=participant, round=round_, version=version,
                           document=round_.document, form=form or ReturnedFileForm(), files=files), status


@bp.post("/review/<int:participant_id>/returned")
def upload_returned(participant_id: int):
    participant, link, round_, _version = _context(participant_id)
    form = ReturnedFileForm()
    if not form.validate_on_submit():
        return returned_upload_page(participant_id, form=form, status=400)
    upload = form.file.data
    session = db.session()
    try:
        returned = returned_files.upload_returned(session, participant, filename=upload.filename or "upload.docx",
                                                  data=upload.read(), now=utcnow())
    except InvalidInput as refused:  # not this version's copy, or not a Word file we read: nothing is kept
        session.rollback()
        refuse(form.file, refused)
        return returned_upload_page(participant_id, form=form, status=400)
    rounds.note_link_used(session, link)
    return redirect(url_for("member.returned_file", participant_id=participant_id, returned_file_id=returned.id), 303)


@bp.get("/review/<int:participant_id>/returned/<int:returned_file_id>")
def returned_file(participant_id: int, returned_file_id: int, form: ReturnedChoiceForm | None = None,
                  status: int = 200):
    participant, _link, round_, _version = _context(participant_id)
    session = db.session()
    returned = _own(participant, returned_file_id)
    version = session.get(Version, returned.version_id)
    shown = _shown(returned, version)
    if form is None:
        form = ReturnedChoiceForm(formdata=None, chosen=[str(item.number) for item in shown])
    ticked = set(form.chosen.data or [])
    return render_template("member/returned_file.html", participant=participant, round=round_, version=version,
                           document=round_.document, returned=returned, shown=shown, form=form,
                           ticked=ticked), status


@bp.post("/review/<int:participant_id>/returned/<int:returned_file_id>/submit")
def submit_returned(participant_id: int, returned_file_id: int):
    participant, link, _round, _version = _context(participant_id)
    returned = _own(participant, returned_file_id)
    form = ReturnedChoiceForm()
    if not form.validate_on_submit():
        return returned_file(participant_id, returned_file_id, form=form, status=400)
    chosen = {int(value) for value in form.chosen.data or [] if value.isascii() and value.isdigit()
              and len(value) < 7}
    session = db.session()
    try:
        made = returned_files.submit_returned(session, participant, returned, chosen=chosen)
    except InvalidInput as refused:  # nothing ticked: said at the list, the page as it was
        session.rollback()
        refuse(form.chosen, refused)
        return returned_file(participant_id, returned_file_id, form=form, status=400)
    rounds.note_link_used(session, link)
    flash(_("What you chose from your Word file was submitted: %(count)s proposed changes and comments.",
            count=len(made)))
    return redirect(url_for("member.review", participant_id=participant_id, _anchor="comments"), 303)


@bp.post("/review/<int:participant_id>/returned/<int:returned_file_id>/discard")
def discard_returned(participant_id: int, returned_file_id: int):
    participant, link, _round, _version = _context(participant_id)
    returned = _own(participant, returned_file_id)
    form = ReturnedChoiceForm()
    if not form.validate_on_submit():
        return returned_file(participant_id, returned_file_id, form=form, status=400)
    returned_files.discard_returned(db.session(), participant, returned)
    rounds.note_link_used(db.session(), link)
    flash(_("Nothing from your Word file was submitted."))
    return redirect(url_for("member.review", participant_id=participant_id), 303)


@bp.get("/returned-files/<int:returned_file_id>/file")
def returned_file_download(returned_file_id: int):
    """The file as the member sent it, for the project group of its network: the evidence of its comments."""
    session = db.session()
    returned = session.get(ReturnedFile, returned_file_id)
    if returned is None:
        abort(404)
    round_ = session.get(Round, returned.round_id)
    auth.require_role(round_.document.network_id, *STAFF_ROLES)
    return download(session.get(Blob, returned.sha256).data, DOCX, returned.filename)


def _own(participant, returned_file_id: int) -> ReturnedFile:
    return returned_files.get_returned(db.session(), participant, returned_file_id)  # another's: not found


def _shown(returned: ReturnedFile, version: Version) -> list[Shown]:
    texts = {block["id"]: block_text(block) for block in version.blocks if "id" in block}
    shown = []
    for item in returned_files.items(returned):
        passage = texts.get(item.get("block_id") or "", "")
        first = passage if len(passage) <= FIRST_WORDS else passage[:FIRST_WORDS].rsplit(" ", 1)[0] + " …"
        kind = item.get("kind") or "comment"
        if kind == TEXT:
            start, end = item["start"], item["end"]
            before = passage[max(0, start - CONTEXT):start]
            after = passage[end:end + CONTEXT]
            shown.append(Shown(item["number"], kind, first, before=("…" if start > CONTEXT else "") + before,
                               old=item["old"], new=item["text"],
                               after=after + ("…" if end + CONTEXT < len(passage) else "")))
        elif kind in (NEW_PASSAGE, REMOVED_PASSAGE, REPLACED_PASSAGE):
            shown.append(Shown(item["number"], kind, first, old=item["old"], new=item["text"]))
        else:
            shown.append(Shown(item["number"], "comment", first, new=item["text"], author=item.get("author", "")))
    return shown
