"""Forms of a member's returned Word file: the upload, and the choice of what to submit (Flask-WTF: CSRF on every
POST)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget


class ReturnedFileForm(FlaskForm):
    file = FileField(_l("Your edited Word file (.docx)"),
                     validators=[FileRequired(_l("Choose the Word file you edited."))])


class ReturnedChoiceForm(FlaskForm):
    # The numbers of what was found; which numbers exist is the rule's to say (workflows.domain.returned_files).
    chosen = SelectMultipleField(_l("What to submit"), validate_choice=False, coerce=str,
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
