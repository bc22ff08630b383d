"""Errors at the field: a rule's refusal shown at the input it is about, and the errors of every form that failed on
a page gathered for its error summary (templates/partials/forms.html) and its title."""

from __future__ import annotations

from flask import Flask
from flask_wtf import FlaskForm
from jinja2 import pass_context
from wtforms import Field, HiddenField, RadioField
from wtforms.widgets import ListWidget

from service.web.i18n import error_message
from workflows.errors import DomainError


def refuse(field: Field, error: DomainError | str) -> None:
    """Show a refusal at `field`: a domain error's message (its code and params), or a message already made.
    The view then renders the page again with status 400, which rolls the request's transaction back."""
    message = error if isinstance(error, str) else error_message(error.code, error.params)
    field.errors = [*field.errors, str(message)]


def anchor(field: Field) -> str | None:
    """The id a summary link moves to: the input, or a group's first choice; None for a hidden field."""
    if isinstance(field, HiddenField):
        return None
    if isinstance(field, RadioField) or isinstance(field.widget, ListWidget):  # a group of choices
        return f"{field.id}-0"
    return field.id


def problems(*forms: FlaskForm) -> list[tuple[str | None, str]]:
    """(href, text) for every error of the forms: "Label: message", linked to the field when it has one."""
    items: list[tuple[str | None, str]] = []
    for form in forms:
        for field in form:
            for message in field.errors if isinstance(field.errors, list | tuple) else ():
                target = anchor(field)
                label = field.label.text if target else ""
                items.append((f"#{target}" if target else None, f"{label}: {message}" if label else str(message)))
    return items


def _forms_in(values) -> list[FlaskForm]:
    """The forms a template was given: directly, or in a dict or tuple (a page's per-item forms)."""
    found: dict[int, FlaskForm] = {}
    for value in values:
        inner = value.values() if isinstance(value, dict) else value if isinstance(value, tuple) else (value,)
        for item in inner:
            if isinstance(item, FlaskForm) and item.errors:
                found.setdefault(id(item), item)
    return list(found.values())


@pass_context
def page_problems(context) -> list[tuple[str | None, str]]:
    """Every error of every form on the page that failed, in the order the view passed the forms; then the
    page's own (href, text) in `field_problems`, for a field that is not a form's."""
    return problems(*_forms_in(context.get_all().values())) + list(context.get("field_problems") or [])


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(page_problems=page_problems)
