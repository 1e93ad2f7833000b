"""Any API from its OpenAPI document (issue 15), the third style: cursor `after` + `has_more`.

Resend's published document (a verbatim subset of `resend.yaml` in `specs/resend/`, MIT; see
`specs/resend/SOURCE.md`): OpenAPI 3.1 in YAML, bearer auth, operations with no
`operationId` (called as `"METHOD /path"`), `limit`/`after` cursor paging where a page says
`has_more` and the next one starts after the last item's id, and an `Idempotency-Key` header
declared on `POST /emails`. apiops has no code for Resend: it is configured with one
`[apis.mail]` table.

As in `test_any_api.py`, a loopback front records every request and forwards it to Prism, which
refuses (422, and logs) any request that violates the document; the front answers the pages of
the paged listing itself (Prism answers one static example), each page checked against the
document's own schema for the listing.
"""

import json
import pathlib
import threading
import uuid

import pytest
from openapi_schema_validator import OAS31Validator

from conftest import ROOT
from test_any_api import Front, FrontHandler, gated_write_sends_once, resolve_schema
from test_provider_requests import Prism, prism_refusals, require_prism, run_apiops

RESEND_SPEC = ROOT / "tests" / "contract" / "specs" / "resend" / "resend.subset.yaml"
RESEND_KEY = "re_canary_key_0123456789abcdef"
API_KEYS = 7


def key_id(i):
    """The id of the front's i-th API key (uuid-shaped, as Resend's are)."""
    return str(uuid.UUID(int=i))


class ResendHandler(FrontHandler):
    def _paged(self, path, query, answer_headers, data):
        if path != "/api-keys":
            return answer_headers, data
        limit = int(query.get("limit", 20))
        after = query.get("after")
        ids = [key_id(i) for i in range(1, API_KEYS + 1)]
        first = ids.index(after) + 1 if after else 0
        page = [{"id": k, "name": f"key {k[-2:]}", "created_at": "2026-01-01T00:00:00.000Z"} for k in ids[first:first + limit]]
        answer = {"object": "list", "has_more": first + limit < len(ids), "data": page}
        # The page is what the published document says a page of this listing is.
        OAS31Validator(self.server.list_schema).validate(answer)
        return answer_headers, json.dumps(answer).encode()


@pytest.fixture(scope="module")
def mail(tmp_path_factory):
    require_prism()
    import yaml

    tmp = tmp_path_factory.mktemp("any-api-cursor")
    prism = Prism(str(RESEND_SPEC), tmp / "prism-resend.log")
    front = None
    try:
        prism.wait(timeout=240)
        front = Front(prism.url, ResendHandler)
        spec = yaml.safe_load(RESEND_SPEC.read_text())
        front.list_schema = resolve_schema(
            spec, spec["paths"]["/api-keys"]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
        threading.Thread(target=front.serve_forever, daemon=True).start()
        config = tmp / "config.toml"
        config.write_text(f"""
[apis.mail]
spec = "{RESEND_SPEC}"
base_url = "{front.url}"
auth = {{ bearer_env = "RESEND_API_KEY" }}
health = "GET /domains"
""")
        env = {
            "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "xdg-config"), "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
            "XDG_DATA_HOME": str(tmp / "xdg-data"), "NO_COLOR": "1", "APIOPS_CONFIG": str(config),
            "RESEND_API_KEY": RESEND_KEY,
        }
        yield {"env": env, "front": front, "tmp": tmp}
    finally:
        if front is not None:
            front.shutdown()
        log = prism.stop()
    assert not prism_refusals(log), f"Prism refused apiops' requests: {prism_refusals(log)[:5]}"


def apiops(mail, *args):
    return run_apiops(dict(mail["env"]), *args)


def no_secret_in(*texts):
    for text in texts:
        assert RESEND_KEY not in text, f"the key was printed: {text[:500]}"


def test_operations_of_a_yaml_31_document_without_operation_ids(mail):
    r = apiops(mail, "api", "list", "--json")
    assert r.returncode == 0, r.stderr
    row = {a["name"]: a for a in json.loads(r.stdout)["apis"]}["mail"]
    assert row["operations"] == 10 and row["auth"] == "bearer" and row["ready"], row
    assert row["openapi"].startswith("3.1"), row
    r = apiops(mail, "api", "ops", "mail", "--json")
    assert r.returncode == 0, r.stderr
    ops = {(o["method"], o["path"]): o for o in json.loads(r.stdout)["operations"]}
    listing = ops[("GET", "/api-keys")]
    assert listing["class"] == "read" and listing["paging"] is not None, listing
    assert ops[("POST", "/emails")]["class"] == "write"
    assert ops[("DELETE", "/domains/{domain_id}")]["class"] != "read"
    no_secret_in(r.stdout, r.stderr)


def test_a_read_sends_the_bearer_key(mail):
    front = mail["front"]
    r = apiops(mail, "call", "mail", "GET /domains/{domain_id}", "-p", "domain_id=d91cd9bd-1176-453e-8fc1-35364d380206", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == 200
    seen = front.seen[-1]
    assert seen["path"] == "/domains/d91cd9bd-1176-453e-8fc1-35364d380206"
    assert seen["headers"]["authorization"] == f"Bearer {RESEND_KEY}"
    no_secret_in(r.stdout, r.stderr)


def test_all_follows_has_more_with_the_last_id_as_after(mail):
    front = mail["front"]
    before = len(front.seen)
    r = apiops(mail, "call", "mail", "GET /api-keys", "-p", "limit=3", "--all")
    assert r.returncode == 0, r.stderr
    items = [json.loads(line) for line in r.stdout.splitlines()]
    assert [i["id"] for i in items] == [key_id(i) for i in range(1, API_KEYS + 1)]
    pages = [s for s in front.seen[before:] if s["path"] == "/api-keys"]
    assert [s["query"] for s in pages] == [
        "limit=3", f"limit=3&after={key_id(3)}", f"limit=3&after={key_id(6)}"], pages
    no_secret_in(r.stdout, r.stderr)


def test_a_send_is_gated_and_carries_the_declared_idempotency_key(mail):
    front = mail["front"]
    body = json.dumps({"from": "Acme <onboarding@resend.dev>", "to": ["delivered@resend.dev"], "subject": "hello world",
                       "html": "<p>it works!</p>"})
    sent, r = gated_write_sends_once(front, lambda *a: apiops(mail, *a), "mail", "POST /emails", body,
                                     "Idempotency-Key")
    assert json.loads(sent["body"])["subject"] == "hello world"
    no_secret_in(r.stdout, r.stderr)


def test_a_delete_needs_a_person_and_health_reads_the_cheap_listing(mail):
    front = mail["front"]
    before = len(front.seen)
    r = apiops(mail, "call", "mail", "DELETE /domains/{domain_id}", "-p", "domain_id=d91cd9bd-1176-453e-8fc1-35364d380206")
    assert r.returncode == 5 and "only a person" in r.stderr, (r.stdout, r.stderr)
    assert len(front.seen) == before
    r = apiops(mail, "api", "health", "mail", "--json")
    assert r.returncode == 0, r.stderr
    health = json.loads(r.stdout)
    assert health["status"] == "ok" and health["operation"] == "GET /domains", health
    assert front.seen[-1]["path"] == "/domains"


def test_bad_calls_are_usage_errors_and_send_nothing(mail):
    cases = [
        (["call", "mail", "GET /nope"], "no operation"),
        (["call", "mail", "GET /api-keys", "-p", "limit=many"], "limit"),
        (["call", "mail", "POST /emails", "--body", json.dumps({"from": "a@b.c", "subject": "s"}), "--yes"], "/to"),
        (["call", "mail", "GET /domains/{domain_id}"], "\"domain_id\" (path)"),
    ]
    before = len(mail["front"].seen)
    for args, message in cases:
        r = apiops(mail, *args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert message in r.stderr, (args, r.stderr)
    assert len(mail["front"].seen) == before


def test_a_cassette_of_the_cursor_listing_replays_with_no_network(mail):
    front = mail["front"]
    cassette = str(mail["tmp"] / "mail.cassette.json")
    args = ["call", "mail", "GET /api-keys", "-p", "limit=4", "--all"]
    recorded = apiops(mail, *args, "--record", cassette)
    assert recorded.returncode == 0, recorded.stderr
    before = len(front.seen)
    replayed = apiops(mail, *args, "--replay", cassette)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == recorded.stdout and len(replayed.stdout.splitlines()) == API_KEYS
    assert len(front.seen) == before, "the replay sent nothing"
    no_secret_in(pathlib.Path(cassette).read_text())


def test_plain_words_map_onto_a_summary_of_an_operation_without_an_id(mail):
    front = mail["front"]
    before = len(front.seen)
    r = apiops(mail, "do", "list domains on mail", "--json")
    assert r.returncode == 0, (r.stdout, r.stderr)
    sent = front.seen[before:]
    assert [(s["method"], s["path"]) for s in sent] == [("GET", "/domains")], sent
    # Words that fit several operations list them and send nothing.
    before = len(front.seen)
    r = apiops(mail, "do", "remove on mail")
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "DELETE /domains/{domain_id}" in r.stdout + r.stderr and "DELETE /api-keys/{api_key_id}" in r.stdout + r.stderr
    assert len(front.seen) == before

