"""action points followed up: the owner's personal links to mark one done, the reminder slots used and the owner's
sequence; agenda items found by the document they refer to (a document's timeline shows its meetings)

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

import storage.database.models

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UTC = storage.database.models.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    with op.batch_alter_table("action_points") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
        # Existing rows: no reminder sent yet.
        batch.add_column(sa.Column("reminder_slots", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "action_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("action_point_id", sa.Integer(), _fk("action_links", "action_point_id", "action_points"),
                  nullable=False),
        sa.Column("owner_id", sa.Integer(), _fk("action_links", "owner_id", "memberships"), nullable=False),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id", name="fk_action_links_outbox_id_outbox",
                                                           ondelete="SET NULL"), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("first_used_at", UTC, nullable=True),
        sa.Column("last_used_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_action_links"),
        sa.UniqueConstraint("token_hash", name="uq_action_links_token_hash"),
    )
    op.create_index("ix_action_links_action_point_id", "action_links", ["action_point_id"])
    op.create_index("ix_action_links_outbox_id", "action_links", ["outbox_id"])
    op.create_index("ix_agenda_items_document_id", "agenda_items", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_agenda_items_document_id", table_name="agenda_items")
    op.drop_table("action_links")
    with op.batch_alter_table("action_points") as batch:
        batch.drop_column("reminder_slots")
        batch.drop_column("sequence")
