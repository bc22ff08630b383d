"""API: the register of organisations (kind, vote, joining and leaving, the CSV import) and the network's own record
(purpose, target group, privacy statement, kerngroep/bestuur and its warnings), through the pages' workflows."""

from __future__ import annotations

from flask_babel import force_locale

from service.api import problems
from service.api import schemas as s
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.helpers import check_network, load
from service.api.registry import operation
from service.web import db
from service.web.i18n import record_warning
from storage.database.models import Membership, Network, Organisation
from workflows.domain import network_record, organisations

TAG = "Organisations and the network's record"
COORDINATOR = ("coordinator",)


@operation(bp, "PUT", "/organisations/{organisation_id}", summary="Change an organisation's kind and whether it "
           "has a vote (its name stays)", tag=TAG, roles=COORDINATOR, body=s.OrganisationChangeIn,
           response=s.OrganisationOut, errors=(400, 409))
def update_organisation(organisation_id: int, body: s.OrganisationChangeIn):
    organisation = load(Organisation, organisation_id)
    organisations.update_organisation(db.session(), organisation, kind=body.kind, has_vote=body.has_vote,
                                      actor=caller().person)
    return s.OrganisationOut.model_validate(organisation)


@operation(bp, "POST", "/organisations/{organisation_id}/join", summary="Record an organisation's joining "
           "(toetreding): its people not yet in an open round join it and are invited", tag=TAG, roles=COORDINATOR,
           body=s.RegisterEntryIn, response=s.JoiningOut, errors=(400, 409), idempotent=True,
           description="An organisation that left joins again; for one that is in the network the date and decision "
                       "of its joining are corrected.")
def record_organisation_joining(organisation_id: int, body: s.RegisterEntryIn):
    organisation = load(Organisation, organisation_id)
    added = organisations.record_joining(db.session(), organisation, on=body.on, reference=body.reference,
                                         actor=caller().person)
    return s.JoiningOut(organisation=s.OrganisationOut.model_validate(organisation),
                        invited=[participant.id for participant in added])


@operation(bp, "POST", "/organisations/{organisation_id}/leave", summary="Record an organisation's leaving "
           "(uittreding): its people leave the network with it, stop counting in open rounds and are told by mail",
           tag=TAG, roles=COORDINATOR, body=s.RegisterEntryIn, response=s.LeavingOut, errors=(400, 409),
           idempotent=True, description="409 `organisation_already_left` when it has left, `organisation_has_you` "
                                        "when the token's own person belongs to it (another coordinator records it).")
def record_organisation_leaving(organisation_id: int, body: s.RegisterEntryIn):
    organisation = load(Organisation, organisation_id)
    left = organisations.record_leaving(db.session(), organisation, on=body.on, reference=body.reference,
                                        actor=caller().person)
    return s.LeavingOut(organisation=s.OrganisationOut.model_validate(organisation),
                        left=[s.MembershipOut.model_validate(member) for member in left])


@operation(bp, "POST", "/networks/{network_id}/organisations/import", summary="Import organisations and their "
           "people from CSV (organisatie,soort,stem,toegetreden,besluit,naam,email,rol,vertegenwoordiger): all of it "
           "or nothing", tag=TAG, roles=COORDINATOR,
           raw_body={"text/csv": {"type": "string", "description": "UTF-8 CSV (comma, semicolon or tab) whose first "
                                  "line names its columns in any order; only organisatie is required (see the "
                                  "README, Organisations by CSV)."}},
           response=s.OrganisationImportResult, status=201, errors=(400, 409), idempotent=True,
           description="A 400 problem with code `csv_rejected` lists every bad line in `problems` "
                       "(line, code, message, value); nothing is imported then.")
def import_organisations(network_id: int, raw: bytes):
    check_network(network_id)
    if b"\x00" in raw:  # not text: a NUL cannot be stored, and no spreadsheet writes one
        return problems.problem(422, "validation", errors=[
            {"field": "body", "code": "nul_character", "message": problems.message("validation")}])
    network = db.session().get(Network, network_id)
    made, people = organisations.import_csv(db.session(), network, raw, actor=caller().person)
    return s.OrganisationImportResult(
        imported_organisations=len(made), imported_members=len(people),
        organisations=[s.OrganisationOut.model_validate(o) for o in made],
        members=[s.MembershipOut.model_validate(m) for m in people])


# The network's own record -------------------------------------------------------------------------------------


def _record(network: Network) -> s.RecordOut:
    session = db.session()
    with force_locale(problems.caller_locale()):  # the warnings in the caller's language, like problem details
        warnings = [s.RecordWarning(code=w.code, params=w.params, message=record_warning(w.code, w.params))
                    for w in network_record.warnings(session, network.id)]
    return s.RecordOut(network_id=network.id, purpose=network.purpose, target_group=network.target_group,
                       privacy_statement=network.privacy_statement, board_kind=network.board_kind,
                       board=[s.MembershipOut.model_validate(m) for m in
                              network_record.board_members(session, network.id)],
                       warnings=warnings)


@operation(bp, "GET", "/networks/{network_id}/record", summary="The network's own record: purpose, target group, "
           "privacy statement, its kerngroep/bestuur and the handbooks' checks that warn", tag=TAG,
           response=s.RecordOut)
def get_network_record(network_id: int):
    check_network(network_id)
    return _record(db.session().get(Network, network_id))


@operation(bp, "PUT", "/networks/{network_id}/record", summary="Set the network's purpose, target group and "
           "privacy statement (all three, as they are to read)", tag=TAG, roles=COORDINATOR, body=s.RecordIn,
           response=s.RecordOut, errors=(400, 409))
def update_network_record(network_id: int, body: s.RecordIn):
    check_network(network_id)
    network = network_record.update_record(
        db.session(), db.session().get(Network, network_id), purpose=body.purpose, target_group=body.target_group,
        privacy_statement=body.privacy_statement, board_kind=body.board_kind, actor=caller().person)
    return _record(network)


@operation(bp, "PUT", "/members/{membership_id}/board", summary="Put a member in (or out of) the kerngroep/bestuur, "
           "for a discipline", tag=TAG, roles=COORDINATOR, body=s.BoardIn, response=s.MembershipOut,
           errors=(400, 409))
def set_board_membership(membership_id: int, body: s.BoardIn):
    member = load(Membership, membership_id)
    network_record.set_board(db.session(), member, board=body.board, discipline=body.discipline,
                             actor=caller().person)
    return s.MembershipOut.model_validate(member)
