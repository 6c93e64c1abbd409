"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 08:30:21.032675
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('private_key_hash', sa.String(length=128), nullable=False),
    sa.Column('stream_key', sa.String(length=64), nullable=False),
    sa.Column('signing_secret_enc', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_key'),
    sa.UniqueConstraint('stream_key')
    )
    op.create_table('identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('provider_user_id', sa.String(length=128), nullable=False),
    sa.Column('access_token_enc', sa.Text(), nullable=False),
    sa.Column('refresh_token_enc', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site_id', 'provider', 'provider_user_id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identities_site_id'), ['site_id'], unique=False)

    op.create_table('push_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('resource', sa.String(length=500), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('provider_ids', sa.JSON(), nullable=False),
    sa.Column('progress', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('error_reason', sa.String(length=64), nullable=True),
    sa.Column('error_info', sa.Text(), nullable=True),
    sa.Column('callback_url', sa.Text(), nullable=True),
    sa.Column('webhook_id', sa.String(length=64), nullable=True),
    sa.Column('next_callback_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('callback_attempts_made', sa.Integer(), nullable=False),
    sa.Column('staged_key', sa.String(length=300), nullable=True),
    sa.Column('staged_bytes', sa.BigInteger(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('body_hash', sa.String(length=64), nullable=True),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site_id', 'idempotency_key'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('push_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_requests_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_push_requests_next_callback_at'), ['next_callback_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_push_requests_site_id'), ['site_id'], unique=False)
        batch_op.create_index('ix_push_requests_state_updated', ['state', 'updated_at'], unique=False)

    op.create_table('callback_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('webhook_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['push_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('callback_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_attempts_request_id'), ['request_id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['push_requests.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_site_id_id', ['site_id', 'id'], unique=False)

    op.create_table('request_transitions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_state', sa.String(length=32), nullable=True),
    sa.Column('to_state', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['push_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('request_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_transitions_request_id'), ['request_id'], unique=False)

    op.create_table('stage_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('error_reason', sa.String(length=64), nullable=True),
    sa.Column('error_info', sa.Text(), nullable=True),
    sa.Column('bytes_moved', sa.BigInteger(), nullable=False),
    sa.Column('progress_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['push_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stage_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_attempts_request_id'), ['request_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('stage_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_attempts_request_id'))

    op.drop_table('stage_attempts')
    with op.batch_alter_table('request_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_transitions_request_id'))

    op.drop_table('request_transitions')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_site_id_id')

    op.drop_table('events')
    with op.batch_alter_table('callback_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_attempts_request_id'))

    op.drop_table('callback_attempts')
    with op.batch_alter_table('push_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_push_requests_state_updated')
        batch_op.drop_index(batch_op.f('ix_push_requests_site_id'))
        batch_op.drop_index(batch_op.f('ix_push_requests_next_callback_at'))
        batch_op.drop_index(batch_op.f('ix_push_requests_identity_id'))

    op.drop_table('push_requests')
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identities_site_id'))

    op.drop_table('identities')
    op.drop_table('sites')
