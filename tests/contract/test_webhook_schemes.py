"""The committed webhook scheme vectors (tests/contract/vectors/schemes.json) are still what the
providers' own verifiers say: GitHub's @octokit/webhooks-methods, Slack's slack_sdk, Shopify's
documented check, standardwebhooks and svix.

crates/apiops-webhooks/tests/webhooks/scheme_vectors.rs runs our scheme verifier, our signer and
the receiver over the committed file; here the file is regenerated with the installed verifiers
and must equal the committed one, so both sides judge the same inputs. To accept a deliberate
change: .venv/bin/python tests/contract/gen_scheme_vectors.py
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_scheme_vectors as gen  # noqa: E402

COMMITTED = HERE / "vectors" / "schemes.json"


def committed() -> dict:
    return json.loads(COMMITTED.read_text())


def test_regenerated_vectors_equal_the_committed_ones(tmp_path):
    out = tmp_path / "schemes.json"
    assert gen.main(["gen", str(out)]) == 0, "a vector breaks the agreement policy (see stderr)"
    fresh = json.loads(out.read_text())
    old = committed()
    old_by_key = {(v["preset"], v["name"]): v for v in old["vectors"]}
    fresh_by_key = {(v["preset"], v["name"]): v for v in fresh["vectors"]}
    assert old_by_key.keys() == fresh_by_key.keys(), "vectors added or removed: regenerate the file"
    drift = [
        f"{k}: committed {old_by_key[k]['sdk']} now {v['sdk']}"
        for k, v in fresh_by_key.items()
        if v["sdk"] != old_by_key[k]["sdk"]
    ]
    assert not drift, "verifier verdicts changed:\n" + "\n".join(drift)
    changed = [k for k, v in fresh_by_key.items() if v != old_by_key[k]]
    assert not changed, f"vector inputs differ from the committed file: {changed}"


def test_the_documented_examples_hold():
    # GitHub's and Slack's published examples, through their own signers.
    assert gen.octokit([{"op": "sign", "secret": gen.GH_DOC_SECRET, "payload": gen.GH_DOC_BODY}]) == [gen.GH_DOC_SIG]
    assert gen.slack_sign(gen.SLACK_DOC_BODY, gen.SLACK_DOC_TS, gen.SLACK_DOC_SECRET) == gen.SLACK_DOC_SIG
    names = {(v["preset"], v["name"]) for v in committed()["vectors"]}
    assert ("github", "GitHub's documented example") in names
    assert ("slack", "Slack's documented example") in names


def test_every_preset_has_valid_forged_stale_and_replayed_cases():
    vectors = committed()["vectors"]
    assert not gen.policy_violations(committed())
    for preset in ("github", "slack", "shopify", "standard", "svix"):
        mine = [v for v in vectors if v["preset"] == preset]
        assert any(v["expected"] == "accept" and v["ours"] for v in mine), f"{preset}: no vector signed both ways"
        assert any(v["error"] == "mismatch" for v in mine), f"{preset}: no forged case"
        assert any(v["error"] == "missing_header" for v in mine), f"{preset}: no missing case"
        assert any(v["delivery"] == "duplicate" for v in mine), f"{preset}: no replay"
        if preset in ("slack", "standard", "svix"):
            assert any(v["error"] == "timestamp_outside_tolerance" for v in mine), f"{preset}: no stale case"
            assert any(v["replay_of"] and v["expected"] == "reject" for v in mine), f"{preset}: no stale replay"


def test_our_signed_vectors_are_accepted_by_theirs():
    # The Rust side signs each of these inputs into the very same headers; their verifier took them.
    for v in committed()["vectors"]:
        if v["ours"]:
            assert all(v["sdk"].values()), (v["preset"], v["name"])


def test_divergences_are_only_stricter():
    for v in committed()["vectors"]:
        if v["divergence"]:
            assert v["expected"] == "reject" and any(v["sdk"].values()), v["name"]
