"""Usage through the official SDKs: the Twilio SDK lists the simulator's Usage Records and the
Stripe SDK its balance transactions (auto-paging), and `apiops usage --json` reports the same
records — per category for Twilio, per type for Stripe, to the cent."""

import json
import subprocess
import urllib.request
from decimal import Decimal

import stripe

from conftest import apiops_bin, start_sim
from served import hermetic_env
from test_official_sdks import twilio_client


def usage_json(sim, tmp, *args):
    env = hermetic_env(sim, tmp, "sqlite://" + str(tmp / "apiops.db"))
    out = subprocess.run(
        [apiops_bin(), "usage", "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    return json.loads(out.stdout)


def money(x):
    """A price as the SDK hands it (a Decimal of a JSON float), to its shortest decimal."""
    return Decimal(repr(float(x)))


def rows(report, service):
    entry = next(s for s in report["services"] if s["service"] == service)
    return {r["key"]: {f["name"]: Decimal(f["value"]) for f in r["figures"]} for r in entry["rows"]}


def test_twilio_sdk_lists_the_usage_records_apiops_reports(tmp_path):
    sim = start_sim("--messages", "3000", "--seed", "19")
    try:
        client, http = twilio_client(sim.env)
        records = client.api.v2010.accounts(sim.env["TWILIO_ACCOUNT_SID"]).usage.records.this_month.list(page_size=3)
        assert sum(1 for u in http.urls if "ThisMonth.json" in u) >= 3, "it paged"
        by_category = {r.category: r for r in records}
        total = money(by_category["totalprice"].price)
        shown = {c: by_category[c] for c in ("sms", "mms", "calls", "phonenumbers")}
        assert sum(money(r.price) for r in shown.values()) == total
        report = usage_json(sim, tmp_path, "twilio", "--period", "this-month")
        got = rows(report, "twilio")
        for category, r in shown.items():
            assert got[category]["price"] == money(r.price), category
            assert got[category]["count"] == Decimal(r.count), category
            assert got[category]["usage"] == Decimal(r.usage), category
        assert Decimal(report["spend"][0]["amount"]) == total
        daily = list(client.usage.records.daily.list(category="sms"))
        assert daily and all(d.category == "sms" for d in daily)
    finally:
        sim.proc.terminate()
        sim.proc.wait(timeout=10)


def test_stripe_sdk_lists_the_balance_transactions_apiops_sums(tmp_path):
    sim = start_sim("--seed", "19")
    try:
        req = urllib.request.Request(
            sim.base + "/_sim/stripe/balance_transactions",
            data=json.dumps({"count": 3000, "days": 90}).encode(),
            method="POST",
        )
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as r:
            assert json.loads(r.read())["added"] == 3000
        client = stripe.StripeClient(sim.env["STRIPE_SECRET_KEY"], base_addresses={"api": sim.env["APIOPS_STRIPE_API_URL"]})
        txns = list(client.v1.balance_transactions.list(params={"limit": 100}).auto_paging_iter())
        assert len(txns) > 3000 and len({t.id for t in txns}) == len(txns)
        sums = {}
        for t in txns:
            s = sums.setdefault(t.type, [0, 0, 0])
            s[0] += 1
            s[1] += t.amount
            s[2] += t.fee
            assert t.net == t.amount - t.fee
        got = rows(usage_json(sim, tmp_path, "stripe", "--since", "3650d"), "stripe")
        assert set(got) == set(sums)
        for kind, (count, amount, fee) in sums.items():
            assert got[kind]["count"] == count, kind
            assert got[kind]["gross"] == Decimal(amount) / 100, kind
            assert got[kind]["fee"] == Decimal(fee) / 100, kind
    finally:
        sim.proc.terminate()
        sim.proc.wait(timeout=10)
