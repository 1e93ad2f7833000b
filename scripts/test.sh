#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of every crate.
# Usage: bash scripts/test.sh   (from anywhere in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== no OpenSSL in the dependency tree"
if cargo tree --workspace -i openssl-sys >/dev/null 2>&1; then
  echo "openssl-sys is in the dependency tree (rustls only):" >&2
  cargo tree --workspace -i openssl-sys >&2
  exit 1
fi

echo "== contract tests (official specs and SDKs)"
bash scripts/contract.sh

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-targets --locked --no-fail-fast
else
  cargo test --workspace --all-targets --locked --no-fail-fast
fi
