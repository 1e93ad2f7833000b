"""Webhook signature vectors judged by the providers' official Python SDKs.

Writes tests/contract/vectors/webhooks.json (committed). Each vector holds the inputs of one
webhook request (payload, headers or URL and params, the configured secrets), the verdict of
every official SDK verifier that applies, and the verdict and error kind that apiops-webhooks'
`signature` module must give. crates/apiops-webhooks/tests/vectors.rs checks our verifiers
against the committed file; tests/contract/test_webhook_vectors.py regenerates it and fails if
an SDK's verdict drifted from the committed one.

SDKs (tests/contract/requirements.txt): stripe (`WebhookSignature.verify_header`), twilio
(`RequestValidator.validate`), openai (`client.webhooks.verify_signature`) and standardwebhooks
(`Webhook.verify`). The clock is frozen at NOW for all of them; the tolerance is 300 s, every
SDK's default. With several secrets (a rotation) an SDK's verdict is "any secret accepts", which
is how a receiver uses a one-secret SDK during a rotation.

Policy: where `divergence` is null every SDK's verdict equals ours. A divergence is allowed only
where we reject what some SDK accepts (we are stricter, never looser), and says why.

Usage: .venv/bin/python tests/contract/gen_webhook_vectors.py [OUT.json]
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import pathlib
import sys
from importlib import metadata
from unittest import mock

import stripe
import standardwebhooks
import standardwebhooks.webhooks
from openai import OpenAI
from twilio.request_validator import RequestValidator

NOW = 1_700_000_000
TOLERANCE = 300
OUT = pathlib.Path(__file__).resolve().parent / "vectors" / "webhooks.json"

STRIPE_SECRET = "whsec_contract_stripe_0123456789abcdef"
STRIPE_OLD = "whsec_contract_stripe_previous_secret"
TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"
TWILIO_SDK_TOKEN = "12345"  # twilio-python's own unit-test literal
STD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec's test secret
STD_OLD = "whsec_" + base64.b64encode(b"a previous standard webhooks key").decode()

PAYLOAD = '{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"charge.failed"}'
UNICODE_PAYLOAD = '{"id":"evt_2","data":{"name":"Zoë – 東京"}}'
OPENAI_PAYLOAD = '{"id":"evt_685343a1381c819085d44c354e1b330e","object":"event","type":"batch.failed"}'


class MultiDict(dict):
    """A form with repeated names, as Flask's MultiDict: name -> list of values."""

    def getall(self, name):
        return self[name]


def sdk_params(pairs):
    names = [k for k, _ in pairs]
    if len(set(names)) == len(names):
        return dict(pairs)
    multi = MultiDict()
    for k, v in pairs:
        multi.setdefault(k, []).append(v)
    return multi


@contextlib.contextmanager
def frozen_clock(now: int):
    class FrozenDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime.fromtimestamp(now, tz=tz)

    with mock.patch("time.time", return_value=float(now)), mock.patch.object(
        standardwebhooks.webhooks, "datetime", FrozenDatetime
    ):
        yield


def accepts(fn) -> bool:
    try:
        result = fn()
    except Exception:  # every SDK signals rejection by raising (twilio returns False)
        return False
    return result is not False


# -- SDK verdicts ---------------------------------------------------------------------------

def stripe_verdicts(v):
    ok = any(
        accepts(lambda s=s: stripe.WebhookSignature.verify_header(v["payload"], v["header"], s, TOLERANCE))
        for s in v["secrets"]
    )
    return {"stripe": ok}


def twilio_verdicts(v):
    validator = RequestValidator(v["token"])
    return {"twilio": accepts(lambda: validator.validate(v["url"], sdk_params(v["params"]), v["header"]))}


def twilio_json_verdicts(v):
    validator = RequestValidator(v["token"])
    return {"twilio": accepts(lambda: validator.validate(v["url"], v["body"], v["header"]))}


_OPENAI = OpenAI(api_key="unused-in-contract-tests", base_url="http://127.0.0.1:9/v1")


def standard_verdicts(v):
    headers = {
        k: val
        for k, val in (
            ("webhook-id", v["id"]),
            ("webhook-timestamp", v["timestamp"]),
            ("webhook-signature", v["signature"]),
        )
        if val
    }
    openai_ok = any(
        accepts(lambda s=s: _OPENAI.webhooks.verify_signature(v["payload"], headers, secret=s, tolerance=TOLERANCE))
        for s in v["secrets"]
    )
    std_ok = any(
        accepts(lambda s=s: standardwebhooks.Webhook(s).verify(v["payload"], headers, json_parse=False))
        for s in v["secrets"]
    )
    return {"openai": openai_ok, "standardwebhooks": std_ok}


VERDICTS = {
    "stripe": stripe_verdicts,
    "twilio": twilio_verdicts,
    "twilio_json": twilio_json_verdicts,
    "standard": standard_verdicts,
}


# -- signing with the SDKs ------------------------------------------------------------------

def stripe_header(payload, secret, t):
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=t)


def stripe_v1(payload, secret, t):
    return stripe_header(payload, secret, t).split(",v1=", 1)[1]


def twilio_sig(url, pairs, token=TWILIO_TOKEN):
    return RequestValidator(token).compute_signature(url, sdk_params(pairs))


def twilio_json(url, body, token=TWILIO_TOKEN):
    validator = RequestValidator(token)
    signed_url = url + ("&" if "?" in url else "?") + "bodySHA256=" + validator.compute_hash(body)
    return signed_url, validator.compute_signature(signed_url, {})


def std_sig(payload, msg_id, t, secret=STD_SECRET):
    ts = datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)
    return standardwebhooks.Webhook(secret).sign(msg_id, ts, payload)


# -- the cases ------------------------------------------------------------------------------

ACCEPT = ("accept", None)


def reject(kind):
    return ("reject", kind)


def stripe_cases():
    s, t = STRIPE_SECRET, NOW
    good = stripe_header(PAYLOAD, s, t)
    v1 = stripe_v1(PAYLOAD, s, t)
    old_v1 = stripe_v1(PAYLOAD, STRIPE_OLD, t)
    tampered = PAYLOAD.replace("charge.failed", "charge.faileD")
    future = "the official SDKs check only the past; we reject future timestamps beyond the tolerance"
    return [
        ("valid", PAYLOAD, good, [s], ACCEPT, None),
        ("valid unicode payload", UNICODE_PAYLOAD, stripe_header(UNICODE_PAYLOAD, s, t), [s], ACCEPT, None),
        ("exactly at tolerance, past", PAYLOAD, stripe_header(PAYLOAD, s, t - 300), [s], ACCEPT, None),
        ("one second beyond tolerance, past", PAYLOAD, stripe_header(PAYLOAD, s, t - 301), [s], reject("timestamp_outside_tolerance"), None),
        ("a day old", PAYLOAD, stripe_header(PAYLOAD, s, t - 86_400), [s], reject("timestamp_outside_tolerance"), None),
        ("exactly at tolerance, future", PAYLOAD, stripe_header(PAYLOAD, s, t + 300), [s], ACCEPT, None),
        ("one second beyond tolerance, future", PAYLOAD, stripe_header(PAYLOAD, s, t + 301), [s], reject("timestamp_outside_tolerance"), future),
        ("an hour in the future", PAYLOAD, stripe_header(PAYLOAD, s, t + 3_600), [s], reject("timestamp_outside_tolerance"), future),
        ("wrong secret", PAYLOAD, stripe_header(PAYLOAD, "whsec_someone_else", t), [s], reject("mismatch"), None),
        ("wrong secret and stale", PAYLOAD, stripe_header(PAYLOAD, "whsec_someone_else", t - 10_000), [s], reject("mismatch"), None),
        ("tampered body", tampered, good, [s], reject("mismatch"), None),
        ("body with a trailing newline", PAYLOAD + "\n", good, [s], reject("mismatch"), None),
        ("timestamp changed after signing", PAYLOAD, f"t={t + 1},v1={v1}", [s], reject("mismatch"), None),
        ("rotation: two v1, second secret configured", PAYLOAD, f"t={t},v1={old_v1},v1={v1}", [s], ACCEPT, None),
        ("rotation: two v1, first secret configured", PAYLOAD, f"t={t},v1={old_v1},v1={v1}", [STRIPE_OLD], ACCEPT, None),
        ("rotation: old signature, both secrets configured", PAYLOAD, f"t={t},v1={old_v1}", [s, STRIPE_OLD], ACCEPT, None),
        ("rotation: old signature, only new secret", PAYLOAD, f"t={t},v1={old_v1}", [s], reject("mismatch"), None),
        ("v0 and unknown schemes ignored", PAYLOAD, f"t={t},v0={'0' * 64},v1={v1},v9=x", [s], ACCEPT, None),
        ("only v0", PAYLOAD, f"t={t},v0={v1}", [s], reject("no_signature_for_scheme"), None),
        ("missing header", PAYLOAD, "", [s], reject("missing_header"), None),
        ("no timestamp", PAYLOAD, f"v1={v1}", [s], reject("malformed"), None),
        ("non-numeric timestamp", PAYLOAD, f"t=now,v1={v1}", [s], reject("malformed"), None),
        ("uppercase hex", PAYLOAD, f"t={t},v1={v1.upper()}", [s], reject("malformed"), None),
        ("truncated v1", PAYLOAD, f"t={t},v1={v1[:32]}", [s], reject("malformed"), None),
        ("empty v1", PAYLOAD, f"t={t},v1=", [s], reject("malformed"), None),
        ("spaces after commas", PAYLOAD, f"t={t}, v1={v1}", [s], reject("no_signature_for_scheme"), None),
    ]


def twilio_cases():
    tok = TWILIO_TOKEN
    sdk_url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    sdk_pairs = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    url = "https://hooks.example.com/twilio/status"
    pairs = [
        ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30007"),
        ("To", "+15005550006"),
        ("From", "+15005550001"),
    ]
    good = twilio_sig(url, pairs)
    with_port = url.replace("example.com", "example.com:443")
    repeated = [("To", "+15005550009"), ("Body", "hi"), ("To", "+15005550006"), ("MediaUrl", "b"), ("MediaUrl", "a")]
    rep_sig = twilio_sig(url, repeated)
    dup = [("To", "+1"), ("To", "+1"), ("Body", "x")]
    return [
        ("twilio-python unit-test literal", sdk_url, sdk_pairs, twilio_sig(sdk_url, sdk_pairs, TWILIO_SDK_TOKEN), TWILIO_SDK_TOKEN, ACCEPT),
        ("twilio-python literal, wrong token", sdk_url, sdk_pairs, twilio_sig(sdk_url, sdk_pairs, TWILIO_SDK_TOKEN), tok, reject("mismatch")),
        ("valid, params in another order", url, list(reversed(pairs)), good, tok, ACCEPT),
        ("tampered param value", url, [(k, "delivered" if k == "MessageStatus" else v) for k, v in pairs], good, tok, reject("mismatch")),
        ("param added", url, pairs + [("Extra", "1")], good, tok, reject("mismatch")),
        ("param removed", url, pairs[1:], good, tok, reject("mismatch")),
        ("query string changed", url + "?a=1", pairs, twilio_sig(url + "?a=2", pairs), tok, reject("mismatch")),
        ("no params, URL only", url, [], twilio_sig(url, []), tok, ACCEPT),
        ("port: URL without port, signed with :443", url, pairs, twilio_sig(with_port, pairs), tok, ACCEPT),
        ("port: URL with :443, signed without port", with_port, pairs, good, tok, ACCEPT),
        ("port: http URL, signed with :80", "http://hooks.example.com/t", pairs, twilio_sig("http://hooks.example.com:80/t", pairs), tok, ACCEPT),
        ("port: http URL, signed with :443", "http://hooks.example.com/t", pairs, twilio_sig("http://hooks.example.com:443/t", pairs), tok, reject("mismatch")),
        ("port: URL with :8443, signed without port", url.replace("example.com", "example.com:8443"), pairs, good, tok, ACCEPT),
        ("port: URL with :8443, signed with :9443", url.replace("example.com", "example.com:8443"), pairs, twilio_sig(url.replace("example.com", "example.com:9443"), pairs), tok, reject("mismatch")),
        ("scheme: https URL, signed as http", url, pairs, twilio_sig(url.replace("https:", "http:"), pairs), tok, reject("mismatch")),
        ("repeated params", url, repeated, rep_sig, tok, ACCEPT),
        ("repeated params, values reordered", url, [repeated[2], repeated[4], repeated[1], repeated[3], repeated[0]], rep_sig, tok, ACCEPT),
        ("repeated params, one value changed", url, [("To", "+15005550008")] + repeated[1:], rep_sig, tok, reject("mismatch")),
        ("repeated identical pair (SDK signs it once)", url, dup, twilio_sig(url, dup), tok, ACCEPT),
        ("missing header", url, pairs, "", tok, reject("missing_header")),
        ("header not base64 of 20 bytes", url, pairs, good.rstrip("="), tok, reject("malformed")),
        ("header of another length", url, pairs, base64.b64encode(bytes(32)).decode(), tok, reject("malformed")),
    ]


def twilio_json_cases():
    tok = TWILIO_TOKEN
    body = '{"AccountSid":"AC0123","Level":"ERROR","ErrorCode":"11200","Payload":"{\\"x\\":1}"}'
    signed_url, sig = twilio_json("https://hooks.example.com/twilio/json?source=alerts", body)
    other_url, other_sig = twilio_json("https://hooks.example.com/twilio/json?source=alerts", body + " ")
    return [
        ("valid", signed_url, body, sig, tok, ACCEPT),
        ("tampered body", signed_url, body.replace("11200", "11205"), sig, tok, reject("body_hash_mismatch")),
        ("wrong token", signed_url, body, sig, "fedcba9876543210fedcba9876543210", reject("mismatch")),
        ("port: URL with :443", signed_url.replace("example.com", "example.com:443"), body, sig, tok, ACCEPT),
        ("bodySHA256 swapped for another body's", signed_url.replace(signed_url.split("bodySHA256=")[1], other_url.split("bodySHA256=")[1]), body + " ", sig, tok, reject("mismatch")),
        ("signature for another body", other_url, body + " ", other_sig, tok, ACCEPT),
    ]


def standard_cases():
    s, t, msg = STD_SECRET, NOW, "msg_2Lh9KRb0pzN4LePd3XiA4ivNHLw"
    good = std_sig(OPENAI_PAYLOAD, msg, t)
    raw = good.split(",", 1)[1]
    old = std_sig(OPENAI_PAYLOAD, msg, t, STD_OLD)
    bare = "openai-python compares an entry without the v1, prefix as a bare signature; the spec and standardwebhooks require v1,"
    return [
        ("valid", OPENAI_PAYLOAD, msg, str(t), good, [s], ACCEPT, None),
        ("spec reference vector", '{"test": 2432232314}', "msg_p5jXN8AQM9LWM0D4loKWxJek", str(t), std_sig('{"test": 2432232314}', "msg_p5jXN8AQM9LWM0D4loKWxJek", t), [s], ACCEPT, None),
        ("valid unicode payload", UNICODE_PAYLOAD, msg, str(t), std_sig(UNICODE_PAYLOAD, msg, t), [s], ACCEPT, None),
        ("exactly at tolerance, past", OPENAI_PAYLOAD, msg, str(t - 300), std_sig(OPENAI_PAYLOAD, msg, t - 300), [s], ACCEPT, None),
        ("one second beyond tolerance, past", OPENAI_PAYLOAD, msg, str(t - 301), std_sig(OPENAI_PAYLOAD, msg, t - 301), [s], reject("timestamp_outside_tolerance"), None),
        ("exactly at tolerance, future", OPENAI_PAYLOAD, msg, str(t + 300), std_sig(OPENAI_PAYLOAD, msg, t + 300), [s], ACCEPT, None),
        ("one second beyond tolerance, future", OPENAI_PAYLOAD, msg, str(t + 301), std_sig(OPENAI_PAYLOAD, msg, t + 301), [s], reject("timestamp_outside_tolerance"), None),
        ("wrong secret", OPENAI_PAYLOAD, msg, str(t), std_sig(OPENAI_PAYLOAD, msg, t, STD_OLD), [s], reject("mismatch"), None),
        ("tampered body", OPENAI_PAYLOAD.replace("batch.failed", "batch.faileD"), msg, str(t), good, [s], reject("mismatch"), None),
        ("tampered id", OPENAI_PAYLOAD, msg + "x", str(t), good, [s], reject("mismatch"), None),
        ("timestamp changed after signing", OPENAI_PAYLOAD, msg, str(t + 1), good, [s], reject("mismatch"), None),
        ("rotation: two entries, second matches", OPENAI_PAYLOAD, msg, str(t), f"{old} {good}", [s], ACCEPT, None),
        ("rotation: old signature, both secrets configured", OPENAI_PAYLOAD, msg, str(t), old, [s, STD_OLD], ACCEPT, None),
        ("rotation: old signature, only new secret", OPENAI_PAYLOAD, msg, str(t), old, [s], reject("mismatch"), None),
        ("short-signature trap: v1, alone", OPENAI_PAYLOAD, msg, str(t), "v1,", [s], reject("malformed"), None),
        ("short-signature trap: truncated signature", OPENAI_PAYLOAD, msg, str(t), "v1," + raw[:20], [s], reject("malformed"), None),
        ("short-signature trap: one base64 quantum", OPENAI_PAYLOAD, msg, str(t), "v1," + raw[:4], [s], reject("malformed"), None),
        ("short-signature trap: beside a wrong full signature", OPENAI_PAYLOAD, msg, str(t), "v1, " + std_sig(OPENAI_PAYLOAD, msg, t, STD_OLD), [s], reject("mismatch"), None),
        ("short entry beside the right signature", OPENAI_PAYLOAD, msg, str(t), f"v1, {good}", [s], ACCEPT, None),
        ("unpadded base64", OPENAI_PAYLOAD, msg, str(t), good.rstrip("="), [s], reject("malformed"), None),
        ("right signature under v2", OPENAI_PAYLOAD, msg, str(t), "v2," + raw, [s], reject("no_signature_for_scheme"), None),
        ("bare signature without v1,", OPENAI_PAYLOAD, msg, str(t), raw, [s], reject("no_signature_for_scheme"), bare),
        ("missing webhook-signature", OPENAI_PAYLOAD, msg, str(t), "", [s], reject("missing_header"), None),
        ("missing webhook-id", OPENAI_PAYLOAD, "", str(t), good, [s], reject("missing_header"), None),
        ("non-numeric timestamp", OPENAI_PAYLOAD, msg, "soon", good, [s], reject("malformed"), None),
    ]


def generate() -> dict:
    raw = []
    for name, payload, header, secrets, (expected, error), divergence in stripe_cases():
        raw.append({"scheme": "stripe", "name": name, "payload": payload, "header": header, "secrets": secrets,
                    "expected": expected, "error": error, "divergence": divergence})
    for name, url, pairs, header, token, (expected, error) in twilio_cases():
        raw.append({"scheme": "twilio", "name": name, "url": url, "params": [list(p) for p in pairs], "header": header,
                    "token": token, "expected": expected, "error": error, "divergence": None})
    for name, url, body, header, token, (expected, error) in twilio_json_cases():
        raw.append({"scheme": "twilio_json", "name": name, "url": url, "body": body, "header": header, "token": token,
                    "expected": expected, "error": error, "divergence": None})
    for name, payload, msg_id, ts, sig, secrets, (expected, error), divergence in standard_cases():
        raw.append({"scheme": "standard", "name": name, "payload": payload, "id": msg_id, "timestamp": ts,
                    "signature": sig, "secrets": secrets, "expected": expected, "error": error,
                    "divergence": divergence})
    with frozen_clock(NOW):
        for v in raw:
            v["sdk"] = VERDICTS[v["scheme"]](v)
    return {
        "about": "Webhook signature vectors judged by the official SDKs; see tests/contract/gen_webhook_vectors.py",
        "sdk_versions": {name: metadata.version(name) for name in ("stripe", "twilio", "openai", "standardwebhooks")},
        "now": NOW,
        "tolerance_secs": TOLERANCE,
        "vectors": raw,
    }


def policy_violations(doc: dict) -> list[str]:
    """Vectors whose SDK verdicts and our expected verdict break the policy in the docstring."""
    bad = []
    for v in doc["vectors"]:
        verdicts = set(v["sdk"].values())
        ours = v["expected"] == "accept"
        if v["divergence"] is None:
            if verdicts != {ours}:
                bad.append(f"{v['scheme']}: {v['name']}: SDKs say {v['sdk']}, we say {v['expected']}")
        elif ours or True not in verdicts:
            bad.append(f"{v['scheme']}: {v['name']}: a divergence must be an SDK accepting what we reject")
    return bad


def dump(doc: dict) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=True) + "\n"


def main(argv: list[str]) -> int:
    return write(argv, OUT, generate, policy_violations)


def write(argv: list[str], default_out: pathlib.Path, generate, policy_violations) -> int:
    """Generates the vectors into argv[1] (else `default_out`); 1 when one breaks the policy."""
    out = pathlib.Path(argv[1]) if len(argv) > 1 else default_out
    doc = generate()
    bad = policy_violations(doc)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump(doc))
    print(f"{out}: {len(doc['vectors'])} vectors")
    for line in bad:
        print("POLICY:", line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
