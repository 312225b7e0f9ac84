#!/bin/bash
# Write random credentials for compose.yaml into ops/docker/.env (git ignores it). An
# existing file is kept: the databases were initialised with its passwords.
set -euo pipefail
cd "$(dirname "$0")"
[ -e .env ] && { echo "ops/docker/.env exists"; exit 0; }
secret() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n'; }
minio_user=$(secret)
umask 077
cat > .env <<ENV
POSTGRES_PASSWORD=$(secret)
REPLICATION_PASSWORD=$(secret)
APP_DB_PASSWORD=$(secret)
MINIO_ROOT_USER=editor-${minio_user:0:8}
MINIO_ROOT_PASSWORD=$(secret)
JWT_SECRET=$(secret)$(secret)
ENV
echo "wrote $(pwd)/.env"
