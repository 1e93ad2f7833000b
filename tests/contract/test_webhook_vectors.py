"""The committed webhook signature vectors (tests/contract/vectors/webhooks.json) are still what
the official SDKs say.

crates/apiops-webhooks/tests/vectors.rs runs our verifiers over the committed file; here the
file is regenerated with the installed SDKs (stripe, twilio, openai, standardwebhooks) and must
equal the committed one, so both sides judge the same inputs and an SDK whose verdict changed is
caught. To accept a deliberate change: .venv/bin/python tests/contract/gen_webhook_vectors.py
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

try:
    import gen_webhook_vectors as gen
except ImportError as e:  # a .venv made before standardwebhooks joined requirements.txt
    raise ImportError(f"{e}: run .venv/bin/pip install -r tests/contract/requirements.txt") from e

COMMITTED = HERE / "vectors" / "webhooks.json"


def committed() -> dict:
    return json.loads(COMMITTED.read_text())


def test_regenerated_vectors_equal_the_committed_ones(tmp_path):
    out = tmp_path / "webhooks.json"
    assert gen.main(["gen", str(out)]) == 0, "a vector breaks the agreement policy (see stderr)"
    fresh = json.loads(out.read_text())
    old = committed()
    assert (fresh["now"], fresh["tolerance_secs"]) == (old["now"], old["tolerance_secs"])
    old_by_key = {(v["scheme"], v["name"]): v for v in old["vectors"]}
    fresh_by_key = {(v["scheme"], v["name"]): v for v in fresh["vectors"]}
    assert old_by_key.keys() == fresh_by_key.keys(), "vectors added or removed: regenerate the file"
    drift = [
        f"{k}: committed sdk={old_by_key[k]['sdk']} now sdk={v['sdk']}"
        for k, v in fresh_by_key.items()
        if v["sdk"] != old_by_key[k]["sdk"]
    ]
    assert not drift, "SDK verdicts changed:\n" + "\n".join(drift)
    # Inputs too: the Rust side must judge exactly what the SDKs judged.
    changed = [k for k, v in fresh_by_key.items() if v != old_by_key[k]]
    assert not changed, f"vector inputs differ from the committed file: {changed}"


def test_committed_vectors_cover_every_scheme_and_case():
    doc = committed()
    vectors = doc["vectors"]
    assert len(vectors) >= 30
    assert not gen.policy_violations(doc)
    names = {(v["scheme"], v["name"]) for v in vectors}
    for scheme in ("stripe", "twilio", "twilio_json", "standard"):
        mine = [v for v in vectors if v["scheme"] == scheme]
        assert any(v["expected"] == "accept" for v in mine), scheme
        assert any(v["expected"] == "reject" for v in mine), scheme
    # The cases the brief names, by scheme.
    for key in [
        ("stripe", "wrong secret"),
        ("stripe", "tampered body"),
        ("stripe", "one second beyond tolerance, past"),
        ("stripe", "one second beyond tolerance, future"),
        ("stripe", "rotation: old signature, both secrets configured"),
        ("twilio", "port: URL without port, signed with :443"),
        ("twilio", "port: URL with :443, signed without port"),
        ("twilio", "repeated params"),
        ("twilio_json", "tampered body"),
        ("standard", "one second beyond tolerance, future"),
        ("standard", "rotation: two entries, second matches"),
        ("standard", "short-signature trap: v1, alone"),
        ("standard", "short-signature trap: truncated signature"),
    ]:
        assert key in names, key


def test_divergences_are_only_stricter():
    for v in committed()["vectors"]:
        if v["divergence"]:
            assert v["expected"] == "reject" and any(v["sdk"].values()), v["name"]
