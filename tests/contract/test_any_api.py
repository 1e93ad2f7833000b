"""Any API from its OpenAPI document (issue 15): apiops configured with nothing but
`[apis.NAME]` tables, against Stoplight Prism serving the real published documents of two APIs
apiops has no code for:

- PayPal catalog products and webhooks (../shared/specs/paypal): OAuth2 client credentials,
  `page`/`page_size` paging with HATEOAS `links[{rel: "next"}]`, `PayPal-Request-Id` as the
  idempotency header;
- GitHub REST (the ~13 MB description of the npm package `@octokit/openapi`): bearer token,
  `Link: <...>; rel="next"` paging, operationIds with slashes.

Every request goes through a small loopback front that records it and forwards it to Prism,
which refuses (422, and logs) any request that violates the document. The front adds what
Prism cannot: the OAuth2 token endpoint PayPal's document names (a relative `tokenUrl` with no
path in the document), and the pages of the paged listings (Prism answers one static example;
the front answers pages shaped like it, PayPal's checked against the document's schema, with
the next link in the body or in a `Link` header). A cassette recorded from GitHub replays with
no request sent. Bad input (an unknown operation, a parameter
of the wrong type, a body missing a required property, a 50 MB document, a `$ref` cycle, a
`$ref` to another file, a document that does not parse) is refused with exit 2 or 7 and sends
no request at all.
"""

import base64
import http.server
import json
import os
import pathlib
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from openapi_schema_validator import OAS30Validator

from conftest import ROOT, SHARED
from test_provider_requests import Prism, prism_refusals, require_prism, run_apiops

GITHUB_SPEC = ROOT / ".tools" / "node_modules" / "@octokit" / "openapi" / "generated" / "api.github.com.json"
PAYPAL = SHARED / "specs" / "paypal"
CLIENT_ID = "AZ_canary_client_id_0123456789"
CLIENT_SECRET = "EK_canary_client_secret_0123456789"
GITHUB_TOKEN = "ghp_canary_token_0123456789abcdef"
ACCESS_TOKEN = "A21AA_canary_access_token_0123456789"
PAYPAL_PRODUCTS = 5


class Front(http.server.ThreadingHTTPServer):
    """Records every request and forwards it to Prism; answers the token endpoint and the
    pages of the paged listings itself (after Prism has validated the request)."""

    def __init__(self, upstream, handler=None):
        super().__init__(("127.0.0.1", 0), handler or FrontHandler)
        self.upstream = upstream
        self.seen = []
        self.tokens = []
        self.lock = threading.Lock()
        self.products_schema = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class FrontHandler(http.server.BaseHTTPRequestHandler):
    def _handle(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        url = urllib.parse.urlsplit(self.path)
        if self.command == "POST" and url.path == "/v1/oauth2/token":
            with self.server.lock:
                self.server.tokens.append({"headers": headers, "body": body.decode()})
            return self._answer(200, {}, json.dumps({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 32400}).encode())
        with self.server.lock:
            self.server.seen.append({"method": self.command, "path": url.path, "query": url.query, "headers": headers, "body": body.decode()})
        status, answer_headers, data = self._forward(body)
        if status == 200 and self.command == "GET":
            answer_headers, data = self._paged(url.path, dict(urllib.parse.parse_qsl(url.query)), answer_headers, data)
        self._answer(status, dict(answer_headers), data)

    def _paged(self, path, query, answer_headers, data):
        """A validated GET's answer, with the front's own pages where the listing is paged."""
        if path == "/v1/catalogs/products":
            data = json.dumps(self._paypal_page(query)).encode()
        elif path.startswith("/orgs/") and path.endswith("/repos"):
            data, link = self._github_page(json.loads(data), path, query)
            # Prism sends the document's example Link header (to api.github.com): the pages are
            # the front's, and so is their Link.
            answer_headers = [(k, v) for k, v in answer_headers if k.lower() != "link"]
            if link:
                answer_headers.append(("Link", link))
        return answer_headers, data

    def _forward(self, body):
        req = urllib.request.Request(self.server.upstream + self.path, data=body or None, method=self.command)
        for k, v in self.headers.items():
            if k.lower() not in ("host", "content-length"):
                req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, list(r.headers.items()), r.read()
        except urllib.error.HTTPError as e:
            return e.code, list(e.headers.items()), e.read()

    def _paypal_page(self, query):
        page, size = int(query.get("page", 1)), int(query.get("page_size", 10))
        pages = -(-PAYPAL_PRODUCTS // size)
        first = (page - 1) * size
        products = [{"id": f"PROD-{i:04d}", "name": f"Product {i}", "description": "d", "create_time": "2026-01-01T00:00:00Z",
                     "links": [{"href": f"/v1/catalogs/products/PROD-{i:04d}", "rel": "self", "method": "GET"}]}
                    for i in range(first + 1, min(first + size, PAYPAL_PRODUCTS) + 1)]
        links = [{"href": f"/v1/catalogs/products?page={page}&page_size={size}", "rel": "self", "method": "GET"}]
        if page < pages:
            links.append({"href": f"/v1/catalogs/products?page={page + 1}&page_size={size}", "rel": "next", "method": "GET"})
        answer = {"products": products, "total_items": PAYPAL_PRODUCTS, "total_pages": pages, "links": links}
        # The page is what the published document says a page is.
        OAS30Validator(self.server.products_schema).validate(answer)
        return answer

    def _github_page(self, example, path, query):
        page, per_page = int(query.get("page", 1)), int(query.get("per_page", 30))
        template = example[0]
        items = [dict(template, id=page * 100 + i, name=f"repo-{page}-{i}") for i in range(per_page)]
        link = None
        if page < 3:
            nxt = urllib.parse.urlencode(dict(query, page=page + 1))
            link = f'<{self.server.url}{path}?{nxt}>; rel="next", <{self.server.url}{path}?page=3>; rel="last"'
        return json.dumps(items).encode(), link

    def _answer(self, status, headers, data):
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, *args):
        pass


def resolve_schema(spec, schema, depth=0):
    """The schema with its local references inlined (for the validator)."""
    if depth > 20:
        return schema
    if isinstance(schema, dict):
        if "$ref" in schema:
            target = spec
            for part in schema["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolve_schema(spec, target, depth + 1)
        return {k: resolve_schema(spec, v, depth + 1) for k, v in schema.items()}
    if isinstance(schema, list):
        return [resolve_schema(spec, v, depth + 1) for v in schema]
    return schema


@pytest.fixture(scope="module")
def apis(tmp_path_factory):
    require_prism()
    if not GITHUB_SPEC.exists():
        pytest.fail(f"{GITHUB_SPEC} is missing: run scripts/contract.sh, which installs @octokit/openapi")
    tmp = tmp_path_factory.mktemp("any-api")
    prisms = {
        "paypal": Prism(str(PAYPAL / "catalogs_products_v1.json"), tmp / "prism-paypal.log"),
        "ppwh": Prism(str(PAYPAL / "notifications_webhooks_v1.json"), tmp / "prism-ppwh.log"),
        "gh": Prism(str(GITHUB_SPEC), tmp / "prism-gh.log"),
    }
    fronts = {}
    try:
        for name, p in prisms.items():
            p.wait(timeout=240)
            front = Front(p.url)
            threading.Thread(target=front.serve_forever, daemon=True).start()
            fronts[name] = front
        spec = json.loads((PAYPAL / "catalogs_products_v1.json").read_text())
        fronts["paypal"].products_schema = resolve_schema(
            spec, spec["paths"]["/v1/catalogs/products"]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
        (tmp / "specs").mkdir()
        config = tmp / "config.toml"
        oauth = '{ oauth2 = { token_url = "/v1/oauth2/token", client_id_env = "PAYPAL_CLIENT_ID", client_secret_env = "PAYPAL_CLIENT_SECRET" } }'
        config.write_text(f"""
[apis.paypal]
spec = "{PAYPAL / 'catalogs_products_v1.json'}"
base_url = "{fronts['paypal'].url}"
idempotency_header = "PayPal-Request-Id"
health = "products.list"
auth = {oauth}

[apis.ppwh]
spec = "{PAYPAL / 'notifications_webhooks_v1.json'}"
base_url = "{fronts['ppwh'].url}"
auth = {oauth}

[apis.gh]
spec = "{GITHUB_SPEC}"
base_url = "{fronts['gh'].url}"
auth = {{ bearer_env = "GITHUB_TOKEN" }}
health = "meta/root"
version = {{ header = "X-GitHub-Api-Version", value = "2022-11-28" }}

[apis.broken]
spec = "specs/broken.json"
base_url = "{fronts['gh'].url}"
""")
        env = {
            "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "xdg-config"), "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
            "XDG_DATA_HOME": str(tmp / "xdg-data"), "NO_COLOR": "1", "APIOPS_CONFIG": str(config),
            "PAYPAL_CLIENT_ID": CLIENT_ID, "PAYPAL_CLIENT_SECRET": CLIENT_SECRET, "GITHUB_TOKEN": GITHUB_TOKEN,
        }
        yield {"env": env, "fronts": fronts, "prisms": prisms, "tmp": tmp}
    finally:
        for front in fronts.values():
            front.shutdown()
        logs = {name: p.stop() for name, p in prisms.items()}
    for name, log in logs.items():
        assert not prism_refusals(log), f"Prism refused apiops' requests to {name}: {prism_refusals(log)[:5]}"


def apiops(apis, *args):
    return run_apiops(dict(apis["env"]), *args)


def no_secret_in(*texts):
    for text in texts:
        for secret in (CLIENT_ID, CLIENT_SECRET, GITHUB_TOKEN, ACCESS_TOKEN):
            assert secret not in text, f"a secret was printed: {text[:500]}"


def gated_write_sends_once(front, run, api, operation, body, header):
    """A write through `apiops call`: refused without a yes (exit 5), its dry run shows the
    declared idempotency `header` with a key and sends nothing, and `--yes` sends it once with
    that key. `run(*args)` runs apiops against `front`. Returns the request sent and the
    `--yes` result."""
    before = len(front.seen)
    r = run("call", api, operation, "--body", body)
    assert r.returncode == 5, (r.returncode, r.stdout, r.stderr)
    r = run("call", api, operation, "--body", body, "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    declared, key = json.loads(r.stdout)["plan"]["idempotency"]
    assert declared == header and key.startswith("apiops-")
    assert len(front.seen) == before, "neither a refused nor a dry run sends anything"
    r = run("call", api, operation, "--body", body, "--yes", "--json")
    assert r.returncode == 0, r.stderr
    sent = [s for s in front.seen[before:] if s["method"] == "POST"]
    assert len(sent) == 1 and sent[0]["headers"][header.lower()] == key
    return sent[0], r


def test_listing_apis_and_operations(apis):
    r = apiops(apis, "api", "list", "--json")
    assert r.returncode == 0, r.stderr
    rows = {a["name"]: a for a in json.loads(r.stdout)["apis"]}
    assert rows["paypal"]["operations"] == 4 and rows["paypal"]["auth"] == "oauth2" and rows["paypal"]["ready"]
    assert rows["gh"]["operations"] > 900 and rows["gh"]["openapi"].startswith("3.0")
    r = apiops(apis, "api", "ops", "gh", "list", "organization", "repositories", "--json")
    assert r.returncode == 0, r.stderr
    ops = {o["id"]: o for o in json.loads(r.stdout)["operations"]}
    assert ops["repos/list-for-org"]["class"] == "read" and ops["repos/list-for-org"]["paging"]["page_param"] == "page"
    r = apiops(apis, "api", "ops", "paypal")
    assert r.returncode == 0 and "products.create" in r.stdout and "write" in r.stdout, r.stdout
    r = apiops(apis, "creds")
    assert "api paypal" in r.stdout and "PAYPAL_CLIENT_SECRET" in r.stdout, r.stdout
    no_secret_in(r.stdout, r.stderr)


def test_paypal_reads_with_oauth2_client_credentials(apis):
    front = apis["fronts"]["paypal"]
    before = len(front.tokens)
    r = apiops(apis, "call", "paypal", "products.get", "-p", "product_id=PROD-0001", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == 200
    token = front.tokens[before]
    assert "grant_type=client_credentials" in token["body"]
    basic = base64.b64decode(token["headers"]["authorization"].split(" ", 1)[1]).decode()
    assert basic == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert front.seen[-1]["headers"]["authorization"] == f"Bearer {ACCESS_TOKEN}"
    no_secret_in(r.stdout, r.stderr)


def test_paypal_all_follows_hateoas_links(apis):
    front = apis["fronts"]["paypal"]
    before = len(front.seen)
    r = apiops(apis, "call", "paypal", "products.list", "-p", "page_size=2", "--all")
    assert r.returncode == 0, r.stderr
    items = [json.loads(line) for line in r.stdout.splitlines()]
    assert [i["id"] for i in items] == [f"PROD-{i:04d}" for i in range(1, PAYPAL_PRODUCTS + 1)]
    pages = [s for s in front.seen[before:] if s["path"] == "/v1/catalogs/products"]
    assert len(pages) == 3


def test_paypal_write_is_gated_and_carries_its_idempotency_key(apis):
    body = json.dumps({"name": "Video Streaming Service", "type": "SERVICE"})
    _, r = gated_write_sends_once(apis["fronts"]["paypal"], lambda *a: apiops(apis, *a), "paypal",
                                  "products.create", body, "PayPal-Request-Id")
    assert json.loads(r.stdout)["answer"]["status"] in (200, 201)


def test_a_delete_needs_a_person(apis):
    front = apis["fronts"]["ppwh"]
    before = len(front.seen)
    r = apiops(apis, "call", "ppwh", "webhooks.delete", "-p", "webhook_id=WH-1")
    assert r.returncode == 5 and "only a person" in r.stderr, (r.stdout, r.stderr)
    assert len(front.seen) == before
    r = apiops(apis, "call", "ppwh", "webhooks.delete", "-p", "webhook_id=WH-1", "--yes")
    assert r.returncode == 0, r.stderr
    assert front.seen[-1]["method"] == "DELETE"


def test_github_reads_and_all_follows_link_headers(apis):
    front = apis["fronts"]["gh"]
    r = apiops(apis, "call", "gh", "repos/get", "-p", "owner=octocat", "-p", "repo=hello-world", "--json")
    assert r.returncode == 0, r.stderr
    seen = front.seen[-1]
    assert seen["headers"]["authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert seen["headers"]["x-github-api-version"] == "2022-11-28"
    before = len(front.seen)
    r = apiops(apis, "call", "gh", "GET /orgs/{org}/repos", "-p", "org=octo", "-p", "per_page=4", "--all")
    assert r.returncode == 0, r.stderr
    items = [json.loads(line) for line in r.stdout.splitlines()]
    assert [i["id"] for i in items] == [p * 100 + i for p in (1, 2, 3) for i in range(4)]
    assert len(front.seen) - before == 3
    no_secret_in(r.stdout, r.stderr)


def test_github_write_and_health(apis):
    r = apiops(apis, "call", "gh", "issues/create", "-p", "owner=octocat", "-p", "repo=hello-world",
               "--body", json.dumps({"title": "Found a bug"}), "--yes", "--json")
    assert r.returncode == 0, r.stderr
    assert "idempotency" not in json.loads(r.stdout)["plan"], "GitHub declares no idempotency header"
    r = apiops(apis, "api", "health", "gh", "--json")
    assert r.returncode == 0, r.stderr
    health = json.loads(r.stdout)
    assert health["status"] == "ok" and health["operation"] == "meta/root" and health["latency_ms"] >= 0
    r = apiops(apis, "api", "health", "paypal")
    assert r.returncode == 0, r.stderr


BAD_SPECS = {
    "cycle": ('{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{},'
              '"components":{"schemas":{"A":{"$ref":"#/components/schemas/B"},"B":{"$ref":"#/components/schemas/A"}}}}', "$ref cycle"),
    "external": ('{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/x":{"get":{"parameters":[{"$ref":"common.yaml#/p"}]}}}}',
                 "#/paths/~1x/get/parameters/0/$ref"),
    "garbage": ("{ this is not json", "does not parse"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_documents_are_config_errors_and_send_nothing(apis, case):
    text, message = BAD_SPECS[case]
    (apis["tmp"] / "specs" / "broken.json").write_text(text)
    before = len(apis["fronts"]["gh"].seen)
    r = apiops(apis, "call", "broken", "x")
    assert r.returncode == 7, (r.returncode, r.stderr)
    assert message in r.stderr and "broken.json" in r.stderr, r.stderr
    assert len(apis["fronts"]["gh"].seen) == before


def test_a_50_mb_document_is_refused_before_parsing(apis):
    path = apis["tmp"] / "specs" / "broken.json"
    with open(path, "wb") as f:
        f.truncate(50 * 1024 * 1024)
    r = apiops(apis, "api", "ops", "broken")
    assert r.returncode == 7 and "over the limit" in r.stderr, r.stderr


def test_bad_calls_are_usage_errors_and_send_nothing(apis):
    cases = [
        (["call", "gh", "repos/nope"], "no operation"),
        (["call", "gh", "repos/list-for-org", "-p", "org=o", "-p", "per_page=many"], "per_page"),
        (["call", "gh", "repos/list-for-org"], "\"org\" (path)"),
        (["call", "paypal", "products.create", "--body", '{"type": "SERVICE"}', "--yes"], "/name"),
        (["call", "paypal", "products.list", "-p", "colour=red"], "colour"),
        (["call", "nope", "x"], "no API"),
    ]
    before = {n: len(f.seen) for n, f in apis["fronts"].items()}
    for args, message in cases:
        r = apiops(apis, *args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert message in r.stderr, (args, r.stderr)
    assert {n: len(f.seen) for n, f in apis["fronts"].items()} == before


def test_a_github_cassette_replays_with_no_network(apis):
    front = apis["fronts"]["gh"]
    cassette = str(apis["tmp"] / "gh.cassette.json")
    args = ["call", "gh", "repos/list-for-org", "-p", "org=octo", "-p", "per_page=3", "--all"]
    recorded = apiops(apis, *args, "--record", cassette)
    assert recorded.returncode == 0, recorded.stderr
    before = len(front.seen)
    replayed = apiops(apis, *args, "--replay", cassette)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == recorded.stdout and len(replayed.stdout.splitlines()) == 9
    assert len(front.seen) == before, "the replay sent nothing"
    no_secret_in(pathlib.Path(cassette).read_text())
