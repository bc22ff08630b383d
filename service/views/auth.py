"""Sign-in by email link, sign-out and the language switch."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import gettext as _

from service.web import auth, db, limits
from service.web.extensions import limiter
from service.web.forms import ConfirmForm, SignInForm
from service.web.i18n import LANGUAGES
from workflows.domain import address_requests, signin

bp = Blueprint("auth", __name__)


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit(limits.address_requests, methods=["POST"])
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        # The same work and the same answer whether or not the address is known: a worker looks it up and mails.
        # Beyond the address's share of mails this hour nothing is written, for a known address or not.
        if limits.mail_allowed("sign_in", form.email.data):
            address_requests.record(db.session(), "sign_in", form.email.data)
        return render_template("auth/check_mail.html", email=form.email.data)
    return render_template("auth/sign_in.html", form=form), 400 if form.is_submitted() else 200


@bp.get("/signin/<token>")
@limiter.shared_limit(limits.token_links, scope=limits.TOKEN_LINKS)
@limiter.shared_limit(limits.failed_secrets, scope=limits.FAILED_SECRETS, deduct_when=limits.refused)
def confirm(token: str):
    """A mail scanner may open this link: show a button, sign in only on POST."""
    signin.find_token(db.session(), token)
    return render_template("auth/confirm.html", form=ConfirmForm())


@bp.post("/signin/<token>")
@limiter.shared_limit(limits.token_links, scope=limits.TOKEN_LINKS)
@limiter.shared_limit(limits.failed_secrets, scope=limits.FAILED_SECRETS, deduct_when=limits.refused)
def complete(token: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("auth/confirm.html", form=form), 400
    person = signin.complete_sign_in(db.session(), token)
    auth.sign_in(person)
    return redirect(url_for("staff.dashboard"), 303)


@bp.post("/signout")
def sign_out():
    """Ends this browser's session (a copy of its cookie elsewhere opens nothing any more); with `everywhere` (the
    dashboard's button), every session of the signed-in person. A member, who has no sign-in, is sent to the page
    that mails their link again."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("auth.sign_in"), 303)
    member = auth.is_link_session()
    person = auth.current_person() if request.form.get("everywhere") else None
    if person is not None:
        auth.sign_out_everywhere(person)
        flash(_("You are signed out everywhere: in this browser and in every other one."))
    else:
        auth.sign_out()
        flash(_("You are logged out. To read on, open the link in your email again.") if member
              else _("You are signed out."))
    return redirect(url_for("member.request_link" if member else "auth.sign_in"), 303)


@bp.post("/lang/<code>")
def set_language(code: str):
    if code in LANGUAGES and ConfirmForm().validate_on_submit():
        cookie["lang"] = code
    return redirect(auth.safe_next(request.form.get("next"), url_for("staff.dashboard")), 303)
