"""The `foley_tasks` table (the foley capability's uploads and the latest job of each step).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "foley_tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("filename", sa.String(300), nullable=True),
        sa.Column("file", sa.String(200), nullable=False),
        sa.Column("video", sa.JSON(), nullable=False),
        sa.Column("detect_job", sa.String(36), nullable=True),
        sa.Column("video_job", sa.String(36), nullable=True),
        sa.Column("audio_job", sa.String(36), nullable=True),
        sa.Column("last_step", sa.String(16), nullable=True),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    for column in ("created_at", "updated_at"):
        op.create_index(f"ix_foley_tasks_{column}", "foley_tasks", [column])


def downgrade() -> None:
    op.drop_table("foley_tasks")
