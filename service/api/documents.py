"""API: documents, their versions in every form, redlines, finalising, and a document's audit events."""

from __future__ import annotations

from flask import Response, render_template
from flask_babel import force_locale
from sqlalchemy import select

from service.api import schemas as s
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.helpers import check_network, conditional, load, page
from service.api.problems import caller_locale
from service.api.registry import operation
from service.web import db
from service.web.final_files import dossier_file, final_file
from service.web.rendering import download, redline_css
from storage.database.models import AuditEvent, Blob, Document, Finalisation, Network, Round, Version
from workflows.domain import comments, decisions, documents, exports, finalising, people
from workflows.domain import versions as version_list
from workflows.errors import InvalidInput, NotFound

TAG_DOCUMENTS = "Documents"
TAG_VERSIONS = "Versions"
COORDINATOR = ("coordinator",)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BINARY = {"type": "string", "format": "binary"}


def version_out(version: Version, authors: dict[int, str] | None = None) -> s.VersionOut:
    """The version with its author by the name the caller's network knows them by; `authors` (person id -> that
    name): when the caller has them."""
    if authors is None:
        authors = people.names_in_network(db.session(), caller().network_id, [version.author_id])
    return s.VersionOut(**{name: getattr(version, name) for name in s.VersionOut.model_fields if name != "author"},
                        author=s.PersonOut.known_as(version.author, authors.get(version.author_id, "")))


def document_out(document: Document) -> s.DocumentOut:
    session = db.session()
    latest = version_list.latest_version(session, document.id)
    open_round = session.scalar(select(Round.id).where(Round.document_id == document.id, Round.status == "open"))
    out = s.DocumentOut.model_validate(document)
    out.latest_version = version_out(latest) if latest else None
    out.open_round_id = open_round
    out.effective_decision_rule = decisions.rule_of(document)
    if document.status == "final":
        out.finalisation = s.FinalisationOut.model_validate(
            session.scalar(select(Finalisation).where(Finalisation.document_id == document.id)))
    return out


@operation(bp, "GET", "/networks/{network_id}/documents", summary="The network's documents", tag=TAG_DOCUMENTS,
           query=s.PageQuery, response=s.DocumentPage, paginated=True)
def list_documents(network_id: int, query: s.PageQuery):
    check_network(network_id)
    statement = select(Document).where(Document.network_id == network_id)
    return page(statement, Document.id, query, document_out, s.DocumentPage)


@operation(bp, "POST", "/networks/{network_id}/documents", summary="Create a document (a draft without "
           "versions)", tag=TAG_DOCUMENTS, body=s.DocumentIn, response=s.DocumentOut, status=201, errors=(400,),
           idempotent=True)
def create_document(network_id: int, body: s.DocumentIn):
    check_network(network_id)
    network = db.session().get(Network, network_id)
    document = documents.create_document(db.session(), network, kind=body.kind, title=body.title,
                                         actor=caller().person)
    return document_out(document)


@operation(bp, "GET", "/documents/{document_id}", summary="A document with its newest version and open round",
           tag=TAG_DOCUMENTS, response=s.DocumentOut)
def get_document(document_id: int):
    return document_out(load(Document, document_id))


@operation(bp, "GET", "/documents/{document_id}/standings", summary="Where every current voter stands on the "
           "newest version", tag=TAG_DOCUMENTS, response=s.Standings)
def get_standings(document_id: int):
    document = load(Document, document_id)
    latest = version_list.latest_version(db.session(), document.id)
    found = finalising.parties(db.session(), document, latest) if latest else []
    rule = decisions.rule_for_version(db.session(), document, latest) if latest else decisions.rule_of(document)
    return s.Standings(
        version_id=latest.id if latest else None, decision_rule=rule,
        unanimous=bool(found) and all(x.approves for x in found),
        standings=[s.Standing(
            kind="organisation" if x.is_organisation else "person",
            membership_id=x.membership.id if x.membership else None,
            person_id=x.membership.person_id if x.membership else None,
            organisation_id=x.organisation.id if x.organisation else None, name=x.name,
            organisation=x.organisation_name or None, state=x.state, verdict_id=x.verdict.id if x.verdict else None,
            given_by=x.verdict.person_name if x.verdict and x.is_organisation else None) for x in found])


@operation(bp, "PUT", "/documents/{document_id}/decision-rule", summary="Set the document's own decision rule "
           "(null: the network's); only before its first round", tag=TAG_DOCUMENTS, roles=COORDINATOR,
           body=s.DocumentRuleIn, response=s.DocumentOut, errors=(400, 409),
           description="A 409 problem with code `decision_rule_round_open` or `decision_rule_after_first_round` "
                       "when the document has (had) a round.")
def set_document_rule(document_id: int, body: s.DocumentRuleIn):
    document = load(Document, document_id)
    decisions.set_document_rule(db.session(), document, body.rule, actor=caller().person)
    return document_out(document)


@operation(bp, "POST", "/documents/{document_id}/finalise", summary="Make the document final on a version "
           "everyone agreed to", tag=TAG_DOCUMENTS, roles=COORDINATOR, body=s.FinaliseIn,
           response=s.FinalisationOut, errors=(400, 409), idempotent=True,
           description="A 409 problem with code `not_unanimous` lists in `missing` who has not said akkoord.")
def finalise(document_id: int, body: s.FinaliseIn):
    document = load(Document, document_id)
    version = db.session().get(Version, body.version_id)
    if version is None or version.document_id != document.id:
        raise InvalidInput("wrong_document")
    done = finalising.finalise_document(db.session(), document, version, actor=caller().person)
    return s.FinalisationOut.model_validate(done)


def _final(document_id: int) -> Document:
    document = load(Document, document_id)
    if document.status != "final":
        raise NotFound("not_final")
    return document


FINAL_FILES = ("In Dutch, the network's official document: exactly the bytes mailed to everyone, whose sha256 is "
               "`docx_sha256` / `pdf_sha256` in the finalisation and in the `final_files_made` audit event.")


@operation(bp, "GET", "/documents/{document_id}/final.docx", summary="The final version with its approval annex "
           "(.docx)", tag=TAG_DOCUMENTS, media={DOCX: BINARY}, description=FINAL_FILES)
def final_docx(document_id: int):
    return final_file(_final(document_id), "docx")


@operation(bp, "GET", "/documents/{document_id}/final.pdf", summary="The final version with its approval annex "
           "(PDF)", tag=TAG_DOCUMENTS, media={"application/pdf": BINARY}, description=FINAL_FILES)
def final_pdf(document_id: int):
    return final_file(_final(document_id), "pdf")


@operation(bp, "GET", "/documents/{document_id}/dossier.json", summary="The final document's evidence dossier "
           "(JSON)", tag=TAG_DOCUMENTS, media={"application/json": {"type": "object"}},
           description="Per round, organisation and person: invited, delivered, opened, the verdicts (for which "
                       "organisation, on whose behalf) with their evidence, and the comments with disposition and "
                       "answer. Made once; canonical JSON (sorted keys, no spaces, UTF-8) whose sha256 is "
                       "`dossier_json_sha256` in the finalisation and in the `dossier_made` audit event; "
                       "`flask verify-dossier` checks it against the audit trail.")
def dossier_json(document_id: int):
    return dossier_file(_final(document_id), "json")


@operation(bp, "GET", "/documents/{document_id}/events", summary="The document's audit events (hash-chained)",
           tag=TAG_DOCUMENTS, query=s.PageQuery, response=s.EventPage, paginated=True)
def list_events(document_id: int, query: s.PageQuery):
    load(Document, document_id)
    statement = select(AuditEvent).where(AuditEvent.document_id == document_id)
    return page(statement, AuditEvent.id, query, s.EventOut.model_validate, s.EventPage)


# Versions ------------------------------------------------------------------------------------------------

@operation(bp, "GET", "/documents/{document_id}/versions", summary="The document's versions", tag=TAG_VERSIONS,
           query=s.PageQuery, response=s.VersionPage, paginated=True)
def list_versions(document_id: int, query: s.PageQuery):
    load(Document, document_id)
    statement = select(Version).where(Version.document_id == document_id)
    authors = people.names_in_network(db.session(), caller().network_id, db.session().scalars(
        select(Version.author_id).where(Version.document_id == document_id).distinct()))
    return page(statement, Version.id, query, lambda version: version_out(version, authors), s.VersionPage)


@operation(bp, "POST", "/documents/{document_id}/versions", summary="Upload a new version (.docx, .md or .txt); "
           "an open round on an older version is superseded", tag=TAG_VERSIONS, form=s.VersionUploadForm,
           files=("file",), response=s.VersionDetail, status=201, errors=(400, 409, 413), idempotent=True,
           description="A refused file is a 400 problem whose code says why (corrupt, wrong_type, macro, ...); "
                       "an unknown comment number in `addresses` is a 400 problem too, before the file is read.")
def upload_version(document_id: int, form: s.VersionUploadForm, files: dict):
    document = load(Document, document_id)
    session = db.session()
    last_round = comments.last_round(session, document.id)
    addresses = comments.chosen_comments(session, last_round, numbers=form.addresses,
                                         taken_over=form.taken_over) if last_round else []
    upload = files["file"]
    filename = (upload.filename or "upload").replace("\x00", "")
    version = documents.upload_version(session, document, filename=filename, data=upload.read(),
                                       change_note=form.change_note, actor=caller().person, addresses=addresses)
    return version_detail(version)


def version_detail(version: Version) -> s.VersionDetail:
    addressed = comments.addressed_by(db.session(), version.id)
    return s.VersionDetail(**dict(version_out(version)), addresses=[
        s.AddressedComment(comment_id=a.comment.id, round_number=a.round_number, number=a.number, person_name=a.name)
        for a in addressed])


@operation(bp, "GET", "/versions/{version_id}", summary="A version's metadata and the comments it addresses",
           tag=TAG_VERSIONS, response=s.VersionDetail)
def get_version(version_id: int):
    return version_detail(load(Version, version_id))


def blocks_response(version: Version):
    body = s.Blocks(version_id=version.id, content_hash=version.content_hash, blocks=version.blocks)
    return conditional(body.model_dump_json, version.content_hash, "application/json")


def text_response(version: Version):
    return conditional(lambda: exports.version_text(version), f"{version.content_hash}.txt", "text/plain")


@operation(bp, "GET", "/versions/{version_id}/blocks", summary="A version's text as structured blocks",
           tag=TAG_VERSIONS, response=s.Blocks, etag=True)
def version_blocks(version_id: int):
    return blocks_response(load(Version, version_id))


@operation(bp, "GET", "/versions/{version_id}/text", summary="A version as plain text", tag=TAG_VERSIONS,
           media={"text/plain": {"type": "string"}}, etag=True)
def version_text(version_id: int):
    return text_response(load(Version, version_id))


@operation(bp, "GET", "/versions/{version_id}/docx", summary="A version as a Word document", tag=TAG_VERSIONS,
           media={DOCX: BINARY}, etag=True)
def version_docx(version_id: int):
    version = load(Version, version_id)
    filename = exports.safe_filename(f"{version.document.title} v{version.number}", ".docx")
    return conditional(lambda: exports.version_docx(db.session(), version)[1], f"{version.content_hash}.docx", DOCX,
                       filename)


@operation(bp, "GET", "/versions/{version_id}/pdf", summary="A version as PDF", tag=TAG_VERSIONS,
           media={"application/pdf": BINARY}, etag=True)
def version_pdf(version_id: int):
    version = load(Version, version_id)
    locale = caller_locale()
    filename = exports.safe_filename(f"{version.document.title} v{version.number}", ".pdf")
    return conditional(lambda: exports.version_pdf(db.session(), version, locale)[1],
                       f"{version.content_hash}.{locale}.pdf", "application/pdf", filename)


@operation(bp, "GET", "/versions/{version_id}/original", summary="The file as it was uploaded", tag=TAG_VERSIONS,
           media={"application/octet-stream": BINARY})
def version_original(version_id: int):
    version = load(Version, version_id)
    blob = db.session().get(Blob, version.original_sha256)
    return download(blob.data, "application/octet-stream", version.original_filename)


def _redline_versions(document_id: int, query: s.RedlineQuery) -> tuple[Document, Version, Version]:
    document = load(Document, document_id)
    versions = version_list.versions_of(db.session(), document.id)
    old, new = exports.compared(versions, query.old, query.new)
    return document, old, new


@operation(bp, "GET", "/documents/{document_id}/redline", summary="What changed between two versions (JSON)",
           tag=TAG_VERSIONS, query=s.RedlineQuery, response=s.RedlineOut, errors=(400,))
def redline_json(document_id: int, query: s.RedlineQuery):
    _document, old, new = _redline_versions(document_id, query)
    return redline_out(old, new)


def redline_out(old: Version, new: Version) -> s.RedlineOut:
    result = exports.redline_of(old, new)
    return s.RedlineOut(
        old_version_id=old.id, new_version_id=new.id, inserted_words=result.inserted_words,
        deleted_words=result.deleted_words, changed_blocks=result.changed_blocks,
        inserted_blocks=result.inserted_blocks, deleted_blocks=result.deleted_blocks,
        rows=[s.RedlineRow(status=r.status, type=r.type, level=r.level, label=r.label, old_id=r.old_id,
                           new_id=r.new_id, segments=list(r.segments)) for r in result.rows])


@operation(bp, "GET", "/documents/{document_id}/redline.html", summary="What changed between two versions (an "
           "HTML fragment)", tag=TAG_VERSIONS, query=s.RedlineQuery, media={"text/html": {"type": "string"}},
           errors=(400,))
def redline_html(document_id: int, query: s.RedlineQuery):

    _document, old, new = _redline_versions(document_id, query)
    with force_locale(caller_locale()):
        html = render_template("api/redline.html", redline=exports.redline_of(old, new), old=old, new=new,
                               redline_css=redline_css())
    return Response(html, mimetype="text/html")


@operation(bp, "GET", "/documents/{document_id}/redline.docx", summary="What changed between two versions, as "
           "Word tracked changes", tag=TAG_VERSIONS, query=s.RedlineQuery, media={DOCX: BINARY}, errors=(400,))
def redline_docx(document_id: int, query: s.RedlineQuery):
    document, old, new = _redline_versions(document_id, query)
    data = exports.redline_docx(old.blocks, new.blocks, author="Akkoord", date=new.created_at,
                                       title=f"{document.title}: v{old.number} → v{new.number}")
    return download(data, DOCX, exports.safe_filename(f"{document.title} v{old.number}-v{new.number}", ".docx"))
