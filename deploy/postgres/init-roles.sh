#!/bin/sh
# Run once by the postgres image (/docker-entrypoint-initdb.d) on an empty data directory: one
# role per TRM service (deploy/postgres/roles.sql), with the passwords docker-compose passes.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v referrals_password="$TRM_PG_PASSWORD_REFERRALS" \
  -v repatriation_password="$TRM_PG_PASSWORD_REPATRIATION" \
  -v proceedings_password="$TRM_PG_PASSWORD_PROCEEDINGS" \
  -v statistics_password="$TRM_PG_PASSWORD_STATISTICS" \
  -v ledger_password="$TRM_PG_PASSWORD_LEDGER" \
  -f /docker-entrypoint-initdb.d/roles.sql.in
