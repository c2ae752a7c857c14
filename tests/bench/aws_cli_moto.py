"""Benchmark: `octo-oidc apply` for an AWS setup against moto (IAM/STS; Octopus is the
sandbox's) side by side with the AWS CLI doing the same IAM work, one command after another:
create-open-id-connect-provider, create-role, attach-role-policy, put-role-policy. Prints
both wall times and the ratio (goal: octo-oidc at least 5x faster), and checks that the
preflight says the AWS permissions could not be checked (moto does not implement
iam:SimulatePrincipalPolicy) rather than failing or passing silently.

Starts `.venv/bin/moto_server` itself on a free loopback port and installs `awscli` from PyPI
into `.venv` if it is missing.
Run: make bench-aws-cli (a release build), or OCTO_OIDC=path python3 tests/bench/aws_cli_moto.py
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from common import ROOT, Sandbox

VENV = ROOT / ".venv" / "bin"

SETUP = """version = 1
name = "bench-moto"
target = "aws"

[octopus]
space = "Default"

[scope]
projects = ["customer-portal"]
environments = ["production"]

[subject_keys]
deployment = ["space", "project", "tenant", "environment", "type"]

[account]
name = "AWS moto bench (OIDC)"

[aws]
role_name = "octopus-moto-bench"
region = "eu-west-1"
managed_policies = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    port = free_port()
    proc = subprocess.Popen([str(VENV / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true"))
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    sys.exit("moto_server did not start")


def aws_cli(url, args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIAMOTOBENCH0000000", AWS_SECRET_ACCESS_KEY="x",
               AWS_DEFAULT_REGION="eu-west-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    out = subprocess.run([str(VENV / "aws"), "--endpoint-url", url, "--output", "json", *args],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"aws {' '.join(args[:2])} failed: {out.stderr}")


def main():
    if not (VENV / "moto_server").exists():
        subprocess.run(["make", "-C", str(ROOT), ".venv/bin/moto_server"], check=True)
    if not (VENV / "aws").exists():
        subprocess.run([str(VENV / "pip"), "install", "--quiet", "--disable-pip-version-check",
                        "awscli"], check=True)
    moto, url = start_moto()
    # moto builds its IAM backend (with AWS's managed policies) on the first IAM call: do it
    # before timing either side.
    urllib.request.urlopen(urllib.request.Request(
        url + "/", data=b"Action=ListRoles&Version=2010-05-08",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAMOTOBENCH0000000/20260101/"
                                  "us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0"}),
        timeout=60).read()
    sandbox = Sandbox()
    try:
        # The sandbox's Octopus, moto's IAM and STS.
        env_text = open(sandbox.env_file).read().replace(sandbox.vars["AWS_ENDPOINT_URL"], url)
        env_file = sandbox.write("moto.env", env_text)
        os.chmod(env_file, 0o600)
        path = sandbox.write("setup.toml", SETUP)
        code, ours, output = sandbox.cli(["apply", "--yes", path], env_file=env_file)
        if code != 0:
            sys.exit(f"octo-oidc apply exited {code}\n{output}")
        # moto lacks iam:SimulatePrincipalPolicy: the preflight must say so (a warning, not a
        # failure and not a silent pass).
        uncheckable = ("could not be checked (the IAM endpoint does not implement "
                       "SimulatePrincipalPolicy)")
        if uncheckable not in output:
            sys.exit(f"the preflight on moto does not say '{uncheckable}'\n{output}")

        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated":
                          "arn:aws:iam::123456789012:oidc-provider/aws-cli.bench.example"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                "aws-cli.bench.example:aud": "aws-cli.bench.example",
                "aws-cli.bench.example:sub":
                    "space:default:project:customer-portal:environment:production:type:deployment"}}}]})
        inline = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
        started = time.perf_counter()
        aws_cli(url, ["iam", "create-open-id-connect-provider",
                      "--url", "https://aws-cli.bench.example",
                      "--client-id-list", "aws-cli.bench.example",
                      "--thumbprint-list", "0" * 40])
        aws_cli(url, ["iam", "create-role", "--role-name", "aws-cli-bench",
                      "--assume-role-policy-document", trust])
        aws_cli(url, ["iam", "attach-role-policy", "--role-name", "aws-cli-bench",
                      "--policy-arn", "arn:aws:iam::aws:policy/ReadOnlyAccess"])
        aws_cli(url, ["iam", "put-role-policy", "--role-name", "aws-cli-bench",
                      "--policy-name", "bench-inline", "--policy-document", inline])
        theirs = time.perf_counter() - started
        print(f"octo-oidc apply (observe + provider + role + Octopus account): {ours * 1000:.0f} ms")
        print(f"aws iam (4 commands: provider, role, attach, inline policy):  {theirs * 1000:.0f} ms")
        print(f"ratio: octo-oidc is {theirs / ours:.1f}x faster (goal >= 5x)")
        print(f"preflight on moto: AWS permissions {uncheckable} (a warning; apply went ahead)")
    finally:
        sandbox.close()
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
