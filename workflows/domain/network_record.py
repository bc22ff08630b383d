"""The network's own record, as the handbooks ask: its purpose (doel), target group (doelgroep) and privacy
statement, its kerngroep or bestuur (which members, from which organisation, for which discipline), and the checks
that warn — never block — when that board is not composed as the handbooks say."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import BOARD_KINDS, Membership, Network, Person
from workflows import audit
from workflows.domain import inputs
from workflows.errors import Conflict, InvalidInput

LIMITS = {"purpose": 5000, "target_group": 5000, "privacy_statement": 20000}
DISCIPLINE_LIMIT = 100
# A cluster's bestuur has at least this many people (the handbook of the huisartsenclusters).
BOARD_MINIMUM = 4


def update_record(session: Session, network: Network, *, purpose: str, target_group: str, privacy_statement: str,
                  board_kind: str | None, actor: Person) -> Network:
    """Purpose, target group and privacy statement, as typed (each may span lines), and what its board is
    (BOARD_KINDS, or None: not said); audited with what changed."""
    values = {"purpose": purpose, "target_group": target_group, "privacy_statement": privacy_statement}
    for name, value in values.items():
        values[name] = inputs.text(value or "", name)
        if len(values[name]) > LIMITS[name]:
            raise InvalidInput("too_long", limit=LIMITS[name])
    if board_kind is not None and board_kind not in BOARD_KINDS:
        raise InvalidInput("invalid")
    values["board_kind"] = board_kind
    network = lock(session, Network, network.id)
    changed = {name: value for name, value in values.items() if getattr(network, name) != value}
    for name, value in changed.items():
        setattr(network, name, value)
    session.flush()
    if changed:
        audit.record(session, network.id, "network_record_changed", actor_id=actor.id, **changed)
    return network


def set_board(session: Session, member: Membership, *, board: bool, discipline: str, actor: Person) -> Membership:
    """Put a member in (or out of) the kerngroep/bestuur, for a discipline (huisarts, apotheker, ...)."""
    discipline = inputs.single_line(discipline or "", "discipline")
    if len(discipline) > DISCIPLINE_LIMIT:
        raise InvalidInput("too_long", limit=DISCIPLINE_LIMIT)
    if member.left_at is not None:
        raise Conflict("already_left")
    before = {"board": member.board, "discipline": member.discipline}
    member.board, member.discipline = board, discipline if board else member.discipline
    session.flush()
    audit.record(session, member.network_id, "board_changed", actor_id=actor.id, membership_id=member.id,
                 person_id=member.person_id, before=before,
                 after={"board": member.board, "discipline": member.discipline})
    return member


def board_members(session: Session, network_id: int) -> list[Membership]:
    return list(session.scalars(select(Membership).where(
        Membership.network_id == network_id, Membership.left_at.is_(None), Membership.board.is_(True))
        .order_by(Membership.name, Membership.id)))


@dataclass(frozen=True)
class Warning:
    """A check the handbooks ask for that the record does not meet: `code` names the sentence, `params` fill it."""

    code: str
    params: dict


def warnings(session: Session, network_id: int) -> list[Warning]:
    """What the handbooks ask of a kerngroep or bestuur that this one does not have. Only ever shown: the network
    decides for itself. A kerngroep (a zorgnetwerk's) is asked for a patiëntenorganisatie and an expertisecentrum,
    a bestuur (a cluster's) for four people and its disciplines equally represented; a network that has not said
    which it has is asked for all of it."""
    board = board_members(session, network_id)
    if not board:
        return [Warning("no_board", {})]
    board_kind = session.scalar(select(Network.board_kind).where(Network.id == network_id))
    kerngroep, bestuur = board_kind in (None, "kerngroep"), board_kind in (None, "bestuur")
    found: list[Warning] = []
    kinds = {m.organisation.kind for m in board if m.organisation is not None and m.organisation.left_at is None}
    if kerngroep and "patientenorganisatie" not in kinds:
        found.append(Warning("no_patient_organisation", {}))
    if kerngroep and "expertisecentrum" not in kinds:
        found.append(Warning("no_expertise_centre", {}))
    if bestuur and len(board) < BOARD_MINIMUM:
        found.append(Warning("board_too_small", {"count": len(board), "minimum": BOARD_MINIMUM}))
    without = [m.name for m in board if not m.discipline.strip()]
    if without:
        found.append(Warning("discipline_missing", {"names": ", ".join(without)}))
    counts: dict[str, int] = {}
    for m in board:
        if m.discipline.strip():
            key = m.discipline.strip().lower()
            counts[key] = counts.get(key, 0) + 1
    if bestuur and len(set(counts.values())) > 1:
        found.append(Warning("disciplines_unequal", {
            "counts": ", ".join(f"{discipline} {count}" for discipline, count in sorted(counts.items()))}))
    return found
