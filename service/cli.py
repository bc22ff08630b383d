"""Operator commands: flask --app service db-upgrade | seed-demo | create-network | sign-in-link | worker |
import-members | export-commentaartabel | resend-mail | failed-work | failed-jobs | retry-failed-jobs |
verify-audit | export-person | erase-person | verify-dossier."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import logging
import re
import signal
import threading
from pathlib import Path

import click
import docx
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from rq.exceptions import NoSuchJobError, StopRequested
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from service.web import logs
from service.web.i18n import CSV_PROBLEMS, error_message, failure_text
from storage.database.engine import upgrade
from storage.database.models import (
    AuditEvent,
    Document,
    MailMessage,
    Membership,
    Network,
    Participant,
    Person,
    Round,
    utcnow,
)
from workflows import audit
from workflows.domain import (
    api_tokens,
    commentaartabel,
    comments,
    documents,
    dossier,
    exports,
    meetings,
    membership,
    minutes,
    network_record,
    notifications,
    organisations,
    people,
    personal_data,
    returned_files,
    rounds,
    signin,
    undelivered,
)
from workflows.domain.wording import TIMEZONE
from workflows.errors import CsvRejected, DomainError
from workflows.outbound import jobs, metrics
from workflows.outbound.clock import Clock

EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Timeout|Interrupt|Incomplete)\b")
DEMO_DOCUMENT = Path(__file__).resolve().parent / "demo" / "samenwerkingsovereenkomst.docx"
DEMO_NETWORK = "Zorgnetwerk Zeldzame Aandoeningen Noord"
DEMO_PEOPLE = [
    ("Anna de Vries", "anna@patientenvereniging.example", "Patiëntenvereniging Noord", "coordinator"),
    ("Bram Jansen", "bram@umcg-expertise.example", "Expertisecentrum UMC Noord", "editor"),
    ("Carla Bakker", "carla@patientenvereniging.example", "Patiëntenvereniging Noord", "member"),
    ("Dirk Visser", "dirk@huisartsen-noord.example", "Huisartsenpraktijk De Wijk", "member"),
    ("Eva Smit", "eva@apotheek-centrum.example", "Apotheek Centrum", "member"),
    ("Fatima El Amrani", "fatima@umcg-expertise.example", "Expertisecentrum UMC Noord", "observer"),
]
# The demo zorgnetwerk decides per organisation: its parties, in the register with the decision that let them in.
DEMO_ORGANISATIONS = [
    ("Patiëntenvereniging Noord", "patientenorganisatie", True, dt.date(2025, 9, 1),
     "Oprichting kerngroep, 1 september 2025"),
    ("Expertisecentrum UMC Noord", "expertisecentrum", True, dt.date(2025, 9, 1),
     "Oprichting kerngroep, 1 september 2025"),
    ("Huisartsenpraktijk De Wijk", "huisartsenpraktijk", True, dt.date(2025, 11, 12),
     "Kerngroepoverleg 12 november 2025, besluit 4"),
    ("Apotheek Centrum", "apotheek", True, dt.date(2025, 11, 12), "Kerngroepoverleg 12 november 2025, besluit 4"),
    ("Zorgverzekeraar Noord", "zorgverzekeraar", False, dt.date(2025, 12, 10),
     "Kerngroepoverleg 10 december 2025, besluit 2 (deelname zonder stem)"),
]
# Who speaks for their organisation, and who sits in the kerngroep (for which discipline).
DEMO_REPRESENTATIVES = {"anna@patientenvereniging.example", "bram@umcg-expertise.example",
                        "dirk@huisartsen-noord.example", "eva@apotheek-centrum.example"}
DEMO_BOARD = {"anna@patientenvereniging.example": "patiënt", "bram@umcg-expertise.example": "medisch specialist"}
DEMO_RECORD = {
    "board_kind": "kerngroep",
    "purpose": "Betere zorg voor mensen met een zeldzame aandoening in Noord-Nederland: de zorg van patiënten-"
               "vereniging, expertisecentrum, huisarts en apotheek sluit op elkaar aan.",
    "target_group": "Mensen met een zeldzame aandoening in Groningen, Friesland en Drenthe, en hun naasten.",
    "privacy_statement": "Het zorgnetwerk bewaart van zijn leden alleen naam, e-mailadres, organisatie en rol, en "
                         "wat zij in Akkoord doen (commentaar en akkoord), zolang zij lid zijn en zolang een "
                         "definitief document dat als bewijs nodig heeft.\nVragen, inzage of verwijdering: mail de "
                         "coördinator van het netwerk.",
}
# A second demo network decides per person: a huisartsencluster with a bestuur of four, two disciplines.
DEMO_CLUSTER = "Huisartsencluster Regio West"
DEMO_CLUSTER_ORGANISATIONS = [
    ("Huisartsenpraktijk Westwijk", "huisartsenpraktijk", True, dt.date(2024, 3, 1), "Oprichtingsakte cluster"),
    ("Huisartsenpost West", "huisartsenpost", True, dt.date(2024, 3, 1), "Oprichtingsakte cluster"),
    ("Apotheek West", "apotheek", True, dt.date(2024, 3, 1), "Oprichtingsakte cluster"),
]
DEMO_CLUSTER_PEOPLE = [  # name, email, organisation, role, discipline in the bestuur ("" = not in it)
    ("Gerrit Hoekstra", "gerrit@westwijk.example", "Huisartsenpraktijk Westwijk", "member", "huisarts"),
    ("Ivo Peters", "ivo@hap-west.example", "Huisartsenpost West", "member", "huisarts"),
    ("Hanneke de Boer", "hanneke@apotheek-west.example", "Apotheek West", "member", "apotheker"),
    ("Joke Kramer", "joke@apotheek-west.example", "Apotheek West", "member", "apotheker"),
    ("Lars Vos", "lars@westwijk.example", "Huisartsenpraktijk Westwijk", "member", ""),
]


def init_app(app: Flask) -> None:
    for command in (db_upgrade, seed_demo, create_network, sign_in_link, worker):
        app.cli.add_command(command)
    for command in (import_members, export_commentaartabel, resend_mail, failed_jobs, retry_failed_jobs, verify_audit):
        app.cli.add_command(command)
    app.cli.add_command(make_api_token)
    app.cli.add_command(verify_dossier)
    app.cli.add_command(failed_work)
    for command in (export_person, erase_person):
        app.cli.add_command(command)


def _session():
    return current_app.extensions["akkoord_sessions"]()


def _refusal(error: DomainError) -> click.ClickException:
    """A rule's refusal as a message for the operator (English) and exit status 1."""
    with force_locale("en"):
        return click.ClickException(error_message(error.code, error.params))


def _network(session, network_id: int) -> Network:
    network = session.get(Network, network_id)
    if network is None:
        raise click.ClickException(f"no network with id {network_id}")
    return network


def _sign_in_url(session, person: Person) -> str:
    return f"{current_app.config['BASE_URL']}/signin/{signin.issue_link_token(session, person, dt.timedelta(days=1))}"


@click.command("db-upgrade")
@with_appcontext
def db_upgrade():
    """Apply the Alembic migrations (the Procfile's release step)."""
    upgrade(current_app.config["DATABASE_URL"])
    click.echo("database is at the newest schema")


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """A demo zorgnetwerk that decides per organisation (5 organisations in its register, 6 people, a kerngroep of a
    patiëntenorganisatie and an expertisecentrum, a draft samenwerkingsovereenkomst) and a huisartsencluster that
    decides per person. Idempotent."""
    with _session() as session:
        network = session.scalar(select(Network).where(Network.name == DEMO_NETWORK))
        if network is None:
            name, email, organisation, role = DEMO_PEOPLE[0]
            coordinator = membership.get_or_create_person(session, name=name, email=email)
            network = membership.create_network(session, DEMO_NETWORK, coordinator=coordinator,
                                                 coordinator_name=name)
            _seed_organisations(session, network, DEMO_ORGANISATIONS, coordinator)
            first = people.active_membership(session, network.id, coordinator.id)
            first.organisation_id = membership.get_or_create_organisation(session, network, organisation, coordinator).id
            for name, email, organisation, role in DEMO_PEOPLE[1:]:
                membership.add_member(session, network, name=name, email=email, organisation_name=organisation,
                                      role=role, actor=coordinator)
            for member in people.active_members(session, network.id):
                member.representative = member.person.email in DEMO_REPRESENTATIVES
                if member.person.email in DEMO_BOARD:
                    network_record.set_board(session, member, board=True, discipline=DEMO_BOARD[member.person.email],
                                             actor=coordinator)
            network_record.update_record(session, network, **DEMO_RECORD, actor=coordinator)
            network.decision_rule = "organisation"
            editor = session.scalar(select(Person).where(Person.email == DEMO_PEOPLE[1][1]))
            document = documents.create_document(session, network, kind="samenwerkingsovereenkomst",
                                                 title="Samenwerkingsovereenkomst zorgnetwerk", actor=editor)
            version = documents.upload_version(session, document, filename=DEMO_DOCUMENT.name,
                                               data=DEMO_DOCUMENT.read_bytes(),
                                               change_note="Eerste concept van de projectgroep.", actor=editor)
            _seed_meetings(session, network, coordinator, version)
            click.echo(f"seeded demo network {DEMO_NETWORK!r}")
        coordinator = session.scalar(select(Person).where(Person.email == DEMO_PEOPLE[0][1]))
        if session.scalar(select(Network.id).where(Network.name == DEMO_CLUSTER)) is None:
            _seed_cluster(session, coordinator)
            click.echo(f"seeded demo network {DEMO_CLUSTER!r}")
        url = _sign_in_url(session, coordinator)
        session.commit()
    click.echo(f"Sign in as the demo coordinator ({DEMO_PEOPLE[0][0]}): {url}")


def _seed_organisations(session, network: Network, rows: list, actor: Person) -> None:
    for name, kind, has_vote, joined_on, reference in rows:
        organisations.add_organisation(session, network, name=name, kind=kind, has_vote=has_vote, joined_on=joined_on,
                                       joined_reference=reference, actor=actor)


def _seed_meetings(session, network: Network, coordinator: Person, version) -> None:
    """The demo zorgnetwerk's meetings: the first network meeting three weeks ago, with its minutes (two decisions,
    open action points, who came), and the next one in three weeks with its agenda, its invitations not yet sent."""
    by_email = {m.person.email: m for m in people.active_members(session, network.id)}
    anna, bram, carla, dirk, eva = (by_email[row[1]] for row in DEMO_PEOPLE[:5])
    today = utcnow().astimezone(TIMEZONE).date()

    def at(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(14, 0), tzinfo=TIMEZONE).astimezone(dt.UTC)

    held_at = at(today - dt.timedelta(days=21))
    planned_at = held_at - dt.timedelta(days=28)
    held = meetings.plan_meeting(session, network, meetings.Plan(
        title="Eerste netwerkbijeenkomst", starts_at=held_at, duration_minutes=150,
        place="Zalen De Brink, Hereweg 10, Groningen", message="Graag tot dan: we bespreken het eerste concept.",
        chair_id=anna.id, minute_taker_id=bram.id), actor=coordinator, now=planned_at)
    pitches = meetings.add_agenda_item(session, held, title="Kennismaking: elke organisatie stelt zich voor",
                                       minutes=45, actor=coordinator)
    concept = meetings.add_agenda_item(session, held, title="Eerste concept samenwerkingsovereenkomst",
                                       presenter_id=bram.id, minutes=60, actor=coordinator,
                                       link=meetings.AgendaLink(version_id=version.id))
    meetings.invite(session, held, actor=coordinator, now=planned_at)
    invitations = {i.membership_id: i for i in meetings.attendance(session, held).invitations}
    for member, answer, remark in ((anna, "aanmelden", ""), (bram, "aanmelden", ""), (carla, "aanmelden", ""),
                                   (dirk, "aanmelden", "Ik kom online."), (eva, "afmelden", "Dan heb ik dienst.")):
        meetings.answer(session, invitations[member.id], value=answer, remark=remark,
                        now=planned_at + dt.timedelta(days=3))
    after = held_at + dt.timedelta(hours=3)
    minutes.write_notes(session, held, pitches.id, "Alle vier de organisaties met een stem hebben zich voorgesteld.",
                        actor=bram.person, now=after)
    minutes.write_notes(session, held, concept.id, "Artikel 4 (taken) is te vaag; over de rest was men het eens.",
                        actor=bram.person, now=after)
    minutes.add_decision(session, held, concept.id, "Artikel 4 wordt herschreven door de projectgroep.",
                         actor=bram.person, now=after)
    minutes.add_decision(session, held, concept.id, "Versie 2 gaat in commentaarronde bij alle leden.",
                         actor=bram.person, now=after)
    for owner, text, due in ((bram, "Artikel 4 herschrijven en als versie 2 uploaden", today + dt.timedelta(days=10)),
                             (dirk, "Huisartsen in de regio vragen wie aan het netwerk wil deelnemen",
                              today - dt.timedelta(days=3)),
                             (eva, "Overzicht van de apotheekzorg rond zeldzame aandoeningen rondsturen",
                              today + dt.timedelta(days=3))):
        minutes.add_action_point(session, held, minutes.ActionInput(text, owner.id, due, agenda_item_id=concept.id),
                                 actor=bram.person, now=after)
    minutes.record_attendance(session, held, [invitations[m.id].id for m in (anna, bram, carla, dirk)],
                              actor=bram.person, now=after)

    coming = meetings.plan_meeting(session, network, meetings.Plan(
        title="Tweede netwerkbijeenkomst", starts_at=at(today + dt.timedelta(days=21)), duration_minutes=150,
        place="Zalen De Brink, Hereweg 10, Groningen", online_url="https://meet.example.org/zorgnetwerk-noord",
        chair_id=anna.id, minute_taker_id=bram.id), actor=coordinator)
    meetings.add_agenda_item(session, coming, title="Verslag en actiepunten van de eerste bijeenkomst", minutes=20,
                             actor=coordinator)
    meetings.add_agenda_item(session, coming, title="Het concept en de commentaarronde", presenter_id=bram.id,
                             minutes=60, actor=coordinator, link=meetings.AgendaLink(version_id=version.id))


def _seed_cluster(session, coordinator: Person) -> None:
    """The second demo network: it decides per person, and its bestuur of four has two disciplines equally."""
    cluster = membership.create_network(session, DEMO_CLUSTER, coordinator=coordinator,
                                        coordinator_name=DEMO_PEOPLE[0][0])
    _seed_organisations(session, cluster, DEMO_CLUSTER_ORGANISATIONS, coordinator)
    for name, email, organisation, role, discipline in DEMO_CLUSTER_PEOPLE:
        member = membership.add_member(session, cluster, name=name, email=email, organisation_name=organisation,
                                       role=role, actor=coordinator)
        if discipline:
            network_record.set_board(session, member, board=True, discipline=discipline, actor=coordinator)
    network_record.update_record(
        session, cluster, purpose="Samen de eerstelijnszorg in de regio West organiseren: huisartsen, huisartsenpost "
                                  "en apotheken maken afspraken over medicatie, spoedzorg en overdracht.",
        target_group="Alle inwoners van de regio West die bij een van de aangesloten praktijken staan ingeschreven.",
        privacy_statement="Het cluster bewaart van zijn leden naam, e-mailadres, organisatie en rol, en hun commentaar "
                          "en akkoord in Akkoord.", board_kind="bestuur", actor=coordinator)
    cluster.decision_rule = "person"
    _seed_cluster_round(session, cluster, coordinator)


DEMO_AGREEMENTS = """# Medicatieafspraken Huisartsencluster Regio West

## Artikel 1 Medicatieoverdracht

Na ontslag uit het ziekenhuis stuurt de apotheek het actuele medicatieoverzicht binnen 24 uur naar de huisarts.

De huisarts bespreekt wijzigingen in de medicatie met de patiënt bij het eerstvolgende contact.

## Artikel 2 Spoedzorg

De huisartsenpost heeft buiten kantooruren inzage in het medicatieoverzicht van de patiënt.

Dit document wordt definitief zodra iedereen akkoord is.
"""


def _seed_cluster_round(session, cluster: Network, coordinator: Person) -> None:
    """The cluster's open round on its medicatieafspraken: two members propose wording for the same words (one is
    taken over, so the draft next version has it as a tracked change), and one returned their edited Word file
    (a typed edit and a Word comment), submitted as a proposal and a comment."""
    document = documents.create_document(session, cluster, kind="plan_van_aanpak",
                                         title="Medicatieafspraken huisartsencluster", actor=coordinator)
    version = documents.upload_version(session, document, filename="medicatieafspraken.md",
                                       data=DEMO_AGREEMENTS.encode(), change_note="Eerste concept.", actor=coordinator)
    round_ = rounds.open_round(session, document, deadline=utcnow() + dt.timedelta(days=14),
                               message="Graag uw commentaar en voorstellen voor tekst.", actor=coordinator)
    by_email = {p.membership.person.email: p for p in session.scalars(
        select(Participant).where(Participant.round_id == round_.id))}
    gerrit, ivo, hanneke = (by_email[row[1]] for row in DEMO_CLUSTER_PEOPLE[:3])
    block = next(b for b in version.blocks if "binnen 24 uur" in b.get("text", ""))
    at = block["text"].index("binnen 24 uur")
    taken = rounds.add_comment(session, gerrit, body="Na ontslag is de eerste dag het risicovolst.",
                               block_id=block["id"], start=at, end=at + len("binnen 24 uur"),
                               selected="binnen 24 uur", kind="technical", proposed_text="dezelfde dag")
    rounds.add_comment(session, hanneke, body="24 uur is in het weekend niet haalbaar.", block_id=block["id"],
                       start=at + len("binnen "), end=at + len("binnen 24 uur"), selected="24 uur",
                       kind="technical", proposed_text="48 uur")
    comments.process_comment(session, taken, disposition="overgenomen", answer="", actor=coordinator)
    word = docx.Document(io.BytesIO(exports.version_docx(session, version)[1]))
    paragraph = next(p for p in word.paragraphs if p.text.startswith("De huisarts bespreekt"))
    for run in paragraph.runs[1:]:
        run._r.getparent().remove(run._r)
    paragraph.runs[0].text = paragraph.text.replace("bij het eerstvolgende contact", "binnen een week")
    spoed = next(p for p in word.paragraphs if p.text.startswith("De huisartsenpost"))
    word.add_comment(spoed.runs, text="Geldt dit ook voor de apotheek met dienst?", author="Ivo Peters")
    edited = io.BytesIO()
    word.save(edited)
    returned = returned_files.upload_returned(session, ivo, filename="medicatieafspraken Ivo.docx",
                                              data=edited.getvalue(), now=utcnow())
    returned_files.submit_returned(session, ivo, returned,
                                  chosen={item["number"] for item in returned_files.items(returned)})


@click.command("create-network")
@with_appcontext
@click.argument("name")
@click.option("--coordinator-name", required=True)
@click.option("--coordinator-email", required=True)
def create_network(name: str, coordinator_name: str, coordinator_email: str):
    """Create a network with its first coordinator and print a sign-in link for them."""
    with _session() as session:
        if not membership.EMAIL.match(coordinator_email.strip()):
            raise click.ClickException(f"not a valid email address: {coordinator_email!r}")
        if not coordinator_name.strip():
            raise click.ClickException("the coordinator's name is empty")
        try:
            person = membership.get_or_create_person(session, name=coordinator_name, email=coordinator_email)
            network = membership.create_network(session, name, coordinator=person, coordinator_name=coordinator_name)
        except DomainError as refused:
            raise _refusal(refused) from None
        url = _sign_in_url(session, person)
        session.commit()
    click.echo(f"network {network.id} created; sign in: {url}")


@click.command("sign-in-link")
@with_appcontext
@click.argument("email")
def sign_in_link(email: str):
    """Print a one-time sign-in link for a coordinator or editor."""
    with _session() as session:
        person = session.scalar(select(Person).where(Person.email == people.normalise_email(email)))
        if person is None or not people.is_staff(session, person.id):
            raise click.ClickException("no coordinator or editor with that address")
        url = _sign_in_url(session, person)
        session.commit()
    click.echo(url)


class _StopAware:
    """Remembers that the operator asked the worker to stop (SIGTERM, Ctrl-C), as against RQ's work loop giving
    up because Redis went away in the middle of a job."""

    stop_asked = False

    def request_stop(self, signum, frame):
        self.stop_asked = True
        super().request_stop(signum, frame)


class _Traced:
    """Logs a job's lines, RQ's own too, under the id of the request that enqueued it (service/web/logs.py)."""

    def execute_job(self, job, queue):
        with logs.job_context(job):
            return super().execute_job(job, queue)


class InProcessWorker(_Traced, _StopAware, SimpleWorker):
    """Runs each job in the worker's own process."""


class ForkingWorker(_Traced, _StopAware, Worker):
    """Runs each job in a forked work horse (RQ's default)."""


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--fork", is_flag=True, help="Run each job in a forked work horse (RQ's default) instead of in the worker "
              "process, where the SMTP connection and the compiled templates stay from one job to the next.")
def worker(burst: bool, fork: bool):
    """An RQ worker with the scheduler (jobs due later) and the clock (the periodic tick), on the Akkoord queue.
    It outlives Redis going away: RQ's work loop quits when Redis disappears in the middle of a job, so a new one
    starts, once Redis answers again, until the operator asks it to stop."""
    logs.configure(current_app.config["LOG_FORMAT"], current_app.config["LOG_LEVEL"])
    url = current_app.config["REDIS_URL"]
    tick = jobs.current().tick_seconds
    clock = None if burst else Clock(Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5), tick).start()
    stop = threading.Event()
    try:
        while not stop.is_set():
            # Between two work loops the stop signals are ours (RQ installs its own inside a work loop).
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            if _work(url, tick, burst=burst, fork=fork):
                break
            stop.wait(1.0)
    except (KeyboardInterrupt, StopRequested):  # a stop RQ's handler raised as a work loop ended
        pass
    finally:
        if clock is not None:
            clock.stop()


def _work(url: str, tick: int, *, burst: bool, fork: bool) -> bool:
    """One RQ work loop; True when it ended as it should (burst done, or asked to stop), False when Redis went."""
    rq_worker = None
    try:
        # Its own connection, without the web's socket timeout: the worker waits on Redis for the next job.
        # RQ's scheduler (the process that hands over jobs due later: retries, deadlines) dies when Redis goes away,
        # and a worker starts it again only in its maintenance, by default every 10 minutes: every tick instead.
        # After an outage it tries Redis again at least once a tick (RQ's own backoff grows to 60 s).
        rq_worker = (ForkingWorker if fork else InProcessWorker)(
            [jobs.QUEUE_NAME], connection=Redis.from_url(url), maintenance_interval=tick,
            exception_handlers=[metrics.job_failed])  # counted for /metrics, then RQ's own handling
        rq_worker.max_connection_wait_time = max(1.0, float(tick))
        rq_worker.work(burst=burst, with_scheduler=True, logging_level=logging.getLogger().getEffectiveLevel())
    except RedisError as error:  # also from RQ's teardown after a stop, with Redis away
        if rq_worker is not None and rq_worker.stop_asked:
            return True
        click.echo(f"worker: Redis cannot be reached ({error}); trying again", err=True)
        return False
    return burst or rq_worker.stop_asked


@click.command("import-members")
@with_appcontext
@click.argument("network_id", type=int)
@click.argument("csv_file", type=click.File("rb"))
@click.option("--by", "by_email", help="A coordinator of the network, recorded as having imported them.")
def import_members(network_id: int, csv_file, by_email: str | None):
    """Import people from a CSV file (naam,email,organisatie,rol): all rows, or none and every bad row listed."""
    with _session() as session:
        network = _network(session, network_id)
        actor = None
        if by_email:
            actor = session.scalar(select(Person).where(Person.email == people.normalise_email(by_email)))
            own = people.active_membership(session, network.id, actor.id) if actor else None
            if own is None or own.role != "coordinator":
                raise click.ClickException(f"{by_email} is not a coordinator of network {network.id}")
        try:
            added = membership.import_members_csv(session, network, csv_file.read(), actor=actor)
        except CsvRejected as rejected:
            with force_locale("en"):
                for line, code, value in rejected.params["problems"]:
                    where = f"line {line}" if line else "file"
                    click.echo(f"{where}: {CSV_PROBLEMS.get(code, code)}" + (f" ({value})" if value else ""), err=True)
            raise click.ClickException("nothing was imported; fix these lines and try again") from None
        except DomainError as refused:
            raise _refusal(refused) from None
        session.commit()
    click.echo(f"{len(added)} people imported into network {network.id} ({network.name})")


@click.command("export-commentaartabel")
@with_appcontext
@click.argument("round_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["docx", "xlsx"]), default="docx", show_default=True)
@click.option("--language", type=click.Choice(["nl", "en"]), default="nl", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True),
              help="Where to write it (default: its own name, in the current directory).")
def export_commentaartabel(round_id: int, fmt: str, language: str, output: str | None):
    """Write a round's commentaartabel (every comment and how it was processed) as .docx or .xlsx."""
    with _session() as session:
        if session.get(Round, round_id) is None:
            raise click.ClickException(f"no round with id {round_id}")
        filename, _mimetype, data = commentaartabel.export(session, round_id, fmt, language)
        session.rollback()
    path = Path(output or filename)
    path.write_bytes(data)
    click.echo(f"wrote {path} ({len(data)} bytes)")


@click.command("resend-mail")
@with_appcontext
@click.option("--network", "network_id", type=int, help="Only this network's mail.")
@click.option("--failed/--no-failed", default=True, show_default=True,
              help="Also mail that failed (it gets a new set of attempts, to the person's address as it is now).")
def resend_mail(network_id: int | None, failed: bool):
    """Hand pending mail that is due (and mail that failed) to the workers again. Mail waiting for its next attempt
    keeps its place in the retry schedule."""
    with _session() as session:
        if network_id is not None:
            _network(session, network_id)
        due = (MailMessage.status == "pending") & (MailMessage.next_attempt_at <= utcnow())
        query = select(MailMessage).where(due | (MailMessage.status == "failed") if failed else due)
        if network_id is not None:
            query = query.where(MailMessage.network_id == network_id)
        messages = list(session.scalars(query.order_by(MailMessage.id)))
        counts = {status: sum(m.status == status for m in messages) for status in ("pending", "failed")[:1 + failed]}
        for message in messages:
            if message.status == "failed":
                notifications.send_again(session, message)
        session.info.pop(notifications.PENDING_IDS, None)  # handed over below, with the pending ones
        session.commit()
    # Handed over after the commit: a worker claims only due items, and one sent meanwhile is skipped.
    try:
        jobs.enqueue_items(jobs.queue(), [m.id for m in messages], [])
    except RedisError as error:
        raise click.ClickException(f"{len(messages)} messages are due, but Redis cannot be reached ({error}); "
                                   "the workers' sweep sends them once it is back") from None
    click.echo(f"{len(messages)} messages handed to the workers ("
               + ", ".join(f"{count} {status}" for status, count in counts.items()) + ")")


@click.command("failed-work")
@with_appcontext
@click.option("--network", "network_id", type=int, help="Only this network.")
def failed_work(network_id: int | None):
    """List what did not go out, across networks: mail and webhook deliveries that failed, or wait for their next
    attempt after a failure, by network and reason. Mail goes again with resend-mail; a webhook delivery from the
    network's webhooks page (?status=failed), once the receiving system works."""
    with _session() as session:
        if network_id is not None:
            _network(session, network_id)
        rows = undelivered.failed_work(session, network_id)
        names = dict(session.execute(select(Network.id, Network.name)
                                     .where(Network.id.in_({row.network_id for row in rows}))).all())
        session.rollback()
    totals = {"mail": 0, "webhook": 0}
    with force_locale("en"):
        for row in rows:
            state = "failed" if row.status == "failed" else "retrying"
            totals[row.channel] = totals.get(row.channel, 0) + row.count
            # Mail of no network: sign-in links and answers to lost-link requests.
            where = f"network {row.network_id} ({names[row.network_id]})" if row.network_id else "no network"
            since = row.oldest.isoformat(timespec="seconds")
            click.echo(f"{where}  {row.channel}  {state}  {row.count}  since {since}  "
                       f"{row.failure}: {failure_text(row.failure)}")
    click.echo(f"{totals['mail']} mails and {totals['webhook']} webhook deliveries not delivered")


def _failed_registry():
    return FailedJobRegistry(queue=jobs.queue())


def _redis_needed(command):
    """A message and exit status 1, not a traceback, when Redis is down or REDIS_URL is wrong."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except RedisError as error:
            raise click.ClickException(f"Redis cannot be reached ({error}); is REDIS_URL right and Redis up?") from None

    return run


@click.command("failed-jobs")
@with_appcontext
@_redis_needed
def failed_jobs():
    """List the jobs that failed after their last retry: id, when, what, and the error's last line."""
    registry = _failed_registry()
    job_ids = registry.get_job_ids()
    for job_id in job_ids:
        try:
            job = registry.job_class.fetch(job_id, connection=registry.connection)
        except NoSuchJobError:
            click.echo(f"{job_id}  (expired)")
            continue
        result = job.latest_result()
        error = _exception_line(result.exc_string if result is not None else "")
        ended = job.ended_at.isoformat(timespec="seconds") if job.ended_at else "?"
        click.echo(f"{job_id}  {ended}  {job.func_name}{tuple(job.args)!r}  {error}".rstrip())
    click.echo(f"{len(job_ids)} failed jobs")


def _exception_line(traceback: str | None) -> str:
    """The traceback's last "Type: message" line (a library may add a line of its own after it)."""
    lines = (traceback or "").strip().splitlines()
    typed = [line for line in lines if EXCEPTION_LINE.match(line)]
    return (typed or lines or [""])[-1]


@click.command("retry-failed-jobs")
@with_appcontext
@click.argument("job_ids", nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Every failed job.")
@_redis_needed
def retry_failed_jobs(job_ids: tuple[str, ...], retry_all: bool):
    """Put failed jobs back on the queue (the jobs are idempotent: what was done is not done twice)."""
    registry = _failed_registry()
    if not job_ids and not retry_all:
        raise click.UsageError("name the jobs to retry (see failed-jobs), or give --all")
    failed = set(registry.get_job_ids())
    wanted = list(failed) if retry_all else list(job_ids)
    unknown = [job_id for job_id in wanted if job_id not in failed]
    if unknown:
        raise click.ClickException("not a failed job: " + ", ".join(unknown))
    for job_id in wanted:
        registry.requeue(job_id)
    click.echo(f"{len(wanted)} jobs back on the queue")


@click.command("verify-audit")
@with_appcontext
@click.argument("network_ids", type=int, nargs=-1)
def verify_audit(network_ids: tuple[int, ...]):
    """Check the hash chain of the networks' audit trails (all networks when none is named)."""
    broken_networks = []
    with _session() as session:
        ids = list(network_ids) or list(session.scalars(select(Network.id).order_by(Network.id)))
        for network_id in ids:
            network = _network(session, network_id)
            broken = audit.verify_chain(session, network.id)
            events = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.network_id == network.id))
            if broken:
                broken_networks.append(network.id)
                shown = ", ".join(str(seq) for seq in broken[:20]) + (" ..." if len(broken) > 20 else "")
                click.echo(f"network {network.id} ({network.name}): BROKEN at event {shown} of {events}", err=True)
            else:
                click.echo(f"network {network.id} ({network.name}): intact, {events} events")
        session.rollback()
    if broken_networks:
        raise click.ClickException("the audit trail of network " + ", ".join(map(str, broken_networks))
                                   + " has been changed: events were altered, inserted or removed")


@click.command("make-api-token")
@with_appcontext
@click.option("--network", "network_id", type=int, required=True, help="The network's id.")
@click.option("--email", required=True, help="The coordinator's or editor's email address.")
@click.option("--role", type=click.Choice(["coordinator", "editor"]), required=True)
@click.option("--name", required=True, help="What the token is for.")
def make_api_token(network_id: int, email: str, role: str, name: str):
    """Make a personal API token and print it (once: only its hash is kept)."""
    with _session() as session:
        network = session.get(Network, network_id)
        person = session.scalar(select(Person).where(Person.email == people.normalise_email(email)))
        if network is None or person is None:
            raise click.ClickException("no such network, or no person with that address")
        try:
            _token, raw = api_tokens.create_token(session, network, person, role=role, name=name)
        except DomainError as error:
            raise click.ClickException(f"refused: {error.code}") from None
        session.commit()
    click.echo(raw)


@click.command("export-person")
@with_appcontext
@click.option("--email", required=True, help="The person's email address.")
def export_person(email: str):
    """Print everything held about a person, in every network, as JSON (AVG art. 15); audited in each network."""
    with _session() as session:
        person = personal_data.find_person(session, email)
        if person is None:
            raise click.ClickException("no person with that address")
        data = personal_data.export(session, person)
        session.commit()
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.command("erase-person")
@with_appcontext
@click.option("--email", required=True, help="The person's email address.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_person(email: str, yes: bool):
    """Erase a person everywhere (AVG art. 17): the address replaced, pseudonymised in every network, sessions,
    links and tokens ended, unsent mail cancelled; verdicts on final documents keep their evidence."""
    with _session() as session:
        person = personal_data.find_person(session, email)
        if person is None:
            raise click.ClickException("no person with that address")
        networks = len({m.network_id for m in session.scalars(select(Membership).where(Membership.person_id == person.id))})
        if not yes:
            click.confirm(f"Erase {person.email} from {networks} network(s)? This cannot be undone.", abort=True)
        try:
            done = personal_data.erase_person(session, person, actor=None)
        except DomainError as refused:
            raise _refusal(refused) from None
        session.commit()
    for entry in done["networks"]:
        click.echo(f"network {entry['network_id']}: now {entry['pseudonym']}, {entry['verdicts_scrubbed']} verdicts "
                   f"without personal evidence, {entry['mails_cancelled']} mails cancelled")
    click.echo(f"erased person {person.id}")


@click.command("verify-dossier")
@with_appcontext
@click.argument("dossier_file", type=click.File("rb"), required=False)
@click.option("--document", "document_id", type=int, help="Check the dossier stored for this document instead of a "
              "file.")
def verify_dossier(dossier_file, document_id: int | None):
    """Check an evidence dossier (JSON) against the audit trail: its sha256 is the one recorded when it was made,
    the network's chain is intact, and its verdicts, versions and finalisation are as their audit events say."""
    if (dossier_file is None) == (document_id is None):
        raise click.UsageError("give a dossier file or --document ID (one of the two)")
    with _session() as session:
        if document_id is not None:
            document = session.get(Document, document_id)
            if document is None:
                raise click.ClickException(f"no document with id {document_id}")
            stored = dossier.stored_dossier(session, document, "json")
            if stored is None:
                raise click.ClickException(f"document {document_id} has no dossier (not final, or not made yet)")
            raw = stored[2]
        else:
            raw = dossier_file.read()
        check = dossier.verify(session, raw)
        session.rollback()
    if check.problems:
        for problem in check.problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException(f"the dossier (sha256 {check.json_sha256}) does not hold: "
                                   f"{len(check.problems)} differences with the audit trail")
    click.echo(f"dossier of document {check.document_id} holds: sha256 {check.json_sha256} recorded in audit event "
               f"{check.made_seq}; the chain is intact ({check.events} events); {check.verdicts} verdicts "
               "match their audit events")
