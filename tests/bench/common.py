"""What the apply benchmarks share: the octo-oidc binary, a sandbox process with its env
file, the sandbox's admin endpoints (faults, request log) and timing one CLI run."""

import json
import os
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def binary():
    """The octo-oidc binary: $OCTO_OIDC, else the release build in the target dir."""
    if os.environ.get("OCTO_OIDC"):
        return os.environ["OCTO_OIDC"]
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    return str(Path(target) / "release" / "octo-oidc")


class Sandbox:
    """`octo-oidc sandbox --env-file` in a temporary folder; stopped by close()."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="octo-oidc-bench-")
        self.env_file = os.path.join(self.dir, "sandbox.env")
        self.proc = subprocess.Popen(
            [binary(), "sandbox", "--env-file", self.env_file,
             "--ca-file", os.path.join(self.dir, "ca.pem")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.time()
        while not (os.path.exists(self.env_file) and os.path.getsize(self.env_file) > 0):
            if time.time() - started > 30:
                raise SystemExit("the sandbox did not start")
            time.sleep(0.05)
        self.vars = dict(line.split("=", 1) for line in
                         Path(self.env_file).read_text().splitlines() if "=" in line)

    def admin(self, method, path, body=None):
        req = urllib.request.Request(
            self.vars["OCTOPUS_URL"] + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"X-Octopus-ApiKey": self.vars["OCTOPUS_API_KEY"],
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(req) as reply:
            text = reply.read().decode()
            return json.loads(text) if text else None

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        Path(path).write_text(text)
        return path

    def cli(self, args, env_file=None):
        """Runs octo-oidc ARGS --sandbox ENV; returns (exit code, seconds, stdout+stderr)."""
        env = dict(os.environ, XDG_DATA_HOME=os.path.join(self.dir, "data"))
        env.pop("OCTOPUS_API_KEY", None)
        started = time.perf_counter()
        out = subprocess.run([binary(), *args, "--sandbox", env_file or self.env_file],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env)
        return out.returncode, time.perf_counter() - started, out.stdout + out.stderr

    def close(self):
        self.proc.terminate()
        self.proc.wait()
