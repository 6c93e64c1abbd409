"""hostile peers: stream keys stored hashed, revocable dashboard sessions, single-use magic links

Revision ID: 0005
Revises: 0004
"""
import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"  # relinked after 0004 (durable waits) landed in main
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("dashboard_generation", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "dashboard_magic_links",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("nonce_hash"),
    )
    op.create_index("ix_dashboard_magic_links_site_id", "dashboard_magic_links", ["site_id"])
    op.create_index("ix_dashboard_magic_links_expires_at", "dashboard_magic_links", ["expires_at"])
    # Stream keys were stored as given; from now on only their SHA-256 is (the key
    # itself is shown once, when the site is created).
    conn = op.get_bind()
    sites = sa.table("sites", sa.column("id", sa.Integer), sa.column("stream_key", sa.String))
    for site_id, key in conn.execute(sa.select(sites.c.id, sites.c.stream_key)).all():
        conn.execute(sites.update().where(sites.c.id == site_id)
                     .values(stream_key=hashlib.sha256(key.encode()).hexdigest()))


def downgrade() -> None:
    # Hashed stream keys cannot be turned back: sites need new keys after a downgrade.
    op.drop_index("ix_dashboard_magic_links_expires_at", "dashboard_magic_links")
    op.drop_index("ix_dashboard_magic_links_site_id", "dashboard_magic_links")
    op.drop_table("dashboard_magic_links")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("dashboard_generation")
