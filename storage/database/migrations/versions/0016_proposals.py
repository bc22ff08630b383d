"""proposals: a comment's type (algemeen, inhoudelijk, redactioneel), the wording it proposes and the wording the
project group takes from it

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        # Existing comments are general ones that propose no wording.
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="general"))
        batch.add_column(sa.Column("proposed_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("taken_text", sa.Text(), nullable=True))
        batch.create_check_constraint("ck_comments_kind", "kind IN ('general', 'technical', 'editorial')")
        batch.create_check_constraint(
            "ck_comments_proposal_anchored", "proposed_text IS NULL OR (block_id IS NOT NULL AND start_offset IS NOT NULL)")
        batch.create_check_constraint("ck_comments_taken_from_proposal", "taken_text IS NULL OR proposed_text IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.drop_constraint("ck_comments_taken_from_proposal", type_="check")
        batch.drop_constraint("ck_comments_proposal_anchored", type_="check")
        batch.drop_constraint("ck_comments_kind", type_="check")
        batch.drop_column("taken_text")
        batch.drop_column("proposed_text")
        batch.drop_column("kind")
