#!/usr/bin/env bash
# Benchmark (issue 17): `apiops errors twilio --since 25h --json` end to end through the CLI
# against the official Twilio Python SDK's sequential auto-paging
# (`client.messages.stream(date_sent_after=..., page_size=1000)`), both over one `apiops sim`
# (release, its own process: 200,000 messages in the 24 h before the current hour, 50 ms
# latency, Twilio's concurrency cap 100, seed 3; the same settings as `benches/scan.rs`).
# Runs are interleaved (CLI, SDK, CLI, SDK, ...) so both see the same machine load; the
# medians and their ratio are printed.
#
# Needs `target/release/apiops` (`cargo build --release -p apiops`) and `.venv` with the SDK
# (`python3 -m venv .venv && .venv/bin/pip install twilio`).
# Usage: bash benches/cli_vs_sdk.sh [messages] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
messages="${1:-200000}"
runs="${2:-3}"
bin=target/release/apiops
work="$(mktemp -d)"
anchor="$(date -u +%Y-%m-%dT%H:00:00Z)"
since="$(date -u -d "$anchor - 24 hours" +%Y-%m-%dT%H:%M:%S)"

"$bin" sim --print-env --listen 127.0.0.1:0 --seed 3 --messages "$messages" --history 24h \
  --anchor "$anchor" --latency 50ms --twilio-concurrency 100 >"$work/env" 2>/dev/null &
sim=$!
trap 'kill "$sim" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q OPENAI_WEBHOOK_SECRET "$work/env" 2>/dev/null && break; sleep 0.1; done
set -a; . "$work/env"; set +a

sdk='
import os, sys, time
from twilio.rest import Client
from twilio.http.http_client import TwilioHttpClient
class Local(TwilioHttpClient):
    def request(self, method, url, *a, **k):
        return super().request(method, url.replace("https://api.twilio.com", os.environ["APIOPS_TWILIO_API_URL"]), *a, **k)
from datetime import datetime
c = Client(os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"], http_client=Local())
since = datetime.fromisoformat(sys.argv[1])
t = time.time()
failed = sum(1 for m in c.messages.stream(date_sent_after=since, page_size=1000) if m.status in ("failed", "undelivered"))
print("%.3f %d" % (time.time() - t, failed))
'
cli_times=(); sdk_times=()
for i in $(seq "$runs"); do
  start=$(date +%s.%N)
  HOME="$work" APIOPS_DATABASE_URL="sqlite://$work/events-$i.db" \
    "$bin" errors twilio --since 25h --json >"$work/cli-$i.json"
  end=$(date +%s.%N)
  cli_times+=("$(echo "$end - $start" | bc)")
  read -r t failed < <(.venv/bin/python -c "$sdk" "$since")
  sdk_times+=("$t")
  groups=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(len(d['groups']), d['total_events'])" "$work/cli-$i.json")
  echo "run $i: CLI ${cli_times[-1]} s (groups, events: $groups); SDK $t s ($failed failed or undelivered messages)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cli=$(median "${cli_times[@]}"); py=$(median "${sdk_times[@]}")
echo "median: CLI $cli s, SDK $py s, speed-up $(echo "scale=1; $py / $cli" | bc)x ($messages messages, $runs runs each)"
