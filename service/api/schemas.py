"""The API's bodies as pydantic models: what requests carry and answers hold (JSON Schema 2020-12, which is
what OpenAPI 3.1 speaks)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from storage.database.models import (
    COMMENT_KINDS,
    DECISION_RULES,
    DISPOSITIONS,
    DOCUMENT_KINDS,
    DOCUMENT_STATUSES,
    ORGANISATION_KINDS,
    OUTBOX_STATUSES,
    ROLES,
    ROUND_STATUSES,
    VERDICTS,
    WEBHOOK_EVENTS,
    Membership,
    Person,
)
from workflows.domain import inputs, organisations
from workflows.domain.notifications import EMAILS
from workflows.outbound.outbox import FAILURES

Role = Literal[ROLES]
Kind = Literal[DOCUMENT_KINDS]
Verdict = Literal[VERDICTS]
Disposition = Literal[DISPOSITIONS]
CommentKind = Literal[COMMENT_KINDS]
DecisionRule = Literal[DECISION_RULES]
OrganisationKind = Literal[ORGANISATION_KINDS]
# Text from a client never holds a NUL or another control character but tab and line breaks (PostgreSQL cannot
# store a NUL, a Word file none of them, and no person types them): workflows.domain.inputs' rule for texts.
TEXT_PATTERN = f"^[^{inputs.TEXT_REFUSED}]*$"
Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]
# A name, organisation, title, address: a single line, without line breaks, tabs, other control characters or
# bidirectional overrides (workflows.domain.inputs' rule for single lines, stated in the schema).
LINE_PATTERN = f"^[^{inputs.LINE_REFUSED}]*$"
Line = Annotated[str, StringConstraints(pattern=LINE_PATTERN)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Queries -------------------------------------------------------------------------------------------------

class PageQuery(Input):
    """Lists are ordered by id; pass the `next` link (or `after`) to get the following page."""

    after: int = Field(0, ge=0, le=2**31 - 1, description="Return items with an id above this one.")
    limit: int = Field(50, ge=1, le=200, description="At most this many items.")


class MemberQuery(PageQuery):
    include_left: bool = Field(False, description="Also list memberships that have ended.")


class CommentQuery(PageQuery):
    unprocessed: bool = Field(False, description="Only comments without a disposition yet.")


class RedlineQuery(Input):
    old: int | None = Field(None, ge=1, le=2**31 - 1,
                            description="The older version's id (default: the one before the newest).")
    new: int | None = Field(None, ge=1, le=2**31 - 1, description="The newer version's id (default: the newest).")


# Networks, organisations, people ------------------------------------------------------------------------

class NetworkOut(Output):
    id: int
    name: str
    created_at: dt.datetime
    decision_rule: DecisionRule = Field(description="How the network's documents are decided unless they set their "
                                        "own rule: per person, or per organisation (through representatives).")


class NetworkRuleIn(Input):
    rule: DecisionRule


class DocumentRuleIn(Input):
    rule: DecisionRule | None = Field(description="The document's own rule; null: the network's. Only before the "
                                                  "document's first round (409 after).")


class RepresentativeIn(Input):
    representative: bool = Field(description="Whether the member represents their organisation (gives its verdict "
                                             "under the per-organisation rule).")


class OrganisationOut(Output):
    """An organisation with its entry in the register of toe- en uittreding."""

    id: int
    network_id: int
    name: str
    kind: OrganisationKind
    created_at: dt.datetime
    has_vote: bool = Field(True, description="Whether it decides under the per-organisation rule (a party may take "
                                             "part without a vote).")
    joined_at: dt.datetime | None = Field(None, description="The start of the day (Dutch time) it joined; null when "
                                                            "never recorded.")
    joined_reference: str = Field("", description="The decision by which it joined.")
    left_at: dt.datetime | None = Field(None, description="The start of the day (Dutch time) it left; null while it "
                                                          "is part of the network.")
    left_reference: str = Field("", description="The decision by which it left.")


# The earliest day the register takes (a register records what took effect; older days are typing errors).
REGISTER_FROM = organisations.REGISTER_FROM  # the workflow refuses earlier dates too


class OrganisationIn(Input):
    name: Line = Field(min_length=1, max_length=200)
    kind: OrganisationKind = "other"
    has_vote: bool = True
    joined_on: dt.date | None = Field(None, ge=REGISTER_FROM, description="The day it joined (from 1900-01-01, not "
                                      "in the future); default today.")
    joined_reference: Line = Field("", max_length=500, description="The decision by which it joined.")


class OrganisationChangeIn(Input):
    kind: OrganisationKind
    has_vote: bool


class RegisterEntryIn(Input):
    """Joining or leaving: the day it took effect and the decision that said so."""

    on: dt.date = Field(ge=REGISTER_FROM, description="The day it took effect (from 1900-01-01, not in the future).")
    reference: Line = Field("", max_length=500, description="The decision (e.g. ALV 12-03-2026, besluit 4).")


class PersonOut(Output):
    """A person as the caller's network knows them: `name` is the name this network gave them, never one another
    network stored."""

    id: int
    name: str = Field(description="The person's name as this network knows them.")
    email: str
    locale: str

    @classmethod
    def known_as(cls, person: Person, name: str) -> PersonOut:
        return cls(id=person.id, name=name, email=person.email, locale=person.locale)

    @model_validator(mode="before")
    @classmethod
    def _not_the_shared_person(cls, data: Any) -> Any:
        # A Person row is shared by every network the person is in, and its name may be another network's.
        if isinstance(data, Person):
            raise TypeError("show a person by the name the network knows them by: PersonOut.known_as")
        return data


class MembershipOut(Output):
    id: int
    network_id: int
    role: Role
    joined_at: dt.datetime
    left_at: dt.datetime | None
    person: PersonOut
    organisation: OrganisationOut | None
    representative: bool = Field(False, description="Gives the organisation's verdict under the per-organisation "
                                                    "rule.")
    board: bool = Field(False, description="In the network's kerngroep or bestuur.")
    discipline: str = Field("", description="The discipline they sit in the kerngroep/bestuur for.")

    @model_validator(mode="before")
    @classmethod
    def _person_as_known_here(cls, data: Any) -> Any:
        """The member with the name on this membership."""
        if isinstance(data, Membership):
            return {"id": data.id, "network_id": data.network_id, "role": data.role, "joined_at": data.joined_at,
                    "left_at": data.left_at, "person": PersonOut.known_as(data.person, data.name),
                    "organisation": data.organisation, "representative": data.representative,
                    "board": data.board, "discipline": data.discipline}
        return data


class PersonDetail(PersonOut):
    memberships: list[MembershipOut] = Field(description="This person's memberships in the network, newest first.")


class MemberIn(Input):
    name: Line = Field(min_length=1, max_length=200)
    email: Line = Field(min_length=3, max_length=254)
    organisation: Line = Field("", max_length=200)
    role: Role = "member"


class ImportResult(Output):
    imported: int
    members: list[MembershipOut]


class JoiningOut(Output):
    organisation: OrganisationOut
    invited: list[int] = Field(description="The participants (ids) its people became in open rounds; each is "
                                           "invited by mail.")


class LeavingOut(Output):
    organisation: OrganisationOut
    left: list[MembershipOut] = Field(description="Its people, who left the network with it (they stop counting in "
                                                  "open rounds and are told by mail).")


class OrganisationImportResult(Output):
    imported_organisations: int
    imported_members: int
    organisations: list[OrganisationOut] = Field(description="The organisations the file added.")
    members: list[MembershipOut] = Field(description="The people it added, with whether they represent their "
                                                     "organisation.")


# The network's own record ------------------------------------------------------------------------------

class RecordIn(Input):
    purpose: Text = Field(max_length=5000, description="The network's purpose (doel).")
    target_group: Text = Field(max_length=5000, description="Its target group (doelgroep).")
    privacy_statement: Text = Field(max_length=20000, description="Shown to members on their pages.")
    board_kind: Literal["kerngroep", "bestuur"] | None = Field(
        None, description="What its board is: a zorgnetwerk's kerngroep or a cluster's bestuur (null: not said, and "
                          "every check of the handbooks applies).")


class RecordWarning(Output):
    """A check of the handbooks the kerngroep/bestuur does not meet: it warns, never blocks."""

    code: str = Field(description="no_board, no_patient_organisation, no_expertise_centre, board_too_small, "
                                  "discipline_missing or disciplines_unequal.")
    params: dict[str, Any] = Field(description="The values the message names (e.g. count and minimum).")
    message: str = Field(description="The warning in words, in the caller's language (Accept-Language).")


class RecordOut(Output):
    network_id: int
    purpose: str
    target_group: str
    privacy_statement: str
    board_kind: Literal["kerngroep", "bestuur"] | None
    board: list[MembershipOut] = Field(description="The kerngroep or bestuur: current members marked so.")
    warnings: list[RecordWarning]


class BoardIn(Input):
    board: bool = Field(description="Whether the member is in the kerngroep/bestuur.")
    discipline: Line = Field("", max_length=100, description="The discipline they sit for (huisarts, apotheker, "
                                                             "...); kept as it was when `board` is false.")


# Documents and versions ---------------------------------------------------------------------------------

class DocumentIn(Input):
    kind: Kind
    title: Line = Field(min_length=1, max_length=300)


class VersionOut(Output):
    id: int
    document_id: int
    number: int
    content_hash: str = Field(description="SHA-256 of the version's blocks; also its ETag.")
    source_format: str
    original_filename: str
    change_note: str
    author: PersonOut
    created_at: dt.datetime
    findings: dict[str, Any]


class VersionUploadForm(Input):
    model_config = ConfigDict(extra="ignore")
    change_note: Text = Field("", max_length=5000)
    addresses: Text = Field("", max_length=2000, description="The comments of the last round this version "
                            "addresses, by their numbers in its commentaartabel (e.g. 3, 7, 12-15).")
    taken_over: bool = Field(False, description="Also every comment of the last round that was taken over.")


class AddressedComment(Output):
    comment_id: int
    round_number: int
    number: int = Field(description="The comment's number in its round's commentaartabel.")
    person_name: str


class VersionDetail(VersionOut):
    addresses: list[AddressedComment] = Field(description="The earlier comments this version says it addresses.")


class Blocks(Output):
    version_id: int
    content_hash: str
    blocks: list[dict[str, Any]] = Field(description="The version's structured blocks (paragraphs, headings, "
                                                     "list items, tables, notes), each with a stable `id`.")


class DocumentOut(Output):
    id: int
    network_id: int
    kind: Kind
    title: str
    status: Literal[DOCUMENT_STATUSES]
    created_at: dt.datetime
    final_version_id: int | None
    latest_version: VersionOut | None = None
    open_round_id: int | None = None
    finalisation: FinalisationOut | None = Field(default=None, description="For a final document: who made it "
                                                  "final when, and the sha256 of its final .docx and PDF.")
    decision_rule: DecisionRule | None = Field(None, description="The document's own rule; null: the network's.")
    effective_decision_rule: DecisionRule | None = Field(None, description="The rule a round opened now decides by.")


class Standing(Output):
    """One who decides: a person (per person; per organisation, someone without an organisation) or an
    organisation."""

    kind: Literal["person", "organisation"] = "person"
    membership_id: int | None = Field(description="The deciding person's membership; null for an organisation.")
    person_id: int | None
    organisation_id: int | None = None
    name: str = Field(description="The person's or the organisation's name.")
    organisation: str | None
    state: Literal["akkoord", "akkoord_met_opmerkingen", "niet_akkoord", "no_verdict", "not_invited",
                   "no_representative"]
    verdict_id: int | None
    given_by: str | None = Field(None, description="Per organisation: the representative whose verdict counts.")


class Standings(Output):
    version_id: int | None
    decision_rule: DecisionRule = "person"
    unanimous: bool
    standings: list[Standing]


class FinaliseIn(Input):
    version_id: int = Field(ge=1, le=2**31 - 1, description="The version everyone agreed to (the newest).")


class FinalisationOut(Output):
    document_id: int
    version_id: int
    content_hash: str
    finalised_at: dt.datetime
    finalised_by_id: int
    docx_sha256: str | None = Field(description="The sha256 of the final .docx with the approval annex, exactly as "
                                                "mailed and downloaded; null for the seconds until it is made.")
    pdf_sha256: str | None = Field(description="The same for the final PDF.")
    files_made_at: dt.datetime | None = Field(description="When the final .docx and PDF were made.")
    dossier_json_sha256: str | None = Field(None, description="The sha256 of the evidence dossier (JSON), as in its "
                                                          "`dossier_made` audit event; null until it is made.")
    dossier_pdf_sha256: str | None = Field(None, description="The same for the dossier's PDF.")


class RedlineRow(Output):
    status: Literal["equal", "changed", "inserted", "deleted"]
    type: str
    level: int | None
    label: str | None
    old_id: str | None
    new_id: str | None
    segments: list[tuple[Literal["equal", "insert", "delete"], str]]


class RedlineOut(Output):
    old_version_id: int
    new_version_id: int
    inserted_words: int
    deleted_words: int
    changed_blocks: int
    inserted_blocks: int
    deleted_blocks: int
    rows: list[RedlineRow]


class EventOut(Output):
    id: int
    seq: int
    kind: str
    actor_id: int | None
    document_id: int | None
    round_id: int | None
    data: dict[str, Any]
    created_at: dt.datetime
    prev_hash: str
    hash: str


# Rounds, verdicts, comments -----------------------------------------------------------------------------

class RoundIn(Input):
    deadline: AwareDatetime = Field(description="When the round closes (with a time zone).")
    message: Text = Field("", max_length=5000)
    version_id: int | None = Field(None, ge=1, le=2**31 - 1,
                                   description="The version you expect to put out (409 when there is a newer one).")
    bring_in_word_comments: bool = False
    comment_visibility: Literal["all", "group"] = Field(
        "all", description="Who sees the comments: every participant, or only the project group (each member "
                           "sees their own threads).")


class RoundOut(Output):
    id: int
    document_id: int
    version_id: int
    number: int
    status: Literal[ROUND_STATUSES]
    message: str
    deadline: dt.datetime
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    close_reason: str | None
    reminder_days: list[int]
    comment_visibility: Literal["all", "group"]
    decision_rule: DecisionRule = Field("person", description="The rule the round decides by, fixed when it opened.")


class RoundDetail(RoundOut):
    voters: int
    decided: int
    comments: int
    processed_comments: int
    reminders_sent: int


class DeadlineIn(Input):
    deadline: AwareDatetime


class ScheduleIn(Input):
    days: list[int] = Field(max_length=3, description="Days before the deadline a reminder goes out (0: its morning).")


class ReminderOut(Output):
    queued: int = Field(description="How many people without a verdict get a reminder.")


class OnBehalfOf(Output):
    """The absent person a substitute gave the verdict for."""

    substitution_id: int
    name: str
    email: str


class VerdictOut(Output):
    id: int
    round_id: int
    participant_id: int
    value: Verdict
    reason: str
    version_id: int
    content_hash: str
    person_name: str
    organisation_name: str
    created_at: dt.datetime
    current: bool = Field(description="Whether this is the participant's latest verdict.")
    organisation_id: int | None = Field(None, description="Per organisation: the organisation this verdict counts "
                                                          "for (given by one of its representatives).")
    suggestion: bool = Field(False, description="Per organisation: a colleague's suggestion to the organisation's "
                                                "representatives; counts for nothing.")
    on_behalf_of: OnBehalfOf | None = Field(None, description="Given by a substitute (plaatsvervanger): "
                                            "`person_name` is the substitute, this the absent person it counts for.")


class ParticipantOut(Output):
    id: int
    round_id: int
    person: PersonOut
    membership_id: int
    can_vote: bool
    added_at: dt.datetime
    removed_at: dt.datetime | None
    first_opened_at: dt.datetime | None
    verdict: VerdictOut | None
    invitation_status: Literal[OUTBOX_STATUSES] | None = Field(
        None, description="The latest invitation email for this round: pending, sending, sent, failed or cancelled.")
    invitation_sent_at: dt.datetime | None = None
    invitation_failure: Literal[FAILURES] | None = Field(
        None, description="Why the latest invitation did not go out (yet): a code, see `invitation_failure_text`.")
    invitation_failure_text: str | None = Field(None, description="That reason in words, in the caller's language.")
    invitation_next_attempt_at: dt.datetime | None = Field(
        None, description="When the invitation is tried again (it waits after a passing failure).")


class CommentOut(Output):
    id: int
    round_id: int
    version_id: int
    parent_id: int | None
    person_id: int
    person_name: str
    block_id: str | None
    start_offset: int | None
    quote: str
    body: str
    created_at: dt.datetime
    disposition: Disposition | None
    answer: str
    processed_at: dt.datetime | None
    kind: CommentKind = Field(description="general, technical or editorial (algemeen, inhoudelijk, redactioneel), "
                                          "the types of the ISO/CEN commenting template.")
    proposed_text: str | None = Field(description="A proposal (voorgestelde wijziging): the wording proposed instead "
                                                  "of `quote`, which starts at `start_offset` of the passage (\"\": "
                                                  "delete it; an empty quote: insert there). Null: no proposal.")
    taken_text: str | None = Field(description="The wording the project group took from the proposal (as proposed "
                                               "or edited). Null: none taken (yet).")


class ProcessIn(Input):
    disposition: Disposition
    answer: Text = Field("", max_length=10000)


class ReplyIn(Input):
    body: Text = Field(min_length=1, max_length=10000)


class CommentaartabelRow(Output):
    number: int
    person: str
    organisation: str
    passage: str
    comment: str
    disposition: str
    answer: str
    capacity: str = Field("", description="Under the per-organisation rule, in what capacity the author wrote, in "
                                          "words (representative of, colleague at, or substitute on behalf of); "
                                          "empty under the per-person rule.")


class Commentaartabel(Output):
    round_id: int
    rows: list[CommentaartabelRow]


# The member's side --------------------------------------------------------------------------------------

class MemberCommentIn(Input):
    body: Text = Field("", max_length=10000, description="The comment; with a proposal, its reason (then optional).")
    block_id: Text | None = Field(None, max_length=40,
                                  description="The passage commented on; none for a general comment.")
    start: int | None = Field(None, ge=0, le=10**9, description="A selection in the passage: where it starts in the "
                                                               "passage's text.")
    end: int | None = Field(None, ge=0, le=10**9, description="Where the selection ends (exclusive).")
    selected: Text = Field("", max_length=10000, description="The selected text as the reader saw it.")
    kind: CommentKind = Field("general", description="general, technical or editorial (algemeen, inhoudelijk, "
                                                     "redactioneel).")
    proposed_text: Text | None = Field(None, max_length=5000, description=(
        "Makes the comment a proposal: this wording instead of the selection (\"\" deletes it), or instead of the "
        "whole passage when nothing is selected, or inserted at `start` when start == end and nothing is selected. "
        "Only for text passages (headings, paragraphs, list items); the same wording as the selection is refused."))


class VerdictIn(Input):
    value: Verdict
    reason: Text = Field("", max_length=5000, description="Required with niet_akkoord.")
    on_behalf_of: int | None = Field(None, ge=1, le=2**31 - 1, description=(
        "As a substitute (plaatsvervanger): the substitution_id of someone in `acting_for` of GET /participation. "
        "The verdict is then recorded as theirs, given by you on their behalf, and they are told by email."))


class PlacementOut(Output):
    status: Literal["exact", "moved", "edited", "removed"]
    block_id: str | None
    start: int | None
    end: int | None
    quote: str


class EarlierComment(Output):
    comment: CommentOut
    version_number: int = Field(description="The version the comment was made on.")
    placement: PlacementOut = Field(description="Where its passage is in the version now under review.")
    addressed_in: list[int] = Field(description="The numbers of the versions that say they address it.")


class EarlierComments(Output):
    items: list[EarlierComment]


class DocumentBrief(Output):
    id: int
    kind: Kind
    title: str
    status: Literal[DOCUMENT_STATUSES]


class OrganisationView(Output):
    """Per organisation: what its members see of it in the round."""

    organisation_id: int
    organisation: str
    verdict: VerdictOut | None = Field(description="The organisation's verdict that counts now, with who gave it.")
    suggestions: list[VerdictOut] = Field(description="The colleagues' latest suggestions.")


class ActingForOut(Output):
    """Someone you stand in for (plaatsvervanger) now, in this round."""

    substitution_id: int = Field(description="Send it as `on_behalf_of` with a verdict to give theirs.")
    absent_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    verdict_value: Verdict | None = Field(description="Their verdict that counts now, if any.")
    verdict_by: str | None = Field(description="Who gave it (they themselves, or a substitute on their behalf).")
    verdict_at: dt.datetime | None


class AbsenceOut(Output):
    """Who stands in (or will stand in) for you."""

    substitution_id: int
    substitute_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    active: bool = Field(description="Whether the period has begun.")


class SubstitutionOut(Output):
    id: int
    absent_name: str
    substitute_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    ended_at: dt.datetime | None


class SubstituteCandidate(Output):
    membership_id: int
    name: str


class Substitutes(Output):
    candidates: list[SubstituteCandidate] = Field(description="Colleagues of your organisation with a vote, who "
                                                              "may stand in for you.")
    substitutions: list[SubstitutionOut] = Field(description="Your substitutions not yet over, either way round.")


class SubstituteIn(Input):
    substitute_membership_id: int = Field(ge=1, le=2**31 - 1, description="One of the candidates.")
    starts_at: AwareDatetime = Field(description="From when (with a time zone; a time past means now).")
    ends_at: AwareDatetime = Field(description="Until when (with a time zone).")


class Participation(Output):
    participant_id: int
    person: PersonOut
    can_vote: bool
    round: RoundOut
    document: DocumentBrief
    version: VersionOut
    verdict: VerdictOut | None
    capacity: Literal["person", "representative", "colleague", "no_vote"] = Field(
        "person", description="What your verdict is: your own (person), your organisation's (representative), a "
                              "suggestion to its representatives (colleague), or none (no_vote).")
    organisation_view: OrganisationView | None = None
    acting_for: list[ActingForOut] = Field(default_factory=list, description="Absent colleagues you may give the "
                                           "verdict for now, as their substitute.")
    absences: list[AbsenceOut] = Field(default_factory=list, description="Your substitutes, now or to come.")


# Webhooks ----------------------------------------------------------------------------------------------

class WebhookIn(Input):
    url: Line = Field(min_length=1, max_length=2000, description="An https address that receives the events.")
    events: list[Literal[WEBHOOK_EVENTS]] | None = Field(None, min_length=1, description="Default: every event.")


class WebhookOut(Output):
    id: int
    network_id: int
    url: str
    events: list[str]
    created_at: dt.datetime
    disabled_at: dt.datetime | None


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="The HMAC-SHA256 key the deliveries are signed with; shown only now.")


class WebhookDeliveryOut(Output):
    id: int
    webhook_id: int
    event_id: str
    event: str
    payload: dict[str, Any]
    status: Literal[OUTBOX_STATUSES]
    attempts: int
    response_status: int | None
    last_error: str = Field(description="The receiver's own answer or the technical error, as it came.")
    failure: Literal[FAILURES] | None = Field(None, description="Why it was not delivered (yet), as a code.")
    failure_text: str | None = Field(None, description="That reason in words, in the caller's language.")
    next_attempt_at: dt.datetime | None = Field(None, description="When it is tried again, if it waits.")
    created_at: dt.datetime
    delivered_at: dt.datetime | None


# Mail that did not arrive ---------------------------------------------------------------------------------

class MailQuery(PageQuery):
    status: Literal["failed", "waiting"] | None = Field(
        None, description="failed: given up (send it again, or correct the address); waiting: failed for a passing "
                          "reason, tried again at `next_attempt_at`. Default: both.")


class MailOut(Output):
    id: int
    network_id: int
    round_id: int | None
    email: Literal[EMAILS] = Field(description="Which mail: an invitation, a reminder, the final document, ...")
    person: PersonOut = Field(description="The recipient as they are now (their address may have been corrected).")
    membership_id: int | None = Field(description="The recipient's membership of the network, to correct the "
                                                  "address with; null when they have left.")
    to_address: str = Field(description="The address the mail goes (or went) to.")
    status: Literal[OUTBOX_STATUSES]
    failure: Literal[FAILURES] | None = Field(description="Why it did not go out, as a code.")
    failure_text: str | None = Field(description="That reason in words, in the caller's language.")
    last_error: str = Field(description="The mail server's own answer or the technical error, as it came.")
    attempts: int
    next_attempt_at: dt.datetime | None = Field(description="When it is tried again, if it waits.")
    last_attempt_at: dt.datetime | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


class EmailIn(Input):
    email: Line = Field(min_length=3, max_length=254, description="The member's correct address.")


class EmailCorrection(Output):
    membership: MembershipOut
    resent: list[int] = Field(description="The ids of the member's mail of this network that goes again now.")


# Lists --------------------------------------------------------------------------------------------------

def page_model(item: type[BaseModel], name: str) -> type[BaseModel]:
    return type(name, (Output,), {
        "__annotations__": {"items": list[item], "next": str | None},
        "__doc__": f"A page of {item.__name__}s; `next` is the URL of the following page (also in the Link header).",
        "next": Field(description="The following page, or null on the last one."),
    })


NetworkPage = page_model(NetworkOut, "NetworkPage")
OrganisationPage = page_model(OrganisationOut, "OrganisationPage")
MembershipPage = page_model(MembershipOut, "MembershipPage")
DocumentPage = page_model(DocumentOut, "DocumentPage")
VersionPage = page_model(VersionOut, "VersionPage")
RoundPage = page_model(RoundOut, "RoundPage")
ParticipantPage = page_model(ParticipantOut, "ParticipantPage")
VerdictPage = page_model(VerdictOut, "VerdictPage")
CommentPage = page_model(CommentOut, "CommentPage")
EventPage = page_model(EventOut, "EventPage")
WebhookPage = page_model(WebhookOut, "WebhookPage")
WebhookDeliveryPage = page_model(WebhookDeliveryOut, "WebhookDeliveryPage")
MailPage = page_model(MailOut, "MailPage")


# Problems (RFC 9457) ------------------------------------------------------------------------------------

class FieldError(BaseModel):
    field: str
    code: str
    message: str


class MissingVoter(BaseModel):
    name: str
    organisation: str
    state: str


class CsvProblem(BaseModel):
    line: int
    code: str
    message: str
    value: str


class Problem(BaseModel):
    """An error as application/problem+json; `detail` is in the caller's language (Accept-Language)."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="A URI naming the kind of problem; stable, for machines.")
    title: str
    status: int
    detail: str
    code: str = Field(description="The problem's short name (the last part of `type`).")
    instance: str | None = None
    errors: list[FieldError] | None = Field(None, description="Per field, when the input was not valid.")
    missing: list[MissingVoter] | None = Field(None, description="With not_unanimous: who has not said akkoord.")
    problems: list[CsvProblem] | None = Field(None, description="With csv_rejected: every bad row of the file.")
