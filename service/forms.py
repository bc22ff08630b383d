"""Forms (Flask-WTF: CSRF on every POST); labels and messages go through the catalogues."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

ROLE_CHOICES = [
    SelectChoice("member", _l("Member (comments and decides)")),
    SelectChoice("coordinator", _l("Coordinator (kerngroep/bestuur)")),
    SelectChoice("editor", _l("Editor (projectgroep)")),
    SelectChoice("observer", _l("Observer (comments, no vote)")),
]
KIND_CHOICES = [
    SelectChoice("samenwerkingsovereenkomst", _l("Samenwerkingsovereenkomst")),
    SelectChoice("ambitieverklaring", _l("Ambitieverklaring")),
    SelectChoice("intentieverklaring", _l("Intentieverklaring")),
    SelectChoice("visiedocument", _l("Visiedocument")),
    SelectChoice("plan_van_aanpak", _l("Plan van aanpak")),
    SelectChoice("regioplan", _l("Regioplan")),
    SelectChoice("notitie", _l("Notitie")),
    SelectChoice("anders", _l("Other")),
]
VERDICT_CHOICES = [
    SelectChoice("akkoord", _l("Akkoord")),
    SelectChoice("akkoord_met_opmerkingen", _l("Akkoord met opmerkingen")),
    SelectChoice("niet_akkoord", _l("Niet akkoord")),
]


class ConfirmForm(FlaskForm):
    """A button that changes something: nothing but the CSRF token."""


class SignInForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=254)])


class LinkRequestForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=254)])


class NetworkForm(FlaskForm):
    name = StringField(_l("Name of the network"), validators=[DataRequired(), Length(max=200)])


class MemberForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=254)])
    organisation = StringField(_l("Organisation"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="member")


class CsvForm(FlaskForm):
    file = FileField(_l("CSV file (naam,email,organisatie,rol)"), validators=[FileRequired()])


class DocumentForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])


class VersionForm(FlaskForm):
    file = FileField(_l("Word document (.docx), Markdown (.md) or text (.txt)"), validators=[FileRequired()])
    change_note = TextAreaField(_l("What changed in this version?"), validators=[Optional(), Length(max=5000)])


class RoundForm(FlaskForm):
    deadline = DateTimeLocalField(_l("Deadline"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    message = TextAreaField(_l("Message to the members (optional)"), validators=[Optional(), Length(max=5000)])
    word_comments = BooleanField(_l("Bring in the comments found in the Word file as comments of its uploader"),
                                 default=True)
    version_id = HiddenField()


class VerdictForm(FlaskForm):
    value = RadioField(_l("Your verdict"), choices=VERDICT_CHOICES, validators=[DataRequired()])
    reason = TextAreaField(_l("Reason or remarks"), validators=[Optional(), Length(max=5000)])


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment"), validators=[DataRequired(), Length(max=10000)])
    block_id = HiddenField()


DISPOSITION_CHOICES = [
    SelectChoice("overgenomen", _l("Overgenomen")),
    SelectChoice("deels_overgenomen", _l("Deels overgenomen")),
    SelectChoice("niet_overgenomen", _l("Niet overgenomen")),
    SelectChoice("voor_kennisgeving", _l("Voor kennisgeving")),
]


class ProcessForm(FlaskForm):
    disposition = SelectField(_l("Processing"), choices=DISPOSITION_CHOICES)
    answer = TextAreaField(_l("Answer to the member"), validators=[Optional(), Length(max=10000)])


class ExtendForm(FlaskForm):
    deadline = DateTimeLocalField(_l("New deadline"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])


class ScheduleForm(FlaskForm):
    days = StringField(_l("Reminders, in days before the deadline (0 is its morning)"),
                       validators=[DataRequired(), Length(max=40)])


class FinaliseForm(FlaskForm):
    version_id = HiddenField(validators=[DataRequired()])
