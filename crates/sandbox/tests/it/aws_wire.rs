//! The sandbox AWS with no AWS SDK at all: raw form-encoded POSTs shaped like botocore's
//! (AWS CLI, boto3), routed by credential scope, Version or Action, with XML answers.
#![allow(clippy::unwrap_used)]

use crate::aws_support;

use aws_support::*;

async fn post(env: &AwsEnv, scope: Option<&str>, body: &str) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut request = client
        .post(format!("{}/", env.endpoint))
        .header(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(body.to_string());
    if let Some(service) = scope {
        request = request.header(
            "Authorization",
            format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/{service}/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000"),
        );
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn botocore_shaped_requests_get_query_protocol_answers() {
    let env = start().await;
    let (status, body) = post(
        &env,
        Some("sts"),
        "Action=GetCallerIdentity&Version=2011-06-15",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        ),
        "{body}"
    );
    assert!(body.contains(&format!("<Account>{ACCOUNT}</Account>")));
    assert!(body.contains("<RequestId>"));

    let (status, body) = post(&env, Some("iam"),
        "Action=CreateOpenIDConnectProvider&Version=2010-05-08&Url=https%3A%2F%2Fcli.example.com&ClientIDList.member.1=cli.example.com").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<OpenIDConnectProviderArn>arn:aws:iam::123456789012:oidc-provider/cli.example.com</OpenIDConnectProviderArn>"));

    let (status, body) = post(
        &env,
        Some("iam"),
        "Action=GetRole&Version=2010-05-08&RoleName=nobody",
    )
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>"), "{body}");

    // Unsigned IAM requests are refused; unsigned AssumeRoleWithWebIdentity is routed to STS.
    let (status, body) = post(&env, None, "Action=ListRoles&Version=2010-05-08").await;
    assert_eq!(status, 403);
    assert!(body.contains("MissingAuthenticationToken"));
    let (status, body) = post(&env, None, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx&RoleSessionName=s1&WebIdentityToken=not-a-jwt").await;
    assert_eq!(status, 400);
    assert!(
        body.contains("sts.amazonaws.com") && body.contains("InvalidIdentityToken"),
        "{body}"
    );

    let (status, body) = post(&env, Some("iam"), "Action=NoSuchThing&Version=2010-05-08").await;
    assert_eq!(status, 400);
    assert!(body.contains("InvalidAction"));
}
