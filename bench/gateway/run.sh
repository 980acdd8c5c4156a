#!/usr/bin/env bash
# The gateway benchmark: builds the release binaries, installs LiteLLM's proxy (pinned) into a virtual
# environment, then `bench gateway run` starts the mock upstream, `prelaunch serve` and LiteLLM on loopback,
# measures them side by side and stops them. Prints the machine and the tables for bench/RESULTS.md; the
# output is also kept in bench/out/.
#
# Usage: bench/gateway/run.sh [bench gateway run args...]     e.g. bench/gateway/run.sh --runs 1 --no-ladder
#   LITELLM=0              leave LiteLLM out
#   BACKEND=postgres       the gateway on a throwaway PostgreSQL cluster (started and removed here) instead of SQLite
#   PRELAUNCH_TEST_PG_URL=postgres://…/postgres   with BACKEND=postgres, use this server instead of starting one
#   LITELLM_VENV=path      where the virtual environment goes (default target/litellm-venv)
#   HOSTILE=1              instead, the hostile-upstream case: prelaunch's memory while several evaluators get
#                          300 MB answers (`bench gateway hostile`; its flags pass through, e.g. --clients 8)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# runuser (used to start PostgreSQL as root) lives in sbin.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# 1.82.7 and 1.82.8 (March 2026) and 1.107.0 were malicious uploads; this release predates both incidents.
LITELLM_VERSION="1.82.6"
VENV="${LITELLM_VENV:-$ROOT/target/litellm-venv}"

cargo build --release --quiet -p prelaunch -p bench

if [[ "${HOSTILE:-0}" != 0 ]]; then
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), \
$(free -g | awk '/^Mem:/ {print $2}') GiB memory; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
  mkdir -p bench/out
  out="bench/out/$(date -u +%Y%m%dT%H%M%SZ)-gateway-hostile.md"
  echo "+ bench gateway hostile --prelaunch target/release/prelaunch $*"
  "$ROOT/target/release/bench" gateway hostile --prelaunch "$ROOT/target/release/prelaunch" "$@" | tee "$out"
  exit 0
fi

args=(gateway run --prelaunch "$ROOT/target/release/prelaunch")
if [[ "${BACKEND:-sqlite}" == postgres ]]; then
  # shellcheck source=scripts/pg.sh
  source "$ROOT/scripts/pg.sh"
  trap stop_pg EXIT
  [[ -n "${PRELAUNCH_TEST_PG_URL:-}" ]] || start_pg
  args+=(--backend postgres --database-url "$PRELAUNCH_TEST_PG_URL")
fi
if [[ "${LITELLM:-1}" != 0 ]]; then
  if [[ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))' 2>/dev/null)" \
    != "$LITELLM_VERSION" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "litellm[proxy]==$LITELLM_VERSION"
  fi
  # The malicious releases planted a .pth file that runs at every interpreter start: refuse to go on if
  # the environment holds any .pth file but setuptools' own.
  if find "$VENV/lib" -name '*.pth' ! -name 'distutils-precedence.pth' | grep -q .; then
    echo "error: unexpected .pth files in $VENV; inspect it before running LiteLLM" >&2
    exit 1
  fi
  args+=(--litellm "$VENV/bin/litellm" --litellm-config "$ROOT/bench/gateway/litellm.yaml")
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), \
$(free -g | awk '/^Mem:/ {print $2}') GiB memory; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
echo "backend: ${BACKEND:-sqlite}"
if [[ "${LITELLM:-1}" != 0 ]]; then
  echo "litellm: $LITELLM_VERSION ($("$VENV/bin/python" --version))"
fi

mkdir -p bench/out
out="bench/out/$(date -u +%Y%m%dT%H%M%SZ)-gateway.md"
echo "+ bench ${args[*]} $*"
"$ROOT/target/release/bench" "${args[@]}" "$@" | tee "$out"
