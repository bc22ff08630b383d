"""Forms of the register of organisations and of the network's own record (Flask-WTF: CSRF on every POST)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from service.web.forms import SingleLine, StorableText

# The kinds of the handbooks (storage.database.models.ORGANISATION_KINDS), in words.
ORGANISATION_KIND_CHOICES = [
    SelectChoice("patientenorganisatie", _l("Patient organisation")),
    SelectChoice("expertisecentrum", _l("Expertise centre")),
    SelectChoice("huisartsenpraktijk", _l("GP practice")),
    SelectChoice("huisartsenpost", _l("GP out-of-hours service")),
    SelectChoice("apotheek", _l("Pharmacy")),
    SelectChoice("ziekenhuis", _l("Hospital")),
    SelectChoice("gemeente", _l("Municipality")),
    SelectChoice("zorgverzekeraar", _l("Health insurer")),
    SelectChoice("other", _l("Other")),
]
KIND_LABELS = {choice.value: choice.label for choice in ORGANISATION_KIND_CHOICES}


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name of the organisation"), validators=[DataRequired(), Length(max=200), SingleLine()])
    kind = SelectField(_l("Kind"), choices=ORGANISATION_KIND_CHOICES, default="other")
    has_vote = BooleanField(_l("Has a vote"), default=True)
    joined_on = DateField(_l("Joined on"), validators=[Optional()])
    joined_reference = StringField(_l("Decision (joining)"), validators=[Optional(), Length(max=500), SingleLine()])


class OrganisationEditForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=ORGANISATION_KIND_CHOICES)
    has_vote = BooleanField(_l("Has a vote"))


class RegisterEntryForm(FlaskForm):
    """Joining or leaving: the date it took effect and the decision that said so."""

    on = DateField(_l("Date"), validators=[DataRequired()])
    reference = StringField(_l("Decision"), validators=[Optional(), Length(max=500), SingleLine()])


class OrganisationCsvForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired()])


class RecordForm(FlaskForm):
    purpose = TextAreaField(_l("Purpose (doel)"), validators=[Optional(), Length(max=5000), StorableText()])
    target_group = TextAreaField(_l("Target group (doelgroep)"),
                                 validators=[Optional(), Length(max=5000), StorableText()])
    privacy_statement = TextAreaField(_l("Privacy statement"),
                                      validators=[Optional(), Length(max=20000), StorableText()])
    board_kind = SelectField(_l("Our board is"), choices=[
        SelectChoice("", _l("not said yet")), SelectChoice("kerngroep", _l("a kerngroep (zorgnetwerk)")),
        SelectChoice("bestuur", _l("a bestuur (cluster)"))], default="")


class BoardForm(FlaskForm):
    membership_id = SelectField(_l("Member"), coerce=int, validate_choice=True)
    discipline = StringField(_l("Discipline"), validators=[Optional(), Length(max=100), SingleLine()])
