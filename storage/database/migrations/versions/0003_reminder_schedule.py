"""reminders: each round's schedule (days before the deadline)

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN works on SQLite and PostgreSQL alike, so no table rebuild is needed.
    op.add_column("rounds", sa.Column("reminder_days", sa.JSON(), nullable=False, server_default="[7, 2, 0]"))


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("reminder_days")
