#!/usr/bin/env bash
# Creates the read-only role Grafana's PostgreSQL datasource logs in with.
# Run once by the postgres image on an empty data directory
# (/docker-entrypoint-initdb.d), as POSTGRES_USER on POSTGRES_DB. The tables are
# created later by `thongsuot db upgrade` as POSTGRES_USER, so default
# privileges grant SELECT on them as they appear.
set -euo pipefail

: "${GRAFANA_RO_PASSWORD:?GRAFANA_RO_PASSWORD must be set}"
RO_USER="${GRAFANA_RO_USER:-grafana_ro}"
DB="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"
OWNER="${POSTGRES_USER:-postgres}"

psql -v ON_ERROR_STOP=1 --username "$OWNER" --dbname "$DB" \
  -v ro_user="$RO_USER" -v ro_password="$GRAFANA_RO_PASSWORD" \
  -v db="$DB" -v owner="$OWNER" <<'SQL'
CREATE ROLE :"ro_user" LOGIN PASSWORD :'ro_password';
ALTER ROLE :"ro_user" SET default_transaction_read_only = on;
ALTER ROLE :"ro_user" SET statement_timeout = '30s';
GRANT CONNECT ON DATABASE :"db" TO :"ro_user";
GRANT USAGE ON SCHEMA public TO :"ro_user";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"ro_user";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT ON TABLES TO :"ro_user";
SQL
