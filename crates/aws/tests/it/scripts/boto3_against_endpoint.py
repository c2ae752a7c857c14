"""Drives an AWS endpoint with boto3 (botocore), configured only through AWS_ENDPOINT_URL and
dummy credentials, as a person's script or the AWS CLI would. Prints one JSON document with
what it saw; the Rust test asserts on it."""
import json
import uuid

import boto3
from botocore.exceptions import ClientError

out = {}
session = boto3.session.Session(region_name="us-east-1")
sts = session.client("sts")
iam = session.client("iam")

out["caller_account"] = sts.get_caller_identity()["Account"]

url = f"https://boto-{uuid.uuid4().hex[:8]}.example.com"
arn = iam.create_open_id_connect_provider(Url=url, ClientIDList=["octo.example.com"])[
    "OpenIDConnectProviderArn"
]
out["provider_arn"] = arn
out["provider_url"] = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["Url"]

key = arn.split("oidc-provider/")[1]
policy = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": {f"{key}:sub": "space:default:*"}},
    }],
}
name = f"boto-{uuid.uuid4().hex[:8]}"
role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy))["Role"]
out["role_arn"] = role["Arn"]
# boto3 decodes the URL-encoded document into a dict.
got = iam.get_role(RoleName=name)["Role"]
out["trust_policy_roundtrip"] = got["AssumeRolePolicyDocument"] == policy
out["max_session_duration"] = got["MaxSessionDuration"]

try:
    iam.get_role(RoleName="no-such-role-" + name)
except ClientError as e:
    out["missing_role"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]

try:
    sts.assume_role_with_web_identity(
        RoleArn=role["Arn"], RoleSessionName="boto", WebIdentityToken="not-a-jwt"
    )
except ClientError as e:
    out["bad_token"] = e.response["Error"]["Code"]

iam.delete_role(RoleName=name)
iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
print(json.dumps(out))
