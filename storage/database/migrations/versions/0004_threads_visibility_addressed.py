"""comment threads, selected spans, who sees a round's comments, and the comments a version addresses

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rounds", sa.Column("comment_visibility", sa.String(10), nullable=False, server_default="all"))
    with op.batch_alter_table("rounds") as batch:
        batch.create_check_constraint("ck_rounds_comment_visibility", sa.text("comment_visibility IN ('all', 'group')"))
    # Batch mode rebuilds the table on SQLite (a column becomes nullable, constraints are added); no triggers.
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("start_offset", sa.Integer(), nullable=True))
        batch.alter_column("participant_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key("fk_comments_parent_id_comments", "comments", ["parent_id"], ["id"])
        batch.create_index("ix_comments_parent_id", ["parent_id"])
        batch.create_index("ix_comments_round_thread", ["round_id", "parent_id", "person_id"])
        batch.create_check_constraint("ck_comments_reply_or_participant",
                                      sa.text("parent_id IS NOT NULL OR participant_id IS NOT NULL"))
        batch.create_check_constraint("ck_comments_reply_not_disposed",
                                      sa.text("parent_id IS NULL OR disposition IS NULL"))
    op.create_table(
        "version_addresses",
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id", name="fk_version_addresses_version_id_versions"),
                  nullable=False),
        sa.Column("comment_id", sa.Integer(), sa.ForeignKey("comments.id", name="fk_version_addresses_comment_id_comments"),
                  nullable=False),
        sa.PrimaryKeyConstraint("version_id", "comment_id", name="pk_version_addresses"),
    )
    op.create_index("ix_version_addresses_comment_id", "version_addresses", ["comment_id"])


def downgrade() -> None:
    op.drop_index("ix_version_addresses_comment_id", "version_addresses")
    op.drop_table("version_addresses")
    with op.batch_alter_table("comments") as batch:
        batch.drop_constraint("ck_comments_reply_not_disposed", type_="check")
        batch.drop_constraint("ck_comments_reply_or_participant", type_="check")
        batch.drop_index("ix_comments_round_thread")
        batch.drop_index("ix_comments_parent_id")
        batch.drop_constraint("fk_comments_parent_id_comments", type_="foreignkey")
        batch.alter_column("participant_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("start_offset")
        batch.drop_column("parent_id")
    with op.batch_alter_table("rounds") as batch:
        batch.drop_constraint("ck_rounds_comment_visibility", type_="check")
        batch.drop_column("comment_visibility")
