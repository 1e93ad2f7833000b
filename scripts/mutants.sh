#!/usr/bin/env bash
# Mutation check of the safety-critical code: the policy gate and trust classes
# (crates/apiops-ops/src/policy.rs) and the webhook signature verifiers
# (crates/apiops-webhooks/src/signature/). cargo-mutants changes the code (a `>` becomes `>=`, a
# function returns `true`...) and runs the tests that guard it; a mutant the tests do not catch
# ("missed") fails this script. Figures and the full command are in TESTING.md.
#
# Usage: bash scripts/mutants.sh            one shard (CI: bounded, rotates daily over all)
#        MUTANTS_SHARD=all bash scripts/mutants.sh   every mutant (about 40 minutes on 2 cores)
#        MUTANTS_SHARD=3/32 bash scripts/mutants.sh  a given shard
#
# In CI (CI set) it mutates the checkout in place and reuses the target directory the tests
# just built; elsewhere it works on a copy, so a working tree is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo mutants --version >/dev/null 2>&1; then
  echo "cargo-mutants is missing: cargo install cargo-mutants --locked" >&2
  exit 1
fi

shards=32
shard=${MUTANTS_SHARD:-$(( $(date -u +%j | sed 's/^0*//') % shards ))/$shards}
args=(
  --test-tool nextest
  -f crates/apiops-ops/src/policy.rs
  -f 'crates/apiops-webhooks/src/signature/*.rs'
  --timeout 120
  --build-timeout 600
  --output target/mutants
)
if [[ $shard != all ]]; then
  args+=(--shard "$shard")
fi
if [[ -n ${CI:-} ]]; then
  args+=(--in-place)
fi
# The tests that guard these files: the crates' unit tests, the trust tests, and the
# signature vectors made by the providers' official SDKs (tests/webhooks/vectors.rs).
filter='kind(lib) | test(/^trust::/) | test(/^vectors::/) | test(/^parsers_total::/)'

echo "== cargo mutants (policy gate, webhook signatures), shard $shard"
status=0
timeout 1200 cargo mutants "${args[@]}" -- -E "$filter" || status=$?
if [[ -n ${CI:-} ]] && ! git diff --quiet -- crates/apiops-ops/src crates/apiops-webhooks/src; then
  echo "cargo mutants left a mutation in the tree" >&2
  git diff --stat >&2
  exit 1
fi
for f in caught missed timeout unviable; do
  printf '%s: %s\n' "$f" "$(wc -l <"target/mutants/mutants.out/$f.txt" 2>/dev/null || echo 0)"
done
if [[ -s target/mutants/mutants.out/missed.txt ]]; then
  echo "surviving mutants (add a test that catches each):" >&2
  cat target/mutants/mutants.out/missed.txt >&2
fi
# cargo-mutants exits 2 when a mutant was missed, 3 on a timeout, 124 is ours.
exit "$status"
