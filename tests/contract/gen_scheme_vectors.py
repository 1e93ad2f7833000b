"""Webhook scheme vectors of configured APIs, judged by the providers' own verifiers.

Writes tests/contract/vectors/schemes.json (committed). Each vector is one delivery to a
configured API: the `webhooks` table (a preset), the raw body, the headers, the secrets, the
clock, the verdict of every official verifier that applies, and the verdict and error kind that
apiops-webhooks' `scheme` module must give. crates/apiops-webhooks/tests/webhooks/scheme_vectors.rs
checks our verifier against the committed file, in both directions:

- theirs verify with ours: every vector's verdict and error kind;
- ours verify with theirs: where a vector's headers came straight from the provider's signer
  (`ours` holds the signing inputs), our signer must produce the very same headers, which that
  provider's verifier accepted;
- replays: a vector with `replay_of` repeats an earlier delivery; sent through the receiver after
  it, it must be acknowledged as `delivery` says ("duplicate": not processed twice).

tests/contract/test_webhook_schemes.py regenerates the file and fails if a verdict drifted.

Verifiers: GitHub's @octokit/webhooks-methods (`sign`, `verifyWithFallback`, run by node from
.tools) and GitHub's documented example; Slack's slack_sdk (`SignatureVerifier`, with its clock
frozen) and Slack's documented example; Shopify's documented check (base64 HMAC-SHA256 of the raw
body, compared with `hmac.compare_digest`, as Shopify's own sample does); standardwebhooks
(`Webhook`) and svix (`Webhook`, svix-* headers). With several secrets (a rotation) a verdict is
"any secret accepts".

Policy (as gen_webhook_vectors.py): where `divergence` is null every verifier's verdict equals
ours; a divergence is allowed only where we reject what a verifier accepts, and says why. A
replay is judged as a signature like any other (the verifiers check signatures, not history).

Usage: .venv/bin/python tests/contract/gen_scheme_vectors.py [OUT.json]
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import pathlib
import subprocess
import sys
from importlib import metadata

import standardwebhooks
import svix.webhooks
from slack_sdk.signature import Clock, SignatureVerifier

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gen_webhook_vectors import accepts, frozen_clock, write  # noqa: E402

NOW = 1_700_000_000
OUT = HERE / "vectors" / "schemes.json"
OCTOKIT = HERE / "octokit_webhooks.mjs"

# GitHub's documented example ("Validating webhook deliveries").
GH_DOC_SECRET = "It's a Secret to Everybody"
GH_DOC_BODY = "Hello, World!"
GH_DOC_SIG = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
# Slack's documented example ("Verifying requests from Slack").
SLACK_DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_DOC_TS = 1531420618
SLACK_DOC_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_DOC_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

GH_SECRET = "contract-github-secret-0123456789"
GH_OLD = "contract-github-previous-secret"
SLACK_SECRET = "contract0slack0signing0secret0123"
SHOP_SECRET = "contract-shopify-client-secret"
SHOP_OLD = "contract-shopify-previous-secret"
STD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec's test secret
SVIX_SECRET = "whsec_" + base64.b64encode(b"contract svix signing key 0123").decode()

CONFIG = {
    "github": {"scheme": "github", "secret_env": "GITHUB_WEBHOOK_SECRET"},
    "slack": {"scheme": "slack", "secret_env": "SLACK_SIGNING_SECRET"},
    "shopify": {"scheme": "shopify", "secret_env": "SHOPIFY_CLIENT_SECRET"},
    "standard": {"scheme": "standard", "secret_env": "RESEND_WEBHOOK_SECRET"},
    "svix": {"scheme": "svix", "secret_env": "SVIX_WEBHOOK_SECRET"},
}

ISSUE = '{"action":"opened","issue":{"number":1347,"title":"Zoë – 東京"}}'
EVENT = '{"event_id":"Ev08MFMKH6","event":{"type":"app_mention","text":"hi"}}'
ORDER = '{"id":820982911946154508,"email":"jon@example.com","total_price":"254.98"}'
EMAIL = '{"type":"email.bounced","data":{"email_id":"4ef9a417-02e9-4d39-ad75-9611e0fcc33c"}}'


# -- the providers' verifiers and signers ----------------------------------------------------

def octokit(calls):
    out = subprocess.run(["node", str(OCTOKIT)], input=json.dumps(calls), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


class Frozen(Clock):
    def __init__(self, now):
        self._now = now

    def now(self):
        return float(self._now)


def slack_sign(body, ts, secret=SLACK_SECRET):
    return SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)


def shopify_sign(body, secret=SHOP_SECRET):
    return base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()).decode()


def shopify_doc_verify(secret, body, header):
    """Shopify's documented check: compare_digest of the computed base64 HMAC with the header."""
    computed = base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return hmac.compare_digest(computed, header.encode())


def std_headers(prefix, body, msg_id, ts, secret):
    when = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    sig = standardwebhooks.Webhook(secret).sign(msg_id, when, body)
    return {f"{prefix}-id": msg_id, f"{prefix}-timestamp": str(ts), f"{prefix}-signature": sig}


def verdicts(v):
    h, body, secrets = v["headers"], v["body"], v["secrets"]
    preset = v["preset"]
    if preset == "github":
        return {"octokit": v.pop("_octokit")}
    if preset == "slack":
        return {"slack_sdk": any(
            accepts(lambda s=s: SignatureVerifier(s, clock=Frozen(v["now"])).is_valid_request(body, h))
            for s in secrets)}
    if preset == "shopify":
        sig = h.get("x-shopify-hmac-sha256", "")
        return {"shopify_documented": any(shopify_doc_verify(s, body, sig) for s in secrets)}
    with frozen_clock(v["now"]):
        if preset == "standard":
            return {"standardwebhooks": any(
                accepts(lambda s=s: standardwebhooks.Webhook(s).verify(body, dict(h))) for s in secrets)}
        return {"svix": any(accepts(lambda s=s: svix.webhooks.Webhook(s).verify(body, dict(h))) for s in secrets)}


# -- the cases -------------------------------------------------------------------------------

def case(preset, name, body, headers, secrets, expected, error=None, *, now=NOW, ours=None,
         replay_of=None, delivery=None, divergence=None, note=None):
    return {
        "preset": preset, "name": name, "config": CONFIG[preset], "body": body, "headers": headers,
        "secrets": secrets, "now": now, "expected": expected, "error": error, "divergence": divergence,
        "ours": ours, "replay_of": replay_of, "delivery": delivery, "note": note,
    }


def github_cases():
    signed = octokit([
        {"op": "sign", "secret": GH_DOC_SECRET, "payload": GH_DOC_BODY},
        {"op": "sign", "secret": GH_SECRET, "payload": ISSUE},
        {"op": "sign", "secret": GH_OLD, "payload": ISSUE},
        {"op": "sign", "secret": "someone-else", "payload": ISSUE},
    ])
    doc, good, old, forged = signed
    assert doc == GH_DOC_SIG, f"octokit signs GitHub's documented example as {doc}"
    d1, d2 = "72d3162e-cc78-11e3-81ab-4c9367dc0958", "8e0a6c36-0c3a-11ef-9a57-2f1d58e1b1a0"

    def gh(name, body, sig, secrets, expected, error=None, delivery_id=d1, **kw):
        headers = {"x-github-delivery": delivery_id, "x-github-event": "issues"}
        if sig is not None:
            headers["x-hub-signature-256"] = sig
        return case("github", name, body, headers, secrets, expected, error, **kw)

    ours = {"secret": GH_SECRET, "timestamp": NOW, "id": d1}
    cases = [
        gh("GitHub's documented example", GH_DOC_BODY, GH_DOC_SIG, [GH_DOC_SECRET], "accept",
           ours={"secret": GH_DOC_SECRET, "timestamp": NOW, "id": d1}),
        gh("valid", ISSUE, good, [GH_SECRET], "accept", ours=ours, delivery="new"),
        gh("replay: the same delivery again", ISSUE, good, [GH_SECRET], "accept", replay_of="valid", delivery="duplicate"),
        gh("replay under a new X-GitHub-Delivery", ISSUE, good, [GH_SECRET], "accept", delivery_id=d2,
           replay_of="valid", delivery="new",
           note="GitHub signs neither the delivery id nor a time: a captured delivery resent under a new id verifies and is new"),
        gh("wrong secret", ISSUE, forged, [GH_SECRET], "reject", "mismatch"),
        gh("tampered body", ISSUE.replace("1347", "1348"), good, [GH_SECRET], "reject", "mismatch"),
        gh("body with a trailing newline", ISSUE + "\n", good, [GH_SECRET], "reject", "mismatch"),
        gh("rotation: old signature, both secrets configured", ISSUE, old, [GH_SECRET, GH_OLD], "accept"),
        gh("rotation: old signature, only the new secret", ISSUE, old, [GH_SECRET], "reject", "mismatch"),
        gh("uppercase hex", ISSUE, "sha256=" + good[7:].upper(), [GH_SECRET], "reject", "malformed"),
        gh("no sha256= prefix", ISSUE, good[7:], [GH_SECRET], "reject", "malformed"),
        gh("sha1= prefix", ISSUE, "sha1=" + good[7:], [GH_SECRET], "reject", "malformed"),
        gh("truncated signature", ISSUE, good[:40], [GH_SECRET], "reject", "malformed"),
        gh("missing signature", ISSUE, None, [GH_SECRET], "reject", "missing_header"),
    ]
    results = octokit([
        {"op": "verify", "secrets": c["secrets"], "payload": c["body"], "signature": c["headers"].get("x-hub-signature-256", "")}
        for c in cases
    ])
    for c, ok in zip(cases, results):
        c["_octokit"] = ok
    return cases


def slack_cases():
    s, t = SLACK_SECRET, NOW
    assert slack_sign(SLACK_DOC_BODY, SLACK_DOC_TS, SLACK_DOC_SECRET) == SLACK_DOC_SIG, "Slack's documented example"

    def sl(name, body, ts, sig, expected, error=None, secrets=None, now=NOW, **kw):
        headers = {}
        if ts is not None:
            headers["x-slack-request-timestamp"] = str(ts)
        if sig is not None:
            headers["x-slack-signature"] = sig
        return case("slack", name, body, headers, secrets or [s], expected, error, now=now, **kw)

    good = slack_sign(EVENT, t)
    ours = {"secret": s, "timestamp": t, "id": ""}
    zero = "0" + str(t)
    future = "we reject a timestamp that is not canonical unix seconds; slack_sdk reads it with int()"
    return [
        sl("Slack's documented example", SLACK_DOC_BODY, SLACK_DOC_TS, SLACK_DOC_SIG, "accept",
           secrets=[SLACK_DOC_SECRET], now=SLACK_DOC_TS, ours={"secret": SLACK_DOC_SECRET, "timestamp": SLACK_DOC_TS, "id": ""}),
        sl("valid", EVENT, t, good, "accept", ours=ours, delivery="new"),
        sl("replay: the same delivery again", EVENT, t, good, "accept", replay_of="valid", delivery="duplicate"),
        sl("replay after the tolerance", EVENT, t, good, "reject", "timestamp_outside_tolerance", now=t + 600, replay_of="valid"),
        sl("exactly 300 s old", EVENT, t - 300, slack_sign(EVENT, t - 300), "accept"),
        sl("301 s old", EVENT, t - 301, slack_sign(EVENT, t - 301), "reject", "timestamp_outside_tolerance"),
        sl("exactly 300 s ahead", EVENT, t + 300, slack_sign(EVENT, t + 300), "accept"),
        sl("301 s ahead", EVENT, t + 301, slack_sign(EVENT, t + 301), "reject", "timestamp_outside_tolerance"),
        sl("wrong secret", EVENT, t, slack_sign(EVENT, t, "someone-else"), "reject", "mismatch"),
        sl("wrong secret and stale", EVENT, t - 10_000, slack_sign(EVENT, t - 10_000, "someone-else"), "reject", "mismatch"),
        sl("tampered body", EVENT.replace("hi", "ho"), t, good, "reject", "mismatch"),
        sl("timestamp changed after signing", EVENT, t + 1, good, "reject", "mismatch"),
        sl("uppercase hex", EVENT, t, "v0=" + good[3:].upper(), "reject", "malformed"),
        sl("v1= prefix", EVENT, t, "v1=" + good[3:], "reject", "malformed"),
        sl("missing signature", EVENT, t, None, "reject", "missing_header"),
        sl("missing timestamp", EVENT, None, good, "reject", "missing_header"),
        sl("timestamp with a leading zero", EVENT, zero, SignatureVerifier(s).generate_signature(timestamp=zero, body=EVENT),
           "reject", "malformed", divergence=future),
    ]


def shopify_cases():
    good, old = shopify_sign(ORDER), shopify_sign(ORDER, SHOP_OLD)
    wid, wid2 = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "0b3b2a1c-3f0e-4c5b-9b1e-6d0c3e7f9a11"

    def sh(name, body, sig, expected, error=None, secrets=None, webhook_id=wid, **kw):
        headers = {"x-shopify-webhook-id": webhook_id, "x-shopify-topic": "orders/create"}
        if sig is not None:
            headers["x-shopify-hmac-sha256"] = sig
        return case("shopify", name, body, headers, secrets or [SHOP_SECRET], expected, error, **kw)

    return [
        sh("valid", ORDER, good, "accept", ours={"secret": SHOP_SECRET, "timestamp": NOW, "id": wid}, delivery="new"),
        sh("replay: the same delivery again", ORDER, good, "accept", replay_of="valid", delivery="duplicate"),
        sh("another delivery with the same body", ORDER, good, "accept", webhook_id=wid2, replay_of="valid", delivery="new",
           note="Shopify signs neither the webhook id nor a time"),
        sh("wrong secret", ORDER, shopify_sign(ORDER, "someone-else"), "reject", "mismatch"),
        sh("tampered body", ORDER.replace("254.98", "0.01"), good, "reject", "mismatch"),
        sh("rotation: old signature, both secrets configured", ORDER, old, "accept", secrets=[SHOP_SECRET, SHOP_OLD]),
        sh("hex instead of base64", ORDER, hmac.new(SHOP_SECRET.encode(), ORDER.encode(), hashlib.sha256).hexdigest(), "reject", "malformed"),
        sh("unpadded base64", ORDER, good.rstrip("="), "reject", "malformed"),
        sh("missing signature", ORDER, None, "reject", "missing_header"),
    ]


def standard_cases(preset, secret):
    prefix = "svix" if preset == "svix" else "webhook"
    msg, t = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", NOW
    good = std_headers(prefix, EMAIL, msg, t, secret)
    other = "whsec_" + base64.b64encode(b"someone else's key").decode()

    def st(name, headers, expected, error=None, body=EMAIL, **kw):
        return case(preset, name, body, headers, [secret], expected, error, **kw)

    cases = [
        st("valid", good, "accept", ours={"secret": secret, "timestamp": t, "id": msg}, delivery="new"),
        st("replay: the same delivery again", good, "accept", replay_of="valid", delivery="duplicate"),
        st("replay after the tolerance", good, "reject", "timestamp_outside_tolerance", now=t + 600, replay_of="valid"),
        st("301 s old", std_headers(prefix, EMAIL, msg, t - 301, secret), "reject", "timestamp_outside_tolerance"),
        st("wrong secret", std_headers(prefix, EMAIL, msg, t, other), "reject", "mismatch"),
        st("tampered body", good, "reject", "mismatch", body=EMAIL.replace("bounced", "delivered")),
        st("missing signature", {k: v for k, v in good.items() if not k.endswith("-signature")}, "reject", "missing_header"),
    ]
    if preset == "svix":
        cases.append(st("webhook-* headers", std_headers("webhook", EMAIL, msg, t, secret), "accept"))
    return cases


def generate() -> dict:
    raw = github_cases() + slack_cases() + shopify_cases() + standard_cases("standard", STD_SECRET) + standard_cases("svix", SVIX_SECRET)
    for v in raw:
        v["sdk"] = verdicts(v)
    return {
        "about": "Webhook scheme vectors judged by the providers' verifiers; see tests/contract/gen_scheme_vectors.py",
        "verifiers": {
            "octokit": "@octokit/webhooks-methods 6.0.0",
            **{name: metadata.version(name) for name in ("slack_sdk", "svix", "standardwebhooks")},
        },
        "vectors": raw,
    }


def policy_violations(doc: dict) -> list[str]:
    bad = []
    names = {(v["preset"], v["name"]) for v in doc["vectors"]}
    for v in doc["vectors"]:
        verdicts = set(v["sdk"].values())
        ours = v["expected"] == "accept"
        where = f"{v['preset']}: {v['name']}"
        if v["divergence"] is None:
            if verdicts != {ours}:
                bad.append(f"{where}: verifiers say {v['sdk']}, we say {v['expected']}")
        elif ours or True not in verdicts:
            bad.append(f"{where}: a divergence must be a verifier accepting what we reject")
        if v["replay_of"] and (v["preset"], v["replay_of"]) not in names:
            bad.append(f"{where}: replays an unknown vector")
        if v["ours"] and not ours:
            bad.append(f"{where}: signing inputs on a rejected vector")
    return bad


def main(argv: list[str]) -> int:
    return write(argv, OUT, generate, policy_violations)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
