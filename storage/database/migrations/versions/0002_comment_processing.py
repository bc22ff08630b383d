"""comment processing: who processed a comment and when, and the allowed dispositions

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

import storage.database.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DISPOSITIONS = "disposition IS NULL OR disposition IN ('overgenomen', 'deels_overgenomen', 'niet_overgenomen', 'voor_kennisgeving')"


def upgrade() -> None:
    # Batch mode rebuilds the table on SQLite (it cannot add constraints in place); comments has no triggers.
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("processed_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("processed_at", storage.database.models.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_comments_processed_by_id_people", "people", ["processed_by_id"], ["id"])
        batch.create_check_constraint("ck_comments_disposition", sa.text(DISPOSITIONS))
        batch.create_check_constraint("ck_comments_processed_when_disposed",
                                      sa.text("(disposition IS NULL) = (processed_at IS NULL)"))


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.drop_constraint("ck_comments_processed_when_disposed", type_="check")
        batch.drop_constraint("ck_comments_disposition", type_="check")
        batch.drop_constraint("fk_comments_processed_by_id_people", type_="foreignkey")
        batch.drop_column("processed_at")
        batch.drop_column("processed_by_id")
