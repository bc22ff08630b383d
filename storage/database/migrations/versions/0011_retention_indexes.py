"""indexes for the retention prune and the readiness checks, so that neither reads whole tables

Revision ID: 0011
Revises: 0010
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# (name, table, columns): the prune asks which links and sign-in tokens ended before a time, whether a verdict names
# a link (deleting a link checks that key too), and which delivered outbox items are older than the period
# (workflows.domain.retention). The readiness checks use ix_outbox_due (status, next_attempt_at), which exists.
INDEXES = (
    ("ix_personal_links_expires_at", "personal_links", ["expires_at"]),
    ("ix_personal_links_revoked_at", "personal_links", ["revoked_at"]),
    ("ix_verdicts_link_id", "verdicts", ["link_id"]),
    ("ix_sign_in_tokens_expires_at", "sign_in_tokens", ["expires_at"]),
    ("ix_outbox_done", "outbox", ["status", "sent_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
