"""verdicts: still never changed or deleted, except that erasure (AVG art. 17) may blank their personal evidence

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# What an erasure may do to a verdict: blank the address, IP address and user agent of whoever gave it (and the
# address of whom a substitute gave it for), and replace a name only where its address is blanked in the same
# change. Everything the decision rests on (who, what, on which version, when, for which organisation) stays.
ERASURE_ONLY = """
    NEW.id = OLD.id AND NEW.round_id = OLD.round_id AND NEW.participant_id = OLD.participant_id
    AND NEW.value = OLD.value AND NEW.reason = OLD.reason AND NEW.version_id = OLD.version_id
    AND NEW.content_hash = OLD.content_hash AND NEW.organisation_name = OLD.organisation_name
    AND NEW.created_at = OLD.created_at AND NEW.suggestion = OLD.suggestion
    AND NEW.link_id IS NOT DISTINCT FROM OLD.link_id
    AND NEW.organisation_id IS NOT DISTINCT FROM OLD.organisation_id
    AND NEW.substitution_id IS NOT DISTINCT FROM OLD.substitution_id
    AND NEW.person_email IN (OLD.person_email, '') AND NEW.ip_address IN (OLD.ip_address, '')
    AND NEW.user_agent IN (OLD.user_agent, '') AND NEW.on_behalf_of_email IN (OLD.on_behalf_of_email, '')
    AND (NEW.person_name = OLD.person_name OR NEW.person_email = '')
    AND (NEW.on_behalf_of_name = OLD.on_behalf_of_name OR NEW.on_behalf_of_email = '')
"""

SQLITE = [
    "DROP TRIGGER IF EXISTS verdicts_are_immutable",
    # SQLite spells IS NOT DISTINCT FROM as IS.
    f"""CREATE TRIGGER verdicts_are_immutable BEFORE UPDATE ON verdicts
WHEN NOT ({ERASURE_ONLY.replace("IS NOT DISTINCT FROM", "IS")})
BEGIN SELECT RAISE(ABORT, 'verdicts are immutable'); END""",
    """CREATE TRIGGER verdicts_are_kept BEFORE DELETE ON verdicts
BEGIN SELECT RAISE(ABORT, 'verdicts are never deleted'); END""",
]
PG = [
    f"""CREATE OR REPLACE FUNCTION refuse_verdict_update() RETURNS trigger AS $$
BEGIN
    IF NOT ({ERASURE_ONLY}) THEN RAISE EXCEPTION 'verdicts are immutable'; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql""",
    """CREATE FUNCTION refuse_verdict_delete() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'verdicts are never deleted'; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER verdicts_are_kept BEFORE DELETE ON verdicts
FOR EACH ROW EXECUTE FUNCTION refuse_verdict_delete()""",
]

SQLITE_BEFORE = [
    "DROP TRIGGER verdicts_are_kept",
    "DROP TRIGGER verdicts_are_immutable",
    """CREATE TRIGGER verdicts_are_immutable BEFORE UPDATE ON verdicts
BEGIN SELECT RAISE(ABORT, 'verdicts are immutable'); END""",
]
PG_BEFORE = [
    "DROP TRIGGER verdicts_are_kept ON verdicts",
    "DROP FUNCTION refuse_verdict_delete()",
    """CREATE OR REPLACE FUNCTION refuse_verdict_update() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'verdicts are immutable'; END $$ LANGUAGE plpgsql""",
]


def _run(sqlite: list[str], pg: list[str]) -> None:
    for statement in sqlite if op.get_bind().dialect.name == "sqlite" else pg:
        op.execute(statement)


def upgrade() -> None:
    _run(SQLITE, PG)


def downgrade() -> None:
    _run(SQLITE_BEFORE, PG_BEFORE)
