"""The official Python SDKs (twilio, stripe, openai from PyPI), pointed at `apiops sim`, list,
page and create against it without errors — the simulator speaks the providers' protocol as
their own clients understand it."""

import stripe
from openai import OpenAI
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient


class RewritingHttpClient(TwilioHttpClient):
    """Twilio's SDK has no base-URL option: rewrite its hosts to the simulator's prefixes."""

    def __init__(self, env):
        super().__init__()
        self.map = {
            "https://api.twilio.com": env["APIOPS_TWILIO_API_URL"],
            "https://monitor.twilio.com": env["APIOPS_TWILIO_MONITOR_URL"],
            "https://messaging.twilio.com": env["APIOPS_TWILIO_MESSAGING_URL"],
            "https://numbers.twilio.com": env["APIOPS_TWILIO_NUMBERS_URL"],
            "https://pricing.twilio.com": env["APIOPS_TWILIO_PRICING_URL"],
        }
        self.urls = []

    def request(self, method, url, *args, **kwargs):
        for real, local in self.map.items():
            if url.startswith(real):
                url = local + url[len(real) :]
                break
        self.urls.append(url)
        return super().request(method, url, *args, **kwargs)


def twilio_client(env):
    http = RewritingHttpClient(env)
    return TwilioClient(env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"], http_client=http), http


def test_twilio_sdk_lists_pages_and_creates(sim):
    client, http = twilio_client(sim.env)
    account = client.api.v2010.accounts(sim.env["TWILIO_ACCOUNT_SID"]).fetch()
    assert account.status == "active"
    assert client.balance.fetch().currency
    messages = list(client.messages.stream(page_size=1000))
    assert len(messages) == 3000, "every generated message, across pages"
    assert len({m.sid for m in messages}) == 3000
    assert sum(1 for u in http.urls if "Messages.json" in u) >= 3, "it paged"
    failed = [m for m in messages if m.status in ("failed", "undelivered")]
    assert failed and all(m.error_code for m in failed)
    # The status filter, served by the simulator, against the SDK's own reading of every call.
    failed_calls = {c.sid for c in client.calls.stream(status="failed", page_size=1000)}
    every_call = list(client.calls.stream(page_size=1000))
    assert failed_calls, "the simulator plants failed calls"
    assert failed_calls == {c.sid for c in every_call if c.status == "failed"}
    assert len(failed_calls) < len(every_call), "the filter filtered"
    numbers = client.incoming_phone_numbers.list()
    assert numbers
    available = client.available_phone_numbers("US").local.list(area_code=415, limit=5)
    assert available and all(a.phone_number.startswith("+1415") for a in available)
    bought = client.incoming_phone_numbers.create(phone_number=available[0].phone_number)
    assert bought.sid.startswith("PN")
    msg = client.messages.create(to="+14155550100", from_=numbers[0].phone_number, body="sdk test")
    assert msg.sid.startswith("SM") and msg.status in ("queued", "accepted")
    assert client.monitor.v1.alerts.list(limit=50)
    assert client.messaging.v1.services.list()
    prices = client.pricing.v1.phone_numbers.countries("US").fetch()
    assert prices.phone_number_prices


def test_stripe_sdk_lists_pages_and_updates(sim):
    client = stripe.StripeClient(sim.env["STRIPE_SECRET_KEY"], base_addresses={"api": sim.env["APIOPS_STRIPE_API_URL"]})
    assert client.v1.balance.retrieve().object == "balance"
    events = list(client.v1.events.list(params={"limit": 100}).auto_paging_iter())
    assert len(events) > 100, "auto-paging crossed pages"
    assert len({e.id for e in events}) == len(events)
    undelivered = list(client.v1.events.list(params={"delivery_success": False, "limit": 100}).auto_paging_iter())
    assert 0 < len(undelivered) < len(events)
    endpoints = client.v1.webhook_endpoints.list()
    assert endpoints.data
    updated = client.v1.webhook_endpoints.update(endpoints.data[0].id, params={"description": "sdk test"})
    assert updated.description == "sdk test"


def test_openai_sdk_lists_and_creates(sim):
    client = OpenAI(api_key=sim.env["OPENAI_API_KEY"], base_url=sim.env["OPENAI_BASE_URL"], max_retries=0)
    models = list(client.models.list())
    assert models
    model = next(m.id for m in models if "gpt" in m.id)
    done = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "ping"}], max_tokens=5)
    assert done.choices and done.usage.total_tokens > 0
    batches = list(client.batches.list(limit=5))
    assert any(b.status in ("failed", "expired") for b in batches)
    jobs = list(client.fine_tuning.jobs.list(limit=5))
    assert any(j.status == "failed" for j in jobs)
