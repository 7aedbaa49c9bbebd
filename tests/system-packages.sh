#!/usr/bin/env bash
# The system packages the test suite runs for real: a PostgreSQL server (the parity
# suite starts its own, as a non-root user) and a Java runtime for the local Spark
# session, Debian's Chromium for the report's browser test (tests/test_report.py), and
# systemd-analyze, which checks the shipped systemd unit (tests/test_deploy.py).
# Installed with apt when missing; a no-op when they are there.
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null || missing+=(postgresql)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v chromium >/dev/null || missing+=(chromium)
command -v systemd-analyze >/dev/null || missing+=(systemd)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
