"""Fixtures for the contract tests: a running `apiops sim` on loopback and its environment.

The tests here check the simulator and apiops against what the providers published — their
OpenAPI specs and their official Python SDKs — never against our own assumptions.
"""

import os
import pathlib
import subprocess
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"


def apiops_bin() -> str:
    explicit = os.environ.get("APIOPS_BIN")
    if explicit:
        return explicit
    for profile in ("debug", "release"):
        candidate = ROOT / "target" / profile / "apiops"
        if candidate.exists():
            return str(candidate)
    raise RuntimeError("apiops binary not found: build it first or set APIOPS_BIN")


class Sim:
    """A running simulator: its base URL, environment and counters."""

    def __init__(self, proc, env):
        self.proc = proc
        self.env = env

    @property
    def base(self) -> str:
        return self.env["OPENAI_BASE_URL"].rsplit("/openai/v1", 1)[0]

    def stats(self) -> dict:
        import json

        with urllib.request.urlopen(self.base + "/_sim/stats", timeout=5) as r:
            return json.loads(r.read())


def start_sim(*extra: str) -> Sim:
    proc = subprocess.Popen(
        [apiops_bin(), "sim", "--print-env", "--listen", "127.0.0.1:0", *(() if "--seed" in extra else ("--seed", "7")), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    env = {}
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        line = line.strip()
        if line.startswith("export "):
            k, v = line[len("export ") :].split("=", 1)
            env[k] = v
        if "OPENAI_WEBHOOK_SECRET" in env:
            break
    if "OPENAI_BASE_URL" not in env:
        proc.kill()
        raise RuntimeError("apiops sim did not print its environment: " + proc.stderr.read())
    return Sim(proc, env)


@pytest.fixture(scope="session")
def sim():
    s = start_sim("--messages", "3000")
    yield s
    s.proc.terminate()
    s.proc.wait(timeout=10)
