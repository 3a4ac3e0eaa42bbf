"""probe_result partitioned by UTC day on PostgreSQL (retention drops whole days)

PostgreSQL only; SQLite keeps the plain table and DELETE pruning. The existing table
becomes the partition ``probe_result_legacy`` for everything before the first daily
partition (no row is copied and no index built: attaching only checks its range, one
scan); it is pruned by DELETE until it is wholly past the retention, then dropped
like a day. The parent has no primary key (it would have to be ``(id, at)``, an index
to build over every legacy row): each partition has its own on ``id``, which the
sequence keeps unique across them. ``uid`` and ``(check_id, vantage, slot)`` stay unique per
partition (docs/design.md §4, "Raw results by day"). Downgrade copies the rows back
into a plain table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:35:00+00:00
"""

from collections.abc import Sequence

from alembic import op
from app.models.partitions import create_day_partitions, partition_indexes

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AHEAD_DAYS = 2

COLUMNS = """
    id BIGINT NOT NULL DEFAULT nextval('probe_result_id_seq'),
    uid VARCHAR(32) NOT NULL,
    check_id INTEGER NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    status VARCHAR(16) NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    error_kind VARCHAR(32),
    message VARCHAR(500) NOT NULL,
    details JSONB NOT NULL,
    vantage VARCHAR(32) DEFAULT 'central' NOT NULL,
    slot BIGINT
"""
FK = (
    "CONSTRAINT fk_probe_result_check_id_check FOREIGN KEY (check_id) "
    'REFERENCES "check" (id) ON DELETE CASCADE'
)
# the old table's indexes keep working as the legacy partition's; renamed out of the way
LEGACY_INDEXES = {
    "ix_probe_result_at": "probe_result_legacy_at",
    "ix_probe_result_check_id_at": "probe_result_legacy_check_id_at",
    "uq_probe_result_slot": "probe_result_legacy_slot",
    "uq_probe_result_uid": "probe_result_legacy_uid",
    "pk_probe_result": "probe_result_legacy_id",  # the constraint follows its index
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE probe_result RENAME TO probe_result_legacy")
    for old, new in LEGACY_INDEXES.items():
        op.execute(f"ALTER INDEX {old} RENAME TO {new}")
    op.execute(
        "ALTER TABLE probe_result_legacy RENAME CONSTRAINT fk_probe_result_check_id_check "
        "TO probe_result_legacy_check_id_fkey"
    )
    op.execute(f"CREATE TABLE probe_result ({COLUMNS}, {FK}) PARTITION BY RANGE (at)")
    op.execute("ALTER SEQUENCE probe_result_id_seq OWNED BY probe_result.id")
    op.execute("ALTER TABLE probe_result_legacy ALTER COLUMN id DROP DEFAULT")
    op.execute("CREATE INDEX ix_probe_result_check_id_at ON probe_result (check_id, at)")
    op.execute("CREATE INDEX ix_probe_result_at ON probe_result (at)")
    # the legacy range ends at a UTC midnight after today and after its last row
    bind = op.get_bind()
    first = bind.exec_driver_sql(
        "SELECT greatest(date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day', "
        "(SELECT date_trunc('day', max(at) AT TIME ZONE 'UTC') + interval '1 day' "
        "FROM probe_result_legacy))::date"
    ).scalar_one()
    op.execute(
        "ALTER TABLE probe_result ATTACH PARTITION probe_result_legacy "
        f"FOR VALUES FROM (MINVALUE) TO ('{first.isoformat()} 00:00:00+00')"
    )
    op.execute("CREATE TABLE probe_result_default PARTITION OF probe_result DEFAULT")
    for statement in partition_indexes("probe_result_default"):
        op.execute(statement)
    for statement in create_day_partitions(first, AHEAD_DAYS + 1):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE TABLE probe_result_plain ({COLUMNS}, "
        "CONSTRAINT pk_probe_result_plain PRIMARY KEY (id), "
        "CONSTRAINT uq_probe_result_uid_plain UNIQUE (uid), "
        "CONSTRAINT fk_probe_result_plain_check FOREIGN KEY (check_id) "
        'REFERENCES "check" (id) ON DELETE CASCADE)'
    )
    # a slot seen twice across a UTC midnight (see upgrade) keeps its first row
    op.execute(
        "INSERT INTO probe_result_plain SELECT DISTINCT ON (uid) * FROM probe_result "
        "ORDER BY uid, id"
    )
    op.execute(
        "DELETE FROM probe_result_plain a USING probe_result_plain b "
        "WHERE a.slot IS NOT NULL AND a.check_id = b.check_id AND a.vantage = b.vantage "
        "AND a.slot = b.slot AND a.id > b.id"
    )
    op.execute("ALTER SEQUENCE probe_result_id_seq OWNED BY probe_result_plain.id")
    op.execute("DROP TABLE probe_result")  # with its partitions
    op.execute("ALTER TABLE probe_result_plain RENAME TO probe_result")
    for old, new in (
        ("pk_probe_result_plain", "pk_probe_result"),
        ("uq_probe_result_uid_plain", "uq_probe_result_uid"),
        ("fk_probe_result_plain_check", "fk_probe_result_check_id_check"),
    ):
        op.execute(f"ALTER TABLE probe_result RENAME CONSTRAINT {old} TO {new}")
    op.execute("CREATE INDEX ix_probe_result_check_id_at ON probe_result (check_id, at)")
    op.execute("CREATE INDEX ix_probe_result_at ON probe_result (at)")
    op.execute("CREATE UNIQUE INDEX uq_probe_result_slot ON probe_result (check_id, vantage, slot)")
