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
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from service.web.i18n import ERRORS
from service.web.routing import parse_id
from workflows.domain import inputs
from workflows.domain.comments import ANSWER_REQUIRED


class SingleLine:
    """A name, organisation or title: the rule of workflows.domain.inputs, checked here so that its message shows
    at the field; the rule itself stays the guard for every other way in (CSV, API, command line)."""

    def __call__(self, form, field) -> None:
        if field.data and inputs.refused_in_line(field.data.strip()):
            raise ValidationError(str(ERRORS["control_characters"]))


class IdNumber:
    """A hidden field holding an id: a number no table can hold (it would overflow in the query) is refused."""

    def __call__(self, form, field) -> None:
        if field.data and parse_id(field.data) is None:
            raise ValidationError(str(ERRORS["invalid"]))


class StorableText:
    """A text that may span lines (a message, a comment): no NUL or other control characters but tab and line
    breaks (workflows.domain.inputs)."""

    def __call__(self, form, field) -> None:
        if field.data and inputs.refused_in_text(field.data):
            raise ValidationError(str(ERRORS["text_control_characters"]))


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
    SelectChoice("notulen", _l("Notulen")),
    SelectChoice("anders", _l("Other")),
]
VERDICT_CHOICES = [
    SelectChoice("akkoord", _l("Akkoord")),
    SelectChoice("akkoord_met_opmerkingen", _l("Akkoord met opmerkingen")),
    SelectChoice("niet_akkoord", _l("Niet akkoord")),
]


class ConfirmForm(FlaskForm):
    """A button that changes something: nothing but the CSRF token."""


class ConfirmStepForm(FlaskForm):
    """An action that cannot be undone: posted without `confirmed`, it shows what it will do (and changes nothing);
    only the post from that page, with `confirmed`, acts."""

    confirmed = HiddenField()

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed.data == "yes"


class SignInForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=254)])


class LinkRequestForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=254)])


class NetworkForm(FlaskForm):
    name = StringField(_l("Name of the network"), validators=[DataRequired(), Length(max=200), SingleLine()])
    # Each network knows a person by the name it gave them: the new one too, from what its coordinator types.
    your_name = StringField(_l("Your name in this network"),
                            validators=[DataRequired(), Length(max=200), SingleLine()])


class MemberForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200), SingleLine()])
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=254)])
    organisation = StringField(_l("Organisation"), validators=[Optional(), Length(max=200), SingleLine()])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="member")


class AddressForm(FlaskForm):
    """A member's corrected email address (checked by the rule, with its own message)."""

    email = EmailField(_l("Correct address"), validators=[DataRequired(), Length(max=254)])


class CsvForm(FlaskForm):
    file = FileField(_l("CSV file (naam,email,organisatie,rol)"), validators=[FileRequired()])


class DocumentForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300), SingleLine()])


class VersionForm(FlaskForm):
    file = FileField(_l("Word document (.docx), Markdown (.md) or text (.txt)"), validators=[FileRequired()])
    change_note = TextAreaField(_l("What changed in this version?"),
                                validators=[Optional(), Length(max=5000), StorableText()])
    # The comments of the document's last round this version addresses: numbers from its commentaartabel.
    addresses = StringField(_l("Comments this version addresses"), validators=[Optional(), Length(max=2000)])
    taken_over = BooleanField(_l("Every comment the project group took over (wholly or partly)"))
    # An open round closes when a version is uploaded: the round the form showed, and that the uploader agreed.
    supersedes = HiddenField(validators=[Optional(), IdNumber()])
    close_open_round = BooleanField(_l("Yes, close the open round"))


class RoundForm(FlaskForm):
    deadline = DateTimeLocalField(_l("Deadline"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    message = TextAreaField(_l("Message to the members (optional)"),
                            validators=[Optional(), Length(max=5000), StorableText()])
    word_comments = BooleanField(_l("Bring in the comments found in the Word file as comments of its uploader"),
                                 default=True)
    # Not sent (an older form, a script): every member sees every comment; anything else is checked by the rule.
    comment_visibility = RadioField(_l("Who sees the comments?"), default="all", validate_choice=False, choices=[
        SelectChoice("all", _l("All members see every comment")),
        SelectChoice("group", _l("Only the project group sees every comment; each member sees their own "
                                 "(for consortia of competing organisations)")),
    ])
    version_id = HiddenField(validators=[IdNumber()])


RULE_CHOICES = [
    SelectChoice("person", _l("Per person: everyone with a vote says akkoord")),
    SelectChoice("organisation", _l("Per organisation: each organisation with a vote says akkoord once, through "
                                    "its representatives")),
]


class NetworkRuleForm(FlaskForm):
    rule = RadioField(_l("How does the network decide?"), choices=RULE_CHOICES, validators=[DataRequired()])


class DocumentRuleForm(FlaskForm):
    # "": the network's rule (stored as NULL).
    rule = RadioField(_l("How is this document decided?"), validators=[Optional()],
                      choices=[SelectChoice("", _l("As the network decides"))] + RULE_CHOICES)


class RepresentativeForm(FlaskForm):
    representative = HiddenField(validators=[DataRequired(), Regexp(r"^[01]$")])


class VerdictForm(FlaskForm):
    value = RadioField(_l("Your verdict"), choices=VERDICT_CHOICES, validators=[DataRequired()])
    reason = TextAreaField(_l("Reason or remarks"), validators=[Optional(), Length(max=5000), StorableText()])


COMMENT_KIND_CHOICES = [
    SelectChoice("general", _l("General")),
    SelectChoice("technical", _l("Technical (about what the text says)")),
    SelectChoice("editorial", _l("Editorial (wording, spelling, layout)")),
]


class CommentForm(FlaskForm):
    # Words of the passage a member names by typing or pasting them: the keyboard's way to comment on a selection.
    words = StringField(_l("Which words? (optional)"), validators=[Optional(), Length(max=2000), StorableText()])
    # The types of the ISO/CEN commenting template. Not sent (a reply, an older form): general.
    kind = RadioField(_l("Type of comment"), default="general", choices=COMMENT_KIND_CHOICES)
    # Wording instead of the selection (or the passage): offered filled with it; left as it is, no proposal.
    proposed_text = TextAreaField(_l("Proposed text (optional)"), validators=[Length(max=5000), StorableText()])
    delete = BooleanField(_l("Delete these words"))
    # Required, except with a proposal (service/views/member.py decides, as only it knows the passage's text).
    body = TextAreaField(_l("Your comment"), validators=[Optional(), Length(max=10000), StorableText()])
    block_id = HiddenField()
    # A span selected in the passage: offsets into its text and the text the reader saw selected.
    start = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    end = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    selected = HiddenField(validators=[Optional(), Length(max=10000)])
    # The comment a reply answers.
    parent_id = HiddenField(validators=[Optional(), IdNumber()])


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"), validators=[DataRequired(), Length(max=10000), StorableText()])


DISPOSITION_CHOICES = [
    SelectChoice("overgenomen", _l("Overgenomen")),
    SelectChoice("deels_overgenomen", _l("Deels overgenomen")),
    SelectChoice("niet_overgenomen", _l("Niet overgenomen")),
    SelectChoice("voor_kennisgeving", _l("Voor kennisgeving")),
]


class ProcessForm(FlaskForm):
    # No disposition is preselected: an unprocessed comment must not look processed, nor be saved as one unseen.
    disposition = SelectField(_l("Processing"), choices=[SelectChoice("", _l("Choose a processing")),
                                                         *DISPOSITION_CHOICES],
                              validators=[DataRequired(_l("Choose how this comment was processed."))])
    answer = TextAreaField(_l("Answer to the member"), validators=[Optional(), Length(max=10000), StorableText()])
    # A proposal's wording: overgenomen takes it as proposed; deels overgenomen this text, as edited, when ticked.
    take_text = BooleanField(_l("Take this text into the draft next version"))
    taken_text = TextAreaField(_l("Text taken over"), validators=[Optional(strip_whitespace=False), Length(max=5000),
                                                                  StorableText()])

    def validate(self, extra_validators=None) -> bool:
        """Also the rule of workflows.domain.comments.process_comment, so its message shows at the field (an empty
        answer stops the field's own validators at Optional)."""
        valid = super().validate(extra_validators)
        if self.disposition.data in ANSWER_REQUIRED and not (self.answer.data or "").strip():
            self.answer.errors = [*self.answer.errors, str(ERRORS["answer_required"])]
            return False
        return valid


class ExtendForm(FlaskForm):
    deadline = DateTimeLocalField(_l("New deadline"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])


class ScheduleForm(FlaskForm):
    days = StringField(_l("Reminders, in days before the deadline (0 is its morning)"),
                       validators=[DataRequired(), Length(max=40)])


class FinaliseForm(ConfirmStepForm):
    version_id = HiddenField(validators=[DataRequired(), IdNumber()])


class SubstituteForm(FlaskForm):
    """A substitute (plaatsvervanger) for a period, in Dutch time. The lists offer colleagues of the same
    organisation, but any id is passed on: the rule (workflows.domain.substitutes) says why another is refused."""

    absent = SelectField(_l("Who is away"), validate_choice=False, validators=[Optional(), IdNumber()])
    substitute = SelectField(_l("Substitute"), validate_choice=False, validators=[DataRequired(), IdNumber()])
    starts_at = DateTimeLocalField(_l("From"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Until"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])


def on_behalf_verdict_form(substitution_id: int, **kwargs) -> VerdictForm:
    """A substitute's verdict for one absent colleague: on the review page beside their own, with its own field
    names and ids."""
    return VerdictForm(prefix=f"namens{substitution_id}", **kwargs)


WEBHOOK_EVENT_CHOICES = [
    SelectChoice("round.opened", _l("A round opens")),
    SelectChoice("round.closed", _l("A round closes")),
    SelectChoice("verdict.given", _l("A verdict is given")),
    SelectChoice("document.final", _l("A document becomes final")),
    SelectChoice("meeting.scheduled", _l("A meeting is planned")),
    SelectChoice("meeting.changed", _l("A meeting changes or is cancelled")),
    SelectChoice("meeting.minutes_final", _l("A meeting's minutes become final")),
    SelectChoice("action.due", _l("An action point falls due")),
]


class WebhookForm(FlaskForm):
    url = URLField(_l("URL (https)"), validators=[DataRequired(), Length(max=2000), SingleLine()])
    events = SelectMultipleField(_l("Events"), choices=WEBHOOK_EVENT_CHOICES,
                                 default=[choice.value for choice in WEBHOOK_EVENT_CHOICES],
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                 validators=[DataRequired(_l("Choose at least one event."))])
