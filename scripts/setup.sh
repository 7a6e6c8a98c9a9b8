#!/usr/bin/env bash
# `npm run setup`: the one-time machine setup of a Debian or Ubuntu development machine, as root
# (`sudo npm run setup`). Installs what `npm start` and `npm test` need that npm cannot install, then
# makes the services answer as the defaults expect. Prints each command before it runs it; skips what
# is already done, so it can be run again.
#   --dry-run   print the commands without running them (no root needed)
set -uo pipefail
cd "$(dirname "$0")/.."

dry_run=0
case "${1:-}" in
  --dry-run) dry_run=1 ;;
  '') ;;
  *) echo "usage: npm run setup [-- --dry-run]" >&2; exit 2 ;;
esac

# RabbitMQ, PostgreSQL: what notify runs on. HAProxy: the local load balancer (npm start, tests).
# Chromium: the demo's browser test. OpenSSL: the TLS test's certificate. php-cli, php-amqplib: the
# PHP producer example and its test.
PACKAGES=(rabbitmq-server postgresql haproxy chromium openssl php-cli php-amqplib)

run() {
  echo "+ $*"
  [ "$dry_run" = 1 ] && return 0
  "$@" || { echo "npm run setup: '$*' failed (exit $?)" >&2; exit 1; }
}

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
  echo "npm run setup: this machine has no apt-get (not Debian or Ubuntu); install RabbitMQ, PostgreSQL, HAProxy, Chromium and OpenSSL yourself, or run 'docker compose up -d rabbitmq postgres' (README.md, \"Run it\")" >&2
  exit 1
fi
if [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "npm run setup: needs root to install Debian packages and configure PostgreSQL: run 'sudo npm run setup' (or 'npm run setup -- --dry-run' to see the commands)" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
else
  echo "packages: all installed (${PACKAGES[*]})"
fi

# PostgreSQL: `postgres` may log in over loopback without a password, as NOTIFY_DATABASE_URL's default
# (postgres://postgres@127.0.0.1:5432/notify) and the tests expect. Development machines only.
hba=$(ls /etc/postgresql/*/main/pg_hba.conf 2>/dev/null | sort -V | tail -1)
rule='host    all    postgres    127.0.0.1/32    trust'
if [ -z "$hba" ] && [ "$dry_run" = 1 ]; then hba=/etc/postgresql/VERSION/main/pg_hba.conf; fi
if [ -n "$hba" ] && ! grep -qE '^host\s+all\s+(all|postgres)\s+127\.0\.0\.1/32\s+trust' "$hba" 2>/dev/null; then
  # First match wins in pg_hba.conf: the rule goes before the packaged ones.
  run sed -i "1i # notify development (npm run setup): postgres over loopback without a password\n$rule" "$hba"
  version=$(basename "$(dirname "$(dirname "$hba")")")
  run pg_ctlcluster --skip-systemctl-redirect "$version" main reload
else
  echo "postgresql: loopback trust rule present${hba:+ in $hba}"
fi

# Start what is installed but stopped; it enables RabbitMQ's management plugin (the tests create a
# vhost per test through its API) when its port is closed.
run bash scripts/ensure-services.sh

echo "setup done: now 'npm start' (the cluster and the demo) or 'npm test'"
