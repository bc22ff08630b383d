"""Putting a meeting's minutes to a comment round as a document (notulen ter vaststelling): the form on the staff's
meeting page, refused at its fields on that page, else on to the round like any other."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _

from service.views import meetings as meeting_pages
from service.web import db
from service.web.field_errors import refuse
from service.web.i18n import error_message
from service.web.minutes_document_forms import minutes_round_form
from workflows.domain import minutes_document
from workflows.domain.wording import TIMEZONE
from workflows.errors import DomainError, InvalidInput

bp = Blueprint("minutes_document", __name__)

@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/minutes/round")
def put_to_round(network_id: int, meeting_id: int):
    network, person, own = meeting_pages._staff(network_id)
    meeting = meeting_pages._meeting(network, meeting_id)
    posted = minutes_round_form(posted=True)
    if posted.validate_on_submit():
        try:
            round_ = minutes_document.put_minutes_to_round(
                db.session(), meeting, audience=posted.audience.data or "",
                deadline=posted.deadline.data.replace(tzinfo=TIMEZONE), message=posted.message.data or "",
                actor=person)
        except InvalidInput as refused:
            db.session().rollback()
            field = refused.params.get("field")
            refuse(posted[field] if field in ("audience", "deadline", "message") else posted.audience, refused)
        except DomainError as refused:
            db.session().rollback()
            return meeting_pages._meeting_page(network, meeting, own, minutes_form=posted, status=refused.status,
                                               error=error_message(refused.code, refused.params))
        else:
            flash(_("The minutes are now a document, and its round is open; the invitations are being sent."))
            return redirect(url_for("staff.round_page", round_id=round_.id), 303)
    return meeting_pages._meeting_page(network, meeting, own, minutes_form=posted, status=400)
