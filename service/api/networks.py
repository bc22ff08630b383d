"""API: the token's network, its organisations, people and memberships (incl. a CSV import)."""

from __future__ import annotations

from sqlalchemy import select

from service.api import problems
from service.api import schemas as s
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.helpers import check_network, load, page
from service.api.registry import operation
from service.web import db
from storage.database.models import Membership, Network, Organisation, Person
from workflows.domain import decisions, membership, organisations
from workflows.errors import NotFound

TAG = "Networks and members"
COORDINATOR = ("coordinator",)


@operation(bp, "GET", "/networks", summary="The networks this token may use (one)", tag=TAG,
           query=s.PageQuery, response=s.NetworkPage, paginated=True)
def list_networks(query: s.PageQuery):
    statement = select(Network).where(Network.id == caller().network_id)
    return page(statement, Network.id, query, s.NetworkOut.model_validate, s.NetworkPage)


@operation(bp, "GET", "/networks/{network_id}", summary="A network", tag=TAG, response=s.NetworkOut)
def get_network(network_id: int):
    check_network(network_id)
    return s.NetworkOut.model_validate(db.session().get(Network, network_id))


@operation(bp, "PUT", "/networks/{network_id}/decision-rule", summary="Set how the network decides: per person or "
           "per organisation (refused while a round of a document that follows it is open)", tag=TAG,
           roles=COORDINATOR, body=s.NetworkRuleIn, response=s.NetworkOut, errors=(400, 409))
def set_network_rule(network_id: int, body: s.NetworkRuleIn):
    check_network(network_id)
    network = db.session().get(Network, network_id)
    decisions.set_network_rule(db.session(), network, body.rule, actor=caller().person)
    return s.NetworkOut.model_validate(network)


@operation(bp, "GET", "/networks/{network_id}/organisations", summary="The network's organisations: the register "
           "of toe- en uittreding (present and left)", tag=TAG,
           query=s.PageQuery, response=s.OrganisationPage, paginated=True)
def list_organisations(network_id: int, query: s.PageQuery):
    check_network(network_id)
    statement = select(Organisation).where(Organisation.network_id == network_id)
    return page(statement, Organisation.id, query, s.OrganisationOut.model_validate, s.OrganisationPage)


@operation(bp, "POST", "/networks/{network_id}/organisations", summary="Add an organisation to the register: "
           "its kind, vote, and the day and decision it joined (409 when the name is taken)", tag=TAG,
           roles=COORDINATOR, body=s.OrganisationIn, response=s.OrganisationOut, status=201, errors=(400, 409),
           idempotent=True, description="As the register page: joining today unless `joined_on` is given; its "
           "people added later are invited to the open rounds.")
def create_organisation(network_id: int, body: s.OrganisationIn):
    check_network(network_id)
    network = db.session().get(Network, network_id)
    organisation = organisations.add_organisation(
        db.session(), network, name=body.name, kind=body.kind, has_vote=body.has_vote, joined_on=body.joined_on,
        joined_reference=body.joined_reference, actor=caller().person)
    return s.OrganisationOut.model_validate(organisation)


@operation(bp, "GET", "/organisations/{organisation_id}", summary="An organisation", tag=TAG,
           response=s.OrganisationOut)
def get_organisation(organisation_id: int):
    return s.OrganisationOut.model_validate(load(Organisation, organisation_id))


@operation(bp, "GET", "/networks/{network_id}/members", summary="The network's members (memberships)", tag=TAG,
           query=s.MemberQuery, response=s.MembershipPage, paginated=True)
def list_members(network_id: int, query: s.MemberQuery):
    check_network(network_id)
    statement = select(Membership).where(Membership.network_id == network_id)
    if not query.include_left:
        statement = statement.where(Membership.left_at.is_(None))
    return page(statement, Membership.id, query, s.MembershipOut.model_validate, s.MembershipPage)


@operation(bp, "POST", "/networks/{network_id}/members", summary="Add a member (they join an open round and "
           "are invited)", tag=TAG, roles=COORDINATOR, body=s.MemberIn, response=s.MembershipOut, status=201,
           errors=(400, 409), idempotent=True)
def add_member(network_id: int, body: s.MemberIn):
    check_network(network_id)
    network = db.session().get(Network, network_id)
    added = membership.add_member(db.session(), network, name=body.name, email=body.email,
                                  organisation_name=body.organisation, role=body.role, actor=caller().person)
    return s.MembershipOut.model_validate(added)


@operation(bp, "POST", "/networks/{network_id}/members/import", summary="Import members from CSV "
           "(naam,email,organisatie,rol): all rows or none", tag=TAG, roles=COORDINATOR,
           raw_body={"text/csv": {"type": "string", "description": "UTF-8 CSV with a header row "
                                  "naam,email,organisatie,rol (or name,email,organisation,role)."}},
           response=s.ImportResult, status=201, errors=(400, 409), idempotent=True,
           description="A 400 problem with code `csv_rejected` lists every bad row in `problems` "
                       "(line, code, message, value); nothing is imported then.")
def import_members(network_id: int, raw: bytes):
    check_network(network_id)
    if b"\x00" in raw:  # not text: a NUL cannot be stored, and no spreadsheet writes one
        return problems.problem(422, "validation", errors=[
            {"field": "body", "code": "nul_character", "message": problems.message("validation")}])
    network = db.session().get(Network, network_id)
    added = membership.import_members_csv(db.session(), network, raw, actor=caller().person)
    return s.ImportResult(imported=len(added), members=[s.MembershipOut.model_validate(m) for m in added])


@operation(bp, "GET", "/members/{membership_id}", summary="A membership", tag=TAG, response=s.MembershipOut)
def get_member(membership_id: int):
    return s.MembershipOut.model_validate(load(Membership, membership_id))


@operation(bp, "DELETE", "/members/{membership_id}", summary="End a membership (the member leaves: they stop "
           "counting and their links die)", tag=TAG, roles=COORDINATOR, response=s.MembershipOut, errors=(409,),
           idempotent=True)
def remove_member(membership_id: int):
    member = load(Membership, membership_id)
    membership.remove_member(db.session(), member, actor=caller().person)
    return s.MembershipOut.model_validate(member)


@operation(bp, "PUT", "/members/{membership_id}/representative", summary="Mark or unmark a member as a "
           "representative of their organisation", tag=TAG, roles=COORDINATOR, body=s.RepresentativeIn,
           response=s.MembershipOut, errors=(400, 409))
def set_representative(membership_id: int, body: s.RepresentativeIn):
    member = load(Membership, membership_id)
    decisions.set_representative(db.session(), member, body.representative, actor=caller().person)
    return s.MembershipOut.model_validate(member)


@operation(bp, "GET", "/people/{person_id}", summary="A person who is or was a member of the network", tag=TAG,
           response=s.PersonDetail)
def get_person(person_id: int):
    session = db.session()
    person = session.get(Person, person_id)
    memberships = session.scalars(select(Membership).where(
        Membership.person_id == person_id, Membership.network_id == caller().network_id)
        .order_by(Membership.id.desc())).all() if person else []
    if not memberships:
        raise NotFound()
    # The name on their newest membership here: the name this network knows them by.
    return s.PersonDetail(**dict(s.PersonOut.known_as(person, memberships[0].name)),
                          memberships=[s.MembershipOut.model_validate(m) for m in memberships])
