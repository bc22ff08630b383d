"""A member's returned Word file on real parts: the invitation goes out through the worker and SMTP, the member
follows its link, downloads the version as Word, edits it (an untracked edit and a Word comment), uploads it from the
review page, submits what was found, and the project group reads the proposal and the comment on the processing
page with the file behind them."""

from __future__ import annotations

import io

import docx
from sqlalchemy import select

from storage.database.models import Comment
from tests.conftest import csrf_token
from tests.factories import make_document, make_network, open_round
from tests.integration.test_whole_loop import path_of
from tests.service.test_staff_pages import signed_in

CLOSING = "Dit document wordt definitief zodra iedereen akkoord is."


def test_a_member_follows_the_invitation_returns_the_word_file_and_the_group_sees_it(app, db, mail_store, run_worker):
    network, coordinator, people = make_network(db, members=1)
    member = people[1]
    document, _version = make_document(db, network, coordinator)
    mail_store.clear()
    round_ = open_round(db, document, coordinator)
    db.commit()
    run_worker()
    mail = mail_store.wait_for(lambda ms: any(m.to == [member.person.email] for m in ms))
    link = next(link for m in mail if m.to == [member.person.email] for link in m.links() if "/l/" in link)

    browser = app.test_client()
    review = browser.get(path_of(link)).headers["Location"]
    page = browser.get(review).get_data(as_text=True)
    assert 'id="word-bestand"' in page
    word = docx.Document(io.BytesIO(browser.get(review + "version.docx").data))
    paragraph = next(p for p in word.paragraphs if "goede zorg" in p.text)
    text = paragraph.text.replace("goede zorg", "betere zorg")
    for run in paragraph.runs[1:]:
        run._r.getparent().remove(run._r)
    paragraph.runs[0].text = text
    closing = next(p for p in word.paragraphs if p.text == CLOSING)
    word.add_comment(closing.runs, text="Wie bedoelen we met iedereen?", author=member.name)
    edited = io.BytesIO()
    word.save(edited)

    response = browser.post(review + "returned", data={"csrf_token": csrf_token(page),
                                                       "file": (io.BytesIO(edited.getvalue()), "mijn versie.docx")},
                            content_type="multipart/form-data")
    assert response.status_code == 303
    found = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "<ins>" in found and "Wie bedoelen we met iedereen?" in found
    response = browser.post(response.headers["Location"] + "/submit",
                            data={"csrf_token": csrf_token(found), "chosen": ["1", "2"]})
    assert response.status_code == 303
    run_worker()

    staff = signed_in(app, db, coordinator)
    processing = staff.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    assert "Wie bedoelen we met iedereen?" in processing and "/returned-files/" in processing
    db.rollback()
    made = db.scalars(select(Comment).where(Comment.round_id == round_.id).order_by(Comment.id)).all()
    assert [(c.proposed_text, c.body) for c in made] == [("betere", ""), (None, "Wie bedoelen we met iedereen?")]
    download = staff.get(f"/returned-files/{made[0].returned_file_id}/file")
    assert download.data == edited.getvalue()
