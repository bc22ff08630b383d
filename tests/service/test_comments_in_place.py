"""Over HTTP: commenting in place on the review page. After a comment on a passage the member is back at that
passage, told there that it was saved; each passage shows how many comments it has (as the round's visibility lets
this member see them) and opens to them; a member names a few words of a passage by typing them (the keyboard's way
to select); every comment link has a name of its own, and no heading holds one."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from storage.blocks import block_text
from storage.database.models import Comment
from tests.conftest import csrf_token
from tests.factories import fresh, participant
from tests.service.test_threads import reading
from workflows.domain import rounds


def passage(version, containing: str) -> dict:
    return next(b for b in version.blocks if containing in block_text(b))


def post_comment(client, review: str, **data) -> object:
    page = client.get(f"{review}comment?block={data.get('block_id', '')}").get_data(as_text=True)
    return client.post(f"{review}comments", data={"csrf_token": csrf_token(page), **data})


def passage_comments(page: str, block_id: str) -> tuple[int, list[int]] | None:
    """(the count its summary shows, the ids of the comments listed) beside a passage; None: nothing there."""
    found = re.search(rf'<details class="passage-comments"( open)? id="comments-{block_id}"><summary>(.*?)</summary>'
                      r"(.*?)</details>", page, re.S)
    if not found:
        return None
    count = int(re.search(r"(\d+)\s*$", unescape(found.group(2))).group(1))
    return count, [int(i) for i in re.findall(r'<article class="comment" id="in-comment-(\d+)"', found.group(3))]


def test_after_a_comment_on_a_passage_the_member_is_back_at_it_and_told_so_there(app, db):
    _round, readers, people, _coordinator, version = reading(app, db)
    client, review = readers[1]
    first, last = passage(version, "zeldzame"), passage(version, "definitief")
    saved = post_comment(client, review, block_id=first["id"], body="Welke aandoeningen?")
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"{review}#{first['id']}")  # the passage, not the end of the page

    page = client.get(review).get_data(as_text=True)
    at, status = page.index(f'id="{first["id"]}"'), page.index('<p class="flash saved" role="status" id="saved">')
    assert at < status < page.index(f'id="{last["id"]}"')  # right below the passage
    assert '<div class="flash' not in page  # said where the member lands, not at the top as well
    assert f'<details class="passage-comments" open id="comments-{first["id"]}">' in page  # its comments shown
    assert "flash saved" not in client.get(review).get_data(as_text=True)  # said once

    # A general comment has no passage: the comments section, with the usual message at the top.
    general = post_comment(client, review, body="Een algemene vraag.")
    assert general.status_code == 303 and general.headers["Location"].endswith("#comments")


def test_each_passage_shows_its_count_and_comments_as_everyone_sees_them(app, db):
    round_, readers, people, coordinator, version = reading(app, db, members=3)
    first, last = passage(version, "zeldzame"), passage(version, "definitief")
    made = []
    for (membership, body, block) in [(people[1], "Een", first), (people[2], "Twee", first), (people[1], "Drie", last)]:
        made.append(rounds.add_comment(db, participant(db, round_, membership), body=body, block_id=block["id"]))
    rounds.add_comment(db, participant(db, round_, people[2]), body="Algemeen")  # on no passage
    db.commit()
    ids = [c.id for c in made]

    for client, review in readers[1:]:
        page = client.get(review).get_data(as_text=True)
        assert passage_comments(page, first["id"]) == (2, ids[:2])
        assert passage_comments(page, last["id"]) == (1, ids[2:])
        assert page.count('<details class="passage-comments"') == 2  # none beside an uncommented passage
        # Each list follows its own passage, before the next one.
        assert page.index(f'id="{first["id"]}"') < page.index(f'id="comments-{first["id"]}"') \
            < page.index(f'id="{last["id"]}"') < page.index(f'id="comments-{last["id"]}"')

    # A new comment shows at once in the (cached) page of another member.
    rounds.add_comment(db, participant(db, round_, people[2]), body="Vier", block_id=last["id"])
    db.commit()
    client, review = readers[1]
    assert passage_comments(client.get(review).get_data(as_text=True), last["id"])[0] == 2


def test_in_a_group_only_round_a_member_counts_only_their_own_threads(app, db):
    round_, readers, people, coordinator, version = reading(app, db, visibility="group", members=3)
    first = passage(version, "zeldzame")
    own = rounds.add_comment(db, participant(db, round_, people[1]), body="Mijn vraag", block_id=first["id"])
    other = rounds.add_comment(db, participant(db, round_, people[2]), body="Andere vraag", block_id=first["id"])
    rounds.add_reply(db, own.id, body="Antwoord van de projectgroep", staff=coordinator)
    db.commit()

    client, review = readers[1]
    page = client.get(review).get_data(as_text=True)
    assert passage_comments(page, first["id"]) == (1, [own.id])
    assert "Antwoord van de projectgroep" in page and "Andere vraag" not in page
    client, review = readers[2]
    page = client.get(review).get_data(as_text=True)
    assert passage_comments(page, first["id"]) == (1, [other.id])
    assert "Mijn vraag" not in page and "Antwoord van de projectgroep" not in page


def test_a_member_names_the_words_of_a_passage_they_comment_on(app, db):
    _round, readers, _people, _coordinator, version = reading(app, db)
    client, review = readers[1]
    paragraph = passage(version, "zeldzame")
    form = client.get(f"{review}comment?block={paragraph['id']}").get_data(as_text=True)
    assert 'name="words"' in form and 'id="words-hint"' in form

    # Typed as people type: another case, other white space.
    saved = post_comment(client, review, block_id=paragraph["id"], words="  Goede   zorg ", body="Passende zorg?")
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"#{paragraph['id']}")
    fresh(db)
    comment = db.scalar(select(Comment).order_by(Comment.id.desc()))
    text = block_text(paragraph)
    assert (comment.quote, comment.start_offset) == ("goede zorg", text.index("goede zorg"))
    db.rollback()

    # Words that are not in the passage: said at the field, nothing saved, what was typed kept.
    refused = post_comment(client, review, block_id=paragraph["id"], words="slechte zorg", body="Mijn commentaar")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert re.search(r'<p class="field-error" id="words-error">.+</p>', page)
    assert re.search(r'<input(?=[^>]*aria-describedby="words-hint words-error")(?=[^>]*aria-invalid="true")', page)
    assert 'value="slechte zorg"' in page and "Mijn commentaar" in page
    fresh(db)
    assert db.scalar(select(Comment).order_by(Comment.id.desc())).id == comment.id
    db.rollback()


def test_every_comment_link_has_its_own_name_and_no_heading_holds_one(app, db):
    _round, readers, _people, _coordinator, version = reading(app, db)
    client, review = readers[1]
    page = client.get(review).get_data(as_text=True)
    links = re.findall(r'<a class="comment-link" href="comment\?block=(\w+)">(.*?)</a>', page)
    assert len(links) == len([b for b in version.blocks if b["type"] in ("heading", "paragraph", "list_item")])
    names = [unescape(re.sub(r"<[^>]+>", "", html)) for _block, html in links]
    visible = re.sub(r"<span class=\"visually-hidden\">.*?</span>", "", links[0][1])
    assert all(name.startswith(visible + " ") for name in names)  # the name starts with the visible word
    assert len(set(names)) == len(names)
    heading = passage(version, "Artikel 1")
    assert any("Artikel 1 Doel" in name for name in names)
    assert re.search(rf'<div class="heading-line"><h\d class="block" id="{heading["id"]}">Artikel 1 Doel</h\d> '
                     rf'<a class="comment-link" href="comment\?block={heading["id"]}">', page)
    assert not re.search(r"<h\d[^>]*>(?:(?!</h\d>).)*comment-link", page, re.S)


def test_a_reply_or_an_answer_shows_beside_the_passage_at_once(app, db):
    round_, readers, people, coordinator, version = reading(app, db)
    first, last = passage(version, "zeldzame"), passage(version, "definitief")
    on_first = rounds.add_comment(db, participant(db, round_, people[1]), body="Vraag een", block_id=first["id"])
    on_last = rounds.add_comment(db, participant(db, round_, people[1]), body="Vraag twee", block_id=last["id"])
    db.commit()
    client, review = readers[1]
    before = client.get(review).get_data(as_text=True)
    assert passage_comments(before, first["id"]) == (1, [on_first.id])

    reply = rounds.add_reply(db, on_first.id, body="Het antwoord van de projectgroep.", staff=coordinator)
    db.commit()
    page = client.get(review).get_data(as_text=True)
    beside = re.search(rf'id="comments-{first["id"]}">.*?</details>', page, re.S).group(0)
    assert f'<li id="in-comment-{reply.id}">' in beside and "Het antwoord van de projectgroep." in beside
    assert passage_comments(page, last["id"]) == (1, [on_last.id])  # the other passage as it was
