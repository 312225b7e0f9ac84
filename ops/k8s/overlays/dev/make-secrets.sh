#!/bin/bash
# Write fresh random credentials for the dev overlay's secretGenerator (editor-secrets.env,
# infra-secrets.env beside this script; git ignores them). Existing files are kept, so the
# credentials stay those the databases were initialised with; pass --force to replace them.
set -euo pipefail
cd "$(dirname "$0")"
if [ -e editor-secrets.env ] && [ -e infra-secrets.env ] && [ "${1:-}" != --force ]; then
  echo "editor-secrets.env and infra-secrets.env exist (--force replaces them)"; exit 0
fi
secret() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n'; }
pg_password=$(secret)
minio_user=$(secret) && minio_user=editor-${minio_user:0:8}
minio_password=$(secret)
hosts=postgres-0.postgres-headless:5432,postgres-1.postgres-headless:5432,postgres-2.postgres-headless:5432
umask 077
cat > infra-secrets.env <<ENV
postgres-password=$(secret)
replication-password=$(secret)
editor-db-password=$pg_password
minio-root-user=$minio_user
minio-root-password=$minio_password
ENV
cat > editor-secrets.env <<ENV
database-url=postgresql://editor:$pg_password@$hosts/editor?target_session_attrs=read-write
jwt-secret=$(secret)$(secret)
s3-access-key=$minio_user
s3-secret-key=$minio_password
ENV
echo "wrote $(pwd)/editor-secrets.env and infra-secrets.env"
