"""Operator commands: flask --app service db-upgrade | seed-demo | create-network | worker | sign-in-link."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from redis import Redis
from rq import Worker
from sqlalchemy import select

from storage.db import upgrade
from storage.models import Network, Person
from workflows import documents, jobs, membership, signin

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


def init_app(app: Flask) -> None:
    for command in (db_upgrade, seed_demo, create_network, sign_in_link, worker):
        app.cli.add_command(command)


def _session():
    return current_app.extensions["akkoord_sessions"]()


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
    """A demo zorgnetwerk: 4 organisations, 6 people, a draft samenwerkingsovereenkomst. Idempotent."""
    with _session() as session:
        network = session.scalar(select(Network).where(Network.name == DEMO_NETWORK))
        if network is None:
            name, email, organisation, role = DEMO_PEOPLE[0]
            coordinator = membership.get_or_create_person(session, name=name, email=email)
            network = membership.create_network(session, DEMO_NETWORK, coordinator=coordinator)
            first = membership.active_membership(session, network.id, coordinator.id)
            first.organisation_id = membership.get_or_create_organisation(session, network, organisation, coordinator).id
            for name, email, organisation, role in DEMO_PEOPLE[1:]:
                membership.add_member(session, network, name=name, email=email, organisation_name=organisation,
                                      role=role, actor=coordinator)
            editor = session.scalar(select(Person).where(Person.email == DEMO_PEOPLE[1][1]))
            document = documents.create_document(session, network, kind="samenwerkingsovereenkomst",
                                                 title="Samenwerkingsovereenkomst zorgnetwerk", actor=editor)
            documents.upload_version(session, document, filename=DEMO_DOCUMENT.name, data=DEMO_DOCUMENT.read_bytes(),
                                     change_note="Eerste concept van de projectgroep.", actor=editor)
            click.echo(f"seeded demo network {DEMO_NETWORK!r}")
        coordinator = session.scalar(select(Person).where(Person.email == DEMO_PEOPLE[0][1]))
        url = _sign_in_url(session, coordinator)
        session.commit()
    click.echo(f"Sign in as the demo coordinator ({DEMO_PEOPLE[0][0]}): {url}")


@click.command("create-network")
@with_appcontext
@click.argument("name")
@click.option("--coordinator-name", required=True)
@click.option("--coordinator-email", required=True)
def create_network(name: str, coordinator_name: str, coordinator_email: str):
    """Create a network with its first coordinator and print a sign-in link for them."""
    with _session() as session:
        person = membership.get_or_create_person(session, name=coordinator_name, email=coordinator_email)
        network = membership.create_network(session, name, coordinator=person)
        url = _sign_in_url(session, person)
        session.commit()
    click.echo(f"network {network.id} created; sign in: {url}")


@click.command("sign-in-link")
@with_appcontext
@click.argument("email")
def sign_in_link(email: str):
    """Print a one-time sign-in link for a coordinator or editor."""
    with _session() as session:
        person = session.scalar(select(Person).where(Person.email == membership.normalise_email(email)))
        if person is None or not signin.is_staff(session, person.id):
            raise click.ClickException("no coordinator or editor with that address")
        url = _sign_in_url(session, person)
        session.commit()
    click.echo(url)


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool):
    """An RQ worker with the built-in scheduler, on the Akkoord queue."""
    connection = Redis.from_url(current_app.config["REDIS_URL"])
    jobs.ensure_tick(connection)
    Worker([jobs.QUEUE_NAME], connection=connection).work(burst=burst, with_scheduler=True)


