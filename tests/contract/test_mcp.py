"""`apiops mcp` driven by a client we did not write: the official Python MCP SDK (`mcp` on PyPI).

The SDK starts `apiops mcp` over stdio with the simulator's environment, negotiates the protocol
version (2026-07-28 through `server/discover` by default; the `initialize` handshake with
`mode="legacy"`), lists the tools and checks their schemas and annotations, runs a health check
and an error audit against the simulator, plans a number purchase and is refused when it tries
to execute it without the person's confirmation — the simulator's own counters prove nothing
was bought. With an elicitation callback, the SDK plays the person: only an explicit yes buys,
once. Resources are listed and read. Raw bytes on stdio check what no SDK would send: a line
that is not JSON, JSON that is not JSON-RPC, an unknown method, and `notifications/cancelled`
for a call in flight (whose answer must never come, while the server goes on serving).
"""

import json
import urllib.request
import os
import select
import subprocess
import time

import anyio
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
import mcp.types as types

from conftest import apiops_bin, start_sim

TOOLS = {
    # name: (readOnlyHint, destructiveHint, idempotentHint, openWorldHint)
    "credentials_status": (True, False, True, False),
    "health_check": (True, False, True, True),
    "error_audit": (True, False, True, True),
    "config_audit": (True, False, True, True),
    "usage_report": (True, False, True, True),
    "list_events": (True, False, True, False),
    "list_operations": (True, False, True, False),
    "list_apis": (True, False, True, True),
    "api_operations": (True, False, True, True),
    "call_api": (True, False, True, True),
    "graphql_query": (True, False, True, True),
    "plan_operation": (True, False, True, True),
    "execute_plan": (False, True, True, True),
}
CATEGORIES = {"auth", "config", "rate_limit", "carrier", "spam_blocked", "bad_params", "transient"}
SECRET_VARS = ("TWILIO_AUTH_TOKEN", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "OPENAI_API_KEY", "OPENAI_ADMIN_KEY")


@pytest.fixture(scope="module")
def sim():
    s = start_sim("--messages", "800")
    yield s
    s.proc.terminate()
    s.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def slow_sim():
    """Every answer takes 3 s: calls stay in flight long enough to be cancelled."""
    s = start_sim("--messages", "50", "--latency", "3s")
    yield s
    s.proc.terminate()
    s.proc.wait(timeout=10)


def server_env(tmp_path, provider_env):
    return {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "APIOPS_DATABASE_URL": f"sqlite://{tmp_path}/apiops.db",
        **provider_env,
    }


def params(tmp_path, provider_env, *args):
    return StdioServerParameters(command=apiops_bin(), args=["mcp", *args], env=server_env(tmp_path, provider_env))


def run(main):
    """Runs `main(...)` to completion on anyio's default (asyncio) backend."""
    return anyio.run(main)


def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "text", None) is not None)


def secrets_of(sim):
    return [sim.env[v] for v in SECRET_VARS if v in sim.env]


def assert_no_secret(sim, *payloads):
    dump = json.dumps([p if isinstance(p, (dict, list, str)) else str(p) for p in payloads])
    for secret in secrets_of(sim):
        assert secret not in dump, "a secret value reached the client"


def purchases(sim):
    return sim.stats().get("side_effects", {}).get("twilio.numbers.buy", 0)


# ---------------------------------------------------------------------------------------------
# tools/list


def test_tools_are_listed_with_precise_schemas_and_truthful_annotations(sim, tmp_path):
    version = subprocess.run([apiops_bin(), "--version"], capture_output=True, text=True, check=True).stdout.split()[-1]

    async def main():
        async with Client(params(tmp_path, sim.env)) as client:
            assert client.server_info.name == "apiops"
            assert client.server_info.version == version
            caps = client.server_capabilities
            assert caps.tools is not None and caps.resources is not None
            listed = (await client.list_tools()).tools
            by_name = {t.name: t for t in listed}
            assert set(by_name) == set(TOOLS)
            for name, (ro, destructive, idempotent, open_world) in TOOLS.items():
                tool = by_name[name]
                a = tool.annotations
                assert (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint) == (
                    ro,
                    destructive,
                    idempotent,
                    open_world,
                ), name
                schema = tool.input_schema
                assert schema["type"] == "object" and schema["additionalProperties"] is False, name
                assert tool.description and len(tool.description) > 40, name

            services = by_name["health_check"].input_schema["properties"]["services"]
            assert services["type"] == "array"
            assert set(services["items"]["enum"]) == {"twilio", "openai", "stripe"}
            audit = by_name["error_audit"].input_schema["properties"]
            assert set(audit) == {"services", "since", "resource"}
            assert audit["since"]["default"] == "24h"
            events = by_name["list_events"].input_schema["properties"]
            assert events["limit"]["minimum"] == 1 and events["limit"]["maximum"] == 1000
            plan = by_name["plan_operation"].input_schema
            assert plan["required"] == ["request"]
            alternatives = plan["properties"]["request"]["oneOf"]
            assert alternatives[0]["type"] == "string"
            structured = {alt["properties"]["operation"]["const"]: alt for alt in alternatives[1:]}
            assert "twilio.numbers.buy" in structured and "stripe.endpoints.disable" in structured
            buy_params = structured["twilio.numbers.buy"]["properties"]["params"]
            assert buy_params["properties"]["area_code"]["type"] == "integer"
            assert buy_params["additionalProperties"] is False
            execute = by_name["execute_plan"].input_schema
            assert execute["required"] == ["plan_id"]
            assert execute["properties"]["plan_id"]["pattern"] == "^plan_[0-9a-f]{16}$"

            # Arguments the schema refuses are tool errors naming the problem.
            r = await client.call_tool("list_events", {"limit": 0})
            assert r.is_error
            assert r.structured_content["error"]["kind"] == "invalid_arguments"
            assert r.structured_content["error"]["category"] == "bad_params"
            assert "limit" in text(r)

        async with Client(params(tmp_path, sim.env, "--read-only")) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == set(TOOLS) - {"execute_plan"}
            with pytest.raises(MCPError) as refused:
                await client.call_tool("execute_plan", {"plan_id": "plan_0123456789abcdef"})
            assert refused.value.error.code == -32602

    run(main)


# ---------------------------------------------------------------------------------------------
# Reads against the simulator


def test_health_check_and_error_audit_against_the_simulator(sim, tmp_path):
    async def main():
        async with Client(params(tmp_path, sim.env)) as client:
            r = await client.call_tool("health_check", {})
            assert not r.is_error, text(r)
            h = r.structured_content
            assert h["overall"] == "operational"
            assert [s["service"] for s in h["services"]] == ["twilio", "openai", "stripe"]
            for s in h["services"]:
                assert s["status"] == "operational"
                assert isinstance(s["latency_ms"], int)
            assert text(r).startswith("Overall: operational")

            r = await client.call_tool("health_check", {"services": ["stripe"]})
            assert [s["service"] for s in r.structured_content["services"]] == ["stripe"]

            r = await client.call_tool("error_audit", {"since": "24h"})
            assert not r.is_error, text(r)
            e = r.structured_content
            assert e["period"] == "Last 24 hours"
            assert set(e["services"]) == {"twilio", "openai", "stripe"}
            assert e["failures"] == []
            assert e["total_events"] > 0 and e["groups"]
            assert sum(g["count"] for g in e["groups"]) == e["total_events"]
            for g in e["groups"]:
                assert g["category"] in CATEGORIES
                assert g["severity"] in {"critical", "warning", "info"}
                assert g["suggested_fix"]
            assert e["recommendations"]
            assert e["recorded_events"] > 0
            assert "failure(s)" in text(r)

            r = await client.call_tool("error_audit", {"services": ["twilio"], "since": "7d", "resource": "message"})
            assert not r.is_error, text(r)
            assert r.structured_content["services"] == ["twilio"]
            assert {g["service"] for g in r.structured_content["groups"]} <= {"twilio"}

            r = await client.call_tool("config_audit", {"services": ["stripe", "twilio"]})
            assert not r.is_error, text(r)
            assert r.structured_content["services"] == ["twilio", "stripe"]
            for f in r.structured_content["findings"]:
                assert f["category"] in CATEGORIES and f["remediation"]

            r = await client.call_tool("usage_report", {"services": ["twilio", "stripe"], "period": "this-month"})
            assert not r.is_error, text(r)
            u = r.structured_content
            assert [s["service"] for s in u["services"]] == ["twilio", "stripe"]
            assert "this month" in u["period"]["label"]
            assert all(m["currency"] == "USD" for m in u["spend"]) and u["spend"]
            assert "spend" in text(r)

            r = await client.call_tool("list_events", {"limit": 5})
            assert not r.is_error
            assert r.structured_content["count"] == len(r.structured_content["events"]) == 5

            creds = await client.call_tool("credentials_status", {})
            assert not creds.is_error
            assert all(s["ready"] for s in creds.structured_content["services"])
            assert_no_secret(sim, h, e, creds.structured_content, text(creds))

    run(main)


def test_errors_carry_the_normalized_category(sim, tmp_path):
    async def main():
        # Nothing configured: a tool error, not a crash, naming what to set.
        async with Client(params(tmp_path / "none", {})) as client:
            r = await client.call_tool("health_check", {})
            assert r.is_error
            err = r.structured_content["error"]
            assert (err["kind"], err["category"]) == ("nothing_configured", "config")
            assert "STRIPE_SECRET_KEY" in err["message"]
            r = await client.call_tool("config_audit", {"services": ["stripe"]})
            err = r.structured_content["error"]
            assert (err["kind"], err["category"]) == ("missing_credentials", "config")
            assert err["details"]["variables"] == ["STRIPE_SECRET_KEY"]
            # The server is still there.
            assert (await client.call_tool("list_operations", {})).structured_content["operations"]

        # A key the provider rejects: the service is down with category auth, and an audit
        # that could not run anywhere is a tool error with category auth. Never the key itself.
        wrong = "sk_test_" + "0" * 40
        env = {**sim.env, "STRIPE_SECRET_KEY": wrong}
        async with Client(params(tmp_path / "wrong", env)) as client:
            r = await client.call_tool("health_check", {"services": ["stripe"]})
            assert not r.is_error
            stripe = r.structured_content["services"][0]
            assert stripe["status"] == "down" and stripe["category"] == "auth"
            r = await client.call_tool("config_audit", {"services": ["stripe"]})
            assert r.is_error
            assert r.structured_content["error"]["category"] == "auth"
            assert wrong not in json.dumps(r.structured_content) + text(r)

    run(main)


# ---------------------------------------------------------------------------------------------
# Plans, the gate and confirmation


def test_a_number_purchase_is_planned_and_refused_without_confirmation(sim, tmp_path):
    before = purchases(sim)

    async def main():
        for flags in ((), ("--allow-execute",)):
            async with Client(params(tmp_path / "-".join(flags or ("plain",)), sim.env, *flags)) as client:
                r = await client.call_tool("plan_operation", {"request": "buy a phone number in 415"})
                assert not r.is_error, text(r)
                plan = r.structured_content
                assert plan["plan_id"].startswith("plan_")
                assert plan["operation"] == "twilio.numbers.buy"
                assert plan["purchase"] is True and plan["risk"] == "high" and plan["reversible"] is False
                [step] = plan["steps"]
                assert step["state"] == "to_do" and step["description"].startswith("buy +1415")
                assert plan["cost"]["amount"] and plan["cost"]["per"] == "month"
                assert plan["gate"] == {
                    "verdict": "confirm",
                    "reason": "twilio.numbers.buy is a purchase: it always needs a person's confirmation",
                    "always": True,
                }
                assert plan["execution"]["confirmation"] == "elicitation"
                assert plan["plan_id"] in text(r)

                # No elicitation callback: the client cannot ask the person, so: refused.
                r = await client.call_tool("execute_plan", {"plan_id": plan["plan_id"]})
                assert r.is_error
                err = r.structured_content["error"]
                assert err["kind"] == "confirmation_required"
                assert err["details"]["always_needs_a_person"] is True
                assert "confirmation required" in err["message"]
                assert "elicitation" in err["message"] and "Nothing was done" in err["message"]
                # --allow-execute is no way around it for a purchase.
                assert "--allow-execute" not in err["message"]

                # A plan id this server never made.
                r = await client.call_tool("execute_plan", {"plan_id": "plan_0123456789abcdef0123456789abcdef"})
                assert r.is_error and r.structured_content["error"]["kind"] == "unknown_plan"

    run(main)
    assert purchases(sim) == before, "a purchase happened without confirmation"
    assert sim.stats()["requests"].get("twilio.numbers.buy", 0) == 0


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_a_purchase_runs_only_after_an_explicit_yes(sim, tmp_path, mode):
    """The person answers through MCP elicitation: InputRequiredResult on 2026-07-28, an
    `elicitation/create` request on the handshake versions. Only `accept` with confirm=true buys."""
    answers = []
    questions = []

    async def person(context, request):
        questions.append(request.message)
        action, content = answers.pop(0)
        return types.ElicitResult(action=action, content=content)

    before = purchases(sim)

    async def main():
        async with Client(params(tmp_path, sim.env), mode=mode, elicitation_callback=person) as client:
            assert (client.protocol_version == "2026-07-28") == (mode == "auto")
            r = await client.call_tool("plan_operation", {"request": {"operation": "twilio.numbers.buy", "params": {"area_code": 415}}})
            assert not r.is_error, text(r)
            plan_id = r.structured_content["plan_id"]
            number = r.structured_content["steps"][0]["action"]["number"]

            for no in (("decline", None), ("cancel", None), ("accept", {"confirm": False})):
                answers.append(no)
                r = await client.call_tool("execute_plan", {"plan_id": plan_id})
                assert r.is_error, no
                assert r.structured_content["error"]["kind"] == "confirmation_required"
                assert "Not confirmed" in r.structured_content["error"]["message"]
            assert purchases(sim) == before

            answers.append(("accept", {"confirm": True}))
            r = await client.call_tool("execute_plan", {"plan_id": plan_id})
            assert not r.is_error, text(r)
            done = r.structured_content
            assert done["confirmed_via"] == "elicitation" and done["status"] == "succeeded"
            [item] = done["outcome"]["items"]
            assert item["result"] == "done" and item["resource_ids"][0].startswith("PN")
            assert purchases(sim) == before + 1

            # The journal: the same plan again buys nothing (and asks nothing).
            r = await client.call_tool("execute_plan", {"plan_id": plan_id})
            assert not r.is_error, text(r)
            assert purchases(sim) == before + 1

            events = (await client.call_tool("list_events", {"service": "twilio"})).structured_content["events"]
            assert any(ev["action_taken"] == "executed" and ev["error_code"] == "twilio.numbers.buy" for ev in events)
            # Release it again so the other mode's run finds the same number to buy.
            release = await client.call_tool("plan_operation", {"request": {"operation": "twilio.numbers.release", "params": {"number": number}}})
            assert release.structured_content["deletion"] is True
            answers.append(("accept", {"confirm": True}))
            r = await client.call_tool("execute_plan", {"plan_id": release.structured_content["plan_id"]})
            assert not r.is_error, text(r)

        assert len(questions) == 5
        assert questions[0].startswith("Proceed with twilio.numbers.buy: buy +1415")
        assert "per month" in questions[0]

    run(main)


def test_allow_execute_stands_in_for_the_person_on_in_account_changes_only(sim, tmp_path):
    """--allow-execute covers reversible changes inside the account (disabling an endpoint);
    pointing an endpoint at another URL sends the account's events to a third party, so it
    still needs the person, flag or not."""

    def updates():
        return sim.stats().get("side_effects", {}).get("stripe.webhook_endpoints.update", 0)

    async def main():
        for flags, expect_run in (((), False), (("--allow-execute",), True)):
            async with Client(params(tmp_path / str(expect_run), sim.env, *flags)) as client:
                listing = await client.call_tool("plan_operation", {"request": {"operation": "stripe.endpoints.list"}})
                assert not listing.is_error, text(listing)
                assert listing.structured_content["read"] is True
                rows = [row for row in listing.structured_content["result"]["rows"] if row[1] == "enabled"]
                assert len(rows) >= 2, rows
                redirected, disabled = rows[0][0], rows[1][0]

                before = updates()
                r = await client.call_tool(
                    "plan_operation", {"request": {"operation": "stripe.endpoints.update", "params": {"endpoint": redirected, "url": "https://hooks.example.com/stripe/" + str(expect_run)}}}
                )
                assert not r.is_error, text(r)
                plan = r.structured_content
                assert plan["trust"]["class"] == "person" and plan["trust"]["rule"] == "points_at_url"
                r = await client.call_tool("execute_plan", {"plan_id": plan["plan_id"]})
                assert r.is_error, text(r)
                assert r.structured_content["error"]["kind"] == "confirmation_required"
                assert "--allow-execute" not in r.structured_content["error"]["message"]
                assert updates() == before

                r = await client.call_tool("plan_operation", {"request": {"operation": "stripe.endpoints.disable", "params": {"endpoint": disabled}}})
                assert not r.is_error, text(r)
                assert r.structured_content["trust"]["class"] == "in_account"
                r = await client.call_tool("execute_plan", {"plan_id": r.structured_content["plan_id"]})
                if expect_run:
                    assert not r.is_error, text(r)
                    assert r.structured_content["confirmed_via"] == "allow_execute"
                    assert updates() == before + 1
                    enable(sim, disabled)
                else:
                    assert r.is_error
                    assert "--allow-execute" in r.structured_content["error"]["message"]
                    assert updates() == before

    run(main)


def enable(sim, endpoint):
    """Puts an endpoint back as it was, straight through the simulator's Stripe API."""
    req = urllib.request.Request(
        f"{sim.env['APIOPS_STRIPE_API_URL']}/v1/webhook_endpoints/{endpoint}", data=b"disabled=false", method="POST"
    )
    req.add_header("Authorization", "Bearer " + sim.env["STRIPE_SECRET_KEY"])
    with urllib.request.urlopen(req, timeout=10) as r:
        assert json.loads(r.read())["status"] == "enabled"


def test_ambiguous_and_unknown_requests_are_questions_not_guesses(sim, tmp_path):
    async def main():
        async with Client(params(tmp_path, sim.env)) as client:
            r = await client.call_tool("plan_operation", {"request": "buy a phone number"})
            assert r.is_error
            err = r.structured_content["error"]
            assert err["kind"] == "needs_clarification" and err["category"] == "bad_params"
            assert err["message"].endswith("?")
            r = await client.call_tool("plan_operation", {"request": "make me a sandwich"})
            assert r.is_error and r.structured_content["error"]["kind"] == "not_understood"
            r = await client.call_tool("plan_operation", {"request": "why are calls failing"})
            assert not r.is_error, text(r)
            assert r.structured_content["services"] == ["twilio"]

    run(main)


# ---------------------------------------------------------------------------------------------
# Resources


def test_resources_are_listed_and_read(sim, tmp_path):
    async def main():
        async with Client(params(tmp_path, sim.env)) as client:
            listed = {str(r.uri): r for r in (await client.list_resources()).resources}
            assert set(listed) == {"apiops://report/latest", "apiops://events/recent", "apiops://operations/catalog"}
            assert listed["apiops://report/latest"].mime_type == "text/markdown"

            report = (await client.read_resource("apiops://report/latest")).contents[0]
            assert report.mime_type == "text/markdown"
            assert report.text.startswith("# apiops report")
            for heading in ("## Twilio", "## OpenAI", "## Stripe", "## Recommendations"):
                assert heading in report.text
            assert_no_secret(sim, report.text)

            events = json.loads((await client.read_resource("apiops://events/recent")).contents[0].text)
            # Reading the report ran an error audit, whose events are in the log.
            assert events["count"] > 0 and events["events"][0]["service"] in {"twilio", "openai", "stripe"}
            catalog = json.loads((await client.read_resource("apiops://operations/catalog")).contents[0].text)
            assert any(op["name"] == "twilio.numbers.buy" and op["purchase"] for op in catalog["operations"])

            with pytest.raises(MCPError):
                await client.read_resource("apiops://nothing/here")

    run(main)


# ---------------------------------------------------------------------------------------------
# Raw JSON-RPC on stdio


class Raw:
    """`apiops mcp` driven by hand: bytes in, JSON lines out."""

    def __init__(self, tmp_path, env):
        self.proc = subprocess.Popen(
            [apiops_bin(), "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", ""), **server_env(tmp_path, env)},
        )

    def send(self, data):
        if isinstance(data, dict):
            data = json.dumps(data).encode() + b"\n"
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def recv(self, timeout=10):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def request(self, id, method, params=None, timeout=10):
        self.send({"jsonrpc": "2.0", "id": id, "method": method, **({"params": params} if params is not None else {})})
        return self.recv(timeout)

    def initialize(self):
        r = self.request(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}})
        assert r["result"]["serverInfo"]["name"] == "apiops"
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def close(self):
        self.proc.stdin.close()
        code = self.proc.wait(timeout=10)
        assert code == 0
        return code


def test_malformed_requests_get_json_rpc_errors(sim, tmp_path):
    raw = Raw(tmp_path, sim.env)
    try:
        # Not JSON: parse error, id null.
        raw.send(b"this is not json\n")
        r = raw.recv()
        assert r["jsonrpc"] == "2.0" and r["id"] is None and r["error"]["code"] == -32700
        raw.send(b'{"jsonrpc": "2.0", "id": 5, "method": \n')
        assert raw.recv()["error"]["code"] == -32700
        raw.initialize()
        # JSON, but not a JSON-RPC request: invalid request, with the id when there is one.
        raw.send(b'{"foo": "bar"}\n')
        r = raw.recv()
        assert r["error"]["code"] == -32600 and r["id"] is None
        raw.send(b'{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": "oops"}\n')
        r = raw.recv()
        assert r["error"]["code"] == -32600 and r["id"] == 7
        # An unknown method, an unknown tool, an unknown resource.
        r = raw.request(8, "no/such/method", {})
        assert r["id"] == 8 and r["error"]["code"] == -32601
        r = raw.request(9, "tools/call", {"name": "rm_rf", "arguments": {}})
        assert r["id"] == 9 and r["error"]["code"] == -32602
        r = raw.request(10, "resources/read", {"uri": "apiops://nope"})
        assert r["id"] == 10 and "error" in r
        # Still serving.
        r = raw.request(11, "tools/list", {})
        assert r["id"] == 11 and len(r["result"]["tools"]) == len(TOOLS)
        assert raw.request(12, "ping")["result"] == {}
    finally:
        raw.close()


def test_a_cancelled_call_is_not_answered_and_the_server_goes_on(slow_sim, tmp_path):
    raw = Raw(tmp_path, slow_sim.env)
    try:
        raw.initialize()
        raw.send({"jsonrpc": "2.0", "id": 20, "method": "tools/call", "params": {"name": "health_check", "arguments": {"services": ["stripe"]}}})
        # The cancellation follows the call at once: the server must honour it whenever it
        # reads it, with no pause for the call to get going.
        raw.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 20, "reason": "test"}})
        # The server goes on (the deadline only bounds a hang).
        r = raw.request(21, "ping", timeout=60)
        assert r == {"jsonrpc": "2.0", "id": 21, "result": {}}
        # No answer to 20 ever: watch the stream past the moment the provider would have answered
        # (3 s of latency), then a round trip flushes anything in flight. A slow machine can only
        # make this miss a late answer, never fail a server that behaves.
        end = time.monotonic() + 6
        while (left := end - time.monotonic()) > 0:
            m = raw.recv(timeout=left)
            assert m is None or m.get("id") != 20, f"the cancelled call was answered: {m}"
        r = raw.request(22, "tools/call", {"name": "list_operations", "arguments": {"service": "stripe"}}, timeout=60)
        assert r["id"] == 22 and not r["result"].get("isError"), r
        assert raw.proc.poll() is None
    finally:
        raw.close()


def test_the_sdk_cancelling_an_in_flight_call_leaves_the_server_usable(slow_sim, tmp_path):
    log = tmp_path / "server.log"

    async def main():
        with open(log, "w") as errlog:
            env = {**server_env(tmp_path, slow_sim.env), "APIOPS_LOG": "info"}
            transport = stdio_client(StdioServerParameters(command=apiops_bin(), args=["mcp"], env=env), errlog=errlog)
            async with Client(transport) as client:
                # Cancelled by the client while the provider takes 3 s to answer.
                with anyio.move_on_after(0.5) as scope:
                    await client.call_tool("error_audit", {"services": ["stripe"]})
                assert scope.cancelled_caught
                r = await client.call_tool("list_operations", {})
                assert not r.is_error and r.structured_content["operations"]
                # The server notes the cancellation; wait for it (the deadline bounds a hang).
                deadline = time.monotonic() + 60
                while "cancelled by the client" not in log.read_text():
                    assert time.monotonic() < deadline, log.read_text()
                    await anyio.sleep(0.05)

    run(main)
    assert "cancelled by the client" in log.read_text()
