"""A member's returned Word file: compared with the round's version, kept as evidence, and what the member chooses
of it submitted as proposals and comments in one step (or discarded)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.blocks import APART_TYPES, block_text
from storage.database.engine import lock
from storage.database.models import Comment, Participant, ReturnedFile, Round, Version, utcnow
from storage.formats import importing
from storage.formats.isolated_import import import_upload_isolated
from workflows import audit
from workflows.domain import rounds
from workflows.domain.exports import store_blob
from workflows.domain.member_copies import is_draft_notice
from workflows.domain.versions import versions_of
from workflows.domain.wording import translator
from workflows.errors import Conflict, InvalidInput, NotFound, RoundClosed, UploadRefused
from workflows.text.returned import NEW_PASSAGE, REMOVED_PASSAGE, REPLACED_PASSAGE, TEXT, TEXT_TYPES, compare_returned

# The comments a returned file produces are worded in the network's language: Dutch.
LOCALE = "nl"
# Extensions the importer refuses with a reason of its own (macros, templates); any other is not a Word document.
WORD_EXTENSIONS = ("docx", "docm", "dotm", "dotx")
# A new passage quoted in a comment's body is cut here, so the body stays within a comment's limit.
QUOTED_LENGTH = 9_000


def upload_returned(session: Session, participant: Participant, *, filename: str, data: bytes,
                    now: dt.datetime) -> ReturnedFile:
    """Read the member's edited copy of the round's version and keep it with what it changes and its Word comments.
    Refused, with nothing kept: another format, a file the importer refuses, a copy of an older version or of
    another document, and a file that changes nothing."""
    extension = filename.replace("\\", "/").rsplit("/", 1)[-1].rpartition(".")[2].lower() if "." in filename else ""
    if extension not in WORD_EXTENSIONS:
        raise UploadRefused("returned_docx_only")
    if not participant.round.is_open:  # before the file is read: a closed round costs no import
        raise RoundClosed()
    try:  # in a child process with a deadline, as every upload: a hostile file costs a refusal
        imported = import_upload_isolated(filename, data)
    except importing.ImportRefused as refused:
        raise UploadRefused(refused.code, **refused.params) from None
    blocks, word_comments = _without_draft_notice(imported.blocks, imported.word_comments)
    round_ = rounds.lock_open_round(session, participant)
    version = session.get(Version, round_.version_id)
    comparison = compare_returned(version.blocks, blocks, word_comments)
    if comparison.changes or not comparison.based_on:
        # A copy of an older version keeps more of that version than of this one (which it would seem to revert).
        older = _closer_version(session, version, comparison.unchanged if comparison.based_on else -1,
                                blocks)
        if older is not None:
            raise InvalidInput("returned_older_version", number=older.number)
        if not comparison.based_on:
            raise InvalidInput("returned_other_document")
    comments = [c for c in comparison.comments if c.text.strip()]
    if not comparison.changes and not comments:
        raise InvalidInput("returned_unchanged")
    items = [dataclasses.asdict(change) for change in comparison.changes] + \
        [dataclasses.asdict(comment) for comment in comments]
    for number, item in enumerate(items, start=1):
        item["number"] = number
    changes, found_comments = items[:len(comparison.changes)], items[len(comparison.changes):]
    returned = ReturnedFile(
        round_id=round_.id, participant_id=participant.id, person_id=participant.person_id, version_id=version.id,
        filename=(filename.replace("\\", "/").rsplit("/", 1)[-1] or "upload.docx")[:255],
        sha256=store_blob(session, data), found={"changes": changes, "comments": found_comments}, created_at=now)
    session.add(returned)
    session.flush()
    rounds.note_opened(session, participant, now=now)
    audit.record(session, round_.document.network_id, "returned_file_uploaded", actor_id=participant.person_id,
                 document_id=round_.document_id, round_id=round_.id, returned_file_id=returned.id,
                 sha256=returned.sha256, filename=returned.filename, changes=len(changes),
                 word_comments=len(found_comments))
    return returned


def items(returned: ReturnedFile) -> list[dict]:
    """What the comparison found, in its numbered order: the changes, then the Word comments."""
    return [*returned.found.get("changes", []), *returned.found.get("comments", [])]


def returned_files_of(session: Session, participant: Participant) -> list[ReturnedFile]:
    return list(session.scalars(select(ReturnedFile).where(ReturnedFile.participant_id == participant.id)
                                .order_by(ReturnedFile.id.desc())))


def get_returned(session: Session, participant: Participant, returned_file_id: int) -> ReturnedFile:
    """The participant's own returned file; another's is not found."""
    returned = session.get(ReturnedFile, returned_file_id)
    if returned is None or returned.participant_id != participant.id:
        raise NotFound()
    return returned


def submit_returned(session: Session, participant: Participant, returned: ReturnedFile, *,
                    chosen: set[int]) -> list[Comment]:
    """The chosen items as the member's proposals and comments, each pointing at the file: a changed stretch of a
    passage a proposal of its new wording, a removed passage a proposal to remove it, a new or replaced passage
    (a table, a picture) a comment quoting the new text, a Word comment a comment on its passage."""
    round_, returned = _lock_pending(session, participant, returned)
    numbers = {item["number"] for item in items(returned)}
    if not chosen:
        raise InvalidInput("returned_nothing_chosen")
    if not chosen <= numbers:
        raise InvalidInput("returned_unknown_item")
    version = session.get(Version, returned.version_id)
    blocks = {block["id"]: block for block in version.blocks if "id" in block}
    made = []
    for item in items(returned):
        if item["number"] in chosen:
            comment = _comment_for(session, participant, item, blocks)
            comment.returned_file_id = returned.id
            made.append(comment)
    returned.submitted_at = utcnow()
    session.flush()
    audit.record(session, round_.document.network_id, "returned_file_submitted", actor_id=participant.person_id,
                 document_id=round_.document_id, round_id=round_.id, returned_file_id=returned.id,
                 comment_ids=[comment.id for comment in made])
    return made


def discard_returned(session: Session, participant: Participant, returned: ReturnedFile) -> None:
    """Nothing of the file is submitted; the file stays, as the record that it was sent."""
    round_, returned = _lock_pending(session, participant, returned)
    returned.discarded_at = utcnow()
    audit.record(session, round_.document.network_id, "returned_file_discarded", actor_id=participant.person_id,
                 document_id=round_.document_id, round_id=round_.id, returned_file_id=returned.id)



def _lock_pending(session: Session, participant: Participant, returned: ReturnedFile
                  ) -> tuple[Round, ReturnedFile]:
    """The round, then the file (the lock order: round before what is in it); refused once it was submitted or
    discarded, also by a second press of the button that raced the first."""
    if returned.participant_id != participant.id:
        raise NotFound()
    round_ = rounds.lock_open_round(session, participant)
    returned = lock(session, ReturnedFile, returned.id)
    if returned.submitted_at is not None:
        raise Conflict("returned_already_submitted")
    if returned.discarded_at is not None:
        raise Conflict("returned_discarded")
    return round_, returned


def _without_draft_notice(blocks: list[dict], word_comments: list[dict]) -> tuple[list[dict], list[dict]]:
    """The file without the draft notice the member's copy opens with (member_copies.draft_docx): Akkoord wrote
    it, not the member. Word comments point into the blocks by index, so theirs move up with them."""
    first = next((index for index, block in enumerate(blocks) if block["type"] not in APART_TYPES), None)
    if first is None or blocks[first]["type"] != "paragraph" or not is_draft_notice(block_text(blocks[first])):
        return blocks, word_comments
    moved = []
    for comment in word_comments:
        index = comment.get("block_index")
        if index is not None and index >= first:
            comment = {**comment, "block_index": None if index == first else index - 1}
        moved.append(comment)
    return blocks[:first] + blocks[first + 1:], moved


def _closer_version(session: Session, version: Version, unchanged: int, blocks: list[dict]) -> Version | None:
    """The document's other version the file keeps more passages of, as they are, than `unchanged`; None: none."""
    best, best_unchanged = None, unchanged
    for other in versions_of(session, version.document_id):
        if other.id == version.id:
            continue
        comparison = compare_returned(other.blocks, blocks)
        if comparison.based_on and comparison.unchanged > best_unchanged:
            best, best_unchanged = other, comparison.unchanged
    return best


def _comment_for(session: Session, participant: Participant, item: dict, blocks: dict[str, dict]) -> Comment:
    _ = translator(LOCALE)
    kind = item.get("kind")
    block_id = item.get("block_id")
    block = blocks.get(block_id) if block_id else None
    if kind is None:  # a Word comment, on its passage (or general when it is on none of the version's)
        return rounds.add_comment(session, participant, body=_cut(item["text"]),
                                  block_id=block_id if block is not None else None)
    if kind == TEXT and block is not None:
        passage = block_text(block)
        start, end, text = _whole_ends(passage, item["start"], item["end"], item["text"])
        return _proposal(session, participant, block_id, start, end, passage[start:end], text, item)
    if kind == REMOVED_PASSAGE and block is not None and block["type"] in TEXT_TYPES:
        return _proposal(session, participant, block_id, None, None, "", "", item)
    if kind == NEW_PASSAGE:
        body = _("Add a new passage after this one: “%(text)s”", text=_cut(item["text"])) if block is not None else \
            _("Add a new passage at the beginning: “%(text)s”", text=_cut(item["text"]))
        return rounds.add_comment(session, participant, body=body, block_id=block_id if block is not None else None)
    if kind == REPLACED_PASSAGE and block is not None:
        return rounds.add_comment(session, participant, block_id=block_id,
                                  body=_("Change this into: “%(text)s”", text=_cut(item["text"])))
    return rounds.add_comment(session, participant, block_id=block_id if block is not None else None,
                              body=_("Remove this passage."))


def _proposal(session: Session, participant: Participant, block_id: str, start: int | None, end: int | None,
              selected: str, text: str, item: dict) -> Comment:
    """A proposal of the new wording; where it cannot be one (too long, a character a proposal may not hold), a
    comment on the passage that quotes it."""
    try:  # add_comment refuses before it changes anything, so a refusal here leaves nothing to undo
        return rounds.add_comment(session, participant, body="", block_id=block_id, start=start, end=end,
                                  selected=selected, proposed_text=text)
    except InvalidInput:
        pass
    _ = translator(LOCALE)
    body = _("Proposed wording: “%(text)s” instead of “%(old)s”", text=_cut(item["text"]), old=_cut(item["old"]))
    return rounds.add_comment(session, participant, body=body, block_id=block_id)


def _whole_ends(text: str, start: int, end: int, new: str) -> tuple[int, int, str]:
    """The change widened so that what it replaces neither starts nor ends with white space: a selection's ends
    are trimmed of it (workflows.text.anchoring.locate_selection), which would leave a space the member removed."""
    if start == end:
        return start, end, new
    while start > 0 and text[start].isspace():
        start -= 1
        new = text[start] + new
    while end < len(text) and text[end - 1].isspace():
        new += text[end]
        end += 1
    return start, end, new


def _cut(text: str) -> str:
    return text if len(text) <= QUOTED_LENGTH else text[:QUOTED_LENGTH] + "…"
