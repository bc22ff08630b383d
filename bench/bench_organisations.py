"""A round decided per organisation: 280 practices, 900 people — opening it, the standings, the finalisation check.

    .venv/bin/python bench/bench_organisations.py [--organisations 280] [--people 900] [--repeat 5]
                                                  [--database-url postgresql+psycopg://…]

Builds a fresh SQLite database (migrations) in a temporary directory, or uses the empty PostgreSQL database given
(its public schema is dropped and rebuilt). A network that decides per organisation: `--organisations` practices of
1 to 5 GPs each, `--people` in all, one or two representatives each (workflows.domain.membership and .decisions),
plus its coordinator. A one-page document, then, each timed:

- opening the round (workflows.domain.rounds.open_round: every member a participant and an invitation, committed);
- the standings (workflows.domain.finalising.parties) once one representative of every practice but the last has
  said akkoord and a colleague of every tenth has made a suggestion;
- the finalisation check (finalise_document up to its refusal: lock the document and the open round, read the
  standings, refuse, roll back) — and the same once the last practice agreed, up to the commit it would make.

The standings and the check are also counted in SQL statements, and again in a network a tenth the size, to show
that the count does not grow with the network. The yardstick, in the same run and the same session kind: one plain
SELECT of every participant with their current verdict (the least any standings could read), and the per-person
standings of the same round (the code path of the per-person rule). Targets: opening <= 5 s, the standings and the
check <= 0.5 s each, the statement counts equal at both sizes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import fresh_database, load_average, machine, print_table, timed, verdict

OPEN_TARGET = 5.0
READ_TARGET = 0.5
TEXT = (b"# Regioplan huisartsenzorg\n\n## Artikel 1\n\nDe praktijken werken samen aan de zorg in de regio.\n\n"
        b"## Artikel 2\n\nDe huisartsenposten en apotheken sluiten aan.\n")


def practice_sizes(organisations: int, people: int) -> list[int]:
    """1 to 5 GPs a practice, `people` in all (as evenly spread as the bounds allow)."""
    sizes = [1 + (i * 7) % 5 for i in range(organisations)]
    i = 0
    while sum(sizes) != people:
        step = 1 if sum(sizes) < people else -1
        if 1 <= sizes[i % organisations] + step <= 5:
            sizes[i % organisations] += step
        i += 1
    return sizes


def build(factory, organisations: int, people: int, tag: str):
    """(network id, document id, version id, coordinator id, {practice: [membership ids, representatives first]})."""
    from workflows.domain import decisions, documents, membership

    with factory() as session:
        coordinator = membership.get_or_create_person(session, name="Coördinator", email=f"coordinator-{tag}@example.org")
        network = membership.create_network(session, f"Huisartsenregio {tag}", coordinator=coordinator)
        decisions.set_network_rule(session, network, "organisation", actor=coordinator)
        practices: dict[str, list[int]] = {}
        for p, size in enumerate(practice_sizes(organisations, people)):
            name = f"Huisartsenpraktijk {p} {tag}"
            for i in range(size):
                member = membership.add_member(session, network, name=f"Huisarts {i} van {p}",
                                               email=f"h{i}-{p}-{tag}@example.org", organisation_name=name,
                                               role="member", actor=coordinator)
                if i < 1 + p % 2 and i < size:  # one or two representatives
                    decisions.set_representative(session, member, True, actor=coordinator)
                practices.setdefault(name, []).append(member.id)
        document = documents.create_document(session, network, kind="regioplan", title="Regioplan", actor=coordinator)
        version = documents.upload_version(session, document, filename="regioplan.md", data=TEXT,
                                           change_note="concept", actor=coordinator)
        session.commit()
        return network.id, document.id, version.id, coordinator.id, practices


def open_the_round(factory, document_id: int, coordinator_id: int) -> tuple[int, float]:
    from storage.database.models import Document, Person, utcnow
    from workflows.domain import rounds

    with factory() as session:
        started = time.perf_counter()
        round_ = rounds.open_round(session, session.get(Document, document_id), deadline=utcnow() + dt.timedelta(days=14),
                                   message="", actor=session.get(Person, coordinator_id))
        session.commit()
        return round_.id, time.perf_counter() - started


def decide(factory, round_id: int, coordinator_id: int, practices: dict[str, list[int]], *, last: bool) -> None:
    """One representative of every practice (but the last, unless `last`) says akkoord; a colleague of every tenth
    practice suggests niet akkoord; the coordinator says akkoord."""
    from sqlalchemy import select

    from storage.database.models import Membership, Participant
    from workflows.domain import rounds

    with factory() as session:
        by_membership = {p.membership_id: p for p in session.scalars(select(Participant).where(
            Participant.round_id == round_id))}
        names = list(practices)
        chosen = names[-1:] if last else names[:-1]
        for n, name in enumerate(chosen):
            ids = practices[name]
            rounds.record_verdict(session, by_membership[ids[0]], value="akkoord", reason="", evidence=rounds.Evidence())
            representatives = session.scalar(select(Membership.representative).where(Membership.id == ids[-1]))
            if not last and n % 10 == 0 and not representatives:
                rounds.record_verdict(session, by_membership[ids[-1]], value="niet_akkoord", reason="Liever niet.",
                                      evidence=rounds.Evidence())
        if not last:
            coordinator = session.scalar(select(Participant).where(Participant.round_id == round_id,
                                                                   Participant.person_id == coordinator_id))
            rounds.record_verdict(session, coordinator, value="akkoord", reason="", evidence=rounds.Evidence())
        session.commit()


def standings(session, document_id: int, version_id: int):
    from storage.database.models import Document, Version
    from workflows.domain import finalising

    return finalising.parties(session, session.get(Document, document_id), session.get(Version, version_id))


def check(session, document_id: int, version_id: int, coordinator_id: int) -> str:
    """finalise_document up to its answer, then rolled back: the check under its locks."""
    from storage.database.models import Document, Person, Version
    from workflows.domain import finalising
    from workflows.errors import NotUnanimous

    try:
        finalising.finalise_document(session, session.get(Document, document_id), session.get(Version, version_id),
                                     actor=session.get(Person, coordinator_id))
        session.flush()
        outcome = "final"
    except NotUnanimous as refused:
        outcome = f"refused ({len(refused.params['missing'])} missing)"
    session.rollback()
    return outcome


def plain_select(session, round_id: int) -> int:
    from sqlalchemy import text

    return len(session.execute(text(
        "SELECT p.id, p.person_id, v.value, v.organisation_id FROM participants p "
        "LEFT JOIN verdicts v ON v.id = p.current_verdict_id WHERE p.round_id = :r"), {"r": round_id}).all())


def person_standings(session, document_id: int, version_id: int):
    from storage.database.models import Document, Version
    from workflows.domain import finalising

    return finalising.standings(session, session.get(Document, document_id), session.get(Version, version_id))


def counted(engine, factory, function) -> int:
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with factory() as session:
            function(session)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organisations", type=int, default=280)
    parser.add_argument("--people", type=int, default=900)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()

    from storage.database.engine import make_engine, make_session_factory, upgrade

    print(f"machine: {machine()}; load average {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench-organisations-") as directory:
        if args.database_url:
            from sqlalchemy import create_engine, text

            with create_engine(args.database_url, isolation_level="AUTOCOMMIT").connect() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            upgrade(args.database_url)
            url = args.database_url
        else:
            url = fresh_database(Path(directory))
        engine = make_engine(url)
        factory = make_session_factory(engine)
        sizes = {"large": (args.organisations, args.people), "small": (max(2, args.organisations // 10),
                                                                       max(2, args.people // 10))}
        built, opened = {}, {}
        for key, (organisations, people) in sizes.items():
            started = time.perf_counter()
            built[key] = build(factory, organisations, people, key)
            print(f"setup {key}: {organisations} practices, {people} people in {time.perf_counter() - started:.1f} s")
            round_id, seconds = open_the_round(factory, built[key][1], built[key][3])
            opened[key] = (round_id, seconds)
            decide(factory, round_id, built[key][3], built[key][4], last=False)

        _network, document_id, version_id, coordinator_id, practices = built["large"]
        round_id, open_seconds = opened["large"]
        counts: dict[str, dict[str, int]] = {}
        for key, (_n, d, v, c, _p) in built.items():
            counts[key] = {
                "standings": counted(engine, factory, lambda s, d=d, v=v: standings(s, d, v)),
                "check": counted(engine, factory, lambda s, d=d, v=v, c=c: check(s, d, v, c)),
            }
        stand_median, stand_max, parties = timed(factory, lambda s: standings(s, document_id, version_id), args.repeat)
        check_median, check_max, refused = timed(factory, lambda s: check(s, document_id, version_id, coordinator_id),
                                                 args.repeat)
        plain_median, plain_max, rows = timed(factory, lambda s: plain_select(s, round_id), args.repeat)
        person_median, person_max, _p = timed(factory, lambda s: person_standings(s, document_id, version_id),
                                              args.repeat)
        decide(factory, round_id, coordinator_id, practices, last=True)
        agreed_median, agreed_max, agreed = timed(
            factory, lambda s: check(s, document_id, version_id, coordinator_id), args.repeat)
        engine.dispose()

    print(f"database: {'PostgreSQL' if args.database_url else 'SQLite'}; parties: {len(parties)} "
          f"({sum(p.is_organisation for p in parties)} organisations); participants read by the plain SELECT: {rows}")
    print(f"the check: {refused} with one practice missing; {agreed} once it agreed")
    same = counts["large"] == counts["small"]
    print_table(f"Per organisation: {args.organisations} practices, {args.people} people "
                f"(median of {args.repeat}, fresh session each)", [
        ("open the round (commit included)", f"{open_seconds * 1000:.0f} ms", f"<= {OPEN_TARGET:g} s",
         verdict(open_seconds <= OPEN_TARGET)),
        ("  the same, a tenth the size", f"{opened['small'][1] * 1000:.0f} ms", "", ""),
        ("standings (finalising.parties)", f"{stand_median * 1000:.1f} ms (max {stand_max * 1000:.1f} ms)",
         f"<= {READ_TARGET:g} s", verdict(stand_max <= READ_TARGET)),
        ("finalisation check, refused", f"{check_median * 1000:.1f} ms (max {check_max * 1000:.1f} ms)",
         f"<= {READ_TARGET:g} s", verdict(check_max <= READ_TARGET)),
        ("finalisation check, agreed (to the flush)", f"{agreed_median * 1000:.1f} ms (max {agreed_max * 1000:.1f} ms)",
         "", ""),
        ("SQL statements: standings, large / small", f"{counts['large']['standings']} / {counts['small']['standings']}",
         "equal", verdict(counts["large"]["standings"] == counts["small"]["standings"])),
        ("SQL statements: check, large / small", f"{counts['large']['check']} / {counts['small']['check']}",
         "equal", verdict(counts["large"]["check"] == counts["small"]["check"])),
        ("yardstick: one plain SELECT of the participants", f"{plain_median * 1000:.1f} ms (max {plain_max * 1000:.1f} ms)",
         "", ""),
        ("yardstick: the per-person standings, same round", f"{person_median * 1000:.1f} ms "
         f"(max {person_max * 1000:.1f} ms)", "", ""),
        ("  standings / per-person standings", f"{stand_median / person_median:.2f}x" if person_median else "", "",
         ""),
    ])
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
