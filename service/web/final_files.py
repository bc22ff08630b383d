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
    coordinator never waits for a worker; whoever stores first wins and the other's bytes are dropped."""
    session = db.session()
    stored = exports.stored_final_file(session, document, kind)
    if stored is None:
        # Made in the request's reading transaction and stored in a short one of its own, as the job does:
        # a 200-page PDF takes seconds, and no write lock is held meanwhile. Its commit releases the held mails.
        files = exports.final_files(session, document.id)

        def store(writing):
            finalising.store_final_files(writing, document.id, files)
            return exports.stored_final_file(writing, document, kind)

        stored = run_transaction(current_app.extensions["akkoord_sessions"], store)
    filename, content_type, data = stored
    return download(data, content_type, filename)


def dossier_file(document: Document, kind: str) -> Response:
    """The stored evidence dossier ("json" | "pdf"). Not made yet: made here as the job makes it (read in the
    request's transaction, stored in a short one of its own); whoever stores first wins."""
    session = db.session()
    stored = dossier.stored_dossier(session, document, kind)
    if stored is None:
        files = dossier.build_dossier(session, document.id)

        def store(writing):
            dossier.store_dossier(writing, document.id, files)
            return dossier.stored_dossier(writing, document, kind)

        stored = run_transaction(current_app.extensions["akkoord_sessions"], store)
    filename, content_type, data = stored
    return download(data, content_type, filename)
