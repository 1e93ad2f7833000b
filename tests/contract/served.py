"""Helpers for the tests of `apiops serve` (metrics and dashboard): start it on loopback next to a
simulator, send it signed webhooks with `apiops sim emit`, and run other apiops commands against
the same simulator and database — in a hermetic environment (its own HOME and XDG folders, so no
config file or credential of the machine is read)."""

import os
import pathlib
import subprocess
import time
import urllib.error
import urllib.request

from conftest import apiops_bin


class Served:
    """A running `apiops serve`: its URL, process and environment."""

    def __init__(self, proc, url, env, stderr_path):
        self.proc = proc
        self.url = url
        self.env = env
        self.stderr_path = stderr_path

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stderr(self) -> str:
        return pathlib.Path(self.stderr_path).read_text(errors="replace")


def hermetic_env(sim, tmp: pathlib.Path, db_url: str) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        "XDG_DATA_HOME": str(tmp / "xdg-data"),
        "APIOPS_DATABASE_URL": db_url,
        "NO_COLOR": "1",
    }
    env.update(sim.env)
    return env


def start_serve(env: dict, tmp: pathlib.Path, *args: str) -> Served:
    stderr_path = tmp / f"serve-{time.monotonic_ns()}.err"
    proc = subprocess.Popen(
        [apiops_bin(), "serve", "--listen", "127.0.0.1:0", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=open(stderr_path, "w"),
        text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(
            f"apiops serve did not start ({line!r}): {pathlib.Path(stderr_path).read_text()}"
        )
    return Served(proc, line[len("listening on ") :], env, stderr_path)


def apiops(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [apiops_bin(), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def emit(served: Served, provider: str, count: int = 40, seed: int = 3) -> str:
    r = apiops(
        served.env,
        "sim", "emit",
        "--target", f"{served.url}/webhooks/{provider}",
        "--provider", provider,
        "--count", str(count),
        "--duplicate-rate", "0.2",
        "--bad-signature-rate", "0.1",
        "--seed", str(seed),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def get(url: str, token: str | None = None, timeout: float = 10):
    """(status, headers with lower-case names, body) of a GET."""
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()
