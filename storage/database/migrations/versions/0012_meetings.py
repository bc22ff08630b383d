"""network meetings (bijeenkomsten): meetings, their agenda, invitations with the members' answers, and the personal
links to the sign-up page

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

import storage.database.models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC = storage.database.models.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("network_id", sa.Integer(), _fk("meetings", "network_id", "networks"), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("starts_at", UTC, nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False, server_default=""),
        sa.Column("online_url", sa.String(2000), nullable=False, server_default=""),
        sa.Column("message", sa.Text(), nullable=False, server_default=""),
        sa.Column("chair_id", sa.Integer(), _fk("meetings", "chair_id", "memberships"), nullable=True),
        sa.Column("minute_taker_id", sa.Integer(), _fk("meetings", "minute_taker_id", "memberships"), nullable=True),
        sa.Column("audience", sa.String(20), nullable=False, server_default="everyone"),
        sa.Column("status", sa.String(20), nullable=False, server_default="planned"),
        sa.Column("uid", sa.String(200), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reminder_days", sa.JSON(), nullable=False),
        sa.Column("reminder_slots", sa.JSON(), nullable=False),
        sa.Column("invited_at", UTC, nullable=True),
        sa.Column("created_by_id", sa.Integer(), _fk("meetings", "created_by_id", "people"), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("cancelled_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_meetings"),
        sa.UniqueConstraint("uid", name="uq_meetings_uid"),
        sa.CheckConstraint("audience IN ('everyone', 'board', 'project_group', 'organisations')",
                           name="ck_meetings_audience"),
        sa.CheckConstraint("status IN ('planned', 'cancelled')", name="ck_meetings_status"),
        sa.CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)",
                           name="ck_meetings_cancelled_when_cancelled"),
        sa.CheckConstraint("duration_minutes > 0", name="ck_meetings_duration"),
    )
    op.create_index("ix_meetings_network_id", "meetings", ["network_id"])
    op.create_index("ix_meetings_starts_at", "meetings", ["starts_at"])
    op.create_table(
        "meeting_organisations",
        sa.Column("meeting_id", sa.Integer(), _fk("meeting_organisations", "meeting_id", "meetings"), nullable=False),
        sa.Column("organisation_id", sa.Integer(),
                  _fk("meeting_organisations", "organisation_id", "organisations"), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", "organisation_id", name="pk_meeting_organisations"),
    )
    op.create_index("ix_meeting_organisations_organisation_id", "meeting_organisations", ["organisation_id"])
    op.create_table(
        "agenda_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), _fk("agenda_items", "meeting_id", "meetings"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("presenter_id", sa.Integer(), _fk("agenda_items", "presenter_id", "memberships"), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("document_id", sa.Integer(), _fk("agenda_items", "document_id", "documents"), nullable=True),
        sa.Column("version_id", sa.Integer(), _fk("agenda_items", "version_id", "versions"), nullable=True),
        sa.Column("compare_version_id", sa.Integer(), _fk("agenda_items", "compare_version_id", "versions"),
                  nullable=True),
        sa.Column("round_id", sa.Integer(), _fk("agenda_items", "round_id", "rounds"), nullable=True),
        sa.Column("comment_selection", sa.String(30), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agenda_items"),
        sa.CheckConstraint("comment_selection IS NULL OR comment_selection IN ('chosen', 'niet_overgenomen', "
                           "'niet_akkoord')", name="ck_agenda_items_comment_selection"),
        sa.CheckConstraint("comment_selection IS NULL OR round_id IS NOT NULL",
                           name="ck_agenda_items_comments_of_a_round"),
        sa.CheckConstraint("compare_version_id IS NULL OR version_id IS NOT NULL",
                           name="ck_agenda_items_redline_has_two_versions"),
    )
    op.create_index("ix_agenda_items_meeting_id", "agenda_items", ["meeting_id"])
    op.create_table(
        "agenda_item_comments",
        sa.Column("agenda_item_id", sa.Integer(), _fk("agenda_item_comments", "agenda_item_id", "agenda_items"),
                  nullable=False),
        sa.Column("comment_id", sa.Integer(), _fk("agenda_item_comments", "comment_id", "comments"), nullable=False),
        sa.PrimaryKeyConstraint("agenda_item_id", "comment_id", name="pk_agenda_item_comments"),
    )
    op.create_index("ix_agenda_item_comments_comment_id", "agenda_item_comments", ["comment_id"])
    op.create_table(
        "meeting_invitations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), _fk("meeting_invitations", "meeting_id", "meetings"), nullable=False),
        sa.Column("person_id", sa.Integer(), _fk("meeting_invitations", "person_id", "people"), nullable=False),
        sa.Column("membership_id", sa.Integer(), _fk("meeting_invitations", "membership_id", "memberships"),
                  nullable=False),
        sa.Column("answer", sa.String(20), nullable=False, server_default="none"),
        sa.Column("remark", sa.Text(), nullable=False, server_default=""),
        sa.Column("answered_at", UTC, nullable=True),
        sa.Column("invited_at", UTC, nullable=False),
        sa.Column("removed_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_invitations"),
        sa.UniqueConstraint("meeting_id", "person_id", name="uq_meeting_invitations_meeting_id"),
        sa.CheckConstraint("answer IN ('none', 'aanmelden', 'afmelden')", name="ck_meeting_invitations_answer"),
        sa.CheckConstraint("(answer = 'none') = (answered_at IS NULL)",
                           name="ck_meeting_invitations_answered_when_answer"),
    )
    op.create_index("ix_meeting_invitations_meeting_id", "meeting_invitations", ["meeting_id"])
    op.create_index("ix_meeting_invitations_person_id", "meeting_invitations", ["person_id"])
    op.create_table(
        "meeting_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("invitation_id", sa.Integer(), _fk("meeting_links", "invitation_id", "meeting_invitations"),
                  nullable=False),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id", name="fk_meeting_links_outbox_id_outbox",
                                                           ondelete="SET NULL"), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("first_used_at", UTC, nullable=True),
        sa.Column("last_used_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_links"),
        sa.UniqueConstraint("token_hash", name="uq_meeting_links_token_hash"),
    )
    op.create_index("ix_meeting_links_invitation_id", "meeting_links", ["invitation_id"])
    op.create_index("ix_meeting_links_outbox_id", "meeting_links", ["outbox_id"])


def downgrade() -> None:
    for table in ("meeting_links", "meeting_invitations", "agenda_item_comments", "agenda_items",
                  "meeting_organisations", "meetings"):
        op.drop_table(table)
