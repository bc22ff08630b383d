"""networks decide as organisations: decision rules, representatives, substitutes, the register of organisations
joining and leaving, the network's own record, the evidence dossier and erasure

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

import storage.database.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC = storage.database.models.UTCDateTime(timezone=True)

# Not in batch mode (tables referred to by others cannot be rebuilt on SQLite with foreign keys on): plain
# ADD COLUMN, which SQLite allows with a constant default and, for a reference, a NULL default.
COLUMNS = {
    "networks": [
        sa.Column("decision_rule", sa.String(20), nullable=False, server_default="person"),
        sa.Column("purpose", sa.Text(), nullable=False, server_default=""),
        sa.Column("target_group", sa.Text(), nullable=False, server_default=""),
        sa.Column("privacy_statement", sa.Text(), nullable=False, server_default=""),
    ],
    "organisations": [
        sa.Column("has_vote", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("joined_at", UTC, nullable=True),
        sa.Column("joined_reference", sa.Text(), nullable=False, server_default=""),
        sa.Column("left_at", UTC, nullable=True),
        sa.Column("left_reference", sa.Text(), nullable=False, server_default=""),
    ],
    "people": [sa.Column("erased_at", UTC, nullable=True)],
    "memberships": [
        sa.Column("representative", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("board", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("discipline", sa.String(100), nullable=False, server_default=""),
    ],
    "documents": [sa.Column("decision_rule", sa.String(20), nullable=True)],
    "rounds": [sa.Column("decision_rule", sa.String(20), nullable=False, server_default="person")],
    "finalisations": [
        sa.Column("dossier_json_sha256", sa.String(64),
                  sa.ForeignKey("blobs.sha256", name="fk_finalisations_dossier_json_sha256_blobs"), nullable=True),
        sa.Column("dossier_pdf_sha256", sa.String(64),
                  sa.ForeignKey("blobs.sha256", name="fk_finalisations_dossier_pdf_sha256_blobs"), nullable=True),
    ],
    "verdicts": [
        sa.Column("organisation_id", sa.Integer(),
                  sa.ForeignKey("organisations.id", name="fk_verdicts_organisation_id_organisations"), nullable=True),
        sa.Column("suggestion", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("substitution_id", sa.Integer(),
                  sa.ForeignKey("substitutions.id", name="fk_verdicts_substitution_id_substitutions"), nullable=True),
        sa.Column("on_behalf_of_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("on_behalf_of_email", sa.String(254), nullable=False, server_default=""),
    ],
}


def upgrade() -> None:
    op.create_table(
        "substitutions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("network_id", sa.Integer(), sa.ForeignKey("networks.id", name="fk_substitutions_network_id_networks"),
                  nullable=False),
        sa.Column("absent_membership_id", sa.Integer(),
                  sa.ForeignKey("memberships.id", name="fk_substitutions_absent_membership_id_memberships"),
                  nullable=False),
        sa.Column("substitute_membership_id", sa.Integer(),
                  sa.ForeignKey("memberships.id", name="fk_substitutions_substitute_membership_id_memberships"),
                  nullable=False),
        sa.Column("starts_at", UTC, nullable=False),
        sa.Column("ends_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("people.id", name="fk_substitutions_created_by_id_people"),
                  nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_substitutions"),
    )
    op.create_index("ix_substitutions_network_id", "substitutions", ["network_id"])
    op.create_index("ix_substitutions_absent_membership_id", "substitutions", ["absent_membership_id"])
    op.create_index("ix_substitutions_substitute_membership_id", "substitutions", ["substitute_membership_id"])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in COLUMNS.items():
        for column in columns:
            if sqlite and column.foreign_keys:
                # Alembic will not ALTER a constraint on SQLite; SQLite itself takes a reference in ADD COLUMN.
                [key] = column.foreign_keys
                target_table, target_column = key.target_fullname.split(".")
                kind = column.type.compile(dialect=op.get_bind().dialect)
                op.execute(f"ALTER TABLE {table} ADD COLUMN {column.name} {kind} CONSTRAINT {key.name} "
                           f"REFERENCES {target_table} ({target_column})")
            else:
                op.add_column(table, column)


def downgrade() -> None:
    for table, columns in reversed(COLUMNS.items()):
        with op.batch_alter_table(table) as batch:
            for column in reversed(columns):
                batch.drop_column(column.name)
    if op.get_bind().dialect.name == "sqlite":  # batch mode rebuilt verdicts, without their trigger
        op.execute("DROP TRIGGER IF EXISTS verdicts_are_immutable")
        op.execute("CREATE TRIGGER verdicts_are_immutable BEFORE UPDATE ON verdicts "
                   "BEGIN SELECT RAISE(ABORT, 'verdicts are immutable'); END")
    op.drop_index("ix_substitutions_substitute_membership_id", "substitutions")
    op.drop_index("ix_substitutions_absent_membership_id", "substitutions")
    op.drop_index("ix_substitutions_network_id", "substitutions")
    op.drop_table("substitutions")
