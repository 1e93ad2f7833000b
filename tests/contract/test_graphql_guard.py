"""GraphQL mutations over MCP (issue 15), attacked through the official MCP Python SDK: a
GraphQL endpoint configured as `[apis.gh] graphql = URL` with a canary bearer token, served by a
loopback stub that counts the mutations it receives and echoes the token in its errors.

- Over `apiops serve`'s `/mcp` (with the dashboard token), with and without
  `--mcp-allow-execute`, an agent whose elicitation callback says yes to everything gets a plan
  for the mutation and a refusal from `execute_plan`: the stub receives no mutation.
- Over stdio (`apiops mcp`), with and without `--allow-execute`: without an elicitation
  callback, and with a person who declines, cancels or accepts with the box unticked, nothing is
  sent; under `--read-only` there is no `execute_plan`. The person's explicit yes sends it once,
  with the plan's idempotency key; the same plan again sends nothing.
- A query is answered at once with the data beside its errors; no tool result, error or log
  line holds the token.
"""

import json
import pathlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
import mcp.types as types

from conftest import apiops_bin
from served import start_serve

CANARY = "canary_graphql_contract_token_0123456789"
TOKEN = "graphql-guard-test-token-0123456789"
MUTATION = "mutation Star($id: ID!) { addStar(input: {starrableId: $id}) { clientMutationId } }"


class Stub:
    """A GraphQL endpoint on loopback: every request's query, token and idempotency key."""

    def __init__(self):
        self.seen = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                auth = self.headers.get("authorization", "")
                stub.seen.append((body.get("query", ""), auth, self.headers.get("idempotency-key")))
                if "mutation" in body.get("query", ""):
                    answer = {"data": {"addStar": {"clientMutationId": body.get("variables", {}).get("id")}}}
                else:
                    answer = {
                        "data": {"viewer": {"login": "octo"}, "secret": None},
                        "errors": [{"message": f"secret hidden from {auth}", "path": ["secret"]}],
                    }
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/graphql"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def mutations(self):
        return [(q, auth, key) for q, auth, key in self.seen if "mutation" in q]

    def stop(self):
        self.server.shutdown()


@pytest.fixture()
def stub():
    s = Stub()
    yield s
    s.stop()


def env_for(tmp: pathlib.Path, url: str) -> dict:
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "config.toml"
    config.write_text(f'[apis.gh]\ngraphql = "{url}"\nauth = {{ bearer_env = "GH_TOKEN" }}\n')
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
        "XDG_DATA_HOME": str(tmp / "xdg-data"),
        "APIOPS_CONFIG": str(config),
        "APIOPS_DATABASE_URL": f"sqlite://{tmp}/apiops.db",
        "GH_TOKEN": CANARY,
        "NO_COLOR": "1",
    }


def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "text", None) is not None)


def no_canary(*results):
    dump = json.dumps([[text(r), r.structured_content] for r in results])
    assert CANARY not in dump, "the token reached the client"


async def yes_to_everything(context, request):
    return types.ElicitResult(action="accept", content={"confirm": True})


async def plan_mutation(client):
    r = await client.call_tool("graphql_query", {"api": "gh", "query": MUTATION, "variables": {"id": "R_1"}})
    assert not r.is_error, text(r)
    plan = r.structured_content
    assert plan["plan_id"].startswith("plan_") and plan["trust"]["class"] == "person", plan
    assert plan["plan"]["operation"] == "mutation Star"
    assert plan["command"].startswith("apiops graphql gh --query @mutation.graphql --var id=R_1")
    return r, plan


@pytest.mark.parametrize("allow_execute", [False, True])
def test_over_http_an_agent_saying_yes_sends_no_mutation(stub, tmp_path, allow_execute):
    env = env_for(tmp_path, stub.url)
    # `serve` receives webhooks: it starts only with a secret to verify them by.
    env["STRIPE_WEBHOOK_SECRET"] = "whsec_graphql_guard_0123456789abcdef"
    flags = ["--mcp-allow-execute"] if allow_execute else []
    served = start_serve(env, tmp_path, "--reconcile-every", "0s", "--token", TOKEN, *flags)
    try:

        async def agent():
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx2.Timeout(30, read=120))
            async with Client(streamable_http_client(served.url + "/mcp", http_client=http), elicitation_callback=yes_to_everything) as client:
                query = await client.call_tool("graphql_query", {"api": "gh", "query": "{ viewer { login } secret }"})
                assert not query.is_error, text(query)
                assert query.structured_content["data"]["viewer"]["login"] == "octo"
                assert query.structured_content["partial"] is True
                assert query.structured_content["category"] == "bad_params"
                planned, plan = await plan_mutation(client)
                refusals = []
                for args in ({"plan_id": plan["plan_id"]}, {"plan_id": plan["plan_id"], "confirm": True}):
                    r = await client.call_tool("execute_plan", args)
                    assert r.is_error, text(r)
                    refusals.append(r)
                err = refusals[0].structured_content["error"]
                assert err["kind"] == "confirmation_required", err
                # Over HTTP it waits as a pending confirmation for a person: `apiops confirm`
                # (or the dashboard) is named, with the terminal command beside it.
                assert f"apiops confirm {plan['plan_id']}" in err["message"], err
                assert err["details"]["command"].startswith("apiops graphql gh"), err
                no_canary(query, planned, *refusals)

        anyio.run(agent)
        assert stub.mutations() == [], "an agent's yes sent a mutation"
        assert CANARY not in served.stderr()
    finally:
        served.stop()


@pytest.mark.parametrize("allow_execute", [False, True])
def test_over_stdio_only_the_persons_explicit_yes_sends_a_mutation_once(stub, tmp_path, allow_execute):
    env = env_for(tmp_path, stub.url)
    flags = ["--allow-execute"] if allow_execute else []
    answers = []

    async def person(context, request):
        action, content = answers.pop(0)
        return types.ElicitResult(action=action, content=content)

    def params(*args):
        return StdioServerParameters(command=apiops_bin(), args=["mcp", *args], env=env)

    async def main():
        # No way to ask the person: refused.
        async with Client(params(*flags)) as client:
            planned, plan = await plan_mutation(client)
            r = await client.call_tool("execute_plan", {"plan_id": plan["plan_id"]})
            assert r.is_error and r.structured_content["error"]["kind"] == "confirmation_required", text(r)
            no_canary(planned, r)
        # Read-only (which --allow-execute cannot go with): no execute_plan at all.
        async with Client(params("--read-only")) as client:
            planned, plan = await plan_mutation(client)
            with pytest.raises(MCPError, match="unknown tool: execute_plan"):
                await client.call_tool("execute_plan", {"plan_id": plan["plan_id"]})
        assert stub.mutations() == []

        async with Client(params(*flags), elicitation_callback=person) as client:
            planned, plan = await plan_mutation(client)
            key = plan["plan"]["idempotency"][1]
            for no in (("decline", None), ("cancel", None), ("accept", {"confirm": False})):
                answers.append(no)
                r = await client.call_tool("execute_plan", {"plan_id": plan["plan_id"]})
                assert r.is_error and r.structured_content["error"]["kind"] == "confirmation_required", (no, text(r))
            assert stub.mutations() == [], "sent without a yes"
            answers.append(("accept", {"confirm": True}))
            sent = await client.call_tool("execute_plan", {"plan_id": plan["plan_id"]})
            assert not sent.is_error, text(sent)
            assert sent.structured_content["status"] == "sent", sent.structured_content
            answers.append(("accept", {"confirm": True}))
            again = await client.call_tool("execute_plan", {"plan_id": plan["plan_id"]})
            assert not again.is_error, text(again)
            assert again.structured_content["status"] == "already_done", again.structured_content
            no_canary(planned, sent, again)
            assert [(a, k) for _, a, k in stub.mutations()] == [(f"Bearer {CANARY}", key)]

    anyio.run(main)
