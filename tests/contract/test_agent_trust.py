"""DESIGN.md §11, attacked through clients we did not write: an agent is not a person, and the
account's state, not the journal, says what is done.

- The official MCP Python SDK over `apiops serve`'s `/mcp` (with the token) plays an agent that
  says yes to everything: its elicitation callback accepts every question with `confirm: true`,
  and it sends `confirm: true` itself. It buys nothing, releases nothing. A person's
  `apiops confirm PLAN_ID --yes` in a terminal against the same database is what makes exactly
  one purchase happen; the agent's later `execute_plan` then repeats nothing.
- `--mcp-allow-execute` stands in for the person only for in-account changes: SMS sends, URL
  changes, signed test events and over-cap batches are refused without a person, and the
  simulator records no side effect.
- Two `execute_plan` calls, `apiops confirm --yes` and `apiops do --yes` race on one plan 50 times:
  each message is sent once, its event stored once.
- Release-then-buy: a number bought with `apiops do --yes`, released through the official Twilio
  SDK, is bought again by the same request: exactly one new purchase, and the output says why.
"""

import concurrent.futures
import json
import re
import urllib.error
import urllib.request

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
import mcp.types as types

from conftest import start_sim
from served import apiops, hermetic_env, start_serve
from test_official_sdks import twilio_client

TOKEN = "agent-trust-test-token-0123456789"
SECRET_VARS = ("TWILIO_AUTH_TOKEN", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "OPENAI_API_KEY", "OPENAI_ADMIN_KEY")


@pytest.fixture()
def sim():
    """A simulator of its own per test: these tests count side effects from zero."""
    s = start_sim("--messages", "200")
    yield s
    s.proc.terminate()
    s.proc.wait(timeout=10)


def side_effects(sim) -> dict:
    return dict(sim.stats().get("side_effects", {}))


def total(sim) -> int:
    return sum(side_effects(sim).values())


def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "text", None) is not None)


def with_token(url):
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx2.Timeout(30, read=300))
    return streamable_http_client(url, http_client=http)


async def yes_to_everything(context, request):
    """An agent's elicitation callback: accept, with the box ticked, whatever is asked."""
    return types.ElicitResult(action="accept", content={"confirm": True})


class serving:
    def __init__(self, sim, tmp, *args, extra_env=None):
        self.sim, self.tmp, self.args, self.extra_env = sim, tmp, args, extra_env or {}

    def __enter__(self):
        self.tmp.mkdir(parents=True, exist_ok=True)
        env = hermetic_env(self.sim, self.tmp, f"sqlite://{self.tmp}/apiops.db")
        env.update(self.extra_env)
        self.served = start_serve(env, self.tmp, "--reconcile-every", "0s", "--token", TOKEN, *self.args)
        self.served.mcp = self.served.url + "/mcp"
        return self.served

    def __exit__(self, *exc):
        self.served.stop()


def no_secret(sim, *texts):
    dump = "\n".join(texts)
    for var in SECRET_VARS:
        if var in sim.env:
            assert sim.env[var] not in dump, var


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_an_agent_that_says_yes_to_everything_buys_nothing_until_a_person_confirms(sim, tmp_path, mode):
    with serving(sim, tmp_path) as served:

        async def agent(requests):
            out = []
            async with Client(with_token(served.mcp), mode=mode, elicitation_callback=yes_to_everything) as client:
                for req in requests:
                    r = await client.call_tool("plan_operation", {"request": req})
                    assert not r.is_error, text(r)
                    plan = r.structured_content
                    assert plan["execution"]["confirmation"] == "person", plan["execution"]
                    assert plan["trust"]["class"] == "person"
                    # Its own yes, twice: an extra argument is refused; a plain call waits for a person.
                    r = await client.call_tool("execute_plan", {"plan_id": plan["plan_id"], "confirm": True})
                    assert r.is_error
                    r = await client.call_tool("execute_plan", {"plan_id": plan["plan_id"]})
                    assert r.is_error, text(r)
                    err = r.structured_content["error"]
                    assert err["kind"] == "confirmation_required", text(r)
                    assert f"apiops confirm {plan['plan_id']}" in err["message"]
                    assert "/confirmations" in err["message"]
                    assert "Nothing was done" in err["message"]
                    no_secret(sim, text(r), json.dumps(r.structured_content))
                    out.append(plan)
            return out

        owned = twilio_client(sim.env)[0].incoming_phone_numbers.list(limit=1)[0].phone_number
        buy, release = anyio.run(agent, ["buy a phone number in 415", f"release {owned}"])
        assert total(sim) == 0, f"an agent's yes did something: {side_effects(sim)}"
        assert sim.stats()["requests"].get("twilio.numbers.buy", 0) == 0

        # The pending ones are listed for a person.
        listed = apiops(served.env, "confirm")
        assert listed.returncode == 0, listed.stderr
        assert buy["plan_id"] in listed.stdout and release["plan_id"] in listed.stdout

        # Without a terminal and without --yes, a person's command refuses too (exit 5).
        r = apiops(served.env, "confirm", buy["plan_id"])
        assert r.returncode == 5, r.stdout + r.stderr
        assert total(sim) == 0

        # A person confirms the purchase: exactly one number is bought.
        r = apiops(served.env, "confirm", buy["plan_id"], "--yes")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "bought +1415" in r.stdout, r.stdout
        assert side_effects(sim).get("twilio.numbers.buy", 0) == 1
        no_secret(sim, r.stdout, r.stderr)
        # Confirming again resumes and repeats nothing.
        r = apiops(served.env, "confirm", buy["plan_id"], "--yes")
        assert r.returncode == 0, r.stdout + r.stderr
        assert side_effects(sim).get("twilio.numbers.buy", 0) == 1

        # The person refuses the release: it never runs, however the agent asks.
        r = apiops(served.env, "confirm", release["plan_id"], "--refuse")
        assert r.returncode == 5, r.stdout + r.stderr

        async def agent_again():
            async with Client(with_token(served.mcp), mode=mode, elicitation_callback=yes_to_everything) as client:
                r = await client.call_tool("execute_plan", {"plan_id": buy["plan_id"]})
                if mode == "legacy":
                    # A new session: plans are bound to the session that made them.
                    assert r.is_error and r.structured_content["error"]["kind"] == "unknown_plan", text(r)
                else:
                    # Stateless requests share one session: the confirmed plan is done, and
                    # executing it again reads the account and repeats nothing.
                    assert not r.is_error, text(r)
                    assert r.structured_content["status"] == "nothing_to_do", text(r)
                r = await client.call_tool("execute_plan", {"plan_id": release["plan_id"]})
                assert r.is_error

        anyio.run(agent_again)
        assert side_effects(sim).get("twilio.numbers.buy", 0) == 1
        assert side_effects(sim).get("twilio.numbers.release", 0) == 0
        no_secret(sim, served.stderr())


def test_allow_execute_covers_in_account_changes_only(sim, tmp_path):
    endpoints = json.loads(
        apiops(hermetic_env(sim, tmp_path, f"sqlite://{tmp_path}/x.db"), "stripe", "endpoints", "list", "--json").stdout
    )
    ids = [row[0] for row in endpoints["rows"] if row[0].startswith("we_") and row[1] == "enabled"]
    assert ids, endpoints
    owned = twilio_client(sim.env)[0].incoming_phone_numbers.list(limit=1)[0].phone_number
    refused = [
        "send a test message to +14155550199",
        f"set the sms url of {owned} to https://example.com/sms",
        f"send a test event to {ids[0]}",
        f"update stripe endpoint {ids[0]} url to https://example.com/hook",
        "test completion with gpt-4o-mini",
    ]

    async def agent(url, requests, expect_ran):
        async with Client(with_token(url), elicitation_callback=yes_to_everything) as client:
            for req in requests:
                r = await client.call_tool("plan_operation", {"request": req})
                assert not r.is_error, (req, text(r))
                r = await client.call_tool("execute_plan", {"plan_id": r.structured_content["plan_id"]})
                if expect_ran:
                    assert not r.is_error, (req, text(r))
                    assert r.structured_content["confirmed_via"] == "allow_execute"
                else:
                    assert r.is_error, (req, text(r))
                    err = r.structured_content["error"]
                    assert err["kind"] == "confirmation_required", (req, err)
                    assert "apiops confirm" in err["message"], err["message"]

    with serving(sim, tmp_path / "allow", "--mcp-allow-execute") as served:
        anyio.run(agent, served.mcp, refused, False)
        assert total(sim) == 0, f"--mcp-allow-execute let an agent act: {side_effects(sim)}"
        # An in-account, reversible change is what the flag is for.
        anyio.run(agent, served.mcp, [f"disable stripe endpoint {ids[0]}"], True)
        assert side_effects(sim).get("stripe.webhook_endpoints.update", 0) == 1
        r = apiops(served.env, "stripe", "endpoints", "enable", ids[0], "--yes")
        assert r.returncode == 0, r.stdout + r.stderr

    # A batch cap of 0: even that change needs a person.
    before = total(sim)
    with serving(sim, tmp_path / "cap", "--mcp-allow-execute", extra_env={"APIOPS_POLICY_BATCH_CAP": "0"}) as served:
        anyio.run(agent, served.mcp, [f"disable stripe endpoint {ids[0]}"], False)
    assert total(sim) == before


def test_racing_runners_of_one_plan_act_once(sim, tmp_path):
    rounds = 50
    with serving(sim, tmp_path) as served:

        async def plan_and_race(pool, i):
            to = f"+1415555{7000 + i:04d}"
            request = f"send a test message to {to}"
            async with Client(with_token(served.mcp), mode="legacy", elicitation_callback=yes_to_everything) as client:
                r = await client.call_tool("plan_operation", {"request": request})
                assert not r.is_error, text(r)
                plan_id = r.structured_content["plan_id"]
                r = await client.call_tool("execute_plan", {"plan_id": plan_id})
                assert r.is_error  # waits for a person
                loop_results = []
                # The person's confirm and a `do --yes` of the same request start together...
                futures = [
                    pool.submit(apiops, served.env, "confirm", plan_id, "--yes"),
                    pool.submit(apiops, served.env, "do", "--yes", request),
                ]
                # ...while the agent calls execute_plan twice at once.
                async with anyio.create_task_group() as tg:
                    for _ in range(2):
                        async def call():
                            loop_results.append(await client.call_tool("execute_plan", {"plan_id": plan_id}))
                        tg.start_soon(call)
                for f in futures:
                    done = f.result(timeout=120)
                    assert done.returncode == 0, done.stdout + done.stderr
            return to

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for i in range(rounds):
                anyio.run(plan_and_race, pool, i)
                sent = side_effects(sim).get("twilio.messages.create", 0)
                assert sent == i + 1, f"round {i}: {sent} messages for {i + 1} plans"

        events = apiops(served.env, "events", "--json", "--service", "twilio")
        assert events.returncode == 0, events.stderr
        sends = [json.loads(l) for l in events.stdout.splitlines() if l.strip()]
        sends = [e for e in sends if e.get("error_code") == "twilio.messages.send_test" and e.get("result") == "success"]
        assert len(sends) == rounds, f"{len(sends)} events for {rounds} messages"


def test_a_number_released_since_is_bought_again_and_the_output_says_why(sim, tmp_path):
    env = hermetic_env(sim, tmp_path, f"sqlite://{tmp_path}/apiops.db")
    r = apiops(env, "do", "--yes", "buy a phone number in 415")
    assert r.returncode == 0, r.stdout + r.stderr
    assert side_effects(sim).get("twilio.numbers.buy", 0) == 1
    number = re.search(r"bought (\+1415\d{7})", r.stdout).group(1)
    # The same request again: in place, read back from the account.
    r = apiops(env, "do", "--yes", "buy a phone number in 415")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "checked now" in r.stdout, r.stdout
    assert side_effects(sim).get("twilio.numbers.buy", 0) == 1

    # Released with the official Twilio SDK, as the Console or another tool would.
    client, _ = twilio_client(sim.env)
    [owned] = client.incoming_phone_numbers.list(phone_number=number)
    client.incoming_phone_numbers(owned.sid).delete()
    assert not client.incoming_phone_numbers.list(phone_number=number)

    r = apiops(env, "do", "--yes", "buy a phone number in 415")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no longer on the account" in r.stdout, r.stdout
    assert side_effects(sim).get("twilio.numbers.buy", 0) == 2, "exactly one new purchase"
    no_secret(sim, r.stdout, r.stderr)


MCP_TOKEN = "agent-own-mcp-token-9876543210"


def test_the_dashboard_decides_only_when_agents_hold_a_token_of_their_own(sim, tmp_path):
    """With --mcp-token the agent's credential opens /mcp only, and the person's dashboard
    session confirms (token + CSRF); with one shared token the page only lists."""

    async def agent(url, token):
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=300))
        async with Client(streamable_http_client(url, http_client=http), mode="legacy", elicitation_callback=yes_to_everything) as client:
            r = await client.call_tool("plan_operation", {"request": "buy a phone number in 415"})
            plan_id = r.structured_content["plan_id"]
            r = await client.call_tool("execute_plan", {"plan_id": plan_id})
            assert r.is_error and r.structured_content["error"]["kind"] == "confirmation_required"
            return plan_id

    def request(url, token=None, data=None, origin=None):
        req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        if origin:
            req.add_header("Origin", origin)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    # One token for people and agents: the page lists but does not decide.
    with serving(sim, tmp_path / "shared") as served:
        plan_id = anyio.run(agent, served.mcp, TOKEN)
        status, page = request(served.url + "/confirmations", TOKEN)
        assert status == 200 and plan_id in page
        assert 'name="csrf"' not in page and f"apiops confirm {plan_id}" in page
        status, _ = request(served.url + f"/confirmations/{plan_id}", TOKEN, b"csrf=x&decision=confirm")
        assert status == 403
    assert total(sim) == 0

    # The agents' own token: it opens /mcp, not the dashboard; the person's page decides.
    with serving(sim, tmp_path / "own", "--mcp-token", MCP_TOKEN) as served:
        plan_id = anyio.run(agent, served.mcp, MCP_TOKEN)
        status, _ = request(served.url + "/confirmations", MCP_TOKEN)
        assert status == 401, "an agent's token opened the people's page"
        status, page = request(served.url + "/confirmations", TOKEN)
        assert status == 200 and plan_id in page
        csrf = re.search(rf'action="/confirmations/{plan_id}".*?name="csrf" value="([0-9a-f]+)"', page, re.S).group(1)
        # A page on another site cannot make the person's browser decide.
        body = f"csrf={csrf}&decision=confirm".encode()
        status, _ = request(served.url + f"/confirmations/{plan_id}", TOKEN, body, origin="https://evil.example")
        assert status == 403
        assert total(sim) == 0
        status, done = request(served.url + f"/confirmations/{plan_id}", TOKEN, body)
        assert status == 200, done
        assert side_effects(sim).get("twilio.numbers.buy", 0) == 1
        status, _ = request(served.url + f"/confirmations/{plan_id}", TOKEN, body)
        assert status == 409
        assert side_effects(sim).get("twilio.numbers.buy", 0) == 1
        no_secret(sim, page, done, served.stderr())
