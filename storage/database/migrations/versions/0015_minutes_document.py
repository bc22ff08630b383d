"""a meeting's minutes go through the same process as every document: the meeting names the document holding its
minutes, a document says whose agreement counts on it (the network, or the meeting's attendees), and documents
have the kind "notulen"

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

KINDS_BEFORE = ("ambitieverklaring", "intentieverklaring", "samenwerkingsovereenkomst", "visiedocument",
                "plan_van_aanpak", "regioplan", "notitie", "anders")
KINDS = KINDS_BEFORE[:-1] + ("notulen", "anders")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        # Every existing document is decided by its network, as before.
        batch.add_column(sa.Column("deciders", sa.String(20), nullable=False, server_default="network"))
        batch.create_check_constraint(op.f("ck_documents_deciders"), "deciders IN ('network', 'attendees')")
        batch.drop_constraint(op.f("ck_documents_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_documents_kind"), _in("kind", KINDS))
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("minutes_document_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_meetings_minutes_document_id_documents", "documents",
                                 ["minutes_document_id"], ["id"])
        batch.create_unique_constraint("uq_meetings_minutes_document_id", ["minutes_document_id"])


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.drop_constraint("uq_meetings_minutes_document_id", type_="unique")
        batch.drop_constraint("fk_meetings_minutes_document_id_documents", type_="foreignkey")
        batch.drop_column("minutes_document_id")
    # Minutes documents stay, as notes (notitie): the kind "notulen" is no more.
    op.execute("UPDATE documents SET kind = 'notitie' WHERE kind = 'notulen'")
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint(op.f("ck_documents_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_documents_kind"), _in("kind", KINDS_BEFORE))
        batch.drop_constraint(op.f("ck_documents_deciders"), type_="check")
        batch.drop_column("deciders")
