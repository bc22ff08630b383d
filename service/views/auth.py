"""Sign-in by email link, sign-out and the language switch."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask import session as cookie

from service.web import auth, db
from service.web.forms import ConfirmForm, SignInForm
from service.web.i18n import LANGUAGES
from workflows.domain import signin

bp = Blueprint("auth", __name__)


@bp.route("/signin", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        signin.request_sign_in(db.session(), form.email.data)
        # The same answer whether or not the address is known.
        return render_template("auth/check_mail.html", email=form.email.data)
    return render_template("auth/sign_in.html", form=form), 400 if form.is_submitted() else 200


@bp.get("/signin/<token>")
def confirm(token: str):
    """A mail scanner may open this link: show a button, sign in only on POST."""
    signin.find_token(db.session(), token)
    return render_template("auth/confirm.html", form=ConfirmForm())


@bp.post("/signin/<token>")
def complete(token: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("auth/confirm.html", form=form), 400
    person = signin.complete_sign_in(db.session(), token)
    auth.sign_in(person)
    return redirect(url_for("staff.dashboard"), 303)


@bp.post("/signout")
def sign_out():
    if ConfirmForm().validate_on_submit():
        auth.sign_out()
    return redirect(url_for("auth.sign_in"), 303)


@bp.post("/lang/<code>")
def set_language(code: str):
    if code in LANGUAGES and ConfirmForm().validate_on_submit():
        cookie["lang"] = code
    return redirect(auth.safe_next(request.form.get("next"), url_for("staff.dashboard")), 303)
