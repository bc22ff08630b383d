"""Languages: Dutch first, English on request; the messages for domain errors and refused uploads."""

from __future__ import annotations

from flask import session
from flask_babel import Babel
from flask_babel import lazy_gettext as _l

from service.config import ROOT

LANGUAGES = ("nl", "en")


def select_locale() -> str:
    return session.get("lang") if session.get("lang") in LANGUAGES else "nl"


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "nl")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Amsterdam")  # every date on a page is Dutch time
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")
    Babel(app, locale_selector=select_locale)


ERRORS = {
    "invalid": _l("The input was not valid."),
    "not_found": _l("This page does not exist."),
    "not_allowed": _l("You are not allowed to do this."),
    "unknown_token_role": _l("Choose coordinator or editor."),
    "token_role_too_high": _l("A token cannot have a higher role than your own."),
    "conflict": _l("This cannot be done in the current state."),
    "busy": _l("Someone else changed this at the same moment. Nothing was saved; please try again."),
    "name_required": _l("A name is required."),
    "title_required": _l("A title is required."),
    "bad_email": _l("This is not a valid email address."),
    "unknown_role": _l("Unknown role: use coordinator, editor, member or observer."),
    "unknown_kind": _l("Unknown document kind."),
    "already_member": _l("%(email)s is already a member of this network."),
    "already_left": _l("This person has already left the network."),
    "erase_self": _l("You cannot erase yourself; ask another coordinator."),
    "already_erased": _l("This person has already been erased."),
    "no_version": _l("Upload a version before opening a round."),
    "deadline_in_past": _l("The deadline must be in the future."),
    "round_already_open": _l("A round is already open for this document. Close it first."),
    "round_closed": _l("This round is closed: verdicts and comments can no longer be given."),
    "supersede_unconfirmed": _l("A comment round of this document opened or closed while you were uploading. Nothing "
                                "was saved: look at the document page again and upload once more."),
    "stale_version": _l("There is a newer version of this document. Reload the page and try again."),
    "already_final": _l("This document is already final; it cannot be changed."),
    "not_unanimous": _l("Not everyone has said akkoord to this version yet."),
    "wrong_document": _l("That version belongs to another document."),
    "participant_removed": _l("You are no longer a participant in this round."),
    "observer_no_verdict": _l("Observers comment but do not give a verdict."),
    # Decision rules and representatives (workflows.domain.decisions)
    "unknown_decision_rule": _l("Choose per person or per organisation."),
    "decision_rule_round_open": _l("The decision rule cannot change while a round is open. Close the round first."),
    "decision_rule_after_first_round": _l("This document already had a comment round: its decision rule is fixed, "
                                          "so verdicts given under one rule are never counted under another."),
    "representative_needs_organisation": _l("Only someone who belongs to an organisation can represent it. Give "
                                            "the person an organisation first."),
    "representative_needs_vote": _l("An observer has no vote and cannot represent an organisation."),
    "organisation_no_vote": _l("Your organisation takes part without a vote: you can read and comment, but not "
                               "give a verdict."),
    "unknown_verdict": _l("Choose akkoord, akkoord met opmerkingen or niet akkoord."),
    "reason_required": _l("Please give a reason when you say niet akkoord."),
    "comment_required": _l("The comment is empty."),
    "too_long": _l("The text is too long (at most %(limit)s characters)."),
    # Meetings (workflows.domain.meetings).
    "meeting_title_required": _l("Give the meeting a title."),
    "meeting_in_past": _l("The meeting must start in the future."),
    "meeting_duration": _l("A meeting lasts between %(low)s and %(high)s minutes."),
    "meeting_place_required": _l("Give a place, an online meeting link, or both."),
    "meeting_link_not_web": _l("The online meeting link must start with https:// or http://."),
    "meeting_not_member": _l("Choose a current member of this network."),
    "meeting_organisations_required": _l("Choose at least one organisation of this network."),
    "meeting_unknown_audience": _l("Choose whom the meeting is for."),
    "meeting_cancelled": _l("This meeting has been cancelled."),
    "meeting_over": _l("This meeting is over."),
    "meeting_not_invited": _l("Send the invitations first."),
    "meeting_answer_required": _l("Choose whether you will come."),
    "meeting_too_many_reminders": _l("This meeting has had the most reminders it may have (%(limit)s)."),
    "agenda_title_required": _l("Give the agenda item a title."),
    "agenda_minutes": _l("An agenda item takes between 1 and %(limit)s minutes."),
    "agenda_unknown_link": _l("Choose a version, round or comments of a document of this network."),
    "agenda_redline_versions": _l("A comparison needs two different versions of the same document."),
    "agenda_no_comments": _l("No comments of that round fit this choice."),
    "agenda_comment_decided": _l("A decision in the minutes refers to a comment you left out: keep it chosen, or "
                                 "change the decision first."),
    # The minutes of a meeting (workflows.domain.minutes).
    "agenda_item_has_minutes": _l("This agenda item has decisions or action points in the minutes: remove those "
                                  "first."),
    "minutes_before_meeting": _l("The minutes can be written once the meeting has started."),
    "minutes_unknown_item": _l("Choose an item of this meeting's agenda."),
    "decision_text_required": _l("Write down what was decided."),
    "decision_unknown_comment": _l("A decision can only refer to the comments its agenda item brought."),
    "action_text_required": _l("Write down what has to be done."),
    "action_owner_required": _l("Choose who will do it: a current member of this network."),
    "action_due_required": _l("Give the date by which it has to be done."),
    "action_due_before_meeting": _l("The due date cannot be before the meeting."),
    "action_already_done": _l("This action point has already been marked done."),
    "attendance_unknown_person": _l("Choose among those invited to this meeting."),
    # The minutes put to a round as a document (workflows.domain.minutes_document).
    "minutes_in_document": _l("The minutes have been put forward for agreement as a document: they change as new "
                              "versions of that document, no longer here."),
    "minutes_document_exists": _l("The minutes of this meeting have been put forward already: upload changes as a "
                                  "new version of their document."),
    "minutes_meeting_not_over": _l("The minutes can be put forward once the meeting is over."),
    "minutes_empty": _l("The minutes are empty: write notes, decisions, action points or who attended first."),
    "minutes_unknown_audience": _l("Choose who must agree: those who attended, or the whole network."),
    "minutes_no_attendees": _l("Nobody who attended is still a member with a vote: record who attended first, or "
                               "put the minutes to the whole network."),
    "control_characters": _l("Use a single line, without line breaks, tabs or other invisible control characters."),
    "text_control_characters": _l("The text holds invisible control characters (such as NUL) that cannot be "
                                  "stored. Remove them and try again."),
    "unknown_passage": _l("That passage does not exist in this version."),
    "selection_not_found": _l("The selected text was not found in that passage. Select text within one passage, "
                              "or comment on the whole passage."),
    "reply_not_processed": _l("A reply is part of its comment's thread; process the comment itself."),
    "bad_comment_numbers": _l("“%(text)s” is not a comment number or a range such as 12-15."),
    "unknown_comment_numbers": _l("The commentaartabel of that round has %(count)s comments; there is no comment "
                                  "%(numbers)s."),
    # The register of organisations and the network's record (workflows.domain.organisations, network_record)
    "organisation_name_required": _l("The organisation needs a name."),
    "unknown_organisation_kind": _l("Choose one of the kinds of organisation."),
    "unknown_organisation": _l("That organisation is not part of this network."),
    "organisation_exists": _l("%(name)s is already in the register of this network."),
    "organisation_already_left": _l("%(name)s has left the network (see the register of organisations)."),
    "organisation_has_you": _l("You belong to %(name)s yourself: its leaving would end your own membership. Ask "
                               "another coordinator to record it."),
    "register_date_in_future": _l("Give the date it took effect: today or earlier."),
    "register_date_too_early": _l("Give the date it took effect: 1 January 1900 or later."),
    # Webhooks
    "webhook_url_invalid": _l("Give a complete web address, such as https://example.org/akkoord-events "
                              "(without a user name or password)."),
    "webhook_url_unresolvable": _l("The host name of this address could not be found."),
    "webhook_url_private": _l("This address points into a private or internal network; webhooks go to public "
                              "addresses only."),
    "webhook_url_https_required": _l("The address must start with https://."),
    "webhook_events": _l("Choose at least one event."),
    "too_many_webhooks": _l("A network can have at most %(limit)s active webhooks. Disable one first."),
    "webhook_disabled": _l("This webhook is disabled."),
    "webhook_not_failed": _l("Only a failed delivery can be sent again."),
    # Mail that did not arrive
    "mail_not_failed": _l("Only mail that failed or was not sent can be sent again."),
    "email_unchanged": _l("%(email)s is already this person's address."),
    "email_taken": _l("%(email)s is already the address of someone else in Akkoord. Check the address with the "
                      "person."),
    "address_shared": _l("%(name)s is also a member of another network, which uses the same address: a change here "
                         "would change it there too. Ask %(name)s for the right address; to use it in this network "
                         "only, remove %(name)s and add them again with that address."),
    "unknown_comment": _l("That comment does not exist in this round."),
    "unknown_visibility": _l("Choose who sees the comments: all members, or only the project group."),
    "unknown_disposition": _l("Choose overgenomen, deels overgenomen, niet overgenomen or voor kennisgeving."),
    "too_many_reminders": _l("This round has had the most reminders it may have (%(limit)s)."),
    "bad_schedule": _l("Give at most %(limit)s whole numbers of days before the deadline, such as 7, 2, 0."),
    "deadline_not_later": _l("The new deadline must be later than the current one."),
    "answer_required": _l("Give the member an answer when a comment is not, or only partly, taken over."),
    "processing_settled": _l("A newer version was uploaded after this comment was processed; its processing can "
                             "no longer be changed."),
    "unknown_comment_kind": _l("Choose the type of the comment: general, technical or editorial."),
    "proposal_needs_passage": _l("A proposed change is about a passage: select the words to change in it."),
    "proposal_unchanged": _l("The proposed text is the same as the text it replaces."),
    "proposal_not_text": _l("Only text can be changed by a proposal, not a table, an image or a note. Describe "
                            "the change in your comment instead."),
    "not_a_proposal": _l("This comment proposes no wording, so no wording can be taken from it."),
    "proposal_collision": _l("Comment %(number)s proposes other wording for the same words and its wording is "
                             "already taken. Choose one of them, or write the text in one and mark the other "
                             "as not or partly taken over."),
    # A member's returned Word file (workflows.domain.returned_files)
    "returned_docx_only": _l("Upload your edited copy as a Word document (.docx)."),
    "returned_older_version": _l("This file is a copy of version %(number)s, an older version. Download the "
                                 "version under review, make your changes in it and upload that file."),
    "returned_other_document": _l("This file is not a copy of the version under review: it seems to be another "
                                  "document. Download the version under review, make your changes in it and upload "
                                  "that file."),
    "returned_unchanged": _l("No changes and no Word comments were found in this file: it is the same as the "
                             "version under review."),
    "returned_nothing_chosen": _l("Tick what you want to submit, or choose “Submit nothing”."),
    "returned_unknown_item": _l("The list of what was found has changed. Reload the page and choose again."),
    "returned_already_submitted": _l("What you chose from this file has already been submitted."),
    "returned_discarded": _l("You chose to submit nothing from this file. Upload it again to choose again."),
    "link_unknown": _l("This link is not valid. Ask the coordinator to send you a new one."),
    "link_revoked": _l("This link has been replaced or withdrawn. Use the most recent email, or ask the coordinator for a new link."),
    "link_expired": _l("This link has expired. Ask the coordinator for a new one."),
    "sign_in_used_or_unknown": _l("This sign-in link was already used or is not valid. Request a new one."),
    "sign_in_expired": _l("This sign-in link has expired. Request a new one."),
    "sign_in_replaced": _l("A newer sign-in link was sent after this one: use the link in the most recent email."),
    "csv_rejected": _l("Nothing was imported: the file has errors."),
    "upload_refused": _l("The file could not be used."),
    "sign_in_required": _l("Please sign in first."),
    "bad_request": _l("The request was not valid. Reload the page and try again."),
    "csrf": _l("The form had expired. Reload the page and try again."),
    "rate_limited": _l("Too many requests from your connection. Wait %(minutes)s min. and try again."),
    # Substitutes (plaatsvervangers)
    "substitute_absent_no_vote": _l("Only someone with a vote can have a substitute."),
    "substitute_no_organisation": _l("A substitute comes from the same organisation, and this person is in none. "
                                     "Ask the coordinator to record their organisation first."),
    "substitute_not_member": _l("The substitute must be a current member of this network."),
    "substitute_self": _l("You cannot be your own substitute: choose a colleague."),
    "substitute_other_organisation": _l("The substitute must be from the same organisation."),
    "substitute_no_vote": _l("The substitute must have a vote (an observer cannot stand in)."),
    "substitution_ends_before_start": _l("The period must end after it starts."),
    "substitution_in_past": _l("This period is already over: give an end in the future."),
    "substitution_overlaps": _l("A substitute is already named for (part of) this period. End that substitution "
                                "first, or choose another period."),
    "substitution_over": _l("This substitution has already ended."),
    "substitution_not_active": _l("You are not (or no longer) standing in for this person: the substitution has "
                                  "ended or not yet begun."),
    "substitution_absent_not_in_round": _l("The person you stand in for does not give a verdict in this round."),
}

UPLOAD_ERRORS = {
    "too_large": _l("The file is larger than %(limit_mb)s MB."),
    "unpacked_too_large": _l("The file unpacks to more than 200 MB; it may be damaged or hostile."),
    "wrong_type": _l("Upload a Word document (.docx), Markdown (.md) or text file (.txt)."),
    "corrupt": _l("The file is damaged or not a valid Word document. Save it again in Word and upload it again."),
    "encrypted": _l("This file is protected with a password. Remove the password and upload again."),
    "macro": _l("This file contains macros (.docm). Save it as a normal Word document (.docx) and upload again."),
    "strict": _l("This file is saved as Strict Open XML. Save it as a normal Word document (.docx) and upload again."),
    "template": _l("This is a Word template (.dotx). Save it as a Word document (.docx) and upload again."),
    "dtd": _l("The file contains a document type declaration, which is not allowed. Save it again in Word."),
    "ambiguous_zip": _l("The file contains conflicting parts and cannot be read safely."),
    "empty": _l("The document contains no text."),
    "not_utf8": _l("The text file is not in UTF-8. Save it as UTF-8 and upload again."),
    "too_complex": _l("The file is too complex to read safely (it takes too long or too much memory). "
                      "Save it again in Word, or split it, and upload again."),
}

CSV_PROBLEMS = {
    "not_utf8": _l("the file is not UTF-8"),
    "not_csv": _l("the file cannot be read as CSV (save it again from Excel as CSV UTF-8)"),
    "wrong_columns": _l("expected 4 columns: naam,email,organisatie,rol"),
    "name_required": _l("the name is missing"),
    "bad_email": _l("not a valid email address"),
    "unknown_role": _l("unknown role"),
    "duplicate_in_file": _l("this email address appears earlier in the file"),
    "already_member": _l("already a member of this network"),
    "no_rows": _l("the file holds no rows"),
    "name_control_characters": _l("the name holds a line break, a tab or another control character"),
    "organisation_control_characters": _l("the organisation holds a line break, a tab or another control "
                                          "character"),
}

# The import of organisations and their people (workflows.domain.organisations.import_csv): its own problems, the
# rest as in CSV_PROBLEMS.
ORGANISATION_CSV_PROBLEMS = {
    "organisation_header": _l("the first line must name the columns, among them organisatie (see the format below)"),
    "organisation_columns": _l("this line does not have as many cells as the first line has columns"),
    "organisation_required": _l("the organisation is missing"),
    "organisation_too_long": _l("the organisation's name is longer than 200 characters"),
    "organisation_left": _l("this organisation has left the network"),
    "unknown_organisation_kind": _l("unknown kind of organisation (use patiëntenorganisatie, expertisecentrum, "
                                    "huisartsenpraktijk, huisartsenpost, apotheek, ziekenhuis, gemeente, "
                                    "zorgverzekeraar or anders)"),
    "organisation_kind_required": _l("a new organisation needs its kind (soort)"),
    "not_yes_no": _l("use ja or nee"),
    "bad_date": _l("not a date (use dd-mm-jjjj or jjjj-mm-dd)"),
    "register_date_in_future": _l("the date lies in the future"),
    "register_date_too_early": _l("the date lies before 1900"),
    "bad_reference": _l("the decision holds a line break, a tab or another control character, or is longer than "
                        "500 characters"),
    "organisation_exists_differs": _l("this organisation is already in the network: leave soort, stem, toegetreden "
                                      "and besluit empty and change them on the register page"),
    "organisation_lines_differ": _l("an earlier line gives this organisation another soort, stem, toegetreden or "
                                    "besluit"),
    "observer_representative": _l("an observer has no vote and cannot be a representative"),
}

# The checks of a network's kerngroep or bestuur (workflows.domain.network_record.warnings): they warn, never block.
RECORD_WARNINGS = {
    "no_board": _l("No kerngroep or bestuur is recorded yet: mark its members below."),
    "no_patient_organisation": _l("A zorgnetwerk's kerngroep has at least one patiëntenorganisatie; none of the "
                                  "board members belongs to one."),
    "no_expertise_centre": _l("A zorgnetwerk's kerngroep has at least one (erkend) expertisecentrum; none of the "
                              "board members belongs to one."),
    "board_too_small": _l("A bestuur has at least %(minimum)s people; this one has %(count)s."),
    "discipline_missing": _l("No discipline is recorded for: %(names)s."),
    "disciplines_unequal": _l("The disciplines are not equally represented in the bestuur: %(counts)s."),
}


def record_warning(code: str, params: dict) -> str:
    text = str(RECORD_WARNINGS.get(code, code))
    try:
        return text % params if "%(" in text else text
    except (KeyError, TypeError):
        return text


# Why mail or a webhook post did not go out, per code of workflows.outbound.outbox.FAILURES: what a coordinator
# reads on the round page, in the failed-mail list, in the webhook log and in the API (`failure_text`).
FAILURE_REASONS = {
    "address_refused": _l("The receiving mail server refused this address (it does not exist or takes no mail)."),
    "recipient_deferred": _l("The receiving mail server does not take mail for this address for now (for example "
                             "a full mailbox)."),
    "content_refused": _l("The receiving mail server refused the message itself (for example as too large, or as "
                          "spam)."),
    "smtp_deferred": _l("The mail server asked to try again later."),
    "smtp_refused": _l("The mail server refused the message."),
    "sender_refused": _l("The mail server refuses Akkoord's sender address: a setting the administrator must fix."),
    "smtp_login_failed": _l("The mail server refuses Akkoord's user name or password: a setting the administrator "
                            "must fix."),
    "smtp_unreachable": _l("The mail server could not be reached."),
    "smtp_timeout": _l("The mail server did not answer in time."),
    "message_unbuildable": _l("The message could not be made (for example because of a line break in a name)."),
    "files_pending": _l("The final files it carries are still being made."),
    "worker_crashed": _l("Sending it broke off too often (the sending process stopped each time)."),
    "http_error": _l("The address answered with an error, or asked to wait."),
    "http_refused": _l("The address refused the message."),
    "http_redirect": _l("The address answered with a redirect; redirects are not followed."),
    "webhook_unreachable": _l("The address could not be reached, or gave no answer in time."),
    "webhook_address": _l("The address may no longer be used: it cannot be found, or points into a private "
                          "network."),
    "not_needed": _l("Not needed any more (for example the round closed, the person left, or the webhook was "
                     "disabled)."),
}


def failure_text(code: str | None) -> str | None:
    """The reason in words in the current language; None when nothing failed."""
    if code is None:
        return None
    return str(FAILURE_REASONS.get(code, code))


def error_message(code: str, params: dict) -> str:
    template = ERRORS.get(code) or UPLOAD_ERRORS.get(code) or ERRORS["invalid"]
    text = str(template)
    try:
        return text % params if "%(" in text else text
    except (KeyError, TypeError):
        return text
