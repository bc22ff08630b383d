"""one outbox for mail and webhook posts (per-item retry schedule and failure reason), the audit chain's head,
links that know their mail, and the final files made once

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import storage.database.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC = storage.database.models.UTCDateTime(timezone=True)
GENESIS = "0" * 64


def upgrade() -> None:
    # The audit chain's head per network: its last event's seq and hash.
    op.create_table(
        "audit_chains",
        sa.Column("network_id", sa.Integer(),
                  sa.ForeignKey("networks.id", name="fk_audit_chains_network_id_networks"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("network_id", name="pk_audit_chains"),
    )
    op.execute(f"""
        INSERT INTO audit_chains (network_id, seq, hash)
        SELECT n.id, COALESCE(e.seq, 0), COALESCE(e.hash, '{GENESIS}')
        FROM networks n LEFT JOIN audit_events e ON e.network_id = n.id
            AND e.seq = (SELECT MAX(seq) FROM audit_events WHERE network_id = n.id)
    """)

    # The outbox takes webhook deliveries too: a channel, the next attempt's time and the failure's reason.
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("channel", sa.String(10), nullable=False, server_default="mail"))
        batch.add_column(sa.Column("next_attempt_at", UTC, nullable=True))
        batch.add_column(sa.Column("failure", sa.String(40), nullable=True))
        batch.add_column(sa.Column("webhook_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("event_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("event", sa.String(40), nullable=True))
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("response_status", sa.Integer(), nullable=True))
        for column, type_ in (("email", sa.String(50)), ("person_id", sa.Integer()), ("to_address", sa.String(254)),
                              ("locale", sa.String(5)), ("params", sa.JSON())):
            batch.alter_column(column, existing_type=type_, nullable=True)
        batch.create_foreign_key("fk_outbox_webhook_id_webhooks", "webhooks", ["webhook_id"], ["id"])
        batch.drop_index("ix_outbox_status")
        batch.create_index("ix_outbox_due", ["status", "next_attempt_at"])
        batch.create_index("ix_outbox_webhook_id", ["webhook_id"])
        batch.create_check_constraint("ck_outbox_channel", "channel IN ('mail', 'webhook')")
        batch.create_check_constraint(
            "ck_outbox_mail_has_recipient",
            "channel != 'mail' OR (email IS NOT NULL AND person_id IS NOT NULL AND to_address IS NOT NULL)")
        batch.create_check_constraint("ck_outbox_webhook_has_event",
                                      "channel != 'webhook' OR (webhook_id IS NOT NULL AND event_id IS NOT NULL)")
    # Mail still to go is due now; a claim in flight keeps its time (the sweep takes it over when it is stale).
    op.execute("UPDATE outbox SET next_attempt_at = created_at WHERE status IN ('pending', 'sending')")
    op.execute("""
        INSERT INTO outbox (channel, idempotency_key, network_id, status, attempts, next_attempt_at, failure,
                            last_error, created_at, claimed_at, sent_at, webhook_id, event_id, event, payload,
                            response_status)
        SELECT 'webhook', 'webhook:' || d.webhook_id || ':' || d.event_id, w.network_id, d.status, d.attempts,
               CASE WHEN d.status IN ('pending', 'sending') THEN d.created_at END,
               CASE WHEN d.status = 'failed' THEN 'webhook_unreachable' END,
               d.last_error, d.created_at, d.claimed_at, d.delivered_at, d.webhook_id, d.event_id, d.event,
               d.payload, d.response_status
        FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
        ORDER BY d.id
    """)
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("outbox") as batch:
        batch.create_check_constraint("ck_outbox_sending_is_claimed", "status != 'sending' OR claimed_at IS NOT NULL")
        batch.alter_column("channel", existing_type=sa.String(10), server_default=None)

    # A personal link knows the mail that carried it (an attempt to send that mail again revokes it).
    # Not in batch mode: verdicts refer to personal_links, and rebuilding a table others refer to would fail on
    # SQLite with foreign keys on; SQLite adds a column with its REFERENCES clause in place.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE personal_links ADD COLUMN outbox_id INTEGER "
                   "CONSTRAINT fk_personal_links_outbox_id_outbox REFERENCES outbox (id)")
    else:
        op.add_column("personal_links", sa.Column("outbox_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_personal_links_outbox_id_outbox", "personal_links", "outbox", ["outbox_id"], ["id"])
    op.create_index("ix_personal_links_outbox_id", "personal_links", ["outbox_id"])

    # The final .docx and PDF, made once.
    with op.batch_alter_table("finalisations") as batch:
        batch.add_column(sa.Column("docx_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("pdf_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("files_made_at", UTC, nullable=True))
        batch.create_foreign_key("fk_finalisations_docx_sha256_blobs", "blobs", ["docx_sha256"], ["sha256"])
        batch.create_foreign_key("fk_finalisations_pdf_sha256_blobs", "blobs", ["pdf_sha256"], ["sha256"])


def downgrade() -> None:
    with op.batch_alter_table("finalisations") as batch:
        batch.drop_constraint("fk_finalisations_pdf_sha256_blobs", type_="foreignkey")
        batch.drop_constraint("fk_finalisations_docx_sha256_blobs", type_="foreignkey")
        batch.drop_column("files_made_at")
        batch.drop_column("pdf_sha256")
        batch.drop_column("docx_sha256")
    op.drop_index("ix_personal_links_outbox_id", "personal_links")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_personal_links_outbox_id_outbox", "personal_links", type_="foreignkey")
    op.drop_column("personal_links", "outbox_id")  # SQLite 3.35+ drops a column in place
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("webhook_id", sa.Integer(),
                  sa.ForeignKey("webhooks.id", name="fk_webhook_deliveries_webhook_id_webhooks"), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("claimed_at", UTC, nullable=True),
        sa.Column("delivered_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_id"),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')",
                           name="ck_webhook_deliveries_status"),
    )
    op.create_index("ix_webhook_deliveries_webhook_id", "webhook_deliveries", ["webhook_id"])
    op.create_index("ix_webhook_deliveries_status", "webhook_deliveries", ["status"])
    op.execute("""
        INSERT INTO webhook_deliveries (webhook_id, event_id, event, payload, status, attempts, response_status,
                                        last_error, created_at, claimed_at, delivered_at)
        SELECT webhook_id, event_id, event, payload, status, attempts, response_status, last_error, created_at,
               claimed_at, sent_at
        FROM outbox WHERE channel = 'webhook' ORDER BY id
    """)
    op.execute("DELETE FROM outbox WHERE channel = 'webhook'")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("ck_outbox_sending_is_claimed", type_="check")
        batch.drop_constraint("ck_outbox_webhook_has_event", type_="check")
        batch.drop_constraint("ck_outbox_mail_has_recipient", type_="check")
        batch.drop_constraint("ck_outbox_channel", type_="check")
        batch.drop_index("ix_outbox_webhook_id")
        batch.drop_index("ix_outbox_due")
        batch.create_index("ix_outbox_status", ["status"])
        batch.drop_constraint("fk_outbox_webhook_id_webhooks", type_="foreignkey")
        for column in ("response_status", "payload", "event", "event_id", "webhook_id", "failure", "next_attempt_at",
                       "channel"):
            batch.drop_column(column)
        for column, type_ in (("email", sa.String(50)), ("person_id", sa.Integer()), ("to_address", sa.String(254)),
                              ("locale", sa.String(5)), ("params", sa.JSON())):
            batch.alter_column(column, existing_type=type_, nullable=False)
    op.drop_table("audit_chains")
