"""apiops' own requests against what the providers published.

- Twilio and OpenAI: `apiops health`, `errors` and `audit` run against Stoplight Prism mocks of
  the official specs; Prism answers a request that violates the spec with 422, and logs it. No
  request may be refused that way, and the commands must have sent requests at all.
- Stripe (Prism cannot load its spec): the same commands run against the simulator through a
  recording proxy; every request is then checked against the spec: the path and method exist,
  and every query or form parameter is one the operation declares, with an allowed value where
  the spec lists them.
"""

import http.server
import json
import os
import pathlib
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT, SHARED, apiops_bin

PRISM = ROOT / ".tools" / "node_modules" / ".bin" / "prism"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prism:
    def __init__(self, spec, log_path):
        self.port = free_port()
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [str(PRISM), "mock", str(SHARED / "specs" / spec), "-p", str(self.port), "-h", "127.0.0.1"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def wait(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prism exited: {pathlib.Path(self.log_path).read_text()[-2000:]}")
            if "Prism is listening" in pathlib.Path(self.log_path).read_text():
                return
            time.sleep(0.3)
        raise RuntimeError("prism did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()
        return pathlib.Path(self.log_path).read_text()


# What Prism logs when it refuses a request: a spec violation (422, `UNPROCESSABLE_ENTITY`, or a
# `Violation` of `request.*`), credentials in a scheme the spec does not declare (401), and a route the spec lacks (404 `NO_PATH_MATCHED_ERROR`, 405
# `NO_METHOD_MATCHED_ERROR`, 404 `NO_SERVER_MATCHED_ERROR`). Its violations of its own example
# responses (`response.body...`) are not ours and do not count.
PRISM_REFUSALS = ("UNPROCESSABLE_ENTITY", "errors#UNAUTHORIZED", "NO_PATH_MATCHED_ERROR", "NO_METHOD_MATCHED_ERROR", "NO_SERVER_MATCHED_ERROR",
                  "Route not resolved", "Route resolved, but no method matched")


def prism_refusals(log):
    """The lines of a Prism log that refuse one of our requests."""
    return [l for l in log.splitlines() if any(r in l for r in PRISM_REFUSALS) or ("Violation" in l and "request." in l)]


def require_prism():
    """Prism is installed by scripts/contract.sh; missing, the contract check fails, never skips."""
    if not PRISM.exists():
        pytest.fail(f"Prism is missing at {PRISM}: run scripts/contract.sh, which installs it")


def run_apiops(env, *args):
    full = {"PATH": os.environ.get("PATH", ""), "HOME": env.pop("HOME"), **env}
    return subprocess.run([apiops_bin(), *args], env=full, capture_output=True, text=True, timeout=300)


# Exit codes against Prism's static examples: health may judge an example degraded (3) but
# never down or failing; errors and audit complete (0).
EXPECTED_EXIT = {"health": (0, 3), "errors": (0,), "audit": (0,)}


def test_twilio_and_openai_requests_are_accepted_by_prism(tmp_path):
    require_prism()
    specs = {
        "api": "twilio/twilio_api_v2010.json",
        "monitor": "twilio/twilio_monitor_v1.json",
        "messaging": "twilio/twilio_messaging_v1.json",
        "pricing": "twilio/twilio_pricing_v1.json",
        "openai": "openai/openapi.json",
    }
    mocks = {k: Prism(v, tmp_path / f"prism-{k}.log") for k, v in specs.items()}
    try:
        for m in mocks.values():
            m.wait()
        env = {
            "HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "APIOPS_DATABASE_URL": f"sqlite://{tmp_path}/events.db",
            "APIOPS_TWILIO_API_URL": mocks["api"].url,
            "APIOPS_TWILIO_MONITOR_URL": mocks["monitor"].url,
            "APIOPS_TWILIO_MESSAGING_URL": mocks["messaging"].url,
            "APIOPS_TWILIO_PRICING_URL": mocks["pricing"].url,
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            # Prism serves the OpenAI spec's paths without /v1.
            "OPENAI_BASE_URL": mocks["openai"].url,
            "OPENAI_API_KEY": "sk-prism-0123456789abcdef",
            "OPENAI_ADMIN_KEY": "sk-admin-prism-0123456789abcdef",
            "APIOPS_CLIENT_MAX_ATTEMPTS": "1",
        }
        outputs = []
        for args in (["health", "twilio", "openai"], ["errors", "twilio", "openai", "--since", "24h"], ["audit", "twilio", "openai"]):
            r = run_apiops(dict(env), *args, "--json")
            outputs.append((args, r.returncode, r.stdout, r.stderr))
    finally:
        logs = {k: m.stop() for k, m in mocks.items()}
    # Pricing is only asked when an orphaned number needs its price, which Prism's examples
    # never produce; every other mock must have been called.
    for k in ("api", "monitor", "messaging", "openai"):
        assert logs[k].count("Request received") > 0, f"{k}: apiops sent nothing to the mock\n{outputs}"
    for k, log in logs.items():
        refused = prism_refusals(log)
        assert not refused, f"{k}: requests refused by the spec:\n" + "\n".join(refused[:20])
    for args, code, out, err in outputs:
        assert TWILIO_TOKEN not in out + err
        assert "panicked" not in err, (args, err)
        # Each command ran to its end and answered one JSON document about both services.
        doc = json.loads(out)
        assert doc, (args, out[-1500:])
        failures = doc.get("failures") or []
        # Prism's static examples repeat the same cursor on every page; the scan notices and
        # stops rather than loop. That is the only failure allowed here.
        unexpected = [f for f in failures if "stopping instead of looping" not in f.get("error", "")]
        assert not unexpected, (args, unexpected)
        # A scan reads on past a window it cannot finish, names the window and exits 6 (partial):
        # here too the only reason allowed is the repeated cursor.
        unread = doc.get("unread") or []
        odd_windows = [w for w in unread if "stopping instead of looping" not in w.get("reason", "")]
        assert not odd_windows, (args, odd_windows)
        assert (
            code in EXPECTED_EXIT[args[0]]
            or (code == 1 and failures)
            or (code == 6 and args[0] == "errors" and unread and doc.get("partial") is True)
        ), (args, code, failures, unread, err[-1500:])
        for service in ("twilio", "openai"):
            assert service in out, (args, service, out[-1500:])
        # Nothing of ours was refused: no scan or check failed on a 404/405/422 from Prism.
        for status in ("HTTP 404", "HTTP 405", "HTTP 422"):
            assert status not in out + err, (args, status, (out + err)[-1500:])


# --- Stripe: a recording proxy in front of the simulator, checked against the spec ---

class Recorder(http.server.ThreadingHTTPServer):
    """A proxy to `upstream` that records what passes: `seen` holds (method, target, body) of
    each request; `exchanges` each request in full (its headers too) with the answer's status
    and body, tagged with `name`. Recorders given the same `exchanges` list share it, so the
    order of requests across hosts is kept."""

    def __init__(self, upstream, name="", exchanges=None):
        super().__init__(("127.0.0.1", 0), Forward)
        self.upstream = upstream
        self.name = name
        self.seen = []
        self.exchanges = [] if exchanges is None else exchanges
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Forward(http.server.BaseHTTPRequestHandler):
    def _forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        exchange = {
            "service": self.server.name, "method": self.command, "target": self.path,
            "body": body.decode(), "headers": {k.lower(): v for k, v in self.headers.items()},
        }
        with self.server.lock:
            self.server.seen.append((self.command, self.path, body.decode()))
            self.server.exchanges.append(exchange)
        req = urllib.request.Request(self.server.upstream + self.path, data=body or None, method=self.command)
        for k, v in self.headers.items():
            if k.lower() not in ("host", "content-length"):
                req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, headers, data = r.status, r.headers.items(), r.read()
        except urllib.error.HTTPError as e:
            status, headers, data = e.code, e.headers.items(), e.read()
        exchange["status"], exchange["response"] = status, data.decode(errors="replace")
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _forward

    def log_message(self, *args):
        pass


def spec_operation(spec, method, path):
    for template, ops in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            return template, ops[method.lower()]
    return None, None


def declared(op, spec):
    names = {}
    for p in op.get("parameters", []):
        if "$ref" in p:
            p = spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
        names[p["name"]] = p
    body = op.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded", {}).get("schema", {})
    for name, schema in body.get("properties", {}).items():
        names[name] = {"name": name, "schema": schema}
    return names


def test_stripe_requests_match_the_spec(sim, tmp_path):
    spec = json.loads((SHARED / "specs" / "stripe" / "spec3.2023-08-16.json").read_text())
    upstream = sim.env["APIOPS_STRIPE_API_URL"]
    rec = Recorder(upstream)
    t = threading.Thread(target=rec.serve_forever, daemon=True)
    t.start()
    try:
        env = {
            "HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "APIOPS_DATABASE_URL": f"sqlite://{tmp_path}/events.db",
            "APIOPS_STRIPE_API_URL": f"http://127.0.0.1:{rec.server_address[1]}",
            "STRIPE_SECRET_KEY": sim.env["STRIPE_SECRET_KEY"],
        }
        for args in (["health", "stripe"], ["errors", "stripe", "--since", "30d"], ["audit", "stripe"]):
            r = run_apiops(dict(env), *args, "--json")
            assert r.returncode in (0, 3), (args, r.returncode, r.stderr[-2000:])
    finally:
        rec.shutdown()
    assert rec.seen, "apiops sent nothing"
    problems = []
    for method, target, body in rec.seen:
        parsed = urllib.parse.urlsplit(target)
        template, op = spec_operation(spec, method, parsed.path)
        if op is None:
            problems.append(f"{method} {parsed.path}: not in the spec")
            continue
        params = declared(op, spec)
        pairs = urllib.parse.parse_qsl(parsed.query) + urllib.parse.parse_qsl(body)
        for name, value in pairs:
            base = name.split("[", 1)[0]
            if base not in params:
                problems.append(f"{method} {template}: undeclared parameter {name}")
                continue
            schema = params[base].get("schema", {})
            enum = schema.get("enum")
            if enum and value not in [str(e).lower() if isinstance(e, bool) else str(e) for e in enum]:
                problems.append(f"{method} {template}: {name}={value} not in {enum}")
            if schema.get("type") == "integer" and not value.lstrip("-").isdigit():
                problems.append(f"{method} {template}: {name}={value} is not an integer")
    assert not problems, "\n".join(problems)
