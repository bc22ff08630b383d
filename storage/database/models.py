"""SQLAlchemy models: the tables of Akkoord and the rules the database itself enforces."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite (which stores naive text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use UTC-aware datetimes")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


ROLES = ("coordinator", "editor", "member", "observer")
VOTING_ROLES = ("coordinator", "editor", "member")
STAFF_ROLES = ("coordinator", "editor")
DOCUMENT_KINDS = (
    "ambitieverklaring",
    "intentieverklaring",
    "samenwerkingsovereenkomst",
    "visiedocument",
    "plan_van_aanpak",
    "regioplan",
    "notitie",
    "notulen",
    "anders",
)
# Whose agreement counts on a document: every current member of its network, or (the minutes of a meeting put to
# those who attended it) the attendees who are still members (workflows.domain.deciders).
DOCUMENT_DECIDERS = ("network", "attendees")
DOCUMENT_STATUSES = ("draft", "in_review", "final", "withdrawn")
ROUND_STATUSES = ("open", "closed", "superseded")
# Who sees a round's comments: every participant, or only the project group (each member sees their own).
COMMENT_VISIBILITIES = ("all", "group")
# What a comment is about, as the ISO/CEN commenting template types them: algemeen, inhoudelijk, redactioneel.
COMMENT_KINDS = ("general", "technical", "editorial")
VERDICTS = ("akkoord", "akkoord_met_opmerkingen", "niet_akkoord")
APPROVING_VERDICTS = ("akkoord", "akkoord_met_opmerkingen")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "cancelled")
OUTBOX_CHANNELS = ("mail", "webhook")
# How a network (or one of its documents) decides: every person with a vote, or every organisation with a vote
# through its representatives (DESIGN.md, "Decision rules").
DECISION_RULES = ("person", "organisation")
# A network's board: a zorgnetwerk's kerngroep (a patiëntenorganisatie and an expertisecentrum at least) or a
# cluster's bestuur (four people at least, the disciplines equally represented).
BOARD_KINDS = ("kerngroep", "bestuur")
# Organisation kinds from the handbooks; "other" (anders) for everything else.
ORGANISATION_KINDS = ("patientenorganisatie", "expertisecentrum", "huisartsenpraktijk", "huisartsenpost", "apotheek",
                      "ziekenhuis", "gemeente", "zorgverzekeraar", "other")
# The events a network's webhooks can receive.
WEBHOOK_EVENTS = ("round.opened", "round.closed", "verdict.given", "document.final", "meeting.scheduled",
                  "meeting.changed", "meeting.minutes_final", "action.due")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Network(Base):
    __tablename__ = "networks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The rule for documents that do not set their own (DECISION_RULES).
    decision_rule: Mapped[str] = mapped_column(String(20), default="person", server_default="person")
    # The network's own record, as the handbooks ask: its purpose (doel), its target group (doelgroep), and the
    # privacy statement its members see on their pages.
    purpose: Mapped[str] = mapped_column(Text, default="", server_default="")
    target_group: Mapped[str] = mapped_column(Text, default="", server_default="")
    privacy_statement: Mapped[str] = mapped_column(Text, default="", server_default="")
    # What its board is (BOARD_KINDS): a zorgnetwerk's kerngroep or a cluster's bestuur; the handbooks ask
    # different things of each. NULL: not said yet (every check applies).
    board_kind: Mapped[str | None] = mapped_column(String(20))


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (UniqueConstraint("network_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), default="other")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Whether the organisation decides (under the per-organisation rule); a party may take part without a vote.
    has_vote: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The register of toe- en uittreding: when it joined and left, and the decision that said so.
    joined_at: Mapped[dt.datetime | None]
    joined_reference: Mapped[str] = mapped_column(Text, default="", server_default="")
    left_at: Mapped[dt.datetime | None]
    left_reference: Mapped[str] = mapped_column(Text, default="", server_default="")


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Erased on request (AVG art. 17): contact details gone, what final documents need as evidence kept.
    erased_at: Mapped[dt.datetime | None]


class Membership(Base):
    """A person's place in one network for a period: toe- en uittreding are its joined/left dates."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        Index(
            "uq_memberships_active",
            "network_id",
            "person_id",
            unique=True,
            sqlite_where=text("left_at IS NULL"),
            postgresql_where=text("left_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(20))
    # The person's name as this network knows it: people are shared by the networks they are in (their address is
    # who they are), but a network never sees the name another network stored.
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    joined_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    left_at: Mapped[dt.datetime | None]
    # A representative (vertegenwoordiger) gives their organisation's verdict under the per-organisation rule.
    representative: Mapped[bool] = mapped_column(default=False, server_default=false())
    # In the kerngroep or bestuur, and for which discipline (huisarts, apotheker, ...).
    board: Mapped[bool] = mapped_column(default=False, server_default=false())
    discipline: Mapped[str] = mapped_column(String(100), default="", server_default="")

    person: Mapped[Person] = relationship(lazy="joined")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")

    @property
    def can_vote(self) -> bool:
        return self.role in VOTING_ROLES

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class Blob(Base):
    """An original upload, kept byte for byte and addressed by its sha256."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(_in("kind", DOCUMENT_KINDS), name="kind"),
        CheckConstraint(_in("status", DOCUMENT_STATUSES), name="status"),
        CheckConstraint("(status = 'final') = (final_version_id IS NOT NULL)", name="final_has_version"),
        CheckConstraint(_in("deciders", DOCUMENT_DECIDERS), name="deciders"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # NULL: the network's rule; set by a coordinator before the document's first round (DECISION_RULES).
    decision_rule: Mapped[str | None] = mapped_column(String(20))
    final_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("versions.id", use_alter=True, name="fk_documents_final_version_id_versions")
    )
    # DOCUMENT_DECIDERS; "attendees" only for a meeting's minutes (`minutes_of`), set when the document is made.
    deciders: Mapped[str] = mapped_column(String(20), default="network", server_default="network")

    network: Mapped[Network] = relationship()
    # The meeting whose minutes this document holds (Meeting.minutes_document_id); loaded only when asked for.
    minutes_of: Mapped[Meeting | None] = relationship(
        "Meeting", primaryjoin="Meeting.minutes_document_id == Document.id", viewonly=True, uselist=False)


class Version(Base):
    """Immutable text of a document at one moment (a database trigger refuses updates)."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    number: Mapped[int]
    blocks: Mapped[list[Any]] = mapped_column(deferred=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    source_format: Mapped[str] = mapped_column(String(10))
    original_filename: Mapped[str] = mapped_column(String(255))
    original_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    findings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    change_note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    author: Mapped[Person] = relationship(lazy="joined")
    document: Mapped[Document] = relationship(foreign_keys=[document_id])


class Finalisation(Base):
    """The one act that made a document final; unique per document."""

    __tablename__ = "finalisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    finalised_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    finalised_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The final .docx and PDF with the approval annex, made once after the finalisation commits; every mail and
    # every download serves exactly these bytes.
    docx_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    pdf_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    files_made_at: Mapped[dt.datetime | None]
    # The evidence dossier (JSON for machines, PDF for people), made with the final files; its JSON's sha256 is in
    # the audit chain.
    dossier_json_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    dossier_pdf_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))


class Round(Base):
    __tablename__ = "rounds"
    __table_args__ = (
        CheckConstraint(_in("status", ROUND_STATUSES), name="status"),
        CheckConstraint("(status = 'open') = (closed_at IS NULL)", name="closed_when_not_open"),
        CheckConstraint(_in("comment_visibility", COMMENT_VISIBILITIES), name="comment_visibility"),
        UniqueConstraint("document_id", "number"),
        Index(
            "uq_rounds_one_open_per_document",
            "document_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="open")
    message: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[dt.datetime]
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(20))
    # Days before the deadline a reminder goes out (0: the deadline's morning); at most 3 reminders a round.
    reminder_days: Mapped[list[Any]] = mapped_column(default=lambda: [7, 2, 0])
    comment_visibility: Mapped[str] = mapped_column(String(10), default="all", server_default="all")
    # The rule this round decides by, fixed when it opens (the document's, else the network's).
    decision_rule: Mapped[str] = mapped_column(String(20), default="person", server_default="person")

    version: Mapped[Version] = relationship()
    document: Mapped[Document] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class Participant(Base):
    """A person's place in one round: invited, opened, decided."""

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("round_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"))
    can_vote: Mapped[bool]
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[dt.datetime | None]
    first_opened_at: Mapped[dt.datetime | None]
    last_opened_at: Mapped[dt.datetime | None]
    current_verdict_id: Mapped[int | None] = mapped_column(
        ForeignKey("verdicts.id", use_alter=True, name="fk_participants_current_verdict_id_verdicts")
    )

    round: Mapped[Round] = relationship()
    person: Mapped[Person] = relationship(lazy="joined")
    membership: Mapped[Membership] = relationship()
    current_verdict: Mapped[Verdict | None] = relationship(foreign_keys=[current_verdict_id])


class PersonalLink(Base):
    """A member's personal link into one round; the token itself is never stored, only its hash."""

    __tablename__ = "personal_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    # The mail that carried it: an attempt to deliver that mail again revokes the link the earlier attempt made,
    # so a person never holds two live links from one message.
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Indexed for the retention prune (workflows.domain.retention), which asks which links ended before a time.
    expires_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    first_used_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    participant: Mapped[Participant] = relationship()


class Verdict(Base):
    """One verdict as given, with its evidence; never updated (the participant points at the latest)."""

    __tablename__ = "verdicts"
    __table_args__ = (
        CheckConstraint(_in("value", VERDICTS), name="value"),
        CheckConstraint("value != 'niet_akkoord' OR length(reason) > 0", name="reason_for_niet_akkoord"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    value: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    person_name: Mapped[str] = mapped_column(String(200))
    person_email: Mapped[str] = mapped_column(String(254))
    organisation_name: Mapped[str] = mapped_column(String(200), default="")
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    # Indexed: the prune asks whether a verdict names a link, and deleting a link checks this key.
    link_id: Mapped[int | None] = mapped_column(ForeignKey("personal_links.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Under the per-organisation rule: the organisation this verdict is given for (by one of its representatives).
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    # A colleague's suggestion to their representatives: shown inside the organisation, counts for nothing.
    suggestion: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Given by a substitute (plaatsvervanger): person_name/_email are the substitute's, these name the absent person.
    substitution_id: Mapped[int | None] = mapped_column(ForeignKey("substitutions.id"))
    on_behalf_of_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    on_behalf_of_email: Mapped[str] = mapped_column(String(254), default="", server_default="")


class Substitution(Base):
    """A substitute (plaatsvervanger) of the same organisation acts for an absent person during a period."""

    __tablename__ = "substitutions"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    absent_membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    substitute_membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    # Ended early: the absent person took over again, or the substitution was withdrawn.
    ended_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    absent: Mapped[Membership] = relationship(foreign_keys=[absent_membership_id])
    substitute: Mapped[Membership] = relationship(foreign_keys=[substitute_membership_id])


DISPOSITIONS = ("overgenomen", "deels_overgenomen", "niet_overgenomen", "voor_kennisgeving")


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint("disposition IS NULL OR " + _in("disposition", DISPOSITIONS), name="disposition"),
        CheckConstraint("(disposition IS NULL) = (processed_at IS NULL)", name="processed_when_disposed"),
        # A comment comes from a round's participant; a reply may come from the project group too.
        CheckConstraint("parent_id IS NOT NULL OR participant_id IS NOT NULL", name="reply_or_participant"),
        CheckConstraint("parent_id IS NULL OR disposition IS NULL", name="reply_not_disposed"),
        # A member's page counts the round's comments (not replies) they see on every request: from the index.
        Index("ix_comments_round_thread", "round_id", "parent_id", "person_id"),
        CheckConstraint(_in("kind", COMMENT_KINDS), name="kind"),
        # A proposal replaces its quote, which starts at start_offset of its passage.
        CheckConstraint("proposed_text IS NULL OR (block_id IS NOT NULL AND start_offset IS NOT NULL)",
                        name="proposal_anchored"),
        CheckConstraint("taken_text IS NULL OR proposed_text IS NOT NULL", name="taken_from_proposal"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # A reply belongs to the thread of this comment; it has no passage, disposition or answer of its own.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    block_id: Mapped[str | None] = mapped_column(String(40))
    # Where the quote starts in `block_text` of its block in this version (None: the passage's beginning).
    start_offset: Mapped[int | None]
    quote: Mapped[str] = mapped_column(Text, default="")
    context_before: Mapped[str] = mapped_column(Text, default="")
    context_after: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disposition: Mapped[str | None] = mapped_column(String(30))
    answer: Mapped[str] = mapped_column(Text, default="")
    processed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    processed_at: Mapped[dt.datetime | None]
    kind: Mapped[str] = mapped_column(String(20), default="general", server_default="general")
    # A proposal (voorgestelde wijziging): the text the member proposes instead of the quote ("" removes it;
    # an empty quote is a place to insert it). None: a comment that proposes no wording.
    proposed_text: Mapped[str | None] = mapped_column(Text)
    # The wording the project group takes: the proposal as it is (overgenomen) or as they edited it (deels).
    # It goes into the draft next version as a tracked change by the member.
    taken_text: Mapped[str | None] = mapped_column(Text)
    # The member's returned Word file this comment came from (its evidence); None: typed on the page.
    returned_file_id: Mapped[int | None] = mapped_column(ForeignKey("returned_files.id"), index=True)

    person: Mapped[Person] = relationship(lazy="joined", foreign_keys=[person_id])

    @property
    def is_proposal(self) -> bool:
        return self.proposed_text is not None

    @property
    def span_end(self) -> int | None:
        """Where the quote a proposal replaces ends in its passage's text."""
        return None if self.start_offset is None else self.start_offset + len(self.quote)


class ReturnedFile(Base):
    """A member's edited copy of the round's version (.docx), kept byte for byte as the evidence of the comments it
    produced, with what its comparison with the version found (`found`: "changes" and "comments" as plain dicts,
    numbered by their place); the member submits what they choose of it, or discards it."""

    __tablename__ = "returned_files"
    __table_args__ = (CheckConstraint("submitted_at IS NULL OR discarded_at IS NULL", name="submitted_or_discarded"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))  # the version it was compared with
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    found: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[dt.datetime | None]
    discarded_at: Mapped[dt.datetime | None]

    @property
    def is_pending(self) -> bool:
        return self.submitted_at is None and self.discarded_at is None


class VersionAddress(Base):
    """A comment a new version says it addresses."""

    __tablename__ = "version_addresses"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), primary_key=True, index=True)


class WebSession(Base):
    """A browser's session, kept on the server: the cookie holds a random token, the database only its sha256,
    so signing out (here or everywhere) ends it for every copy of the cookie."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The signed-in coordinator or editor, if any (a member's link session has none).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)  # the absolute end, whatever the activity
    ended_at: Mapped[dt.datetime | None]


ADDRESS_REQUEST_PURPOSES = ("sign_in", "lost_link")


class AddressRequest(Base):
    """Someone asked for a sign-in link or a lost personal link by address. A worker looks the address up and
    sends what is due, so the request does the same work and takes the same time whether the address is known
    or not; the row is deleted once handled."""

    __tablename__ = "address_requests"
    __table_args__ = (CheckConstraint(_in("purpose", ADDRESS_REQUEST_PURPOSES), name="purpose"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class SignInToken(Base):
    __tablename__ = "sign_in_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)  # the retention prune's question
    used_at: Mapped[dt.datetime | None]


class OutboxItem(Base):
    """Something that leaves Akkoord (a mail, a webhook post): decided in a transaction, delivered by a worker after
    it commits. One table and one life cycle for every channel: pending (due at `next_attempt_at`; none: held until
    something it needs exists) -> sending (claimed by a worker) -> sent, or back to pending for the next attempt, or
    failed (for good, `failure` says why) or cancelled (no longer meaningful)."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_in("status", OUTBOX_STATUSES), name="status"),
        CheckConstraint(_in("channel", OUTBOX_CHANNELS), name="channel"),
        CheckConstraint("channel != 'mail' OR (email IS NOT NULL AND person_id IS NOT NULL AND to_address IS NOT NULL)",
                        name="mail_has_recipient"),
        CheckConstraint("channel != 'webhook' OR (webhook_id IS NOT NULL AND event_id IS NOT NULL)",
                        name="webhook_has_event"),
        CheckConstraint("status != 'sending' OR claimed_at IS NOT NULL", name="sending_is_claimed"),
        # The sweep's question: which pending items are due, and which claims are stale.
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The retention prune's question: which delivered items are older than the period.
        Index("ix_outbox_done", "status", "sent_at"),
    )
    # Loaded whole whatever the channel (one row, one SELECT), not the channel's columns in a second one.
    __mapper_args__ = {"polymorphic_on": "channel", "polymorphic_abstract": True, "with_polymorphic": "*"}

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    # Why the last attempt failed, as a code the pages and the API put in words (OUTBOX_FAILURES), and as the
    # technical text the other side gave.
    failure: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]


class MailMessage(OutboxItem):
    """An email to one person; rendered from its template at delivery time, in the recipient's language."""

    __mapper_args__ = {"polymorphic_identity": "mail"}

    email: Mapped[str | None] = mapped_column(String(50))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    to_address: Mapped[str | None] = mapped_column(String(254))
    locale: Mapped[str | None] = mapped_column(String(5), default="nl")
    params: Mapped[dict[str, Any] | None] = mapped_column(default=dict)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"), index=True)


class WebhookDelivery(OutboxItem):
    """One event for one webhook."""

    __mapper_args__ = {"polymorphic_identity": "webhook"}

    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id"), index=True)
    # A stable id the receiver can use to drop a delivery it has seen (a retried post carries it again).
    event_id: Mapped[str | None] = mapped_column(String(64))
    event: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any] | None] = mapped_column(default=dict)
    response_status: Mapped[int | None]

    @property
    def delivered_at(self) -> dt.datetime | None:
        return self.sent_at


class AuditChain(Base):
    """The head of a network's audit chain: its last event's seq and hash. Locked last in every transaction that
    records events (at commit), so concurrent writers extend the chain one after the other and it never forks."""

    __tablename__ = "audit_chains"
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """One state change; a network's events form a hash chain (seq, prev_hash, hash)."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("network_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(60))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ApiToken(Base):
    """A staff member's personal API token for one network and role; only its sha256 is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(_in("role", STAFF_ROLES), name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so a person can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    person: Mapped[Person] = relationship(lazy="joined")


class IdempotencyRecord(Base):
    """The stored answer to a retried API write: the same key from the same caller gets the same answer."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("caller", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # Who asked: "token:<id>" for a staff token, "link:<id>" for a member's personal link.
    caller: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    # sha256 of method, path and body: the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class Webhook(Base):
    """A URL of a network's that receives signed JSON events."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # The HMAC-SHA256 key; shown once when the webhook is made.
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[list[Any]] = mapped_column(default=lambda: list(WEBHOOK_EVENTS))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[dt.datetime | None]


# Network meetings (bijeenkomsten): whom a meeting is for, its life, and a member's answer to the invitation.
MEETING_AUDIENCES = ("everyone", "board", "project_group", "organisations")
MEETING_STATUSES = ("planned", "cancelled")
MEETING_ANSWERS = ("none", "aanmelden", "afmelden")
# Which comments of a round an agenda item brings to the table: chosen one by one, those the project group did not
# take over, or those on passages by members who said niet akkoord.
AGENDA_COMMENT_SELECTIONS = ("chosen", "niet_overgenomen", "niet_akkoord")


class Meeting(Base):
    """A network meeting: when and where, who chairs and takes the minutes, and whom it is for. Its `uid` never
    changes (calendars know the meeting by it); `sequence` grows with every change of time or place and with its
    cancellation, so a calendar replaces what it holds."""

    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint(_in("audience", MEETING_AUDIENCES), name="audience"),
        CheckConstraint(_in("status", MEETING_STATUSES), name="status"),
        CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancelled_when_cancelled"),
        CheckConstraint("duration_minutes > 0", name="duration"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)  # UTC; shown in Europe/Amsterdam
    duration_minutes: Mapped[int]
    place: Mapped[str] = mapped_column(Text, default="", server_default="")
    online_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    # A word from the organisers that goes with the invitation.
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id"))
    minute_taker_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id"))
    audience: Mapped[str] = mapped_column(String(20), default="everyone", server_default="everyone")
    status: Mapped[str] = mapped_column(String(20), default="planned", server_default="planned")
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    # Days before the meeting a reminder goes to those who have not answered (09:00 Dutch time).
    reminder_days: Mapped[list[Any]] = mapped_column(default=lambda: [7, 2])
    # The reminder slots used ("d7", "now1", ...): the tick asks the meeting, not the whole outbox.
    reminder_slots: Mapped[list[Any]] = mapped_column(default=list)
    invited_at: Mapped[dt.datetime | None]  # when the invitations first went out
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[dt.datetime | None]
    # The document its minutes went into (workflows.domain.minutes_document): from then on the minutes change only
    # as versions of that document, and are final when it is.
    minutes_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), unique=True)

    chair: Mapped[Membership | None] = relationship(foreign_keys=[chair_id])
    minute_taker: Mapped[Membership | None] = relationship(foreign_keys=[minute_taker_id])

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    @property
    def is_cancelled(self) -> bool:
        return self.status == "cancelled"


class MeetingOrganisation(Base):
    """An organisation a meeting is for (audience "organisations")."""

    __tablename__ = "meeting_organisations"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True, index=True)


class AgendaItem(Base):
    """One item of a meeting's agenda, in `position` order: a title, who presents it and how long it takes, and
    optionally what it is about: a version, a round, a redline (from `compare_version_id` to `version_id`) or
    comments of a round (`comment_selection`; the comments themselves in agenda_item_comments)."""

    __tablename__ = "agenda_items"
    __table_args__ = (
        CheckConstraint("comment_selection IS NULL OR " + _in("comment_selection", AGENDA_COMMENT_SELECTIONS),
                        name="comment_selection"),
        CheckConstraint("comment_selection IS NULL OR round_id IS NOT NULL", name="comments_of_a_round"),
        CheckConstraint("compare_version_id IS NULL OR version_id IS NOT NULL", name="redline_has_two_versions"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    presenter_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id"))
    minutes: Mapped[int | None]
    # Indexed: a document's timeline asks which meetings' agendas refer to it.
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    compare_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    comment_selection: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The minutes (notulen) of this item: what was said, as the minute-taker wrote it.
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")

    presenter: Mapped[Membership | None] = relationship()
    document: Mapped[Document | None] = relationship()
    version: Mapped[Version | None] = relationship(foreign_keys=[version_id])
    compare_version: Mapped[Version | None] = relationship(foreign_keys=[compare_version_id])
    round: Mapped[Round | None] = relationship()


class AgendaItemComment(Base):
    """A comment an agenda item brings to the table."""

    __tablename__ = "agenda_item_comments"
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), primary_key=True, index=True)


class MeetingInvitation(Base):
    """A person invited to a meeting and their answer (aanmelden / afmelden, with a remark); `removed_at` when they
    are no longer of its audience or left the network."""

    __tablename__ = "meeting_invitations"
    __table_args__ = (
        UniqueConstraint("meeting_id", "person_id"),
        CheckConstraint(_in("answer", MEETING_ANSWERS), name="answer"),
        CheckConstraint("(answer = 'none') = (answered_at IS NULL)", name="answered_when_answer"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"))
    answer: Mapped[str] = mapped_column(String(20), default="none", server_default="none")
    remark: Mapped[str] = mapped_column(Text, default="", server_default="")
    answered_at: Mapped[dt.datetime | None]
    invited_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[dt.datetime | None]
    # Whether they came, as the minutes record it (None: not recorded); their answer was only what they expected.
    attended: Mapped[bool | None]

    meeting: Mapped[Meeting] = relationship()
    # Loaded with a second SELECT for a whole list, not joined: an invitation row can be locked FOR NO KEY UPDATE.
    person: Mapped[Person] = relationship(lazy="selectin")
    membership: Mapped[Membership] = relationship()


class MeetingLink(Base):
    """A personal link to a meeting's sign-up page, minted at delivery like a round's (PersonalLink): only its hash
    is kept; it works until revoked, its invitation is withdrawn, or 30 days after the meeting."""

    __tablename__ = "meeting_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("meeting_invitations.id"), index=True)
    # The mail that carried it (its next attempt revokes this link); forgotten when retention deletes the mail.
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    first_used_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    invitation: Mapped[MeetingInvitation] = relationship()


# The minutes of a meeting (notulen): decisions and action points; the notes per agenda item are on AgendaItem.
ACTION_POINT_STATUSES = ("open", "done")


class MeetingDecision(Base):
    """A decision (besluit) a meeting took under an agenda item; it may refer to comments that item brought
    (meeting_decision_comments), which then show where they were discussed."""

    __tablename__ = "meeting_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MeetingDecisionComment(Base):
    """A comment a decision refers to."""

    __tablename__ = "meeting_decision_comments"
    decision_id: Mapped[int] = mapped_column(ForeignKey("meeting_decisions.id"), primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), primary_key=True, index=True)


class ActionPoint(Base):
    """An action point (actiepunt) a meeting gave to a person of the network: what, by when (a day, Dutch time),
    open or done (with a note)."""

    __tablename__ = "action_points"
    __table_args__ = (
        CheckConstraint(_in("status", ACTION_POINT_STATUSES), name="status"),
        CheckConstraint("(status = 'done') = (done_at IS NOT NULL)", name="done_when_done"),
        Index("ix_action_points_status_due_on", "status", "due_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    due_on: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    done_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    done_at: Mapped[dt.datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Raised when the owner changes: the new owner's mail has a key of its own (an owner given it back mails again).
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    # The reminder slots used ("d3:2026-05-01", "d0:2026-05-04"): named by the due day, so a new day has its own.
    reminder_slots: Mapped[list[Any]] = mapped_column(default=list)

    owner: Mapped[Membership] = relationship()


class ActionLink(Base):
    """A personal link for an action point's owner to mark it done, minted at delivery like a meeting's
    (MeetingLink): only its hash is kept; it works until revoked (the owner changed), its owner left the network, or
    30 days after the point was done."""

    __tablename__ = "action_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    action_point_id: Mapped[int] = mapped_column(ForeignKey("action_points.id"), index=True)
    # The owner it was made for: a link of an earlier owner opens nothing.
    owner_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    first_used_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    action_point: Mapped[ActionPoint] = relationship()
    owner: Mapped[Membership] = relationship()
