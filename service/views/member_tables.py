"""The commentaartabel for members: the tables of a document's processed rounds they took part in, within each
round's visibility (workflows.domain.member_tables). Only reads."""

from __future__ import annotations

from flask import render_template
from flask_babel import get_locale

from service.views.member import _context, bp
from service.web import db
from workflows.domain import member_tables, minutes


@bp.get("/review/<int:participant_id>/commentaartabel")
def commentaartabellen(participant_id: int):
    """The processed rounds of this document whose table the member may read."""
    participant, _link, round_, _version = _context(participant_id)
    shown = member_tables.tables_to_show(db.session(), round_.document_id, participant.person_id)
    return render_template("member/commentaartabellen.html", participant=participant, round=round_,
                           document=round_.document, shown=shown)


@bp.get("/review/<int:participant_id>/commentaartabel/<int:round_id>")
def commentaartabel(participant_id: int, round_id: int):
    participant, _link, round_, _version = _context(participant_id)
    """One round's table (a 404 for a round that is not over, not processed, or that the member was not in)."""
    table = member_tables.table_for(db.session(), round_id, participant.person_id, round_.document_id,
                                    str(get_locale()))
    # Where a meeting's decision refers to a comment: one statement for the whole table.
    discussed = minutes.discussed_in(db.session(), [r.comment_id for r in table.rows])
    return render_template("member/commentaartabel.html", participant=participant, round=round_,
                           document=round_.document, table=table, discussed=discussed)
