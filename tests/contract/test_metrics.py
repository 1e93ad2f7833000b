"""`/metrics` of `apiops serve` parses with the official Prometheus client's text-format parser
(prometheus_client.parser — not ours), every family is named `apiops_...`, and after some
webhook traffic (new, duplicate and badly signed) the expected series are there."""

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import start_sim
from served import emit, get, hermetic_env, start_serve

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics")
    sim = start_sim("--messages", "300")
    env = hermetic_env(sim, tmp, f"sqlite://{tmp}/serve.db")
    s = start_serve(env, tmp, "--reconcile-every", "2s", "--token", TOKEN)
    try:
        for provider in ("stripe", "twilio", "openai"):
            emit(s, provider, count=30)
        yield s
    finally:
        s.stop()
        sim.proc.terminate()
        sim.proc.wait(timeout=10)


def scrape(served):
    status, headers, body = get(f"{served.url}/metrics", token=TOKEN)
    assert status == 200, body
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    return body


def samples(text):
    families = list(text_string_to_metric_families(text))
    return families, [s for f in families for s in f.samples]


def wait_for(served, pred, what, timeout=20.0):
    deadline = time.time() + timeout
    while True:
        text = scrape(served)
        families, ss = samples(text)
        if pred(ss):
            return families, ss
        if time.time() > deadline:
            pytest.fail(f"{what} never appeared in /metrics:\n{text}")
        time.sleep(0.5)


def test_metrics_need_the_token_when_one_is_set(served):
    status, headers, _ = get(f"{served.url}/metrics")
    assert status == 401
    assert "Bearer" in headers.get("www-authenticate", "")
    status, _, _ = get(f"{served.url}/metrics", token="not-the-token-0123456789")
    assert status == 401
    # The receivers' health probe stays open.
    status, _, _ = get(f"{served.url}/healthz")
    assert status == 200


def test_metrics_parse_and_every_series_is_apiops(served):
    families, ss = wait_for(
        served,
        lambda ss: any(s.name == "apiops_errors_total" for s in ss)
        and any(s.name == "apiops_http_requests_total" for s in ss),
        "processed failures and the reconciler's API requests",
    )
    assert families, "no metric family"
    for f in families:
        assert f.name.startswith("apiops_"), f.name
    helped = {f.name for f in families if f.documentation}
    for name in ["apiops_webhooks_received", "apiops_errors", "apiops_http_requests",
                 "apiops_store_commit_duration_seconds", "apiops_build_info"]:
        assert name in helped, f"{name} has no HELP"
    names = {s.name for s in ss}
    for want in [
        "apiops_build_info",
        "apiops_webhooks_received_total",
        "apiops_webhooks_rejected_total",
        "apiops_webhooks_in_flight",
        "apiops_webhook_request_duration_seconds_bucket",
        "apiops_store_commit_duration_seconds_bucket",
        "apiops_store_commit_duration_seconds_count",
        "apiops_store_commit_batch_size_bucket",
        "apiops_errors_total",
        "apiops_http_requests_total",
        "apiops_http_request_duration_seconds_bucket",
        "apiops_breaker_open",
    ]:
        assert want in names, f"{want} missing; have {sorted(names)}"

    def value(name, **labels):
        return sum(
            s.value
            for s in ss
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    for provider in ("stripe", "twilio", "openai"):
        assert value("apiops_webhooks_received_total", provider=provider, outcome="new") > 0
        assert value("apiops_webhooks_received_total", provider=provider, outcome="duplicate") > 0
        assert value("apiops_webhooks_rejected_total", provider=provider, reason="bad_signature") > 0
    # 90 requests were sent, 10 % badly signed: every one is counted once.
    received = value("apiops_webhooks_received_total")
    rejected = value("apiops_webhooks_rejected_total")
    assert received + rejected == 90, (received, rejected)
    # Histograms are real histograms: cumulative buckets ending in +Inf == count.
    inf = value("apiops_store_commit_duration_seconds_bucket", le="+Inf")
    assert inf == value("apiops_store_commit_duration_seconds_count") > 0
    batch_events = value("apiops_store_commit_batch_size_sum")
    assert batch_events == received, "every stored webhook went through a group commit"
    # Errors by category and code, with bounded labels.
    errs = [s for s in ss if s.name == "apiops_errors_total"]
    assert all({"service", "category", "code"} <= set(s.labels) for s in errs)
    assert {s.labels["category"] for s in errs} <= {
        "auth", "config", "rate_limit", "carrier", "spam_blocked", "bad_params", "transient",
    }
    for s in (s for s in ss if s.name == "apiops_http_requests_total"):
        assert s.labels["client"] and s.labels["status"], s
