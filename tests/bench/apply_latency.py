"""Benchmark: `octo-oidc apply` with 100 ms added to every sandbox request, for an AWS
setup and an Azure setup of 8 environments (8 deployment credentials + the account test's),
against the minimum: the longest chain of requests that must run one after another × 100 ms.

The minimum chains (each step needs the answer or the effect of the one before; everything
else can run beside them):
  AWS:   spaces → the space's inventory and accounts (plan complete) → CreateOpenIDConnectProvider
         → CreateRole (its trust policy names the provider, which must exist)
         → AttachRolePolicy (beside it: the Octopus account, whose role ARN is known)   = 5
  Azure: token → lookups in the space / tenant (plan complete) → create the app registration
         → its service principal (beside it: every credential and the Octopus account, which
         need only the app's ids) → the role assignment (needs the principal's id)      = 5
The preflight and issuer reads fit beside these chains, so they add no step: the Octopus
user's permissions (users/me, then its permissions) and the issuer check (discovery, then
its JWKS) are two-request chains that start in the first round, and SimulatePrincipalPolicy
needs only the caller (GetCallerIdentity) and the issuer, both first-round reads.
The engine's own sequence is printed as rounds (requests that arrived within 50 ms of each
other), which shows where it waits when it need not.
Run: make bench-apply-latency (a release build), or OCTO_OIDC=path python3 tests/bench/apply_latency.py
"""

import sys

from common import Sandbox

LATENCY_MS = 100
SERVICES = ["octopus", "entra", "graph", "arm", "iam", "sts"]

AWS = """version = 1
name = "bench-aws"
target = "aws"

[octopus]
space = "Default"

[scope]
projects = ["customer-portal"]
environments = ["production"]

[subject_keys]
deployment = ["space", "project", "tenant", "environment", "type"]

[account]
name = "AWS bench (OIDC)"

[aws]
role_name = "octopus-bench"
region = "eu-west-1"
managed_policies = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
"""

AZURE = """version = 1
name = "bench-azure"
target = "azure"

[octopus]
space = "Default"

[scope]
projects = ["customer-portal"]
environments = ["development", "test", "qa", "staging", "production", "uat", "integration", "performance"]

[subject_keys]
deployment = ["space", "project", "tenant", "environment", "type"]

[account]
name = "Azure bench (OIDC)"

[azure]
tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
subscription_id = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
resource_group = "rg-web-prod"
role = "Contributor"
"""

MINIMUM_CHAIN = {"aws": 5, "azure": 5}


def rounds(requests):
    """Requests grouped by arrival: a new round starts 50 ms after the last one began."""
    out = []
    for r in requests:
        if not out or r["at_ms"] - out[-1][0]["at_ms"] >= LATENCY_MS // 2:
            out.append([])
        out[-1].append(r)
    return out


def bench(name, text):
    sandbox = Sandbox()
    try:
        path = sandbox.write(f"{name}.toml", text)
        sandbox.admin("PUT", "/_sandbox/faults", {
            "rules": [{"service": s, "latency_ms": LATENCY_MS} for s in SERVICES],
            "consistency_windows_ms": {}})
        sandbox.admin("DELETE", "/_sandbox/requests")
        code, seconds, output = sandbox.cli(["apply", "--yes", path])
        if code != 0:
            sys.exit(f"{name}: apply exited {code}\n{output}")
        requests = sandbox.admin("GET", "/_sandbox/requests")
        groups = rounds(requests)
        minimum = MINIMUM_CHAIN[name] * LATENCY_MS / 1000
        credentials = sum(1 for r in requests if "federatedIdentityCredentials" in r["operation"]
                          and r["mutating"])
        print(f"{name}: apply {seconds * 1000:.0f} ms, minimum {minimum * 1000:.0f} ms "
              f"({MINIMUM_CHAIN[name]} dependent requests x {LATENCY_MS} ms), "
              f"ratio {seconds / minimum:.2f}x (goal <= 1.3x); "
              f"{len(requests)} requests in {len(groups)} rounds"
              + (f", {credentials} credentials created" if credentials else ""))
        for i, group in enumerate(groups, 1):
            ops = ", ".join(f"{r['service']} {r['operation']}{' *' if r['mutating'] else ''}"
                            for r in group)
            start = group[0]["at_ms"] - requests[0]["at_ms"]
            print(f"    round {i:2} (+{start:4} ms): {ops}")
        return seconds / minimum
    finally:
        sandbox.close()


if __name__ == "__main__":
    bench("aws", AWS)
    bench("azure", AZURE)
