#!/bin/bash
# Start one node of the replicated PostgreSQL set (Kubernetes StatefulSet and Compose alike).
#
#   empty data dir, a primary answers   -> clone it (pg_basebackup) and follow it as a standby
#   empty data dir, none answers        -> the bootstrap node initialises a new cluster;
#                                          the others wait (exit 1, the orchestrator retries)
#   data dir, another node is primary   -> if this node was a primary (it was failed over and
#                                          fenced), pg_rewind onto the new one and follow it
#   data dir, no other primary          -> start as it was (primary or standby); the failover
#                                          worker decides promotions, never this script
#
# Environment: NODE_NAME (this node, also its application_name), PEERS (space-separated
# HOST:PORT of every node, this one included), BOOTSTRAP_NODE, POSTGRES_PASSWORD,
# REPLICATION_PASSWORD, APP_DB_PASSWORD (the editor's role), PGDATA.
set -euo pipefail
: "${NODE_NAME:?}" "${PEERS:?}" "${BOOTSTRAP_NODE:?}" "${PGDATA:?}"
: "${POSTGRES_PASSWORD:?}" "${REPLICATION_PASSWORD:?}" "${APP_DB_PASSWORD:?}"
export PATH="$(pg_config --bindir):$PATH"

log() { echo "postgres-start node=$NODE_NAME $*" >&2; }

# The first peer (not this node) that answers as a primary, as HOST:PORT; empty if none.
find_primary() {
  local peer
  for peer in $PEERS; do
    [ "${peer%%.*}" = "$NODE_NAME" ] && continue
    [ "${peer%%:*}" = "$NODE_NAME" ] && continue
    if [ "$(PGPASSWORD=$POSTGRES_PASSWORD PGCONNECT_TIMEOUT=2 psql -h "${peer%:*}" -p "${peer##*:}" \
            -U postgres -d postgres -tAc 'SELECT NOT pg_is_in_recovery()' 2>/dev/null)" = t ]; then
      echo "$peer"; return
    fi
  done
}

# Settings every node shares; a standby ignores the primary-only ones until promoted.
write_settings() {
  local names
  names=$(for peer in $PEERS; do p=${peer%%:*}; printf '"%s",' "${p%%.*}"; done)
  cat > "$PGDATA/conf.d/replication.conf" <<CONF
listen_addresses = '*'
wal_level = replica
max_wal_senders = 10
wal_keep_size = '1GB'
hot_standby = on
hot_standby_feedback = on
wal_log_hints = on
# an acknowledged commit is on at least one standby: failover loses no acked edit
synchronous_standby_names = 'ANY 1 (${names%,})'
CONF
  grep -q "^include_dir = 'conf.d'" "$PGDATA/postgresql.conf" \
    || echo "include_dir = 'conf.d'" >> "$PGDATA/postgresql.conf"
}

primary=$(find_primary)
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "$primary" ]; then
    log "cloning primary $primary"
    PGPASSWORD=$REPLICATION_PASSWORD pg_basebackup -h "${primary%:*}" -p "${primary##*:}" \
      -U replicator -D "$PGDATA" -R -X stream -c fast -d "application_name=$NODE_NAME"
  elif [ "$NODE_NAME" = "$BOOTSTRAP_NODE" ]; then
    log "initialising a new cluster"
    initdb -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD")
    mkdir -p "$PGDATA/conf.d"
    echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    psql -v ON_ERROR_STOP=1 -U postgres -d postgres \
      -v repl="$REPLICATION_PASSWORD" -v app="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'repl';
CREATE ROLE editor WITH LOGIN PASSWORD :'app';
CREATE DATABASE editor OWNER editor;
SQL
    pg_ctl -D "$PGDATA" -m fast -w stop
  else
    log "no primary answers and this is not the bootstrap node: retrying later"
    exit 1
  fi
elif [ -n "$primary" ] && [ ! -f "$PGDATA/standby.signal" ]; then
  log "another primary ($primary) exists: rewinding this old primary to follow it"
  # pg_rewind needs a cleanly shut down target; a fenced (killed) primary is not: finish
  # its crash recovery in single-user mode first.
  postgres --single -D "$PGDATA" postgres < /dev/null > /dev/null
  PGPASSWORD=$POSTGRES_PASSWORD pg_rewind -D "$PGDATA" -R \
    --source-server "host=${primary%:*} port=${primary##*:} user=postgres dbname=postgres"
  # pg_rewind -R writes primary_conninfo as the superuser; follow as the replicator instead
  echo "primary_conninfo = 'host=${primary%:*} port=${primary##*:} user=replicator password=$REPLICATION_PASSWORD application_name=$NODE_NAME'" \
    >> "$PGDATA/postgresql.auto.conf"
fi
mkdir -p "$PGDATA/conf.d"
write_settings
log "starting ($( [ -f "$PGDATA/standby.signal" ] && echo standby || echo primary ))"
exec postgres -D "$PGDATA"
