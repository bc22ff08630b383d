"""final_pdf: the final version with an annex naming every voter, their organisation and verdict, and the hash."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from storage.database.models import Participant
from tests.factories import make_document, make_network, open_round
from workflows.domain import finalising, rounds
from workflows.domain.exports import final_pdf
from workflows.domain.people import active_members


def squeeze(text: str) -> str:
    return "".join(text.split())


def test_final_pdf_lists_every_voter_with_organisation_verdict_and_the_content_hash(db):
    network, coordinator, people = make_network(db, members=3, observers=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    remarks_from = people[1].person_id
    for participant in db.scalars(select(Participant).where(Participant.round_id == round_.id)):
        if participant.can_vote:
            value = "akkoord_met_opmerkingen" if participant.person_id == remarks_from else "akkoord"
            rounds.record_verdict(db, participant, value=value, reason="kleine punten" if value != "akkoord" else "",
                                  evidence=rounds.Evidence())
    finalising.finalise_document(db, document, version, actor=coordinator)

    db.commit()  # the annex reads the approvals from the audit chain
    filename, data = final_pdf(db, document)

    assert filename.endswith("_definitief.pdf") and data.startswith(b"%PDF-")
    texts = [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    assert all(version.content_hash in text for text in texts), "the content hash is on every page"
    body = squeeze("".join(texts))
    annex_at = body.find(squeeze("Bijlage: instemming van de leden"))
    assert annex_at > body.find(squeeze("Dit document wordt definitief zodra iedereen akkoord is.")) > 0
    annex = body[annex_at:]
    assert squeeze("Naam Organisatie Oordeel Datum Ronde") in annex
    assert squeeze(f"Hash van de inhoud (SHA-256): {version.content_hash}") in annex
    voters = [m for m in active_members(db, network.id) if m.can_vote]
    assert len(voters) == 5  # coordinator, editor and three members
    for voter in voters:
        organisation = voter.organisation.name if voter.organisation else ""
        verdict = "akkoord met opmerkingen" if voter.person_id == remarks_from else "akkoord"
        assert squeeze(f"{voter.person.name} {organisation} {verdict}") in annex, voter.person.name
    observer = next(m for m in people if m.role == "observer")
    assert squeeze(observer.person.name) not in annex


def test_final_pdf_speaks_english_when_asked(db):
    network, coordinator, _people = make_network(db, members=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    for participant in db.scalars(select(Participant).where(Participant.round_id == round_.id)):
        if participant.can_vote:
            rounds.record_verdict(db, participant, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, document, version, actor=coordinator)

    db.commit()  # the annex reads the approvals from the audit chain
    _filename, data = final_pdf(db, document, locale="en")

    text = squeeze("".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))
    assert squeeze("Approval annex") in text and squeeze(f"Content hash (SHA-256): {version.content_hash}") in text
