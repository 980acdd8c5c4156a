#!/usr/bin/env bash
# Runs the notice-list benchmark on SQLite and on a throwaway PostgreSQL
# cluster (started and removed here, loopback only), printing the machine and
# the tables for bench/RESULTS.md; each backend's output is also kept in
# bench/out/.
#
# Usage: bench/run.sh [bench list args...]       e.g. bench/run.sh --runs 1
#   BENCH_COMMAND=ledger bench/run.sh             the ledger benchmark instead of the list
#   BENCH_COMMAND=jobs bench/run.sh               the job queue with real `prelaunch worker` processes
#   BENCH_COMMAND=clearinghouse bench/run.sh      clearinghouse intake of 100,000 generated reports
#   BENCH_COMMAND=taxii bench/run.sh              TAXII objects paged through 1,000,000 STIX objects, beside
#                                                 medallion (installed into target/medallion-venv)
#   BENCH_COMMAND=evals bench/run.sh              an evaluation on Inspect AI and on `prelaunch eval run`
#                                                 (no database: run once, whatever BACKENDS says)
#   BENCH_COMMAND=eval-workers bench/run.sh       one server-side evaluation run by one, then two, `prelaunch
#                                                 worker` processes (PostgreSQL only, whatever BACKENDS says)
#   BACKENDS="sqlite postgres"   which backends, in order (default both)
#   BENCH_BIN=path               a bench binary built elsewhere, to compare builds
#   PRELAUNCH_TEST_PG_URL=postgres://…/postgres   use this server instead of starting one
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# runuser (used to start PostgreSQL as root) lives in sbin.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

BACKENDS="${BACKENDS:-sqlite postgres}"
# The evaluation benchmark uses no database: one run.
[[ "${BENCH_COMMAND:-}" == evals ]] && BACKENDS=sqlite
# Workers share a run over PostgreSQL.
[[ "${BENCH_COMMAND:-}" == eval-workers ]] && BACKENDS=postgres
if [[ -z "${BENCH_BIN:-}" ]]; then
  cargo build --release --quiet -p bench
  BENCH_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/bench"
  if [[ "${BENCH_COMMAND:-}" == jobs || "${BENCH_COMMAND:-}" == evals || "${BENCH_COMMAND:-}" == eval-workers ]]; then
    # The workers run target/release/prelaunch (unless --prelaunch names another).
    cargo build --release --quiet -p prelaunch
  fi
fi

if [[ "${BENCH_COMMAND:-}" == taxii ]]; then
  # medallion and gunicorn, pinned, in their own environment (made once).
  export MEDALLION_VENV="${MEDALLION_VENV:-${CARGO_TARGET_DIR:-$ROOT/target}/medallion-venv}"
  if ! cmp -s "$ROOT/bench/medallion-requirements.txt" "$MEDALLION_VENV/requirements.txt"; then
    python3 -m venv "$MEDALLION_VENV"
    "$MEDALLION_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/bench/medallion-requirements.txt"
    cp "$ROOT/bench/medallion-requirements.txt" "$MEDALLION_VENV/requirements.txt"
  fi
fi

# shellcheck source=scripts/pg.sh
source "$ROOT/scripts/pg.sh"
trap stop_pg EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), \
$(free -g | awk '/^Mem:/ {print $2}') GiB memory; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)'); binary: $BENCH_BIN"

mkdir -p bench/out
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
for backend in $BACKENDS; do
  args=("${BENCH_COMMAND:-list}" --backend "$backend")
  if [[ "$backend" == postgres ]]; then
    [[ -n "${PRELAUNCH_TEST_PG_URL:-}" ]] || start_pg
    args+=(--database-url "$PRELAUNCH_TEST_PG_URL")
  fi
  echo "+ bench ${args[*]} $*"
  "$BENCH_BIN" "${args[@]}" "$@" | tee "bench/out/$stamp-$backend.md"
done
