"""Every response body the simulator serves for the endpoints apiops uses validates against the
official spec's response schema (../shared/specs). Twilio and Stripe are OpenAPI 3.0 (with
`nullable`), OpenAI is 3.1. `format` is not asserted: Twilio's specs mark its `*_uri` fields
`format: uri` while real responses carry relative paths.
"""

import base64
import http.server
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from openapi_schema_validator import OAS30Validator, OAS31Validator

from conftest import SHARED, start_sim

SPECS = {
    "twilio_api": ("twilio/twilio_api_v2010.json", OAS30Validator),
    "twilio_monitor": ("twilio/twilio_monitor_v1.json", OAS30Validator),
    "twilio_messaging": ("twilio/twilio_messaging_v1.json", OAS30Validator),
    "twilio_pricing": ("twilio/twilio_pricing_v1.json", OAS30Validator),
    "stripe": ("stripe/spec3.2023-08-16.json", OAS30Validator),
    "openai": ("openai/openapi.json", OAS31Validator),
}
_loaded = {}


def spec(name):
    if name not in _loaded:
        path, cls = SPECS[name]
        _loaded[name] = (json.loads((SHARED / "specs" / path).read_text()), cls)
    return _loaded[name]


def response_schema(name, template, method, status):
    doc, cls = spec(name)
    op = doc["paths"][template][method.lower()]
    content = op["responses"][str(status)]["content"]
    media = content.get("application/json") or next(iter(content.values()))
    schema = dict(media["schema"])
    schema["components"] = doc.get("components", {})
    return schema, cls


def call(sim, method, url, auth, form=None, json_body=None):
    if json_body is not None:
        data = json.dumps(json_body).encode()
        content_type = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form, doseq=True).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        data = None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def cases(env):
    sid = env["TWILIO_ACCOUNT_SID"]
    tw = basic(sid, env["TWILIO_AUTH_TOKEN"])
    st = "Bearer " + env["STRIPE_SECRET_KEY"]
    oa = "Bearer " + env["OPENAI_API_KEY"]
    admin = "Bearer " + env["OPENAI_ADMIN_KEY"]
    api = env["APIOPS_TWILIO_API_URL"]
    acc = f"{api}/2010-04-01/Accounts/{sid}"
    month_ago = int(time.time()) - 30 * 86400
    # (spec, template, method, status, url, auth)
    return [
        ("twilio_api", "/2010-04-01/Accounts/{Sid}.json", "GET", 200, f"{acc}.json", tw),
        ("twilio_api", "/2010-04-01/Accounts/{AccountSid}/Balance.json", "GET", 200, f"{acc}/Balance.json", tw),
        ("twilio_api", "/2010-04-01/Accounts/{AccountSid}/Messages.json", "GET", 200, f"{acc}/Messages.json?PageSize=50", tw),
        ("twilio_api", "/2010-04-01/Accounts/{AccountSid}/Calls.json", "GET", 200, f"{acc}/Calls.json?Status=failed", tw),
        ("twilio_api", "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json", "GET", 200, f"{acc}/IncomingPhoneNumbers.json", tw),
        ("twilio_api", "/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/Local.json", "GET", 200, f"{acc}/AvailablePhoneNumbers/US/Local.json?AreaCode=415", tw),
        ("twilio_api", "/2010-04-01/Accounts/{AccountSid}/Usage/Records.json", "GET", 200, f"{acc}/Usage/Records.json?PageSize=5", tw),
        ("twilio_api", "/2010-04-01/Accounts/{AccountSid}/Usage/Records/Today.json", "GET", 200, f"{acc}/Usage/Records/Today.json", tw),
        ("twilio_api", "/2010-04-01/Accounts/{AccountSid}/Usage/Records/ThisMonth.json", "GET", 200, f"{acc}/Usage/Records/ThisMonth.json?Category=sms", tw),
        ("twilio_api", "/2010-04-01/Accounts/{AccountSid}/Usage/Records/LastMonth.json", "GET", 200, f"{acc}/Usage/Records/LastMonth.json", tw),
        ("twilio_api", "/2010-04-01/Accounts/{AccountSid}/Usage/Records/Daily.json", "GET", 200, f"{acc}/Usage/Records/Daily.json?Category=totalprice", tw),
        ("twilio_api", "/2010-04-01/Accounts/{AccountSid}/Usage/Records/Monthly.json", "GET", 200, f"{acc}/Usage/Records/Monthly.json", tw),
        ("twilio_monitor", "/v1/Alerts", "GET", 200, env["APIOPS_TWILIO_MONITOR_URL"] + "/v1/Alerts", tw),
        ("twilio_messaging", "/v1/Services", "GET", 200, env["APIOPS_TWILIO_MESSAGING_URL"] + "/v1/Services", tw),
        ("twilio_pricing", "/v1/PhoneNumbers/Countries/{IsoCountry}", "GET", 200, env["APIOPS_TWILIO_PRICING_URL"] + "/v1/PhoneNumbers/Countries/US", tw),
        ("stripe", "/v1/balance", "GET", 200, env["APIOPS_STRIPE_API_URL"] + "/v1/balance", st),
        ("stripe", "/v1/account", "GET", 200, env["APIOPS_STRIPE_API_URL"] + "/v1/account", st),
        ("stripe", "/v1/events", "GET", 200, env["APIOPS_STRIPE_API_URL"] + "/v1/events?limit=100", st),
        ("stripe", "/v1/events", "GET", 200, env["APIOPS_STRIPE_API_URL"] + "/v1/events?delivery_success=false&limit=100", st),
        ("stripe", "/v1/webhook_endpoints", "GET", 200, env["APIOPS_STRIPE_API_URL"] + "/v1/webhook_endpoints", st),
        ("stripe", "/v1/balance_transactions", "GET", 200, env["APIOPS_STRIPE_API_URL"] + "/v1/balance_transactions?limit=100", st),
        ("stripe", "/v1/balance_transactions", "GET", 200, env["APIOPS_STRIPE_API_URL"] + "/v1/balance_transactions?type=refund&limit=10", st),
        ("openai", "/models", "GET", 200, env["OPENAI_BASE_URL"] + "/models", oa),
        ("openai", "/batches", "GET", 200, env["OPENAI_BASE_URL"] + "/batches?limit=100", oa),
        ("openai", "/fine_tuning/jobs", "GET", 200, env["OPENAI_BASE_URL"] + "/fine_tuning/jobs?limit=100", oa),
        ("openai", "/organization/projects", "GET", 200, env["OPENAI_BASE_URL"] + "/organization/projects", admin),
        ("openai", "/organization/usage/completions", "GET", 200, env["OPENAI_BASE_URL"] + f"/organization/usage/completions?start_time={month_ago}&bucket_width=1d&limit=31&group_by=model", admin),
        ("openai", "/organization/costs", "GET", 200, env["OPENAI_BASE_URL"] + f"/organization/costs?start_time={month_ago}&bucket_width=1d&limit=31&group_by=line_item", admin),
    ]


def test_every_listed_endpoint_validates(sim):
    failures = []
    for name, template, method, status, url, auth in cases(sim.env):
        got, body = call(sim, method, url, auth)
        if got != status:
            failures.append(f"{method} {template}: HTTP {got}: {body}")
            continue
        schema, cls = response_schema(name, template, method, status)
        errors = sorted(cls(schema).iter_errors(body), key=lambda e: list(e.path))
        for e in errors[:5]:
            failures.append(f"{method} {template}: {list(e.path)}: {e.message[:200]}")
    assert not failures, "\n".join(failures)


def test_single_resources_and_writes_validate(sim):
    env = sim.env
    sid = env["TWILIO_ACCOUNT_SID"]
    tw = basic(sid, env["TWILIO_AUTH_TOKEN"])
    acc = f"{env['APIOPS_TWILIO_API_URL']}/2010-04-01/Accounts/{sid}"
    st = "Bearer " + env["STRIPE_SECRET_KEY"]
    oa = "Bearer " + env["OPENAI_API_KEY"]
    failures = []

    def check(name, template, method, status, url, auth, form=None, json_body=None):
        got, body = call(sim, method, url, auth, form, json_body)
        if got != status:
            failures.append(f"{method} {template}: HTTP {got}: {body}")
            return body
        schema, cls = response_schema(name, template, method, status)
        for e in list(cls(schema).iter_errors(body))[:5]:
            failures.append(f"{method} {template}: {list(e.path)}: {e.message[:200]}")
        return body

    numbers = check("twilio_api", "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json", "GET", 200, f"{acc}/IncomingPhoneNumbers.json", tw)
    pn = numbers["incoming_phone_numbers"][0]["sid"]
    check("twilio_api", "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json", "GET", 200, f"{acc}/IncomingPhoneNumbers/{pn}.json", tw)
    check("twilio_api", "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json", "POST", 200, f"{acc}/IncomingPhoneNumbers/{pn}.json", tw, {"FriendlyName": "contract test"})
    avail = check("twilio_api", "/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/Local.json", "GET", 200, f"{acc}/AvailablePhoneNumbers/US/Local.json?AreaCode=650", tw)
    number = avail["available_phone_numbers"][0]["phone_number"]
    check("twilio_api", "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json", "POST", 201, f"{acc}/IncomingPhoneNumbers.json", tw, {"PhoneNumber": number})
    owned = numbers["incoming_phone_numbers"][0]["phone_number"]
    check("twilio_api", "/2010-04-01/Accounts/{AccountSid}/Messages.json", "POST", 201, f"{acc}/Messages.json", tw, {"To": "+14155550100", "From": owned, "Body": "contract test"})

    endpoints = check("stripe", "/v1/webhook_endpoints", "GET", 200, env["APIOPS_STRIPE_API_URL"] + "/v1/webhook_endpoints", st)
    we = endpoints["data"][0]["id"]
    check("stripe", "/v1/webhook_endpoints/{webhook_endpoint}", "GET", 200, f"{env['APIOPS_STRIPE_API_URL']}/v1/webhook_endpoints/{we}", st)
    check("stripe", "/v1/webhook_endpoints/{webhook_endpoint}", "POST", 200, f"{env['APIOPS_STRIPE_API_URL']}/v1/webhook_endpoints/{we}", st, {"description": "contract test"})

    models = check("openai", "/models", "GET", 200, env["OPENAI_BASE_URL"] + "/models", oa)
    model = models["data"][0]["id"]
    check("openai", "/models/{model}", "GET", 200, f"{env['OPENAI_BASE_URL']}/models/{model}", oa)

    # Chat completions: the plain reply, a tool call (finish_reason "tool_calls",
    # message.tool_calls[].function.arguments a JSON string) and the plain answer when no tool fits.
    chat = env["OPENAI_BASE_URL"] + "/chat/completions"
    tools = [{"type": "function", "function": {
        "name": "twilio_numbers_buy",
        "description": "Buy a phone number in an area code",
        "parameters": {"type": "object", "properties": {"area_code": {"type": "string"}}},
    }}]
    check("openai", "/chat/completions", "POST", 200, chat, oa, json_body={
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}], "n": 2})
    called = check("openai", "/chat/completions", "POST", 200, chat, oa, json_body={
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "buy a number in area code 415"}],
        "tools": tools})
    call_ = called["choices"][0]["message"]["tool_calls"][0]
    assert called["choices"][0]["finish_reason"] == "tool_calls"
    assert call_["id"].startswith("call_") and call_["type"] == "function"
    assert json.loads(call_["function"]["arguments"]) == {"area_code": "415"}
    plain = check("openai", "/chat/completions", "POST", 200, chat, oa, json_body={
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "what is the weather"}],
        "tools": tools})
    assert plain["choices"][0]["finish_reason"] == "stop"
    assert "tool_calls" not in plain["choices"][0]["message"]
    assert not failures, "\n".join(failures)


class _Receiver(http.server.ThreadingHTTPServer):
    """A loopback webhook receiver that checks each delivery with the official Stripe SDK."""

    def __init__(self, secret):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret = secret
        self.verified = []
        self.rejected = 0
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/stripe"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        import stripe

        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            event = stripe.Webhook.construct_event(body, self.headers["Stripe-Signature"], self.server.secret)
            ok = True
        except Exception:
            ok = False
        with self.server.lock:
            if ok:
                self.server.verified.append(event["id"])
            else:
                self.server.rejected += 1
        self.send_response(200 if ok else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_run_time_events_and_alerts_validate_and_deliveries_verify():
    """Events and alerts made to happen at run time (`/_sim/stripe/events`, `/_sim/twilio/alerts`)
    validate like the generated ones, and their deliveries pass the official Stripe verifier."""
    sim = start_sim("--messages", "500")
    server = None
    try:
        env = sim.env
        st = "Bearer " + env["STRIPE_SECRET_KEY"]
        tw = basic(env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])
        stripe_api = env["APIOPS_STRIPE_API_URL"]
        monitor = env["APIOPS_TWILIO_MONITOR_URL"]
        server = _Receiver(env["STRIPE_WEBHOOK_SECRET"])
        threading.Thread(target=server.serve_forever, daemon=True).start()
        failures = []

        def check(name, template, method, status, url, auth, form=None):
            got, body = call(sim, method, url, auth, form)
            if got != status:
                failures.append(f"{method} {template}: HTTP {got}: {body}")
                return body
            schema, cls = response_schema(name, template, method, status)
            for e in list(cls(schema).iter_errors(body))[:5]:
                failures.append(f"{method} {template}: {list(e.path)}: {e.message[:200]}")
            return body

        def control(path, payload):
            req = urllib.request.Request(sim.base + path, data=json.dumps(payload).encode(), method="POST")
            req.add_header("Content-Type", "application/json")
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())

        created = check("stripe", "/v1/webhook_endpoints", "POST", 200, stripe_api + "/v1/webhook_endpoints", st,
                        {"url": server.url, "enabled_events[]": ["*"]})
        assert created.get("secret") == env["STRIPE_WEBHOOK_SECRET"]
        t0 = int(time.time())
        status, report = control("/_sim/stripe/events", {"count": 12})
        assert status == 201, report
        status, failed = control("/_sim/stripe/events", {"count": 2, "type": "charge.failed"})
        assert status == 201, failed
        ids = report["ids"] + failed["ids"]
        assert report["delivered"] + failed["delivered"] == ids
        page = check("stripe", "/v1/events", "GET", 200, f"{stripe_api}/v1/events?created[gte]={t0}&limit=100", st)
        assert [e["id"] for e in page["data"]] == ids[::-1]
        check("stripe", "/v1/events", "GET", 200, f"{stripe_api}/v1/events?created[gte]={t0}&delivery_success=true&limit=100", st)
        for evt in ids:
            check("stripe", "/v1/events/{id}", "GET", 200, f"{stripe_api}/v1/events/{evt}", st)
        with server.lock:
            assert server.verified == ids and server.rejected == 0

        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0))
        status, raised = control("/_sim/twilio/alerts", {"count": 4})
        assert status == 201, raised
        status, coded = control("/_sim/twilio/alerts", {"count": 2, "error_code": "30007"})
        assert status == 201, coded
        sids = raised["sids"] + coded["sids"]
        alerts = check("twilio_monitor", "/v1/Alerts", "GET", 200, f"{monitor}/v1/Alerts?StartDate={start}", tw)
        assert [a["sid"] for a in alerts["alerts"]] == sids[::-1]
        for sid in sids:
            check("twilio_monitor", "/v1/Alerts/{Sid}", "GET", 200, f"{monitor}/v1/Alerts/{sid}", tw)
        assert not failures, "\n".join(failures)
    finally:
        if server is not None:
            server.shutdown()
        sim.proc.terminate()
        sim.proc.wait(timeout=10)
