"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 14:12:43.484255
"""
import sqlalchemy as sa
from alembic import op

import storage.database.models

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _sqlite_only(*constraints):
    # SQLite accepts a foreign key to a table created later and cannot ALTER one in;
    # PostgreSQL needs the referenced table first, so there the cycle is closed at the end.
    return constraints if _is_sqlite() else ()


IMMUTABLE_VERSIONS_SQLITE = """
CREATE TRIGGER versions_are_immutable BEFORE UPDATE ON versions
BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END
"""
IMMUTABLE_VERSIONS_PG = [
    """CREATE FUNCTION refuse_version_update() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'versions are immutable'; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER versions_are_immutable BEFORE UPDATE ON versions
FOR EACH ROW EXECUTE FUNCTION refuse_version_update()""",
]
IMMUTABLE_VERDICTS_SQLITE = """
CREATE TRIGGER verdicts_are_immutable BEFORE UPDATE ON verdicts
BEGIN SELECT RAISE(ABORT, 'verdicts are immutable'); END
"""
IMMUTABLE_VERDICTS_PG = [
    """CREATE FUNCTION refuse_verdict_update() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'verdicts are immutable'; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER verdicts_are_immutable BEFORE UPDATE ON verdicts
FOR EACH ROW EXECUTE FUNCTION refuse_verdict_update()""",
]


def upgrade() -> None:
    op.create_table('blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_blobs'))
    )
    op.create_table('networks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_networks'))
    )
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('created_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('email', name=op.f('uq_people_email'))
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('final_version_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(status = 'final') = (final_version_id IS NOT NULL)", name=op.f('ck_documents_final_has_version')),
    sa.CheckConstraint("kind IN ('ambitieverklaring', 'intentieverklaring', 'samenwerkingsovereenkomst', 'visiedocument', 'plan_van_aanpak', 'regioplan', 'notitie', 'anders')", name=op.f('ck_documents_kind')),
    sa.CheckConstraint("status IN ('draft', 'in_review', 'final', 'withdrawn')", name=op.f('ck_documents_status')),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_documents_created_by_id_people')),
    *_sqlite_only(sa.ForeignKeyConstraint(['final_version_id'], ['versions.id'], name='fk_documents_final_version_id_versions')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_documents_network_id_networks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_network_id'), ['network_id'], unique=False)

    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('created_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_organisations_network_id_networks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('network_id', 'name', name=op.f('uq_organisations_network_id'))
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisations_network_id'), ['network_id'], unique=False)

    op.create_table('sign_in_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_sign_in_tokens_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sign_in_tokens_token_hash'))
    )
    with op.batch_alter_table('sign_in_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_tokens_person_id'), ['person_id'], unique=False)

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('joined_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('left_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('coordinator', 'editor', 'member', 'observer')", name=op.f('ck_memberships_role')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_memberships_network_id_networks')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_memberships_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_memberships_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_network_id'), ['network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_person_id'), ['person_id'], unique=False)
        batch_op.create_index('uq_memberships_active', ['network_id', 'person_id'], unique=True, sqlite_where=sa.text('left_at IS NULL'), postgresql_where=sa.text('left_at IS NULL'))

    op.create_table('versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('blocks', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('source_format', sa.String(length=10), nullable=False),
    sa.Column('original_filename', sa.String(length=255), nullable=False),
    sa.Column('original_sha256', sa.String(length=64), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('change_note', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], name=op.f('fk_versions_author_id_people')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_versions_document_id_documents')),
    sa.ForeignKeyConstraint(['original_sha256'], ['blobs.sha256'], name=op.f('fk_versions_original_sha256_blobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_versions')),
    sa.UniqueConstraint('document_id', 'number', name=op.f('uq_versions_document_id'))
    )
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_versions_document_id'), ['document_id'], unique=False)

    op.create_table('finalisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('finalised_by_id', sa.Integer(), nullable=False),
    sa.Column('finalised_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_finalisations_document_id_documents')),
    sa.ForeignKeyConstraint(['finalised_by_id'], ['people.id'], name=op.f('fk_finalisations_finalised_by_id_people')),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_finalisations_version_id_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finalisations')),
    sa.UniqueConstraint('document_id', name=op.f('uq_finalisations_document_id'))
    )
    op.create_table('rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('deadline', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.String(length=20), nullable=True),
    sa.CheckConstraint("(status = 'open') = (closed_at IS NULL)", name=op.f('ck_rounds_closed_when_not_open')),
    sa.CheckConstraint("status IN ('open', 'closed', 'superseded')", name=op.f('ck_rounds_status')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_rounds_document_id_documents')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['people.id'], name=op.f('fk_rounds_opened_by_id_people')),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_rounds_version_id_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rounds')),
    sa.UniqueConstraint('document_id', 'number', name=op.f('uq_rounds_document_id'))
    )
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rounds_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rounds_version_id'), ['version_id'], unique=False)
        batch_op.create_index('uq_rounds_one_open_per_document', ['document_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_audit_events_actor_id_people')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_audit_events_document_id_documents')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_audit_events_network_id_networks')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_audit_events_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('network_id', 'seq', name=op.f('uq_audit_events_network_id'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_document_id'), ['document_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=50), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')", name=op.f('ck_outbox_status')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_outbox_network_id_networks')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_outbox_person_id_people')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_outbox_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_idempotency_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_network_id'), ['network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_status'), ['status'], unique=False)

    op.create_table('participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('can_vote', sa.Boolean(), nullable=False),
    sa.Column('added_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_opened_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_opened_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('current_verdict_id', sa.Integer(), nullable=True),
    *_sqlite_only(sa.ForeignKeyConstraint(['current_verdict_id'], ['verdicts.id'], name='fk_participants_current_verdict_id_verdicts')),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], name=op.f('fk_participants_membership_id_memberships')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_participants_person_id_people')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_participants_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participants')),
    sa.UniqueConstraint('round_id', 'person_id', name=op.f('uq_participants_round_id'))
    )
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participants_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_participants_round_id'), ['round_id'], unique=False)

    op.create_table('comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('block_id', sa.String(length=40), nullable=True),
    sa.Column('quote', sa.Text(), nullable=False),
    sa.Column('context_before', sa.Text(), nullable=False),
    sa.Column('context_after', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('disposition', sa.String(length=30), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_comments_participant_id_participants')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_comments_person_id_people')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_comments_round_id_rounds')),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_comments_version_id_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comments'))
    )
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comments_round_id'), ['round_id'], unique=False)

    op.create_table('personal_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_used_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', storage.database.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_personal_links_participant_id_participants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_personal_links_token_hash'))
    )
    with op.batch_alter_table('personal_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_links_participant_id'), ['participant_id'], unique=False)

    op.create_table('verdicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('person_name', sa.String(length=200), nullable=False),
    sa.Column('person_email', sa.String(length=254), nullable=False),
    sa.Column('organisation_name', sa.String(length=200), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=500), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.database.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("value != 'niet_akkoord' OR length(reason) > 0", name=op.f('ck_verdicts_reason_for_niet_akkoord')),
    sa.CheckConstraint("value IN ('akkoord', 'akkoord_met_opmerkingen', 'niet_akkoord')", name=op.f('ck_verdicts_value')),
    sa.ForeignKeyConstraint(['link_id'], ['personal_links.id'], name=op.f('fk_verdicts_link_id_personal_links')),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_verdicts_participant_id_participants')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_verdicts_round_id_rounds')),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_verdicts_version_id_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verdicts'))
    )
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verdicts_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verdicts_round_id'), ['round_id'], unique=False)


    if _is_sqlite():
        op.execute(IMMUTABLE_VERSIONS_SQLITE)
        op.execute(IMMUTABLE_VERDICTS_SQLITE)
    else:
        op.create_foreign_key(
            "fk_documents_final_version_id_versions", "documents", "versions", ["final_version_id"], ["id"]
        )
        op.create_foreign_key(
            "fk_participants_current_verdict_id_verdicts", "participants", "verdicts", ["current_verdict_id"], ["id"]
        )
        for statement in IMMUTABLE_VERSIONS_PG + IMMUTABLE_VERDICTS_PG:
            op.execute(statement)


def downgrade() -> None:
    if _is_sqlite():
        op.execute("DROP TRIGGER versions_are_immutable")
        op.execute("DROP TRIGGER verdicts_are_immutable")
    else:
        op.execute("DROP TRIGGER versions_are_immutable ON versions")
        op.execute("DROP TRIGGER verdicts_are_immutable ON verdicts")
        op.execute("DROP FUNCTION refuse_version_update()")
        op.execute("DROP FUNCTION refuse_verdict_update()")
        op.drop_constraint("fk_documents_final_version_id_versions", "documents", type_="foreignkey")
        op.drop_constraint("fk_participants_current_verdict_id_verdicts", "participants", type_="foreignkey")
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verdicts_round_id'))
        batch_op.drop_index(batch_op.f('ix_verdicts_participant_id'))

    op.drop_table('verdicts')
    with op.batch_alter_table('personal_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personal_links_participant_id'))

    op.drop_table('personal_links')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comments_round_id'))

    op.drop_table('comments')
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participants_round_id'))
        batch_op.drop_index(batch_op.f('ix_participants_person_id'))

    op.drop_table('participants')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_round_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_network_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_document_id'))

    op.drop_table('audit_events')
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_index('uq_rounds_one_open_per_document', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_rounds_version_id'))
        batch_op.drop_index(batch_op.f('ix_rounds_document_id'))

    op.drop_table('rounds')
    op.drop_table('finalisations')
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_versions_document_id'))

    op.drop_table('versions')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_memberships_active', sqlite_where=sa.text('left_at IS NULL'), postgresql_where=sa.text('left_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_memberships_person_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_network_id'))

    op.drop_table('memberships')
    with op.batch_alter_table('sign_in_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_tokens_person_id'))

    op.drop_table('sign_in_tokens')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_network_id'))

    op.drop_table('organisations')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_network_id'))

    op.drop_table('documents')
    op.drop_table('people')
    op.drop_table('networks')
    op.drop_table('blobs')
