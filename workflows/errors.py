"""Domain errors: each says what rule was broken; service/ turns the code into a message and a status."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the action; nothing was changed. `code` names the message, `params` fill it."""

    status = 400
    code = "invalid"

    def __init__(self, code: str | None = None, **params):
        self.code = code or self.code
        self.params = params
        super().__init__(f"{self.code} {params}" if params else self.code)


class InvalidInput(DomainError):
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class NotAllowed(DomainError):
    status = 403
    code = "not_allowed"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class RoundClosed(Conflict):
    code = "round_closed"


class StaleVersion(Conflict):
    code = "stale_version"


class AlreadyFinal(Conflict):
    code = "already_final"


class NotUnanimous(Conflict):
    """`missing` lists (name, organisation, state) of every voter without akkoord on the version."""

    code = "not_unanimous"


class LinkInvalid(DomainError):
    status = 410
    code = "link_invalid"


class UploadRefused(InvalidInput):
    code = "upload_refused"


class CsvRejected(InvalidInput):
    """`problems` lists (line number, code, value) for every bad row; nothing was imported."""

    code = "csv_rejected"
