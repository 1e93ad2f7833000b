"""Signatures produced by `apiops sim emit` are accepted by the official SDKs' verifiers
(stripe.Webhook, twilio's RequestValidator, openai's webhooks.unwrap), and the deliberately bad
ones are rejected by them."""

import http.server
import json
import subprocess
import threading
import urllib.parse

import pytest
import stripe
from openai import OpenAI
from twilio.request_validator import RequestValidator

from conftest import apiops_bin

STRIPE_SECRET = "whsec_contract_test_0123456789"
TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"
OPENAI_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def verify(provider, url, headers, body):
    if provider == "stripe":
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], STRIPE_SECRET)
    elif provider == "twilio":
        params = dict(urllib.parse.parse_qsl(body.decode()))
        if not RequestValidator(TWILIO_TOKEN).validate(url, params, headers["X-Twilio-Signature"]):
            raise ValueError("bad twilio signature")
    else:
        OpenAI(api_key="unused", webhook_secret=OPENAI_SECRET).webhooks.unwrap(body, dict(headers))


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self, provider):
        super().__init__(("127.0.0.1", 0), Handler)
        self.provider = provider
        self.accepted = 0
        self.rejected = 0
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            verify(self.server.provider, self.server.url, self.headers, body)
            ok = True
        except Exception:
            ok = False
        with self.server.lock:
            if ok:
                self.server.accepted += 1
            else:
                self.server.rejected += 1
        self.send_response(200 if ok else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("provider,secret", [("stripe", STRIPE_SECRET), ("twilio", TWILIO_TOKEN), ("openai", OPENAI_SECRET)])
def test_official_verifiers_accept_emitted_signatures(provider, secret):
    server = Receiver(provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        out = subprocess.run(
            [apiops_bin(), "sim", "emit", "--provider", provider, "--target", server.url, "--secret", secret,
             "--count", "60", "--duplicate-rate", "0.2", "--bad-signature-rate", "0.25", "--json"],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
    finally:
        server.shutdown()
    assert report["sent"] == 60
    assert report["bad_signatures_sent"] > 0 and report["duplicates_sent"] > 0
    assert server.accepted == 60 - report["bad_signatures_sent"], (server.accepted, report)
    assert server.rejected == report["bad_signatures_sent"]
    assert report["acknowledged"] == server.accepted
    assert secret not in out.stdout + out.stderr
