"""a member's returned Word file: kept as evidence with what its comparison with the round's version found, and
each comment it produced pointing at it

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

import storage.database.models

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UTC = storage.database.models.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str, key: str = "id") -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.{key}", name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "returned_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), _fk("returned_files", "round_id", "rounds"), nullable=False),
        sa.Column("participant_id", sa.Integer(), _fk("returned_files", "participant_id", "participants"),
                  nullable=False),
        sa.Column("person_id", sa.Integer(), _fk("returned_files", "person_id", "people"), nullable=False),
        sa.Column("version_id", sa.Integer(), _fk("returned_files", "version_id", "versions"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), _fk("returned_files", "sha256", "blobs", "sha256"), nullable=False),
        sa.Column("found", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("submitted_at", UTC, nullable=True),
        sa.Column("discarded_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_returned_files"),
        sa.CheckConstraint("submitted_at IS NULL OR discarded_at IS NULL", name="ck_returned_files_submitted_or_discarded"),
    )
    op.create_index("ix_returned_files_round_id", "returned_files", ["round_id"])
    op.create_index("ix_returned_files_participant_id", "returned_files", ["participant_id"])
    op.create_index("ix_returned_files_person_id", "returned_files", ["person_id"])
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("returned_file_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_comments_returned_file_id_returned_files", "returned_files",
                                 ["returned_file_id"], ["id"])
        batch.create_index("ix_comments_returned_file_id", ["returned_file_id"])


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.drop_index("ix_comments_returned_file_id")
        batch.drop_constraint("fk_comments_returned_file_id_returned_files", type_="foreignkey")
        batch.drop_column("returned_file_id")
    op.drop_table("returned_files")
