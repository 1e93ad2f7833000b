#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of every crate (the store's
# conformance suite on SQLite and, through scripts/with-postgres.sh, on PostgreSQL).
# Usage: bash scripts/test.sh   (from anywhere in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

# The toolchain rust-toolchain.toml pins (linked to the installed stable where it cannot be fetched).
bash scripts/toolchain.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo doc --no-deps (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

echo "== no OpenSSL in the dependency tree"
if cargo tree --workspace -i openssl-sys >/dev/null 2>&1; then
  echo "openssl-sys is in the dependency tree (rustls only):" >&2
  cargo tree --workspace -i openssl-sys >&2
  exit 1
fi

# cargo-deny (deny.toml): licenses, banned crates and duplicate versions (warnings), sources
# (crates.io only). Advisories need the RustSec database, fetched from GitHub: the machines this
# runs on reach only package registries, so `advisories` is checked only when the database can
# be fetched (it says so when it cannot). .ci/run installs cargo-deny; under CI=1 its absence
# fails the suite, elsewhere the check is skipped with a message.
echo "== cargo deny check"
if cargo deny --version >/dev/null 2>&1; then
  checks=(licenses bans sources)
  if timeout 60 cargo deny fetch db >/dev/null 2>&1; then
    checks+=(advisories)
  else
    echo "note: the advisory database (github.com/rustsec/advisory-db) cannot be fetched here; advisories are not checked"
  fi
  cargo deny --all-features --locked check "${checks[@]}"
elif [[ ${CI:-} == 1 || ${CI:-} == true ]]; then
  echo "error: cargo-deny is not installed (CI installs it: cargo install cargo-deny --locked)" >&2
  exit 1
else
  echo "warning: cargo-deny is not installed; skipping the dependency check (cargo install cargo-deny --locked)" >&2
fi

echo "== contract tests (official specs and SDKs)"
bash scripts/contract.sh

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  tests=(cargo nextest run --workspace --all-targets --locked --no-fail-fast)
else
  tests=(cargo test --workspace --all-targets --locked --no-fail-fast)
fi
# The store's conformance suite also runs on PostgreSQL: against the server
# APIOPS_TEST_POSTGRES_URL names when it is set, else against a throwaway one started here.
if [[ -n ${APIOPS_TEST_POSTGRES_URL:-} ]]; then
  echo "(PostgreSQL: the database APIOPS_TEST_POSTGRES_URL names)"
  "${tests[@]}"
elif bash scripts/with-postgres.sh --check; then
  bash scripts/with-postgres.sh "${tests[@]}"
elif [[ -n ${APIOPS_TEST_POSTGRES_REQUIRED:-} && ${APIOPS_TEST_POSTGRES_REQUIRED} != 0 ]]; then
  echo "APIOPS_TEST_POSTGRES_REQUIRED is set but no PostgreSQL server was found to start" >&2
  exit 1
else
  echo "warning: no PostgreSQL server found (initdb); the store's PostgreSQL tests are skipped" >&2
  "${tests[@]}"
fi
