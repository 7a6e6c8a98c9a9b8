#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and RabbitMQ (127.0.0.1:5672, management API on 15672, used by
# the tests for per-test vhosts) are running.
#   --check    only check; print one line per missing service saying how to start it; exit 1 if any
#   --install  also install missing Debian packages (CI, as root)
#   --install-package NAME...  install these Debian packages if missing (CI's test tools), then exit
# Without flags: start installed-but-stopped services.
set -uo pipefail
mode="${1:-start}"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 "${2:-60}"); do port_open "$1" && return 0; sleep 1; done; return 1; }
have() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then echo "need root to install $*" >&2; return 1; fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null && APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ "$mode" = --install-package ]; then
  shift
  missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  exit $?
fi

hint_postgres="PostgreSQL is not reachable on 127.0.0.1:5432: start it with 'pg_ctlcluster \$(ls /etc/postgresql) main start' (Debian: apt install postgresql) or 'docker compose up -d postgres'"
hint_rabbitmq="RabbitMQ is not reachable on 127.0.0.1:5672: start it with 'rabbitmq-server -detached' (Debian: apt install rabbitmq-server) or 'docker compose up -d rabbitmq'"
hint_management="RabbitMQ's management API is not reachable on 127.0.0.1:15672 (the tests use it): run 'rabbitmq-plugins enable rabbitmq_management'"

failed=0
ensure_postgres() {
  port_open 5432 && return 0
  if [ "$mode" = --check ]; then echo "$hint_postgres" >&2; return 1; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    [ "$mode" = --install ] && apt_install postgresql || { echo "$hint_postgres" >&2; return 1; }
  fi
  local version; version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  wait_port 5432 30 || { echo "$hint_postgres" >&2; return 1; }
  # Trust auth on loopback is what the local defaults and tests assume (postgres://postgres@127.0.0.1).
  if ! psql -h 127.0.0.1 -U postgres -d postgres -qtAc 'SELECT 1' >/dev/null 2>&1; then
    echo "PostgreSQL refuses postgres@127.0.0.1 without a password: allow 'host all all 127.0.0.1/32 trust' in pg_hba.conf for local development" >&2
    return 1
  fi
}

ensure_rabbitmq() {
  if ! port_open 5672; then
    if [ "$mode" = --check ]; then echo "$hint_rabbitmq" >&2; return 1; fi
    if ! have rabbitmq-server; then
      [ "$mode" = --install ] && apt_install rabbitmq-server || { echo "$hint_rabbitmq" >&2; return 1; }
    fi
    rabbitmq-server -detached >/dev/null 2>&1 || true
    wait_port 5672 90 || { echo "$hint_rabbitmq" >&2; return 1; }
  fi
  if ! port_open 15672; then
    if [ "$mode" = --check ]; then echo "$hint_management" >&2; return 1; fi
    rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 || true
    wait_port 15672 60 || { echo "$hint_management" >&2; return 1; }
  fi
}

ensure_postgres || failed=1
ensure_rabbitmq || failed=1
exit $failed
