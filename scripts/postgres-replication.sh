#!/bin/sh
# Run once by the postgres image when it creates its database (docker-entrypoint-initdb.d):
# lets the read replica (docker-compose.yml, service "replica") stream the WAL over the network,
# with the same password authentication as every other connection.
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
