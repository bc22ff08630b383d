"""Forms of a meeting's minutes: the notes of an agenda item, a decision, an action point, marking one done, and who
attended (Flask-WTF: CSRF on every POST). A page holds many of them, so each is made with a prefix of its own; what
is required and which ids fit is the rule's to say (workflows.domain.minutes), at the field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from service.web.forms import IdNumber, StorableText


def _checkboxes(label) -> SelectMultipleField:
    return SelectMultipleField(label, validate_choice=False, coerce=str, widget=ListWidget(prefix_label=False),
                               option_widget=CheckboxInput())


class NotesForm(FlaskForm):
    notes = TextAreaField(_l("Notes on this item"), validators=[Optional(), Length(max=20_000), StorableText()])


class DecisionForm(FlaskForm):
    text = TextAreaField(_l("Decision"), validators=[Optional(), Length(max=2_000), StorableText()])
    comments = _checkboxes(_l("Comments this decision is about (optional)"))


class ActionPointForm(FlaskForm):
    text = TextAreaField(_l("Action point"), validators=[Optional(), Length(max=2_000), StorableText()])
    owner = SelectField(_l("Who does it"), validate_choice=False, validators=[Optional(), IdNumber()])
    due_on = DateField(_l("Due date"), validators=[Optional()])
    item = SelectField(_l("Under agenda item"), validate_choice=False, validators=[Optional(), IdNumber()])


class DoneForm(FlaskForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=2_000), StorableText()])


class AttendanceForm(FlaskForm):
    present = _checkboxes(_l("Who attended"))
