#!/usr/bin/env bash
# Contract tests against what the providers published: their OpenAPI specs (../shared/specs)
# and their official Python SDKs; `apiops mcp` through the official MCP SDK; also /metrics
# through the official Prometheus parser and the dashboard in headless chromium. Creates .venv
# (git-ignored) with tests/contract/requirements.txt and .tools (git-ignored) with Stoplight
# Prism, playwright-core and @octokit/webhooks-methods on first use, builds the apiops binary,
# and runs pytest (the dashboard screenshot lands in target/screenshots/).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d ../shared/specs ]; then
  echo "../shared/specs is missing: the contract tests need the providers' specs beside the repo" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import stripe, twilio, openai, standardwebhooks, slack_sdk, svix, openapi_schema_validator, prometheus_client, mcp, pytest, yaml" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/contract/requirements.txt
fi
if [ ! -x .tools/node_modules/.bin/prism ]; then
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --silent @stoplight/prism-cli@5.14.2
fi
# GitHub's official webhook signer and verifier, for the scheme vectors (gen_scheme_vectors.py).
if [ ! -f .tools/node_modules/@octokit/webhooks-methods/package.json ]; then
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --silent @octokit/webhooks-methods@6.0.0
fi
# GitHub's REST description (about 13 MB) for the any-API contract tests (test_any_api.py).
if [ ! -f .tools/node_modules/@octokit/openapi/generated/api.github.com.json ]; then
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --silent @octokit/openapi@23.0.2
fi
# playwright-core drives Debian's chromium (apt-get install chromium; .ci/run does) for the
# dashboard's browser test; it downloads no browser of its own.
if [ ! -f .tools/node_modules/playwright-core/package.json ]; then
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --silent playwright-core@1.65.1
fi
cargo build --locked -p apiops
APIOPS_BIN="$PWD/target/debug/apiops" .venv/bin/python -m pytest tests/contract "$@"
