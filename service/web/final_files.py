"""Downloads of a final document's .docx and PDF, and of its evidence dossier: exactly the bytes stored when they
were made (and mailed)."""

from __future__ import annotations

from flask import Response, current_app

from service.web import db
from service.web.rendering import download
from storage.database.engine import run_transaction
from storage.database.models import Document
from workflows.domain import dossier, exports, finalising


def final_file(document: Document, kind: str) -> Response:
    """The stored final .docx or PDF ("docx" | "pdf"), in Dutch for everyone: the network's official document.
    Not made yet (the job after the finalisation has not run): made here, the way the job makes them, so a
    coordinator never waits for a worker. Its commit releases the held final mails."""
    return _made_once(lambda session: exports.stored_final_file(session, document, kind),
                      lambda session: exports.final_files(session, document.id),
                      lambda writing, files: finalising.store_final_files(writing, document.id, files))


def dossier_file(document: Document, kind: str) -> Response:
    """The stored evidence dossier ("json" | "pdf"). Not made yet: made here as the job makes it."""
    return _made_once(lambda session: dossier.stored_dossier(session, document, kind),
                      lambda session: dossier.build_dossier(session, document.id),
                      lambda writing, files: dossier.store_dossier(writing, document.id, files))


def _made_once(stored, build, store) -> Response:
    """The stored bytes; if none yet, built in the request's reading transaction and stored in a short one of its
    own, as the job does (a 200-page PDF takes seconds, and no write lock is held meanwhile). Whoever stores
    first wins and the other's bytes are dropped, so every download and mail serves the same bytes."""
    session = db.session()
    found = stored(session)
    if found is None:
        files = build(session)

        def write(writing):
            store(writing, files)
            return stored(writing)

        found = run_transaction(current_app.extensions["akkoord_sessions"], write)
    filename, content_type, data = found
    return download(data, content_type, filename)
