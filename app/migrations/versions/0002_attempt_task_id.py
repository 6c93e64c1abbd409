"""stage attempts remember the Celery task that runs them

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stage_attempts") as batch:
        batch.add_column(sa.Column("task_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stage_attempts") as batch:
        batch.drop_column("task_id")
