"""Fixtures for the API: two networks with documents, versions, an open round, comments and verdicts, and
tokens for each (a coordinator's and an editor's API token, a member's personal round token)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from storage.database.models import (
    ActionPoint,
    Comment,
    Document,
    MailMessage,
    Meeting,
    Membership,
    Network,
    Organisation,
    Participant,
    Round,
    Substitution,
    Version,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import api_tokens, documents, meetings, minutes, organisations, rounds, substitutes, webhooks

SECOND_TEXT = """# Samenwerkingsovereenkomst

## Artikel 1 Doel

De partijen werken samen aan goede en tijdige zorg voor mensen met een zeldzame aandoening.

## Artikel 2 Taken

- De patiëntenvereniging brengt de ervaringskennis in.
- Het expertisecentrum brengt de medische kennis in.
- De huisartsen verwijzen tijdig.

Dit document wordt definitief zodra iedereen akkoord is.
"""


@dataclass
class World:
    """One network with everything the API can show, and the tokens to reach it."""

    network: Network
    coordinator: object
    members: list[Membership]
    document: Document
    first: Version
    second: Version
    round: Round
    participant: Participant
    comment: Comment
    webhook: Webhook
    delivery: WebhookDelivery
    mail: MailMessage
    coordinator_token: str
    editor_token: str
    member_token: str
    organisation: Organisation  # one without people: the operations on organisations may end it
    substitution: Substitution  # the member's, by the editor of the same organisation, next week
    meeting: Meeting  # in two weeks, with an agenda item; not yet announced
    action_point: ActionPoint  # the member's, given two days ago by a meeting that took place, due in a week

    @property
    def ids(self) -> dict[str, int]:
        """An id of this network's for every path parameter of the API."""
        return {
            "network_id": self.network.id, "organisation_id": self.organisation.id,
            "membership_id": self.members[-1].id, "person_id": self.members[1].person_id,
            "document_id": self.document.id, "version_id": self.second.id, "round_id": self.round.id,
            "participant_id": self.participant.id, "comment_id": self.comment.id, "webhook_id": self.webhook.id,
            "delivery_id": self.delivery.id, "mail_id": self.mail.id, "substitution_id": self.substitution.id,
            "meeting_id": self.meeting.id, "action_point_id": self.action_point.id,
        }


def auth(token: str, **headers) -> dict:
    return {"Authorization": f"Bearer {token}", **headers}


def build_world(db) -> World:
    network, coordinator, people = make_network(db, members=2, observers=1)
    editor = people[0]
    # The organisation the sweeps call with: its leaving takes nobody out (the member's token must keep working).
    organisation = organisations.add_organisation(db, network, name="Apotheek Oost", kind="apotheek", has_vote=True,
                                                  joined_on=None, joined_reference="", actor=coordinator)
    document, first = make_document(db, network, coordinator)
    second = documents.upload_version(db, document, filename="concept2.md", data=SECOND_TEXT.encode(),
                                      change_note="tweede concept", actor=editor.person)
    # Registered before the round opens, so the opening is a delivery in its log.
    webhook, _secret = webhooks.register(db, network.id, url="https://127.0.0.1:9/akkoord", actor=coordinator,
                                         allow_private=True)
    round_ = open_round(db, document, coordinator)
    db.commit()  # the round's webhook delivery is written as its transaction commits
    delivery = db.scalar(select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id))
    mail = db.scalar(select(MailMessage).where(MailMessage.round_id == round_.id, MailMessage.email == "invitation")
                     .order_by(MailMessage.id).limit(1))
    member = participant(db, round_, people[1])
    comment = rounds.add_comment(db, member, body="Graag ook de apothekers noemen.", block_id=second.blocks[2]["id"])
    rounds.record_verdict(db, member, value="akkoord_met_opmerkingen", reason="", evidence=rounds.Evidence())
    member_token = rounds.mint_link(db, member.id)
    next_week = utcnow() + dt.timedelta(days=7)
    substitution = substitutes.name_substitute(db, people[1], editor.id, starts_at=next_week,
                                               ends_at=next_week + dt.timedelta(days=2), actor=people[1].person)
    _t, coordinator_token = api_tokens.create_token(db, network, coordinator, role="coordinator", name="script")
    _t, editor_token = api_tokens.create_token(db, network, editor.person, role="editor", name="export")
    meeting, action_point = make_meetings(db, network, coordinator, people)
    db.commit()
    return World(network=network, coordinator=coordinator, members=people, document=document, first=first,
                 second=second, round=round_, participant=member, comment=comment, webhook=webhook, delivery=delivery,
                 mail=mail, coordinator_token=coordinator_token, editor_token=editor_token, member_token=member_token,
                 organisation=organisation, substitution=substitution, meeting=meeting, action_point=action_point)


def make_meetings(db, network, coordinator, people) -> tuple[Meeting, ActionPoint]:
    """A meeting to come (not yet announced) and an action point of one that took place two days ago."""
    now = utcnow()
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Netwerkbijeenkomst", starts_at=now + dt.timedelta(days=14), duration_minutes=150, place="Utrecht",
        chair_id=people[0].id), actor=coordinator)
    meetings.add_agenda_item(db, meeting, title="Kennismaking", minutes=30, actor=coordinator)
    held = meetings.plan_meeting(db, network, meetings.Plan(
        title="Startbijeenkomst", starts_at=now - dt.timedelta(days=2), duration_minutes=150, place="Utrecht"),
        actor=coordinator, now=now - dt.timedelta(days=30))
    action_point = minutes.add_action_point(db, held, minutes.ActionInput(
        text="Apothekers benaderen", owner_id=people[1].id, due_on=minutes.today(now) + dt.timedelta(days=7)),
        actor=coordinator, now=now)
    return meeting, action_point


@pytest.fixture
def world(app, db) -> World:
    return build_world(db)


@pytest.fixture
def other(app, db) -> World:
    return build_world(db)
