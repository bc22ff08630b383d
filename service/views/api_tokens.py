"""Pages where a coordinator or editor makes, sees and revokes their personal API tokens for a network."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from service.web import auth, db, i18n
from service.web.forms import SingleLine
from storage.database.models import ApiToken, Network
from workflows.domain import api_tokens
from workflows.errors import DomainError

bp = Blueprint("api_tokens", __name__)
STAFF = ("coordinator", "editor")


class ApiTokenForm(FlaskForm):
    name = StringField(_l("What is it for?"), validators=[DataRequired(), Length(max=200), SingleLine()])
    role = SelectField(_l("Role"), choices=[
        SelectChoice("editor", _l("Editor (projectgroep)")),
        SelectChoice("coordinator", _l("Coordinator (kerngroep/bestuur)")),
    ], default="editor")


class RevokeForm(FlaskForm):
    """Nothing but the CSRF token."""


def _page(network: Network, form: ApiTokenForm, *, new_token: str | None = None, status: int = 200):
    person, own = auth.require_role(network.id, *STAFF)
    tokens = api_tokens.tokens_of(db.session(), network.id, person.id)
    return render_template("staff/api_tokens.html", network=network, own=own, person=person, tokens=tokens,
                           form=form, revoke_form=RevokeForm(), new_token=new_token), status


def _network(network_id: int) -> Network:
    network = db.session().get(Network, network_id)
    if network is None:
        abort(404)
    return network


@bp.get("/n/<int:network_id>/api-tokens")
def tokens(network_id: int):
    return _page(_network(network_id), ApiTokenForm())


@bp.post("/n/<int:network_id>/api-tokens")
def create(network_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *STAFF)
    form = ApiTokenForm()
    if not form.validate_on_submit():
        return _page(network, form, status=400)
    try:
        _token, raw = api_tokens.create_token(db.session(), network, person, role=form.role.data,
                                              name=form.name.data)
    except DomainError as error:  # at the field it is about
        db.session().rollback()
        field = form.role if error.code == "unknown_token_role" else form.name
        field.errors = [*field.errors, i18n.error_message(error.code, error.params)]
        return _page(network, form, status=400 if error.status == 400 else error.status)
    # Shown once, on this answer only (never stored, never in a redirect or a flash cookie).
    response = make_response(_page(network, ApiTokenForm(formdata=None), new_token=raw, status=201))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/n/<int:network_id>/api-tokens/<int:token_id>/revoke")
def revoke(network_id: int, token_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *STAFF)
    token = db.session().get(ApiToken, token_id)
    if token is None or token.network_id != network.id or not RevokeForm().validate_on_submit():
        abort(404)
    api_tokens.revoke(db.session(), token, actor=person)
    flash(_("The token “%(name)s” is revoked; it no longer works.", name=token.name))
    return redirect(url_for("api_tokens.tokens", network_id=network.id), 303)
