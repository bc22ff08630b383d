"""Forms of network meetings: planning one, an agenda item, and a member's answer (Flask-WTF: CSRF on every POST).
The lists offer what the network has; any id is passed on and the rule (workflows.domain.meetings) says why another
is refused, at its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from service.web.forms import IdNumber, SingleLine, StorableText

AUDIENCE_CHOICES = [
    SelectChoice("everyone", _l("Everyone in the network")),
    SelectChoice("board", _l("The kerngroep or bestuur")),
    SelectChoice("project_group", _l("The project group (coordinators and editors)")),
    SelectChoice("organisations", _l("The people of the organisations chosen below")),
]
ANSWER_CHOICES = [
    SelectChoice("aanmelden", _l("Yes, I will come (aanmelden)")),
    SelectChoice("afmelden", _l("No, I cannot come (afmelden)")),
]


class MeetingForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300), SingleLine()])
    starts_at = DateTimeLocalField(_l("Date and time"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    duration_minutes = IntegerField(_l("Duration in minutes"), default=150,
                                    validators=[DataRequired(), NumberRange(min=15, max=720)])
    place = TextAreaField(_l("Place"), validators=[Optional(), Length(max=1000), StorableText()])
    online_url = URLField(_l("Online meeting link"), validators=[Optional(), Length(max=2000), SingleLine()])
    chair = SelectField(_l("Chair"), validate_choice=False, validators=[Optional(), IdNumber()])
    minute_taker = SelectField(_l("Minute-taker"), validate_choice=False, validators=[Optional(), IdNumber()])
    audience = RadioField(_l("Who is it for?"), choices=AUDIENCE_CHOICES, default="everyone", validate_choice=False)
    organisations = SelectMultipleField(_l("Organisations"), validate_choice=False, coerce=str,
                                        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    message = TextAreaField(_l("Message with the invitation (optional)"),
                            validators=[Optional(), Length(max=5000), StorableText()])


class AgendaItemForm(FlaskForm):
    title = StringField(_l("Agenda item"), validators=[DataRequired(), Length(max=300), SingleLine()])
    presenter = SelectField(_l("Presented by"), validate_choice=False, validators=[Optional(), IdNumber()])
    minutes = IntegerField(_l("Minutes"), validators=[Optional(), NumberRange(min=1, max=480)])
    link = SelectField(_l("About"), validate_choice=False, validators=[Optional(), Length(max=100)])


class AnswerForm(FlaskForm):
    answer = RadioField(_l("Will you come?"), choices=ANSWER_CHOICES, validate_choice=False,
                        validators=[DataRequired(_l("Choose whether you will come."))])
    remark = TextAreaField(_l("Remark (optional)"), validators=[Optional(), Length(max=500), StorableText()])
