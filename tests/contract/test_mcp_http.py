"""`/mcp` of `apiops serve` (the MCP streamable HTTP transport) driven by a client we did not
write: the official Python MCP SDK's streamable HTTP client (`mcp.client.streamable_http`).

`apiops serve` runs next to the simulator, in a hermetic environment (served.py). The SDK
connects to `http://ADDR/mcp` — negotiating 2026-07-28 through `server/discover` (stateless
requests) by default, the `initialize` handshake (a stateful session with `Mcp-Session-Id`) with
`mode="legacy"` — lists the tools, runs a health check against the simulator, plans a number
purchase and is refused when it tries to execute it without the person's confirmation, with or
without `--mcp-allow-execute`; the simulator's counters prove nothing was bought. With an
elicitation callback the SDK plays the person, and only an explicit yes buys. `--mcp-read-only`
offers the read tools only. With a token configured, `/mcp` needs it as `Authorization: Bearer`:
without it (or with a wrong one) the answer is 401 and the SDK cannot connect; with it, the SDK
works. An open session does not hold up serve's graceful shutdown.
"""

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
import mcp.types as types

from conftest import apiops_bin, start_sim
from served import apiops, hermetic_env, start_serve

TOKEN = "mcp-http-test-token-0123456789"
TOOLS = {
    "credentials_status",
    "health_check",
    "error_audit",
    "config_audit",
    "usage_report",
    "list_events",
    "list_operations",
    "list_apis",
    "api_operations",
    "call_api",
    "graphql_query",
    "plan_operation",
    "execute_plan",
}
SECRET_VARS = ("TWILIO_AUTH_TOKEN", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "OPENAI_API_KEY", "OPENAI_ADMIN_KEY")
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


@pytest.fixture(scope="module")
def sim():
    s = start_sim("--messages", "400")
    yield s
    s.proc.terminate()
    s.proc.wait(timeout=10)


class serving:
    """`apiops serve` on loopback next to the simulator, stopped on exit."""

    def __init__(self, sim, tmp_path, *args):
        self.sim = sim
        self.tmp = tmp_path
        self.args = args

    def __enter__(self):
        self.tmp.mkdir(parents=True, exist_ok=True)
        env = hermetic_env(self.sim, self.tmp, f"sqlite://{self.tmp}/apiops.db")
        self.served = start_serve(env, self.tmp, "--reconcile-every", "0s", *self.args)
        self.served.mcp = self.served.url + "/mcp"
        return self.served

    def __exit__(self, *exc):
        self.served.stop()


def run(main):
    return anyio.run(main)


def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "text", None) is not None)


def purchases(sim):
    return sim.stats().get("side_effects", {}).get("twilio.numbers.buy", 0)


def leaves(group):
    """The exceptions an exception group (of groups) holds."""
    if isinstance(group, BaseExceptionGroup):
        return [leaf for e in group.exceptions for leaf in leaves(e)]
    return [group]


def with_token(url, token):
    """The SDK's streamable HTTP transport over an HTTP client that sends `token`."""
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx2.Timeout(30, read=300),
    )
    return streamable_http_client(url, http_client=http)


def post(url, body, headers=None):
    """(status, headers with lower-case names, body) of a raw POST to /mcp."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json, text/event-stream")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            # An SSE stream: a priming event, then the answer; it may stay open after that.
            got = b""
            while b'"jsonrpc"' not in got or not got.endswith(b"\n\n"):
                chunk = r.read1(4096)
                if not chunk:
                    break
                got += chunk
            return r.status, {k.lower(): v for k, v in r.headers.items()}, got.decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_tools_health_and_a_purchase_refused_without_confirmation(sim, tmp_path, mode):
    version = subprocess.run([apiops_bin(), "--version"], capture_output=True, text=True, check=True).stdout.split()[-1]
    before = purchases(sim)

    async def main(url):
        async with Client(url, mode=mode) as client:
            assert (client.protocol_version == "2026-07-28") == (mode == "auto")
            assert client.server_info.name == "apiops" and client.server_info.version == version
            assert client.server_capabilities.tools is not None

            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == TOOLS
            assert tools["execute_plan"].annotations.destructive_hint is True
            assert tools["health_check"].annotations.read_only_hint is True

            r = await client.call_tool("health_check", {})
            assert not r.is_error, text(r)
            h = r.structured_content
            assert h["overall"] == "operational"
            assert [s["service"] for s in h["services"]] == ["twilio", "openai", "stripe"]
            assert text(r).startswith("Overall: operational")
            dump = json.dumps(h) + text(r)
            for var in SECRET_VARS:
                if var in sim.env:
                    assert sim.env[var] not in dump

            r = await client.call_tool("plan_operation", {"request": "buy a phone number in 415"})
            assert not r.is_error, text(r)
            plan = r.structured_content
            assert plan["operation"] == "twilio.numbers.buy" and plan["purchase"] is True
            assert plan["gate"]["verdict"] == "confirm" and plan["gate"]["always"] is True
            assert plan["execution"]["confirmation"] == "person"

            # Another request (stateless on 2026-07-28) executes the plan the first one made:
            # refused, since this client cannot ask the person.
            r = await client.call_tool("execute_plan", {"plan_id": plan["plan_id"]})
            assert r.is_error
            err = r.structured_content["error"]
            assert err["kind"] == "confirmation_required"
            assert err["details"]["always_needs_a_person"] is True
            assert "Nothing was done" in err["message"]
            assert "--allow-execute" not in err["message"]

    for flags in ((), ("--mcp-allow-execute",)):
        with serving(sim, tmp_path / ("-".join(flags) or "plain"), *flags) as served:
            run(lambda: main(served.mcp))
            assert "MCP at http://" in served.stderr()

    assert purchases(sim) == before, "a purchase happened without confirmation"
    assert sim.stats()["requests"].get("twilio.numbers.buy", 0) == 0


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_over_http_elicitation_confirms_in_account_changes_only(sim, tmp_path, mode):
    """Elicitation over HTTP: on 2026-07-28 an InputRequiredResult and a retried call; on the
    handshake versions an `elicitation/create` request on the call's SSE stream. The answer comes
    through the agent's channel, so it counts for an in-account change (disabling an endpoint),
    never for a purchase (DESIGN.md §11)."""
    answers = []
    questions = []

    async def person(context, request):
        questions.append(request.message)
        action, content = answers.pop(0)
        return types.ElicitResult(action=action, content=content)

    before = purchases(sim)
    updates = lambda: sim.stats().get("side_effects", {}).get("stripe.webhook_endpoints.update", 0)

    async def main(url, endpoint):
        async with Client(url, mode=mode, elicitation_callback=person) as client:
            r = await client.call_tool("plan_operation", {"request": {"operation": "stripe.endpoints.disable", "params": {"endpoint": endpoint}}})
            assert not r.is_error, text(r)
            assert r.structured_content["execution"]["confirmation"] == "elicitation"
            plan_id = r.structured_content["plan_id"]
            start = updates()

            answers.append(("decline", None))
            r = await client.call_tool("execute_plan", {"plan_id": plan_id})
            assert r.is_error and r.structured_content["error"]["kind"] == "confirmation_required"
            assert updates() == start

            answers.append(("accept", {"confirm": True}))
            r = await client.call_tool("execute_plan", {"plan_id": plan_id})
            assert not r.is_error, text(r)
            assert r.structured_content["confirmed_via"] == "elicitation"
            assert updates() == start + 1

            # The same yes for a purchase: not asked at all, refused, nothing bought.
            r = await client.call_tool("plan_operation", {"request": {"operation": "twilio.numbers.buy", "params": {"area_code": 415}}})
            assert not r.is_error, text(r)
            r = await client.call_tool("execute_plan", {"plan_id": r.structured_content["plan_id"]})
            assert r.is_error and r.structured_content["error"]["kind"] == "confirmation_required"
            assert "apiops confirm plan_" in r.structured_content["error"]["message"]
            assert purchases(sim) == before

    with serving(sim, tmp_path) as served:
        listed = json.loads(apiops(served.env, "stripe", "endpoints", "list", "--json").stdout)
        endpoint = next(row[0] for row in listed["rows"] if row[1] == "enabled")
        run(lambda: main(served.mcp, endpoint))
        # Put it back for the other mode (a person at the terminal).
        r = apiops(served.env, "stripe", "endpoints", "enable", endpoint, "--yes")
        assert r.returncode == 0, r.stdout + r.stderr
    assert len(questions) == 2
    assert questions[0].startswith("Proceed with stripe.endpoints.disable: endpoint we_")


def test_read_only_offers_the_read_tools_only(sim, tmp_path):
    async def main(url):
        async with Client(url) as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS - {"execute_plan"}

    with serving(sim, tmp_path, "--mcp-read-only") as served:
        run(lambda: main(served.mcp))
    both = subprocess.run(
        [apiops_bin(), "serve", "--mcp-read-only", "--mcp-allow-execute"], capture_output=True, text=True, timeout=30
    )
    assert both.returncode == 2 and "cannot be used with" in both.stderr


def test_with_a_token_mcp_needs_it(sim, tmp_path):
    async def refused(url, transport):
        with pytest.raises(BaseExceptionGroup) as raised:
            with anyio.fail_after(30):
                async with Client(transport if transport is not None else url) as client:
                    await client.list_tools()
        # The SDK's spelling of an HTTP error status on its first request.
        [leaf] = leaves(raised.value)
        assert isinstance(leaf, MCPError) and leaf.error.message == "Server returned an error response", repr(leaf)

    async def works(url):
        async with Client(with_token(url, TOKEN), mode="legacy") as client:
            assert client.server_info.name == "apiops"
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            r = await client.call_tool("health_check", {"services": ["stripe"]})
            assert not r.is_error, text(r)
            assert r.structured_content["services"][0]["status"] == "operational"
        async with Client(with_token(url, TOKEN)) as client:
            assert client.protocol_version == "2026-07-28"
            r = await client.call_tool("list_operations", {"service": "twilio"})
            assert not r.is_error and r.structured_content["operations"]

    with serving(sim, tmp_path, "--token", TOKEN) as served:
        # Raw HTTP: no token, a wrong one, the dashboard's ?token= -> 401 and a challenge.
        for url, headers in (
            (served.mcp, {}),
            (served.mcp, {"Authorization": "Bearer wrong-token-wrong-token"}),
            (served.mcp + "?token=" + TOKEN, {}),
        ):
            status, h, body = post(url, INITIALIZE, headers)
            assert status == 401, (url, headers, status, body)
            assert h["www-authenticate"] == 'Bearer realm="apiops"'
            assert TOKEN not in body
        status, h, body = post(served.mcp, INITIALIZE, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200, body
        assert h.get("mcp-session-id")
        assert '"name":"apiops"' in body

        # The SDK: without the token (or with a wrong one) it cannot connect; with it, it works.
        run(lambda: refused(served.mcp, None))
        run(lambda: refused(served.mcp, with_token(served.mcp, "wrong-token-wrong-token")))
        run(lambda: works(served.mcp))
        assert TOKEN not in served.stderr()


def test_an_open_session_does_not_hold_up_shutdown(sim, tmp_path):
    with serving(sim, tmp_path) as served:

        async def main():
            async with Client(served.mcp, mode="legacy") as client:
                assert (await client.list_tools()).tools
                # The session's GET stream is open: ask serve to stop now.
                served.proc.send_signal(signal.SIGTERM)
                started = time.monotonic()
                while served.proc.poll() is None and time.monotonic() - started < 15:
                    await anyio.sleep(0.1)
                assert served.proc.poll() == 0, "apiops serve did not stop with an MCP session open"

        run(main)
        assert "stopped cleanly" in served.stderr()
