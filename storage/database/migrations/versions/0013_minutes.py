"""the minutes of network meetings (notulen): notes per agenda item, who attended, decisions (besluiten) that may
refer to comments, and action points (actiepunten)

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

import storage.database.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC = storage.database.models.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.add_column("agenda_items", sa.Column("notes", sa.Text(), nullable=False, server_default=""))
    op.add_column("meeting_invitations", sa.Column("attended", sa.Boolean(), nullable=True))
    op.create_table(
        "meeting_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), _fk("meeting_decisions", "meeting_id", "meetings"), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), _fk("meeting_decisions", "agenda_item_id", "agenda_items"),
                  nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), _fk("meeting_decisions", "created_by_id", "people"), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_decisions"),
    )
    op.create_index("ix_meeting_decisions_meeting_id", "meeting_decisions", ["meeting_id"])
    op.create_index("ix_meeting_decisions_agenda_item_id", "meeting_decisions", ["agenda_item_id"])
    op.create_table(
        "meeting_decision_comments",
        sa.Column("decision_id", sa.Integer(), _fk("meeting_decision_comments", "decision_id", "meeting_decisions"),
                  nullable=False),
        sa.Column("comment_id", sa.Integer(), _fk("meeting_decision_comments", "comment_id", "comments"),
                  nullable=False),
        sa.PrimaryKeyConstraint("decision_id", "comment_id", name="pk_meeting_decision_comments"),
    )
    op.create_index("ix_meeting_decision_comments_comment_id", "meeting_decision_comments", ["comment_id"])
    op.create_table(
        "action_points",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), _fk("action_points", "meeting_id", "meetings"), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), _fk("action_points", "agenda_item_id", "agenda_items"),
                  nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), _fk("action_points", "owner_id", "memberships"), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="open"),
        sa.Column("done_note", sa.Text(), nullable=False, server_default=""),
        sa.Column("done_at", UTC, nullable=True),
        sa.Column("done_by_id", sa.Integer(), _fk("action_points", "done_by_id", "people"), nullable=True),
        sa.Column("created_by_id", sa.Integer(), _fk("action_points", "created_by_id", "people"), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_action_points"),
        sa.CheckConstraint("status IN ('open', 'done')", name="ck_action_points_status"),
        sa.CheckConstraint("(status = 'done') = (done_at IS NOT NULL)", name="ck_action_points_done_when_done"),
    )
    op.create_index("ix_action_points_meeting_id", "action_points", ["meeting_id"])
    op.create_index("ix_action_points_agenda_item_id", "action_points", ["agenda_item_id"])
    op.create_index("ix_action_points_owner_id", "action_points", ["owner_id"])
    op.create_index("ix_action_points_status_due_on", "action_points", ["status", "due_on"])


def downgrade() -> None:
    for table in ("action_points", "meeting_decision_comments", "meeting_decisions"):
        op.drop_table(table)
    with op.batch_alter_table("meeting_invitations") as batch:
        batch.drop_column("attended")
    with op.batch_alter_table("agenda_items") as batch:
        batch.drop_column("notes")
