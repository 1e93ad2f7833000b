"""The requests of the operation commands (`twilio numbers|messages`, `stripe endpoints|events`,
`openai`, `do` in plain words and `do --llm`) against what the providers published.

Every request goes through a recording proxy (`Recorder` of test_provider_requests) and is then
checked against the official spec (../shared/specs):

- Twilio and OpenAI: the commands run against Stoplight Prism mocks of the specs. Prism answers
  a request that violates the spec with 422 (and logs why); every answer must be a 2xx and the
  log must hold no request violation. The recorded requests are also checked here: the
  operation exists, every query or form field is one it declares, and the values validate
  against its schemas. That second check is needed for OpenAI: Prism 5.14.2 does not validate
  the body of `POST /chat/completions` at all (it answers 200 to `{"messages": 5}`), so the
  completion bodies, with tools and without, are validated against `CreateChatCompletionRequest`
  here.
- Stripe (Prism cannot load its spec): the commands run against the simulator through the
  proxy; every request is validated against the spec: path and method, query parameters and
  form bodies (decoded from Stripe's bracket syntax and validated against the parameter and
  request-body schemas, whose `additionalProperties: false` refuses undeclared fields), and the
  `Idempotency-Key` header on every POST (the spec declares no headers; Stripe documents keys of
  up to 255 characters). Webhook events the commands deliver to a local receiver validate
  against the spec's `event` schema and verify with the official SDK.

Prism answers with the spec's examples, and apiops checks state before it writes: it does not
buy a number the account owns, update a number to the URLs it has, or send from a number that
cannot send SMS. The arguments below are chosen (from Prism's example data, read at run time)
so that each write is really sent: a number to buy that is not Prism's example owned number, a
URL different from the example's, `--from` given because Prism's example number is not
SMS-capable (`capabilities.sms` is false, so `send-test` without `--from` refuses before any
write, which one case asserts). Cases where the state check must skip the write assert that
no write was sent.

Each command runs with a fresh database, so no journal of an earlier run applies (`--new` is
only needed, and used, where a test re-runs a request in the same database). Exit codes may be non-zero against mock data (Prism's example values are odd, and
its example pages link to themselves); what is asserted is the requests, that nothing panicked
and that no secret was printed.
"""

import base64
import collections
import functools
import http.server
import itertools
import json
import re
import threading
import urllib.parse
import urllib.request

import jsonschema
import pytest
import stripe
from openapi_schema_validator import OAS30Validator, OAS31Validator

from conftest import SHARED, start_sim
from test_provider_requests import TWILIO_SID, TWILIO_TOKEN, Prism, Recorder, prism_refusals, require_prism, run_apiops

OPENAI_KEY = "sk-prism-0123456789abcdef"
OPENAI_ADMIN_KEY = "sk-admin-prism-0123456789abcdef"

# Which spec each recorded service is checked against.
SPECS = {
    "api": ("twilio/twilio_api_v2010.json", OAS30Validator),
    "monitor": ("twilio/twilio_monitor_v1.json", OAS30Validator),
    "messaging": ("twilio/twilio_messaging_v1.json", OAS30Validator),
    "pricing": ("twilio/twilio_pricing_v1.json", OAS30Validator),
    "openai": ("openai/openapi.json", OAS31Validator),
    "stripe": ("stripe/spec3.2023-08-16.json", OAS30Validator),
}

# Spec path templates, as the recorded requests are named in the expectations.
ACC = "/2010-04-01/Accounts/{AccountSid}"
AVAILABLE = ACC + "/AvailablePhoneNumbers/{CountryCode}/Local.json"
INCOMING = ACC + "/IncomingPhoneNumbers.json"
INCOMING_ONE = ACC + "/IncomingPhoneNumbers/{Sid}.json"
MESSAGES = ACC + "/Messages.json"
CALLS = ACC + "/Calls.json"
PRICES = "/v1/PhoneNumbers/Countries/{IsoCountry}"
ALERTS = "/v1/Alerts"
MODELS = "/models"
CHAT = "/chat/completions"
ENDPOINTS = "/v1/webhook_endpoints"
ENDPOINT = "/v1/webhook_endpoints/{webhook_endpoint}"
EVENTS = "/v1/events"
EVENT = "/v1/events/{id}"


# --- the specs, and checking one recorded request against them ---

class Spec:
    def __init__(self, name):
        path, self.validator = SPECS[name]
        self.doc = json.loads((SHARED / "specs" / path).read_text())
        self.components = self.doc.get("components", {})
        # Literal templates before templated ones (`IncomingPhoneNumbers/Local.json` is not a
        # `{Sid}.json`).
        self.templates = sorted(self.doc["paths"], key=lambda t: t.count("{"))

    def operation(self, method, path):
        for template in self.templates:
            parts = re.split(r"(\{[^}]+\})", template)
            pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
            ops = self.doc["paths"][template]
            if re.fullmatch(pattern, path) and method.lower() in ops:
                return template, ops[method.lower()]
        return None, None

    def resolve(self, schema):
        while isinstance(schema, dict) and "$ref" in schema:
            kind, name = schema["$ref"].split("/")[-2:]
            schema = self.components[kind][name]
        return schema

    def errors(self, schema, value):
        full = dict(self.resolve(schema))
        full["components"] = self.components
        return [
            f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message[:300]}"
            for e in self.validator(full).iter_errors(value)
        ]

    def properties(self, schema):
        """The property names a schema declares, across `allOf`."""
        schema = self.resolve(schema)
        names = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            names |= self.properties(part)
        return names

    def coerce(self, value, schema):
        """Form and query values are text: typed as the schema types them (booleans, integers,
        numbers), through objects, arrays and `anyOf`/`oneOf`."""
        schema = self.resolve(schema) or {}
        branches = schema.get("anyOf", []) + schema.get("oneOf", [])
        if branches:
            for branch in branches:
                typed = self.coerce(value, branch)
                if not self.errors(branch, typed):
                    return typed
            return value
        if isinstance(value, dict):
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            return {k: self.coerce(v, props.get(k, extra if isinstance(extra, dict) else {})) for k, v in value.items()}
        if isinstance(value, list):
            return [self.coerce(v, schema.get("items", {})) for v in value]
        kind = schema.get("type")
        if kind == "boolean" and value in ("true", "false"):
            return value == "true"
        if kind == "integer" and re.fullmatch(r"-?\d+", value):
            return int(value)
        if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value)
        return value


@functools.lru_cache(maxsize=None)
def spec(name):
    return Spec(name)


def nest(pairs, problems):
    """Form or query pairs in Stripe's bracket syntax (`created[gte]=1`, `enabled_events[]=a`) as
    nested objects and arrays; plain names (Twilio's) stay flat."""
    root = {}
    for name, value in pairs:
        m = re.fullmatch(r"([^\[]+)((?:\[[^\]]*\])*)", name)
        keys = [m.group(1)] + re.findall(r"\[([^\]]*)\]", m.group(2)) if m else [name]
        node = root
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            child = value if last else ([] if keys[i + 1] == "" else {})
            if isinstance(node, list):
                node.append(child)
            elif last and key in node:
                problems.append(f"parameter {name} given twice")
            elif last:
                node[key] = child
            else:
                child = node.setdefault(key, child)
            node = child
    return root


def check_exchange(ex):
    """What is wrong with one recorded request, as the spec of its service sees it."""
    s = spec(ex["service"])
    parsed = urllib.parse.urlsplit(ex["target"])
    method = ex["method"]
    template, op = s.operation(method, parsed.path)
    if op is None:
        return [f"{method} {parsed.path}: not in the spec"]
    where = f"{method} {template}"
    problems = []
    params = {}
    for p in op.get("parameters", []):
        p = s.resolve(p)
        params[(p["in"], p["name"])] = p
    query = nest(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True), problems)
    for name, value in query.items():
        p = params.get(("query", name))
        if p is None:
            problems.append(f"{where}: undeclared query parameter {name}")
            continue
        typed = s.coerce(value, p.get("schema", {}))
        problems += [f"{where}: query {name}: {e}" for e in s.errors(p.get("schema", {}), typed)]
    body_spec = op.get("requestBody", {})
    content = body_spec.get("content", {})
    ctype = ex["headers"].get("content-type", "").split(";")[0].strip()
    if ex["body"]:
        if ctype not in content:
            problems.append(f"{where}: body sent as {ctype!r}, the spec takes {sorted(content)}")
            return problems
        schema = content[ctype].get("schema", {})
        if ctype == "application/json":
            body = json.loads(ex["body"])
        else:
            body = s.coerce(nest(urllib.parse.parse_qsl(ex["body"], keep_blank_values=True), problems), schema)
        problems += [f"{where}: body {e}" for e in s.errors(schema, body)]
        # Twilio's and OpenAI's body schemas do not refuse unknown fields; an undeclared field
        # is a mistake all the same.
        undeclared = sorted(set(body) - s.properties(schema)) if isinstance(body, dict) else []
        problems += [f"{where}: undeclared body field {k}" for k in undeclared]
    elif body_spec.get("required"):
        problems.append(f"{where}: the request body is required")
    if ex["service"] == "openai" and template == CHAT and ex["body"]:
        problems += chat_tool_problems(json.loads(ex["body"]))
    if ex["service"] == "stripe":
        problems += stripe_header_problems(ex, where)
    return problems


# The spec's FunctionObject.name: "Must be a-z, A-Z, 0-9, or contain underscores and dashes, with
# a maximum length of 64" (a description, not a pattern, so the validator cannot see it).
FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def chat_tool_problems(body):
    problems = []
    for tool in body.get("tools", []):
        fn = tool.get("function", {})
        if not FUNCTION_NAME.fullmatch(fn.get("name", "")):
            problems.append(f"tool name {fn.get('name')!r} is not what the spec allows")
        # FunctionParameters: "described as a JSON Schema object".
        try:
            jsonschema.Draft202012Validator.check_schema(fn.get("parameters", {}))
        except jsonschema.SchemaError as e:
            problems.append(f"tool {fn.get('name')}: parameters are not a JSON Schema: {e.message}")
    return problems


def stripe_header_problems(ex, where):
    key = ex["headers"].get("idempotency-key")
    if ex["method"] == "POST":
        if key is None:
            return [f"{where}: a POST without Idempotency-Key"]
        if not (0 < len(key) <= 255 and all(33 <= ord(c) < 127 for c in key)):
            return [f"{where}: Idempotency-Key {key!r} is not 1 to 255 visible ASCII characters"]
    elif key is not None:
        # Stripe: "Sending idempotency keys in GET and DELETE requests has no effect and should
        # be avoided".
        return [f"{where}: Idempotency-Key on a {ex['method']}"]
    return []


def request_names(exchanges):
    """(service, METHOD, template) of each exchange."""
    names = []
    for ex in exchanges:
        template, _ = spec(ex["service"]).operation(ex["method"], urllib.parse.urlsplit(ex["target"]).path)
        names.append((ex["service"], ex["method"], template or urllib.parse.urlsplit(ex["target"]).path))
    return names


def form(ex):
    return urllib.parse.parse_qs(ex["body"], keep_blank_values=True)


class Run:
    """One command's result and the exchanges it caused."""

    def __init__(self, args, proc, exchanges):
        self.args, self.proc, self.exchanges = args, proc, exchanges
        self.names = request_names(exchanges)

    def __repr__(self):
        return (f"apiops {' '.join(self.args)} -> exit {self.proc.returncode}\n"
                f"requests: {self.names}\nstdout: {self.proc.stdout[-1500:]}\nstderr: {self.proc.stderr[-1500:]}")

    def sent(self, service, method, template):
        return [ex for ex, name in zip(self.exchanges, self.names) if name == (service, method, template)]


class Harness:
    """Runs commands with recorders in front of the mocks; checks each run."""

    def __init__(self, tmp, env, recorders, secrets):
        self.tmp, self.env, self.recorders, self.secrets = tmp, env, recorders, secrets
        self.exchanges = recorders[0].exchanges if recorders else []
        self.counter = itertools.count()
        self.validated = collections.Counter()

    def run(self, *args, db=None):
        """Runs `apiops ARGS --json` with a database of its own (or the named one)."""
        start = len(self.exchanges)
        full = dict(self.env)
        full["APIOPS_DATABASE_URL"] = f"sqlite://{self.tmp}/{db or 'ops-%d' % next(self.counter)}.db"
        proc = run_apiops(full, *args, "--json")
        run = Run(args, proc, list(self.exchanges[start:]))
        out = proc.stdout + proc.stderr
        for secret in self.secrets:
            assert secret not in out, f"a secret was printed by apiops {' '.join(args)}"
        assert "panicked" not in out and proc.returncode != 101, run
        problems = []
        for ex in run.exchanges:
            if ex.get("status") is None:
                problems.append(f"{ex['method']} {ex['target']}: no answer recorded")
            elif not 200 <= ex["status"] < 300:
                # Prism answers a valid request with an example 2xx and an invalid one with 422
                # and its reasons; the simulator answers these requests with 2xx too.
                problems.append(f"{ex['method']} {ex['target']}: answered {ex['status']}: {ex['response'][:1500]}")
            problems += check_exchange(ex)
        assert not problems, f"{run}\n" + "\n".join(problems)
        self.validated.update(run.names)
        return run


def expect(run, *names, distinct=False):
    """The run made exactly these requests (as a multiset; as a set with `distinct`). A change
    reads its resource twice: when it is planned, and again just before the write (state
    first: the account, not the plan, says whether it is still to do)."""
    if distinct:
        assert set(run.names) == set(names), run
    else:
        assert collections.Counter(run.names) == collections.Counter(names), run


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- Twilio and OpenAI: Prism ---

PRISM_SPECS = {k: SPECS[k][0] for k in ("api", "monitor", "messaging", "pricing", "openai")}


@pytest.fixture(scope="module")
def prism(tmp_path_factory):
    require_prism()
    tmp = tmp_path_factory.mktemp("prism-ops")
    mocks = {k: Prism(v, tmp / f"prism-{k}.log") for k, v in PRISM_SPECS.items()}
    exchanges = []
    recorders = []
    try:
        for m in mocks.values():
            m.wait()
        recorders = [serve(Recorder(m.url, k, exchanges)) for k, m in mocks.items()]
        urls = {r.name: r.url for r in recorders}
        env = {
            "HOME": str(tmp),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "APIOPS_TWILIO_API_URL": urls["api"],
            "APIOPS_TWILIO_MONITOR_URL": urls["monitor"],
            "APIOPS_TWILIO_MESSAGING_URL": urls["messaging"],
            "APIOPS_TWILIO_PRICING_URL": urls["pricing"],
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            # Prism serves the OpenAI spec's paths without /v1.
            "OPENAI_BASE_URL": urls["openai"],
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_ADMIN_KEY": OPENAI_ADMIN_KEY,
            "APIOPS_CLIENT_MAX_ATTEMPTS": "1",
        }
        h = Harness(tmp, env, recorders, [TWILIO_TOKEN, OPENAI_KEY, OPENAI_ADMIN_KEY])
        h.mocks = mocks
        h.owned = owned_example(mocks["api"].url)
        yield h
    finally:
        for r in recorders:
            r.shutdown()
        for m in mocks.values():
            if m.proc.poll() is None:
                m.stop()


def owned_example(api_url):
    """The number Prism's example says the account owns (asked directly, not through apiops)."""
    req = urllib.request.Request(f"{api_url}/2010-04-01/Accounts/{TWILIO_SID}/IncomingPhoneNumbers.json")
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode())
    with urllib.request.urlopen(req, timeout=10) as r:
        number = json.loads(r.read())["incoming_phone_numbers"][0]
    assert number["sid"].startswith("PN") and number["phone_number"].startswith("+"), number
    return number


# A number to buy that is not Prism's example owned number (asserted in the test).
NEW_NUMBER = "+14155550123"


def test_numbers_search(prism):
    r = prism.run("twilio", "numbers", "search", "--area-code", "415", "--contains", "55", "--limit", "3")
    expect(r, ("api", "GET", AVAILABLE), ("pricing", "GET", PRICES))
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.sent("api", "GET", AVAILABLE)[0]["target"]).query))
    assert query == {"AreaCode": "415", "Contains": "55", "PageSize": "3"}, r


def test_numbers_buy_first_available_in_area_code(prism):
    r = prism.run("twilio", "numbers", "buy", "--area-code", "415", "--yes")
    # Available numbers, the owned-number check of the one picked, the price, the purchase.
    expect(r, ("api", "GET", AVAILABLE), ("api", "GET", INCOMING), ("pricing", "GET", PRICES), ("api", "POST", INCOMING))
    [buy] = r.sent("api", "POST", INCOMING)
    assert set(form(buy)) == {"PhoneNumber"}, r


def test_numbers_buy_a_given_number_with_urls(prism):
    assert NEW_NUMBER != prism.owned["phone_number"]
    r = prism.run("twilio", "numbers", "buy", NEW_NUMBER, "--sms-url", "https://hooks.example.com/sms",
                  "--voice-url", "https://hooks.example.com/voice", "--yes")
    # Owned? (at planning, and again right before buying), the price, the purchase.
    expect(r, ("api", "GET", INCOMING), ("api", "GET", INCOMING), ("pricing", "GET", PRICES), ("api", "POST", INCOMING))
    [buy] = r.sent("api", "POST", INCOMING)
    assert form(buy) == {"PhoneNumber": [NEW_NUMBER], "SmsUrl": ["https://hooks.example.com/sms"],
                         "VoiceUrl": ["https://hooks.example.com/voice"]}, r


def test_numbers_buy_skips_a_number_the_account_owns(prism):
    # Prism's example list says the account owns this number: no purchase may be sent.
    r = prism.run("twilio", "numbers", "buy", prism.owned["phone_number"], "--yes")
    assert not r.sent("api", "POST", INCOMING), r
    assert set(r.names) <= {("api", "GET", INCOMING), ("pricing", "GET", PRICES)}, r


def test_numbers_update_by_sid(prism):
    url = "https://hooks.example.com/sms-new"
    assert url != prism.owned["sms_url"]
    r = prism.run("twilio", "numbers", "update", prism.owned["sid"], "--sms-url", url, "--yes")
    expect(r, ("api", "GET", INCOMING_ONE), ("api", "GET", INCOMING_ONE), ("api", "POST", INCOMING_ONE))
    [update] = r.sent("api", "POST", INCOMING_ONE)
    assert form(update) == {"SmsUrl": [url]}, r


def test_numbers_update_every_url_by_e164(prism):
    urls = {
        "--sms-url": ("SmsUrl", "https://hooks.example.com/a"),
        "--sms-fallback-url": ("SmsFallbackUrl", "https://hooks.example.com/b"),
        "--voice-url": ("VoiceUrl", "https://hooks.example.com/c"),
        "--voice-fallback-url": ("VoiceFallbackUrl", "https://hooks.example.com/d"),
        "--status-callback": ("StatusCallback", "https://hooks.example.com/e"),
    }
    flags = [x for flag, (_, value) in urls.items() for x in (flag, value)]
    r = prism.run("twilio", "numbers", "update", prism.owned["phone_number"], *flags, "--yes")
    expect(r, ("api", "GET", INCOMING), ("api", "GET", INCOMING_ONE), ("api", "POST", INCOMING_ONE))
    [update] = r.sent("api", "POST", INCOMING_ONE)
    assert form(update) == {field: [value] for field, value in urls.values()}, r


def test_numbers_release_by_sid(prism):
    r = prism.run("twilio", "numbers", "release", prism.owned["sid"], "--yes")
    expect(r, ("api", "GET", INCOMING_ONE), ("api", "GET", INCOMING_ONE), ("api", "DELETE", INCOMING_ONE))


def test_numbers_release_by_e164(prism):
    r = prism.run("twilio", "numbers", "release", prism.owned["phone_number"], "--yes")
    expect(r, ("api", "GET", INCOMING), ("api", "GET", INCOMING_ONE), ("api", "DELETE", INCOMING_ONE))


def test_messages_send_test_from_an_owned_number(prism):
    r = prism.run("twilio", "messages", "send-test", "--to", "+15005550006", "--from", prism.owned["phone_number"],
                  "--body", "contract test", "--yes")
    expect(r, ("api", "GET", INCOMING), ("api", "POST", MESSAGES))
    [send] = r.sent("api", "POST", MESSAGES)
    assert form(send) == {"To": ["+15005550006"], "From": [prism.owned["phone_number"]], "Body": ["contract test"]}, r


def test_messages_send_test_through_a_messaging_service(prism):
    service = "MG" + "fedcba9876543210" * 2  # not containing the auth token
    r = prism.run("twilio", "messages", "send-test", "--to", "+15005550006", "--to", "+15005550007",
                  "--from", service, "--yes")
    expect(r, ("api", "POST", MESSAGES), ("api", "POST", MESSAGES))
    assert sorted(form(ex)["To"][0] for ex in r.exchanges) == ["+15005550006", "+15005550007"], r
    assert all(form(ex)["MessagingServiceSid"] == [service] and "From" not in form(ex) for ex in r.exchanges), r


def test_messages_send_test_without_a_sender_refuses_before_writing(prism):
    # Prism's example number is not SMS-capable, so there is no default sender: apiops must
    # refuse (usage error) after looking, and send nothing.
    assert prism.owned["capabilities"]["sms"] is False
    r = prism.run("twilio", "messages", "send-test", "--to", "+15005550006", "--yes")
    expect(r, ("api", "GET", INCOMING))
    assert r.proc.returncode == 2, r


def test_messages_failed(prism):
    # Prism's example pages link to themselves, so apiops stops paging with an error (exit 1);
    # every request it made must still be valid.
    r = prism.run("twilio", "messages", "failed", "--since", "6h")
    expect(r, ("api", "GET", MESSAGES), ("api", "GET", CALLS), ("monitor", "GET", ALERTS), distinct=True)


def test_openai_models_and_rate_limits(prism):
    expect(prism.run("openai", "models"), ("openai", "GET", MODELS))
    expect(prism.run("openai", "rate-limits"), ("openai", "GET", MODELS))


def test_openai_test_completion(prism):
    r = prism.run("openai", "test-completion", "--model", "gpt-4o", "--yes")
    expect(r, ("openai", "POST", CHAT))
    body = json.loads(r.exchanges[0]["body"])
    assert body["model"] == "gpt-4o" and "tools" not in body, r


def test_do_llm_sends_tools(prism):
    # Prism's example answer calls a tool named "string", which apiops refuses (exit 1): the
    # request with tools was sent and validated all the same.
    r = prism.run("do", "--llm", "buy a phone number in 415", "--yes")
    expect(r, ("openai", "POST", CHAT))
    body = json.loads(r.exchanges[0]["body"])
    assert body["tools"] and body["tool_choice"] == "auto", r
    assert {t["function"]["name"] for t in body["tools"]} >= {"twilio_numbers_buy", "stripe_endpoints_update"}, r


def test_do_plain_words(prism):
    sid, e164 = prism.owned["sid"], prism.owned["phone_number"]
    r = prism.run("do", "buy a phone number in 415", "--yes")
    expect(r, ("api", "GET", AVAILABLE), ("api", "GET", INCOMING), ("pricing", "GET", PRICES), ("api", "POST", INCOMING))
    r = prism.run("do", f"send a test sms to +15005550006 from {e164}", "--yes")
    expect(r, ("api", "GET", INCOMING), ("api", "POST", MESSAGES))
    r = prism.run("do", f"set the sms url of {sid} to https://hooks.example.com/from-words", "--yes")
    expect(r, ("api", "GET", INCOMING_ONE), ("api", "GET", INCOMING_ONE), ("api", "POST", INCOMING_ONE))
    r = prism.run("do", f"release {sid}", "--yes")
    expect(r, ("api", "GET", INCOMING_ONE), ("api", "GET", INCOMING_ONE), ("api", "DELETE", INCOMING_ONE))
    r = prism.run("do", "send a test completion", "--yes")
    expect(r, ("openai", "POST", CHAT))


def test_prism_saw_every_write_and_refused_nothing(prism):
    """Last in the module: every write was sent (and validated) at least once, and Prism's logs
    hold no violation of a request (its violations of its own example responses do not count)."""
    for name in [("api", "POST", INCOMING), ("api", "POST", INCOMING_ONE), ("api", "DELETE", INCOMING_ONE),
                 ("api", "POST", MESSAGES), ("openai", "POST", CHAT)]:
        assert prism.validated[name] > 0, f"never sent: {name}"
    chats = [json.loads(ex["body"]) for ex in prism.exchanges if ex["service"] == "openai" and ex["method"] == "POST"]
    assert any("tools" in c for c in chats) and any("tools" not in c for c in chats)
    for k, m in prism.mocks.items():
        log = m.stop()
        refused = prism_refusals(log)
        assert not refused, f"{k}: requests refused by the spec:\n" + "\n".join(refused[:20])


# --- Stripe: the simulator behind the recording proxy, checked against the spec ---

class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver: records each delivery and answers 200."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Receive)
        self.deliveries = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Receive(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        self.server.deliveries.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body.decode()))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def stripe_sim(tmp_path_factory):
    # A simulator of its own: these commands change its endpoints.
    sim = start_sim()
    tmp = tmp_path_factory.mktemp("stripe-ops")
    exchanges = []
    stripe_rec = serve(Recorder(sim.env["APIOPS_STRIPE_API_URL"], "stripe", exchanges))
    openai_rec = serve(Recorder(sim.env["OPENAI_BASE_URL"], "openai", exchanges))
    receiver = serve(Receiver())
    try:
        env = {
            "HOME": str(tmp),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "APIOPS_STRIPE_API_URL": stripe_rec.url,
            "STRIPE_SECRET_KEY": sim.env["STRIPE_SECRET_KEY"],
            "STRIPE_WEBHOOK_SECRET": sim.env["STRIPE_WEBHOOK_SECRET"],
            "OPENAI_BASE_URL": openai_rec.url,
            "OPENAI_API_KEY": sim.env["OPENAI_API_KEY"],
        }
        h = Harness(tmp, env, [stripe_rec, openai_rec],
                    [sim.env[k] for k in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "OPENAI_API_KEY")])
        h.sim, h.receiver = sim, receiver
        h.endpoints = sim_endpoints(sim)
        yield h
    finally:
        for server in (stripe_rec, openai_rec, receiver):
            server.shutdown()
        sim.proc.terminate()
        sim.proc.wait(timeout=10)


def sim_endpoints(sim):
    req = urllib.request.Request(sim.env["APIOPS_STRIPE_API_URL"] + "/v1/webhook_endpoints?limit=100")
    req.add_header("Authorization", "Bearer " + sim.env["STRIPE_SECRET_KEY"])
    with urllib.request.urlopen(req, timeout=10) as r:
        data = json.loads(r.read())["data"]
    enabled = [e for e in data if e["status"] == "enabled"]
    disabled = [e for e in data if e["status"] == "disabled"]
    assert len(enabled) >= 5 and disabled, data
    return {"enabled": enabled, "disabled": disabled}


def check_delivery(stripe_sim, path, headers, body):
    """A webhook delivery apiops made: a Stripe `event` as the spec defines it, signed so that
    the official SDK accepts it with the endpoint's secret."""
    problems = spec("stripe").errors({"$ref": "#/components/schemas/event"}, json.loads(body))
    assert not problems, f"delivery to {path} is not a Stripe event:\n" + "\n".join(problems)
    event = stripe.Webhook.construct_event(body, headers["stripe-signature"], stripe_sim.sim.env["STRIPE_WEBHOOK_SECRET"])
    return event


def test_stripe_endpoints_list(stripe_sim):
    r = stripe_sim.run("stripe", "endpoints", "list")
    expect(r, ("stripe", "GET", ENDPOINTS))
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.exchanges[0]["target"]).query)) == {"limit": "100"}


def test_stripe_endpoints_disable_and_enable(stripe_sim):
    on, off = stripe_sim.endpoints["enabled"][0]["id"], stripe_sim.endpoints["disabled"][0]["id"]
    r = stripe_sim.run("stripe", "endpoints", "disable", on, "--yes")
    expect(r, ("stripe", "GET", ENDPOINT), ("stripe", "GET", ENDPOINT), ("stripe", "POST", ENDPOINT))
    [post] = r.sent("stripe", "POST", ENDPOINT)
    assert post["target"] == f"/v1/webhook_endpoints/{on}" and form(post) == {"disabled": ["true"]}, r
    r2 = stripe_sim.run("stripe", "endpoints", "enable", off, "--yes")
    expect(r2, ("stripe", "GET", ENDPOINT), ("stripe", "GET", ENDPOINT), ("stripe", "POST", ENDPOINT))
    [post2] = r2.sent("stripe", "POST", ENDPOINT)
    assert post2["target"] == f"/v1/webhook_endpoints/{off}" and form(post2) == {"disabled": ["false"]}, r2
    assert post["headers"]["idempotency-key"] != post2["headers"]["idempotency-key"]


def test_stripe_endpoints_enable_failing(stripe_sim):
    # "failing": the endpoints that recent events could not reach; which ones, and whether one
    # is disabled, is the simulator's business. Whatever is sent must be valid.
    r = stripe_sim.run("stripe", "endpoints", "enable", "failing", "--yes")
    assert ("stripe", "GET", ENDPOINTS) in r.names, r
    assert set(r.names) <= {("stripe", "GET", ENDPOINTS), ("stripe", "GET", EVENTS), ("stripe", "GET", ENDPOINT),
                            ("stripe", "POST", ENDPOINT)}, r
    assert all(form(ex) == {"disabled": ["false"]} for ex in r.sent("stripe", "POST", ENDPOINT)), r


def test_stripe_endpoints_update_url_and_events(stripe_sim):
    target = stripe_sim.endpoints["enabled"][1]
    url = f"{stripe_sim.receiver.url}/stripe"
    assert url != target["url"]
    r = stripe_sim.run("stripe", "endpoints", "update", target["id"], "--url", url,
                       "--events", "charge.failed,invoice.payment_failed", "--yes")
    expect(r, ("stripe", "GET", ENDPOINT), ("stripe", "GET", ENDPOINT), ("stripe", "POST", ENDPOINT))
    [post] = r.sent("stripe", "POST", ENDPOINT)
    assert form(post) == {"url": [url], "enabled_events[]": ["charge.failed", "invoice.payment_failed"]}, r
    # The same URL again: the endpoint has it (read when planning, and again before the
    # outcome is reported), so nothing is written.
    r = stripe_sim.run("stripe", "endpoints", "update", target["id"], "--url", url, "--yes")
    expect(r, ("stripe", "GET", ENDPOINT), ("stripe", "GET", ENDPOINT))


def test_stripe_endpoints_send_test_event(stripe_sim):
    # The endpoint whose URL the update test pointed at the local receiver.
    target = stripe_sim.endpoints["enabled"][1]["id"]
    before = len(stripe_sim.receiver.deliveries)
    r = stripe_sim.run("stripe", "endpoints", "send-test-event", target, "--yes", "--allow-private-targets")
    expect(r, ("stripe", "GET", ENDPOINT))
    deliveries = stripe_sim.receiver.deliveries[before:]
    assert len(deliveries) == 1, r
    event = check_delivery(stripe_sim, *deliveries[0])
    assert event["type"] == "payment_intent.payment_failed" and deliveries[0][0] == "/stripe", r


def test_stripe_events_resend_undelivered(stripe_sim):
    before = len(stripe_sim.receiver.deliveries)
    r = stripe_sim.run("stripe", "events", "resend-undelivered", "--since", "24h",
                       "--to", f"{stripe_sim.receiver.url}/hook", "--yes", "--allow-private-targets")
    [listing] = r.sent("stripe", "GET", EVENTS)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(listing["target"]).query)
    assert query["delivery_success"] == ["false"] and "created[gte]" in query, r
    fetched = [ex["target"].rsplit("/", 1)[1] for ex in r.sent("stripe", "GET", EVENT)]
    assert fetched, f"the simulator has no undelivered event in the last 24 h: nothing re-delivered\n{r}"
    expect(r, ("stripe", "GET", EVENTS), *[("stripe", "GET", EVENT)] * len(fetched))
    deliveries = stripe_sim.receiver.deliveries[before:]
    delivered = [check_delivery(stripe_sim, *d)["id"] for d in deliveries]
    assert sorted(delivered) == sorted(fetched), r


def test_stripe_do_plain_words_and_llm(stripe_sim):
    first, second = stripe_sim.endpoints["enabled"][2]["id"], stripe_sim.endpoints["enabled"][3]["id"]
    r = stripe_sim.run("do", f"disable the webhook endpoint {first}", "--yes")
    expect(r, ("stripe", "GET", ENDPOINT), ("stripe", "GET", ENDPOINT), ("stripe", "POST", ENDPOINT))
    assert form(r.sent("stripe", "POST", ENDPOINT)[0]) == {"disabled": ["true"]}, r
    # The simulator's model calls a tool: the chat request (validated against the OpenAI spec)
    # and the Stripe requests the plan makes.
    r = stripe_sim.run("do", "--llm", f"disable the webhook endpoint {second}", "--yes")
    expect(r, ("openai", "POST", CHAT), ("stripe", "GET", ENDPOINT), ("stripe", "GET", ENDPOINT), ("stripe", "POST", ENDPOINT))
    post = r.sent("stripe", "POST", ENDPOINT)[0]
    assert post["target"] == f"/v1/webhook_endpoints/{second}" and form(post) == {"disabled": ["true"]}, r


def test_stripe_every_write_was_sent(stripe_sim):
    assert stripe_sim.validated[("stripe", "POST", ENDPOINT)] >= 5
    assert stripe_sim.validated[("stripe", "GET", EVENTS)] >= 1
    posts = [ex for ex in stripe_sim.exchanges if ex["method"] == "POST" and ex["service"] == "stripe"]
    keys = [ex["headers"]["idempotency-key"] for ex in posts]
    assert len(set(keys)) == len(keys), f"two different writes shared an Idempotency-Key: {keys}"



def endpoint_status(stripe_sim, endpoint):
    """An endpoint's status as the simulator has it (asked directly, not through apiops)."""
    req = urllib.request.Request(f"{stripe_sim.sim.env['APIOPS_STRIPE_API_URL']}/v1/webhook_endpoints/{endpoint}")
    req.add_header("Authorization", "Bearer " + stripe_sim.sim.env["STRIPE_SECRET_KEY"])
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["status"]


def test_stripe_rerun_with_new_sends_a_fresh_idempotency_key(stripe_sim):
    """A deliberate re-run (`--new`) is a new request: it must not send the first run's
    Idempotency-Key, or Stripe (and the simulator, which keeps keys like Stripe) replays the
    first answer and changes nothing."""
    target = stripe_sim.endpoints["enabled"][4]["id"]
    first = stripe_sim.run("stripe", "endpoints", "disable", target, "--yes", db="rerun")
    again_enabled = stripe_sim.run("stripe", "endpoints", "enable", target, "--yes", db="rerun")
    assert endpoint_status(stripe_sim, target) == "enabled", again_enabled
    again = stripe_sim.run("stripe", "endpoints", "disable", target, "--yes", "--new", db="rerun")
    [k1] = [ex["headers"]["idempotency-key"] for ex in first.sent("stripe", "POST", ENDPOINT)]
    [k3] = [ex["headers"]["idempotency-key"] for ex in again.sent("stripe", "POST", ENDPOINT)]
    status = endpoint_status(stripe_sim, target)
    assert k3 != k1, "--new re-sent the first run's Idempotency-Key"
    assert status == "disabled", (k1, k3, again)
