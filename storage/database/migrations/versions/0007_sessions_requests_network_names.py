"""server-side sessions, sign-in and lost-link requests handled by a worker, and each network's own name for a
person

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import storage.database.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC = storage.database.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", name="fk_web_sessions_person_id_people"),
                  nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_seen_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
    )
    op.create_index("ix_web_sessions_person_id", "web_sessions", ["person_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_table(
        "address_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_address_requests"),
        sa.CheckConstraint("purpose IN ('sign_in', 'lost_link')", name="ck_address_requests_purpose"),
    )
    op.create_index("ix_address_requests_created_at", "address_requests", ["created_at"])
    # Not in batch mode: participants refer to memberships (rebuilding the table would fail on SQLite with foreign
    # keys on). Each network starts with the name the person was stored with.
    op.add_column("memberships", sa.Column("name", sa.String(200), nullable=False, server_default=""))
    op.execute("UPDATE memberships SET name = (SELECT people.name FROM people WHERE people.id = memberships.person_id)")


def downgrade() -> None:
    op.drop_column("memberships", "name")
    op.drop_index("ix_address_requests_created_at", "address_requests")
    op.drop_table("address_requests")
    op.drop_index("ix_web_sessions_expires_at", "web_sessions")
    op.drop_index("ix_web_sessions_person_id", "web_sessions")
    op.drop_table("web_sessions")
