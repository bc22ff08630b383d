"""The form that puts a meeting's minutes to a comment round as a document (Flask-WTF: CSRF on every POST): who must
agree, by when, and a word to them; which audiences exist and whether the deadline fits is the rule's to say
(workflows.domain.minutes_document), at the field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from service.web.forms import StorableText

# Its fields' ids on the meeting page, beside the agenda item's form.
PREFIX = "minutes_round"


class MinutesRoundForm(FlaskForm):
    audience = RadioField(_l("Who must agree?"), default="attendees", validate_choice=False, choices=[
        SelectChoice("attendees", _l("Those who attended (the attendees who are still members)")),
        SelectChoice("network", _l("Everyone in the network")),
    ])
    deadline = DateTimeLocalField(_l("Deadline"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    message = TextAreaField(_l("Message to them (optional)"),
                            validators=[Optional(), Length(max=5000), StorableText()])


def minutes_round_form(*, posted: bool = False) -> MinutesRoundForm:
    """The form as the meeting page shows it: empty, or with what was posted."""
    return MinutesRoundForm(prefix=PREFIX) if posted else MinutesRoundForm(formdata=None, prefix=PREFIX)
