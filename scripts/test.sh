#!/usr/bin/env bash
# Runs the whole Prelaunch test suite: formatting, clippy, and the nextest
# suite once against SQLite and once against a throwaway PostgreSQL cluster.
#
# Usage: scripts/test.sh [extra nextest args...]
#   e.g. scripts/test.sh -E 'test(window)'
#
# Meant for a fresh Debian 12 machine as root (what CI uses); missing system
# packages are installed with apt-get. Works from any working directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export DEBIAN_FRONTEND=noninteractive
# runuser and apt-get live in sbin, which a minimal PATH may lack.
for dir in /usr/local/sbin /usr/sbin /sbin; do
  [[ ":$PATH:" == *":$dir:"* ]] || PATH="$PATH:$dir"
done
export PATH
CARGO_BIN="${CARGO_HOME:-${HOME:-/root}/.cargo}/bin"
if [[ -d "$CARGO_BIN" && ":$PATH:" != *":$CARGO_BIN:"* ]]; then
  export PATH="$CARGO_BIN:$PATH"
fi

header() {
  printf '\n==================== %s ====================\n' "$*"
}

# ---------------------------------------------------------------------------
# System packages (Debian). Add new entries here, one per line
# (e.g. bubblewrap, python3-venv); only missing ones are installed.
# ---------------------------------------------------------------------------
APT_PACKAGES=(
  postgresql
  chromium
  chromium-driver
  python3-venv
  bubblewrap
  gnupg
)
# Node.js and npm (the CSAF validator): Debian's packages, unless a Node.js is already installed (a NodeSource
# `nodejs` package brings its own npm and conflicts with Debian's).
command -v node >/dev/null 2>&1 || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)

as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  else
    sudo "$@"
  fi
}

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

install_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    echo "system packages: all present"
    return
  fi
  echo "system packages: installing ${missing[*]}"
  local log
  log="$(mktemp)"
  if ! as_root apt-get update -qq >"$log" 2>&1 ||
    ! as_root apt-get install -y -qq "${missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "error: apt-get failed" >&2
    exit 1
  fi
  rm -f "$log"
}

ensure_nextest() {
  if cargo nextest --version >/dev/null 2>&1; then
    return
  fi
  echo "cargo-nextest: installing"
  cargo install cargo-nextest --locked --quiet
}

# ---------------------------------------------------------------------------
# Throwaway PostgreSQL cluster
# ---------------------------------------------------------------------------
# shellcheck source=scripts/pg.sh
source "$ROOT/scripts/pg.sh"

trap stop_pg EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------
header "setup"
install_packages
ensure_nextest
start_pg

export PRELAUNCH_CHROMEDRIVER=/usr/bin/chromedriver
export PRELAUNCH_CHROMIUM=/usr/bin/chromium
# bubblewrap is installed above: the sandbox tests (tests/it/sandbox.rs) must run, not skip.
export PRELAUNCH_TEST_REQUIRE_SANDBOX=1

header "cargo fmt --check"
cargo fmt --all -- --check

header "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

failed=()

header "openapi document (openapi-spec-validator)"
# A third-party OpenAPI 3.1 validator, installed once into a virtualenv under target/.
OPENAPI_VALIDATOR_VERSION=0.8.5
OPENAPI_VENV="$ROOT/target/openapi-venv-$OPENAPI_VALIDATOR_VERSION"
if [[ ! -x "$OPENAPI_VENV/bin/openapi-spec-validator" ]]; then
  python3 -m venv "$OPENAPI_VENV"
  "$OPENAPI_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION"
fi
if ! "$OPENAPI_VENV/bin/openapi-spec-validator" --schema 3.1 crates/server/src/api/openapi.json; then
  failed+=(openapi)
fi

header "real clients for the gateway tests (tests/clients)"
# The gateway is tested with the official OpenAI Python SDK and Inspect AI (crates/prelaunch/tests/it/clients.rs),
# pinned in tests/clients/requirements.txt and installed into a virtual environment named after that file's
# hash: created once, reused while the pins stay, replaced when they change.
CLIENTS_REQUIREMENTS="$ROOT/tests/clients/requirements.txt"
CLIENTS_HASH="$(sha256sum "$CLIENTS_REQUIREMENTS" | cut -c1-16)"
CLIENTS_VENV="$ROOT/target/test-clients-$CLIENTS_HASH"
if [[ ! -f "$CLIENTS_VENV/.installed" ]]; then
  # Environments of earlier pins are a few hundred MB each.
  rm -rf "$ROOT"/target/test-clients-*
  echo "installing $(grep -v '^#' "$CLIENTS_REQUIREMENTS" | xargs) into $CLIENTS_VENV"
  python3 -m venv "$CLIENTS_VENV"
  "$CLIENTS_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$CLIENTS_REQUIREMENTS"
  touch "$CLIENTS_VENV/.installed"
fi
export PRELAUNCH_TEST_PYTHON="$CLIENTS_VENV/bin/python"
export PRELAUNCH_TEST_INSPECT="$CLIENTS_VENV/bin/inspect"
echo "openai $("$PRELAUNCH_TEST_PYTHON" -c 'import openai; print(openai.__version__)'), inspect-ai $("$PRELAUNCH_TEST_INSPECT" --version)"

header "CSAF validator (tests/csaf)"
# Advisories are checked with the BSI CSAF validator library (crates/prelaunch/tests/it/csaf.rs), pinned with
# its dependencies in tests/csaf/package.json and package-lock.json and installed with npm into a directory
# named after the lock file's hash.
CSAF_LOCK="$ROOT/tests/csaf/package-lock.json"
CSAF_NODE="$ROOT/target/csaf-node-$(sha256sum "$CSAF_LOCK" | cut -c1-16)"
if [[ ! -f "$CSAF_NODE/.installed" ]]; then
  rm -rf "$ROOT"/target/csaf-node-*
  mkdir -p "$CSAF_NODE"
  cp "$ROOT/tests/csaf/package.json" "$CSAF_LOCK" "$CSAF_NODE/"
  (cd "$CSAF_NODE" && npm ci --silent --no-audit --no-fund)
  touch "$CSAF_NODE/.installed"
fi
export PRELAUNCH_TEST_CSAF_NODE_MODULES="$CSAF_NODE/node_modules"
echo "node $(node --version), $(cd "$CSAF_NODE" && npm ls --depth=0 2>/dev/null | grep csaf-validator-lib | xargs)"

header "axe-core (tests/axe)"
# Every page of the web UI is checked with axe-core in headless Chromium (crates/prelaunch/tests/it/accessibility.rs),
# pinned in tests/axe/package.json and package-lock.json and installed like the CSAF validator above.
AXE_LOCK="$ROOT/tests/axe/package-lock.json"
AXE_NODE="$ROOT/target/axe-node-$(sha256sum "$AXE_LOCK" | cut -c1-16)"
if [[ ! -f "$AXE_NODE/.installed" ]]; then
  rm -rf "$ROOT"/target/axe-node-*
  mkdir -p "$AXE_NODE"
  cp "$ROOT/tests/axe/package.json" "$AXE_LOCK" "$AXE_NODE/"
  (cd "$AXE_NODE" && npm ci --silent --no-audit --no-fund)
  touch "$AXE_NODE/.installed"
fi
export PRELAUNCH_TEST_AXE="$AXE_NODE/node_modules/axe-core/axe.min.js"
echo "$(cd "$AXE_NODE" && npm ls --depth=0 2>/dev/null | grep axe-core | xargs)"

header "tests (sqlite)"
if ! PRELAUNCH_TEST_BACKEND=sqlite cargo nextest run --workspace --no-fail-fast "$@"; then
  failed+=(sqlite)
fi

header "tests (postgres)"
if ! PRELAUNCH_TEST_BACKEND=postgres cargo nextest run --workspace --no-fail-fast "$@"; then
  failed+=(postgres)
fi

header "API fuzzing (Schemathesis)"
# A third-party property-based API tester (crates/prelaunch/tests/it/schemathesis.rs): it generates requests
# from the served OpenAPI document and sends them as several personas to a real server on each backend; no
# answer may be a 5xx or differ from the document. Pinned, with everything it installs, in
# tests/schemathesis/requirements.txt, installed into a virtual environment named after that file's hash. The
# test is #[ignore]d, so the runs above leave it to this stage.
SCHEMATHESIS_REQUIREMENTS="$ROOT/tests/schemathesis/requirements.txt"
SCHEMATHESIS_HASH="$(sha256sum "$SCHEMATHESIS_REQUIREMENTS" | cut -c1-16)"
SCHEMATHESIS_VENV="$ROOT/target/schemathesis-$SCHEMATHESIS_HASH"
if [[ ! -f "$SCHEMATHESIS_VENV/.installed" ]]; then
  rm -rf "$ROOT"/target/schemathesis-*
  echo "installing $(grep '^schemathesis==' "$SCHEMATHESIS_REQUIREMENTS") into $SCHEMATHESIS_VENV"
  python3 -m venv "$SCHEMATHESIS_VENV"
  "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    -r "$SCHEMATHESIS_REQUIREMENTS"
  touch "$SCHEMATHESIS_VENV/.installed"
fi
export PRELAUNCH_TEST_SCHEMATHESIS="$SCHEMATHESIS_VENV/bin/schemathesis"
"$PRELAUNCH_TEST_SCHEMATHESIS" --version
for backend in sqlite postgres; do
  # `--workspace` as above: with `-p prelaunch` cargo unifies features over fewer crates and builds everything
  # again (five minutes here) for the same test.
  if ! PRELAUNCH_TEST_BACKEND=$backend cargo nextest run --workspace --no-fail-fast --run-ignored only \
    -E 'test(/^schemathesis::/)'; then
    failed+=("schemathesis-$backend")
  fi
done

header "summary"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all stages passed"
