"""durable waits: requests parked in state "waiting" until resume_at; scheduled pushes

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
    with op.batch_alter_table("push_requests") as batch:
        batch.add_column(sa.Column("publish_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resume_stage", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("resume_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("wait_reason", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("wait_info", sa.Text(), nullable=True))
    op.create_index("ix_push_requests_state_resume_at", "push_requests", ["state", "resume_at"])


def downgrade() -> None:
    op.drop_index("ix_push_requests_state_resume_at", table_name="push_requests")
    with op.batch_alter_table("push_requests") as batch:
        for name in ("wait_info", "wait_reason", "resume_at", "resume_stage", "publish_at"):
            batch.drop_column(name)
