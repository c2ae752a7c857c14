//! The sandbox Octopus REST API driven through reqwest: authentication, root document, spaces
//! and per-space inventory (`/all` and paging, both URL forms), accounts CRUD and every
//! validation rejection, users/teams/identities, and injected faults.
#![allow(clippy::unwrap_used)]

use octo_oidc_sandbox::faults::{FaultKind, FaultRule};
use octo_oidc_sandbox::octopus::IssuerStyle;
use octo_oidc_sandbox::seed::SeedProfile;
use octo_oidc_sandbox::{Sandbox, SandboxOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::http_support::send_json;

use crate::octopus_support::{self, api, api_as, api_get, api_post, first_error, items, strings};

struct Api {
    sandbox: Sandbox,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Api {
        Self::start_with(SandboxOptions::default()).await
    }

    async fn start_with(options: SandboxOptions) -> Api {
        let sandbox = Sandbox::start(options).await.expect("sandbox starts");
        let http = sandbox.http_client().unwrap();
        Api { sandbox, http }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.urls().octopus)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        api_get(&self.sandbox, path).await
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        api_post(&self.sandbox, path, body.clone()).await
    }

    async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        api(&self.sandbox, Method::PUT, path, Some(body.clone())).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        api(&self.sandbox, Method::DELETE, path, None).await
    }

    /// `GET path` without an API key.
    async fn anonymous_get(&self, path: &str) -> (StatusCode, Value) {
        send_json(self.http.get(self.url(path)), None).await
    }
}

/// The shared Azure account body with deployment and account-test subject keys.
fn azure_account(name: &str) -> Value {
    let mut account = octopus_support::azure_account(name);
    account["DeploymentSubjectKeys"] = json!(["space", "project", "environment"]);
    account["AccountTestSubjectKeys"] = json!(["space", "account"]);
    account
}

/// The shared AWS account body for the `octopus-deploy` role, with a session duration.
fn aws_account(name: &str) -> Value {
    let mut account =
        octopus_support::aws_account(name, "arn:aws:iam::123456789012:role/octopus-deploy");
    account["SessionDuration"] = json!("3600");
    account
}

#[tokio::test]
async fn authentication_is_required_and_checked() {
    let api = Api::start().await;
    let (_, root) = api.anonymous_get("/api").await;
    assert_eq!(root["Application"], "Octopus Deploy");
    assert!(root["Version"].as_str().unwrap() >= "2024.1");

    let (status, body) = api.anonymous_get("/api/users/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["ErrorMessage"].as_str().unwrap().contains("logged in"));
    assert!(body["Errors"].is_array());

    let wrong_key = "API-WRONGWRONGWRONGWRONGWRONG";
    let (status, _) = api_as(&api.sandbox, wrong_key, Method::GET, "/api/users/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, me) = api.get("/api/users/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["Id"], "Users-1");
    let key = api.sandbox.api_key().expose().to_string();
    let (status, _) = api
        .anonymous_get(&format!("/api/spaces/all?apikey={key}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!format!("{:?}", api.sandbox.api_key()).contains(&key));
}

#[tokio::test]
async fn configured_version_is_reported() {
    let api = Api::start_with(SandboxOptions {
        octopus_version: "2023.2.13000".into(),
        profile: SeedProfile::Empty,
        ..SandboxOptions::default()
    })
    .await;
    let (_, root) = api.anonymous_get("/api").await;
    assert_eq!(root["Version"], "2023.2.13000");
}

#[tokio::test]
async fn spaces_and_inventory_are_listed_and_paged() {
    let api = Api::start().await;
    let (_, spaces) = api.get("/api/spaces/all").await;
    let spaces = items(&spaces);
    assert_eq!(spaces.len(), 3);
    assert_eq!(
        (
            spaces[0]["Id"].as_str(),
            spaces[0]["Name"].as_str(),
            spaces[0]["Slug"].as_str()
        ),
        (Some("Spaces-1"), Some("Default"), Some("default"))
    );
    assert_eq!(spaces[0]["IsDefault"], true);

    let (_, page) = api.get("/api/spaces?skip=0&take=2").await;
    assert_eq!(page["TotalResults"], 3);
    assert_eq!(items(&page["Items"]).len(), 2);
    assert_eq!(page["Links"]["Page.Next"], "/api/spaces?skip=2&take=2");

    let (_, all) = api.get("/api/Spaces-1/projects/all").await;
    let all = items(&all).to_vec();
    assert_eq!(all.len(), 120);
    for p in &all {
        assert_eq!(p["SpaceId"], "Spaces-1");
        assert!(p["Id"].as_str().unwrap().starts_with("Projects-"));
        assert!(!p["Slug"].as_str().unwrap().is_empty());
        assert!(
            p["ProjectGroupId"]
                .as_str()
                .unwrap()
                .starts_with("ProjectGroups-")
        );
    }
    let (_, same) = api.get("/api/spaces/Spaces-1/projects/all").await;
    assert_eq!(items(&same), all, "both URL forms serve the same projects");

    let (_, first) = api.get("/api/Spaces-1/projects").await;
    assert_eq!(first["ItemsPerPage"], 30, "take defaults to 30");
    assert_eq!(first["TotalResults"], 120);
    assert_eq!(first["NumberOfPages"], 4);
    assert_eq!(first["LastPageNumber"], 3);
    assert_eq!(
        first["Links"]["Page.Next"],
        "/api/Spaces-1/projects?skip=30&take=30"
    );
    let mut seen = Vec::new();
    let mut next = Some("/api/Spaces-1/projects?skip=0&take=50".to_string());
    while let Some(path) = next {
        let (_, page) = api.get(&path).await;
        seen.extend(items(&page["Items"]).iter().map(|p| p["Id"].clone()));
        next = page["Links"]["Page.Next"].as_str().map(str::to_string);
    }
    assert_eq!(
        seen,
        all.iter().map(|p| p["Id"].clone()).collect::<Vec<_>>()
    );

    let (_, filtered) = api
        .get("/api/Spaces-1/projects?partialName=customer%20portal&take=100")
        .await;
    assert!(filtered["TotalResults"].as_u64().unwrap() >= 1);
    for p in items(&filtered["Items"]) {
        assert!(
            p["Name"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("customer portal")
        );
    }

    let (_, envs) = api.get("/api/spaces/default/environments/all").await;
    assert_eq!(items(&envs).len(), 12);
    assert!(items(&envs).iter().any(|e| e["Slug"] == "production"));
    let (_, groups) = api.get("/api/Spaces-1/projectgroups/all").await;
    assert!(
        items(&groups)
            .iter()
            .any(|g| g["Slug"] == "default-project-group")
    );
    let (_, tenants) = api.get("/api/Spaces-1/tenants/all").await;
    let tenant = &items(&tenants)[0];
    let (project_id, envs_of) = tenant["ProjectEnvironments"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert!(project_id.starts_with("Projects-"));
    assert!(envs_of[0].as_str().unwrap().starts_with("Environments-"));
    let (_, connected) = api
        .get(&format!("/api/Spaces-1/tenants/all?projectId={project_id}"))
        .await;
    assert!(items(&connected).iter().any(|t| t["Id"] == tenant["Id"]));

    let (_, runbooks) = api.get("/api/Spaces-1/runbooks/all").await;
    let runbook = &items(&runbooks)[0];
    let owner = runbook["ProjectId"].as_str().unwrap();
    let (_, of_project) = api
        .get(&format!("/api/Spaces-1/projects/{owner}/runbooks/all"))
        .await;
    assert!(items(&of_project).iter().all(|r| r["ProjectId"] == owner));
    let (status, one) = api
        .get(&format!(
            "/api/Spaces-1/runbooks/{}",
            runbook["Id"].as_str().unwrap()
        ))
        .await;
    assert_eq!((status, &one["Slug"]), (StatusCode::OK, &runbook["Slug"]));

    let (status, err) = api.get("/api/Spaces-99/projects/all").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(err["ErrorMessage"].is_string());
    let (status, _) = api.get("/api/Spaces-1/projects/Projects-999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, err) = api.get("/api/Spaces-1/projects?take=lots").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["ErrorMessage"].as_str().unwrap().contains("take"));
}

#[tokio::test]
async fn accounts_crud_for_both_types() {
    let api = Api::start().await;
    let (status, created) = api
        .post("/api/Spaces-1/accounts", &azure_account("Azure Production"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["Id"].as_str().unwrap().to_string();
    assert!(id.starts_with("Accounts-"));
    assert_eq!(created["Slug"], "azure-production");
    assert_eq!(created["SpaceId"], "Spaces-1");
    assert_eq!(
        created["AccountTestSubjectKeys"],
        json!(["space", "account"])
    );

    let (status, aws) = api
        .post("/api/spaces/Spaces-1/accounts", &aws_account("AWS Prod"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{aws}");
    assert_eq!(
        aws["SessionDuration"], "3600",
        "SessionDuration is a string"
    );
    let mut numeric = aws_account("AWS Numeric");
    numeric["SessionDuration"] = json!(7200);
    let (status, created_numeric) = api.post("/api/Spaces-1/accounts", &numeric).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created_numeric["SessionDuration"], "7200");

    let (status, got) = api.get(&format!("/api/Spaces-1/accounts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["Name"], "Azure Production");

    let (_, page) = api
        .get("/api/Spaces-1/accounts?accountType=AmazonWebServicesOidcAccount")
        .await;
    assert_eq!(page["TotalResults"], 2);
    let (_, page) = api
        .get("/api/Spaces-1/accounts?partialName=production&skip=0&take=10")
        .await;
    assert_eq!(page["TotalResults"], 1);
    assert_eq!(page["Items"][0]["Id"], id.as_str());
    let (_, all) = api.get("/api/Spaces-1/accounts/all").await;
    assert_eq!(items(&all).len(), 3);
    let (_, other_space) = api.get("/api/Spaces-2/accounts/all").await;
    assert_eq!(items(&other_space).len(), 0);

    let mut modified = got.clone();
    modified["Description"] = json!("changed");
    modified["Audience"] = json!("api://custom");
    let (status, after) = api
        .put(&format!("/api/Spaces-1/accounts/{id}"), &modified)
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["Description"], "changed");
    assert_eq!(after["Slug"], "azure-production", "slug is kept");

    let (status, _) = api.delete(&format!("/api/Spaces-1/accounts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api.get(&format!("/api/Spaces-1/accounts/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.delete(&format!("/api/Spaces-1/accounts/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Each invalid body is rejected with 400, `ErrorMessage` and an `Errors[]` line naming the problem.
#[tokio::test]
async fn account_validation_rejections() {
    let api = Api::start().await;
    let (status, _) = api
        .post("/api/Spaces-1/accounts", &azure_account("Taken"))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // (case, base body, field, value (`Null`: the field left out), an expected error line)
    let azure: fn(&str) -> Value = azure_account;
    let aws: fn(&str) -> Value = aws_account;
    let cases = [
        ("missing name", azure, "Name", Value::Null, "name"),
        ("blank name", azure, "Name", json!("   "), "name"),
        (
            "duplicate name",
            azure,
            "Name",
            json!("taken"),
            "already exists",
        ),
        (
            "missing type",
            azure,
            "AccountType",
            Value::Null,
            "account type",
        ),
        (
            "unknown type",
            azure,
            "AccountType",
            json!("Banana"),
            "not a valid account type",
        ),
        (
            "unmodelled type",
            azure,
            "AccountType",
            json!("SshKeyPair"),
            "does not model",
        ),
        (
            "missing subscription",
            azure,
            "SubscriptionNumber",
            Value::Null,
            "subscription",
        ),
        (
            "subscription not a GUID",
            azure,
            "SubscriptionNumber",
            json!("not-a-guid"),
            "GUID",
        ),
        (
            "client id not a GUID",
            azure,
            "ClientId",
            json!("1234"),
            "ClientId must be a GUID",
        ),
        ("missing tenant", azure, "TenantId", Value::Null, "tenant"),
        (
            "bad deployment key",
            azure,
            "DeploymentSubjectKeys",
            json!(["space", "target"]),
            "'target' is not a valid deployment subject key",
        ),
        (
            "bad account test key",
            azure,
            "AccountTestSubjectKeys",
            json!(["environment"]),
            "'environment' is not a valid account test subject key",
        ),
        (
            "bad health key",
            azure,
            "HealthCheckSubjectKeys",
            json!(["project"]),
            "health check subject key",
        ),
        (
            "keys not an array",
            azure,
            "DeploymentSubjectKeys",
            json!("space"),
            "array",
        ),
        (
            "unknown environment",
            azure,
            "EnvironmentIds",
            json!(["Environments-999999"]),
            "Environments-999999",
        ),
        (
            "unknown tenant",
            azure,
            "TenantIds",
            json!(["Tenants-999999"]),
            "Tenants-999999",
        ),
        (
            "bad participation",
            azure,
            "TenantedDeploymentParticipation",
            json!("Sometimes"),
            "TenantedDeploymentParticipation",
        ),
        (
            "environment without endpoints",
            azure,
            "AzureEnvironment",
            json!("AzureChinaCloud"),
            "required when AzureEnvironment",
        ),
        (
            "unknown azure environment",
            azure,
            "AzureEnvironment",
            json!("Mars"),
            "not a known Azure environment",
        ),
        ("bad slug", azure, "Slug", json!("Not A Slug"), "slug"),
        (
            "taken slug",
            azure,
            "Slug",
            json!("taken"),
            "already in use",
        ),
        (
            "space mismatch",
            azure,
            "SpaceId",
            json!("Spaces-2"),
            "SpaceId",
        ),
        ("missing role", aws, "RoleArn", Value::Null, "RoleArn"),
        (
            "role not an ARN",
            aws,
            "RoleArn",
            json!("octopus-role"),
            "RoleArn must be",
        ),
        (
            "provider ARN instead of role",
            aws,
            "RoleArn",
            json!("arn:aws:iam::123456789012:oidc-provider/x"),
            "RoleArn must be",
        ),
        (
            "duration too long",
            aws,
            "SessionDuration",
            json!("50000"),
            "SessionDuration",
        ),
        (
            "duration not a number",
            aws,
            "SessionDuration",
            json!("an hour"),
            "SessionDuration",
        ),
        (
            "custom claims not strings",
            aws,
            "CustomClaims",
            json!({"a": 1}),
            "CustomClaims",
        ),
    ];
    for (label, base, field, value, expected) in cases {
        let mut body = base("x");
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        let (status, err) = api.post("/api/Spaces-1/accounts", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{label}: {err}");
        assert!(err["ErrorMessage"].is_string(), "{label}");
        let errors = items(&err["Errors"]);
        assert!(
            errors.iter().any(|e| e
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains(&expected.to_lowercase())),
            "{label}: expected an error containing '{expected}', got {errors:?}"
        );
    }
    let r = api
        .http
        .post(api.url("/api/Spaces-1/accounts"))
        .header("X-Octopus-ApiKey", api.sandbox.api_key().expose())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // All errors at once, and the type cannot change on modify.
    let (status, err) = api
        .post(
            "/api/Spaces-1/accounts",
            &json!({"AccountType": "AzureOidc", "Name": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(items(&err["Errors"]).len() >= 4, "{err}");
    let (_, all) = api.get("/api/Spaces-1/accounts/all").await;
    let taken = all[0].clone();
    let mut changed = taken.clone();
    changed["AccountType"] = json!("AmazonWebServicesOidcAccount");
    let (status, err) = api
        .put(
            &format!("/api/Spaces-1/accounts/{}", taken["Id"].as_str().unwrap()),
            &changed,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(first_error(&err).contains("cannot be changed"), "{err}");
    assert_eq!(items(&all).len(), 1, "no rejected account was stored");
}

#[tokio::test]
async fn users_teams_and_identities() {
    let api = Api::start().await;
    let (status, sa) = api
        .post("/api/users", &json!({"Username": "github-deployer", "DisplayName": "GitHub deployer", "IsService": true}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sa}");
    let sa_id = sa["Id"].as_str().unwrap().to_string();
    assert_eq!(sa["IsService"], true);
    let (status, err) = api
        .post(
            "/api/users",
            &json!({"Username": "GITHUB-DEPLOYER", "DisplayName": "dup", "IsService": true}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(first_error(&err).contains("already exists"), "{err}");
    let (status, _) = api.post("/api/users", &json!({"Username": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, services) = api
        .get("/api/users?isServiceAccount=true&filter=deployer")
        .await;
    assert_eq!(services["TotalResults"], 1);
    let (_, people) = api.get("/api/users?isServiceAccount=false").await;
    assert!(
        items(&people["Items"])
            .iter()
            .all(|u| u["IsService"] == false)
    );

    let (status, err) = api
        .get(&format!("/api/serviceaccounts/{sa_id}/oidcidentities/v1"))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "skip and take are required"
    );
    assert_eq!(items(&err["Errors"]).len(), 2);

    let identity = json!({
        "ServiceAccountId": sa_id, "Name": "main branch",
        "Issuer": "https://token.actions.githubusercontent.com",
        "Subject": "repo:acme/web:ref:refs/heads/main",
    });
    let (status, created) = api
        .post(
            &format!("/api/serviceaccounts/{sa_id}/oidcidentities/create/v1"),
            &identity,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let identity_id = created["Id"].as_str().unwrap().to_string();
    let (_, listed) = api
        .get(&format!(
            "/api/serviceaccounts/{sa_id}/oidcidentities/v1?skip=0&take=10"
        ))
        .await;
    assert_eq!(listed["Count"], 1);
    assert_eq!(
        listed["ServerUrl"],
        api.sandbox.urls().octopus_public.as_str()
    );
    let external = listed["ExternalId"].as_str().unwrap();
    assert_eq!(external.len(), 36, "ExternalId is a GUID: {external}");
    assert_eq!(
        listed["OidcIdentities"][0]["Subject"],
        "repo:acme/web:ref:refs/heads/main"
    );

    let mut modify = identity.clone();
    modify["Id"] = json!(identity_id);
    modify["Subject"] = json!("x".repeat(201));
    let path = format!("/api/serviceaccounts/{sa_id}/oidcidentities/{identity_id}/v1");
    let (status, err) = api.put(&path, &modify).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "modify caps Subject at 200"
    );
    assert!(first_error(&err).contains("200"), "{err}");
    modify["Subject"] = json!("repo:acme/web:*");
    let (status, _) = api.put(&path, &modify).await;
    assert_eq!(status, StatusCode::OK);
    let (_, got) = api.get(&path).await;
    assert_eq!(got["Subject"], "repo:acme/web:*");

    // An http:// issuer is refused on modify and on create; so are 201-character Issuer and
    // Subject on create (the modify cap, applied to both).
    let mut plain_http = modify.clone();
    plain_http["Issuer"] = json!("http://token.actions.githubusercontent.com");
    let (status, err) = api.put(&path, &plain_http).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["Errors"][0], "The issuer URL must be HTTPS.");
    let create_path = format!("/api/serviceaccounts/{sa_id}/oidcidentities/create/v1");
    let mut new_identity = identity.clone();
    new_identity["Issuer"] = json!("http://gitlab.example.com");
    let (status, err) = api.post(&create_path, &new_identity).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["Errors"][0], "The issuer URL must be HTTPS.");
    for field in ["Issuer", "Subject"] {
        let mut long = identity.clone();
        long[field] = json!(if field == "Issuer" {
            format!("https://{}.example.com", "a".repeat(190))
        } else {
            "x".repeat(201)
        });
        let (status, err) = api.post(&create_path, &long).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "create caps {field}: {err}"
        );
        assert_eq!(
            err["Errors"][0],
            format!("The field {field} must be a string with a maximum length of 200.")
        );
    }
    let mut missing = identity.clone();
    missing.as_object_mut().unwrap().remove("Issuer");
    let (status, _) = api
        .post(
            &format!("/api/serviceaccounts/{sa_id}/oidcidentities/create/v1"),
            &missing,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api
        .post(
            "/api/serviceaccounts/Users-1/oidcidentities/create/v1",
            &identity,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "identities only on service accounts"
    );

    let (_, teams) = api.get("/api/teams/all").await;
    assert!(
        items(&teams)
            .iter()
            .any(|t| t["Id"] == "teams-administrators")
    );
    let (_, mut team) = api.get("/api/teams/teams-managers").await;
    team["MemberUserIds"] = json!([sa_id]);
    let (status, updated) = api.put("/api/teams/teams-managers", &team).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["MemberUserIds"], json!([sa_id]));
    let (_, mut everyone) = api.get("/api/teams/teams-everyone").await;
    everyone["MemberUserIds"] = json!([sa_id]);
    let (status, _) = api.put("/api/teams/teams-everyone", &everyone).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    team["MemberUserIds"] = json!(["Users-4242"]);
    let (status, _) = api.put("/api/teams/teams-managers", &team).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _) = api.delete(&path).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn injected_faults_use_octopus_error_bodies() {
    let api = Api::start_with(SandboxOptions {
        issuer_style: IssuerStyle::Https,
        ..SandboxOptions::default()
    })
    .await;
    api.sandbox.faults().add(FaultRule::throttle_once(
        "octopus",
        "GET /api/{space}/projects/all",
        7,
    ));
    let r = api
        .http
        .get(api.url("/api/Spaces-1/projects/all"))
        .header("X-Octopus-ApiKey", api.sandbox.api_key().expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "7");
    let body: Value = r.json().await.unwrap();
    assert!(body["ErrorMessage"].is_string());
    let (status, _) = api.get("/api/Spaces-1/projects/all").await;
    assert_eq!(status, StatusCode::OK, "the rule applied once");

    // Over the admin endpoint: a 503 for any Octopus request.
    let r = api
        .http
        .post(api.url("/_sandbox/faults/rules"))
        .json(&json!({"service": "octopus", "fault": {"kind": "server_error", "status": 503}, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (status, body) = api.get("/api/users/me").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["ErrorMessage"].is_string());
    let (status, _) = api.get("/api/users/me").await;
    assert_eq!(status, StatusCode::OK);

    // A dropped connection: the client sees a transport error, not a response body.
    api.sandbox.faults().add(
        FaultRule::for_service("octopus")
            .operation("GET /api/users/me")
            .fault(FaultKind::DropConnection)
            .times(1),
    );
    let dropped = async {
        api.http
            .get(api.url("/api/users/me"))
            .header("X-Octopus-ApiKey", api.sandbox.api_key().expose())
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(dropped.is_err(), "the connection is cut mid-response");
    let (status, _) = api.get("/api/users/me").await;
    assert_eq!(status, StatusCode::OK);
}

// ---- permissions ----------------------------------------------------------------------------

fn grant_spaces(set: &Value, permission: &str) -> Vec<String> {
    let mut spaces: Vec<String> = set["SpacePermissions"][permission]
        .as_array()
        .map(|grants| {
            grants
                .iter()
                .map(|g| g["SpaceId"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    spaces.sort();
    spaces
}

#[tokio::test]
async fn user_permissions_follow_team_membership_and_withheld_permissions() {
    let api = Api::start().await;
    let (status, set) = api.get("/api/users/Users-1/permissions").await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["Id"], "Users-1");
    assert_eq!(set["IsPermissionsComplete"], true);
    let all_spaces = vec!["Spaces-1", "Spaces-2", "Spaces-3"];
    assert_eq!(grant_spaces(&set, "AccountCreate"), all_spaces);
    assert_eq!(grant_spaces(&set, "TaskView"), all_spaces);
    let grant = &set["SpacePermissions"]["AccountView"][0];
    assert_eq!(grant["RestrictedToEnvironmentIds"], json!([]));
    assert_eq!(grant["RestrictedToTenantIds"], json!([]));
    let system = strings(&set["SystemPermissions"]);
    assert!(system.contains(&"UserEdit") && system.contains(&"TeamEdit"));
    let teams: Vec<(&str, bool)> = items(&set["Teams"])
        .iter()
        .map(|t| {
            (
                t["Name"].as_str().unwrap(),
                t["IsDirectlyAssigned"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        teams.contains(&("Octopus Administrators", true)),
        "{teams:?}"
    );
    assert!(teams.contains(&("Everyone", false)), "{teams:?}");
    let (status, configuration) = api
        .get("/api/users/Users-1/permissions/configuration")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(configuration, set);

    // The space-scoped forms show one space (by id or slug).
    for path in [
        "/api/Spaces-2/users/Users-1/permissions",
        "/api/spaces/platform-team/users/Users-1/permissions",
    ] {
        let (status, scoped) = api.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {scoped}");
        assert_eq!(grant_spaces(&scoped, "AccountCreate"), vec!["Spaces-2"]);
    }

    // A withheld permission disappears everywhere, and comes back when granted.
    api.sandbox.octopus().withhold_permission("AccountCreate");
    api.sandbox.octopus().withhold_permission("UserEdit");
    let (_, set) = api.get("/api/users/Users-1/permissions").await;
    assert!(
        set["SpacePermissions"].get("AccountCreate").is_none(),
        "{set}"
    );
    assert_eq!(grant_spaces(&set, "AccountEdit"), all_spaces);
    assert!(!items(&set["SystemPermissions"]).contains(&json!("UserEdit")));
    // ...and the endpoints that need it refuse, naming it; the others still answer.
    let (status, body) = api
        .post(
            "/api/Spaces-1/accounts",
            &json!({"AccountType": "AzureOidc", "Name": "refused"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("AccountCreate"),
        "{body}"
    );
    let (status, _) = api.get("/api/Spaces-1/accounts/all").await;
    assert_eq!(status, StatusCode::OK);
    api.sandbox.octopus().grant_permission("AccountCreate");
    let (_, set) = api.get("/api/users/Users-1/permissions").await;
    assert_eq!(grant_spaces(&set, "AccountCreate"), all_spaces);

    let (status, body) = api.get("/api/users/Users-999/permissions").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["ErrorMessage"].is_string());
}

#[tokio::test]
async fn a_service_account_outside_teams_has_no_permissions_and_a_space_team_grants_one_space() {
    let api = Api::start().await;
    let (status, user) = api
        .post(
            "/api/users",
            &json!({"Username": "gh-deployer", "DisplayName": "GitHub deployer", "IsService": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let id = user["Id"].as_str().unwrap().to_string();
    let (status, set) = api.get(&format!("/api/users/{id}/permissions")).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["SpacePermissions"], json!({}));
    assert_eq!(set["SystemPermissions"], json!([]));

    let (status, team) = api.get("/api/teams/teams-spacemanagers-Spaces-1").await;
    assert_eq!(status, StatusCode::OK, "{team}");
    let mut team = team;
    team["MemberUserIds"] = json!([id]);
    let (status, team) = api
        .put("/api/teams/teams-spacemanagers-Spaces-1", &team)
        .await;
    assert_eq!(status, StatusCode::OK, "{team}");
    let (_, set) = api.get(&format!("/api/users/{id}/permissions")).await;
    assert_eq!(grant_spaces(&set, "AccountCreate"), vec!["Spaces-1"]);
    assert_eq!(
        set["SystemPermissions"],
        json!([]),
        "a space team grants no system permissions"
    );
}

// ---- deployment targets ---------------------------------------------------------------------

#[tokio::test]
async fn deployment_targets_are_listed_all_and_paged_in_both_url_forms() {
    let api = Api::start().await;
    let (status, all) = api.get("/api/Spaces-1/machines/all").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let all = items(&all).to_vec();
    assert_eq!(all.len(), 24);
    let names: Vec<&str> = all.iter().map(|t| t["Name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "alphabetical");
    let web = all
        .iter()
        .find(|t| t["Name"] == "web-production-01")
        .expect("a production web server");
    assert_eq!(web["Slug"], "web-production-01");
    assert_eq!(web["SpaceId"], "Spaces-1");
    assert_eq!(web["Roles"], json!(["web-server"]));
    let env = web["EnvironmentIds"][0].as_str().unwrap();
    let (_, production) = api.get(&format!("/api/Spaces-1/environments/{env}")).await;
    assert_eq!(production["Name"], "Production");
    assert_eq!(web["Endpoint"]["CommunicationStyle"], "TentaclePassive");
    assert!(web["Uri"].as_str().unwrap().starts_with("https://"));
    for key in [
        "Id",
        "IsDisabled",
        "HealthStatus",
        "MachinePolicyId",
        "TenantIds",
        "TenantedDeploymentParticipation",
        "Links",
    ] {
        assert!(web.get(key).is_some(), "{key} in {web}");
    }

    let (_, same) = api.get("/api/spaces/default/machines/all").await;
    assert_eq!(items(&same), all);
    let (_, other) = api.get("/api/Spaces-2/machines/all").await;
    assert_eq!(items(&other).len(), 10);
    assert!(items(&other).iter().all(|t| t["SpaceId"] == "Spaces-2"));

    let (status, page) = api
        .get("/api/spaces/Spaces-1/machines?skip=20&take=10")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["ItemType"], "DeploymentTarget");
    assert_eq!(page["TotalResults"], 24);
    assert_eq!(items(&page["Items"]).len(), 4);
    assert_eq!(page["Items"][0], all[20]);

    let (_, by_role) = api
        .get("/api/Spaces-1/machines?roles=db-server&take=100")
        .await;
    let db_servers = items(&by_role["Items"]);
    assert!(!db_servers.is_empty());
    assert!(
        db_servers
            .iter()
            .all(|t| t["Roles"] == json!(["db-server"]))
    );
    let (_, in_env) = api
        .get(&format!("/api/Spaces-1/machines?environmentIds={env}"))
        .await;
    assert!(
        items(&in_env["Items"])
            .iter()
            .all(|t| t["EnvironmentIds"] == json!([env]))
    );
    let (_, by_id) = api
        .get(&format!(
            "/api/Spaces-1/machines/{}",
            web["Id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(&by_id, web);
    let (status, _) = api.get("/api/Spaces-1/machines/Machines-9999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.get("/api/Spaces-99/machines/all").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn octopus_2026_requires_region_and_audience_on_aws_accounts_older_versions_do_not() {
    let api = Api::start().await;
    let (_, root) = api.get("/api").await;
    assert!(
        root["Version"].as_str().unwrap().starts_with("2026."),
        "{root}"
    );
    let mut bare = aws_account("AWS Bare");
    bare.as_object_mut().unwrap().remove("Region");
    bare.as_object_mut().unwrap().remove("Audience");
    let (status, err) = api.post("/api/Spaces-1/accounts", &bare).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(
        err["ErrorMessage"],
        "There was a problem with your request."
    );
    let errors: Vec<&str> = strings(&err["Errors"]);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0],
        "A region is required when creating or updating AWS accounts."
    );
    assert!(errors[1].contains("Audience"), "{errors:?}");

    // Updating an account to drop its region is refused as well.
    let (status, created) = api
        .post("/api/Spaces-1/accounts", &aws_account("AWS Full"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["Id"].as_str().unwrap();
    let mut without_region = created.clone();
    without_region["Region"] = json!("");
    let (status, err) = api
        .put(&format!("/api/Spaces-1/accounts/{id}"), &without_region)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(
        err["Errors"][0],
        "A region is required when creating or updating AWS accounts."
    );
    let mut odd_region = created.clone();
    odd_region["Region"] = json!("Frankfurt");
    let (status, _) = api
        .put(&format!("/api/Spaces-1/accounts/{id}"), &odd_region)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A 2025.4 server accepts both absent.
    let old = Api::start_with(SandboxOptions {
        octopus_version: "2025.4.10333".into(),
        ..SandboxOptions::default()
    })
    .await;
    let (status, created) = old.post("/api/Spaces-1/accounts", &bare).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["Region"], "");
    assert_eq!(created["Audience"], Value::Null);
}

#[tokio::test]
async fn custom_claims_round_trip_on_azure_and_aws_accounts() {
    let api = Api::start().await;
    let claims = json!({
        "team": "platform",
        "https://aws.amazon.com/tags": r#"{"principal_tags":{"team":["web"]}}"#,
    });
    for mut body in [azure_account("Claims Azure"), aws_account("Claims AWS")] {
        body["CustomClaims"] = claims.clone();
        let (status, created) = api.post("/api/Spaces-1/accounts", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["CustomClaims"], claims);
        let id = created["Id"].as_str().unwrap();
        let (_, got) = api.get(&format!("/api/Spaces-1/accounts/{id}")).await;
        assert_eq!(got["CustomClaims"], claims, "{}", body["AccountType"]);
        let mut changed = got.clone();
        changed["CustomClaims"] = json!({"team": "payments"});
        let (status, modified) = api
            .put(&format!("/api/Spaces-1/accounts/{id}"), &changed)
            .await;
        assert_eq!(status, StatusCode::OK, "{modified}");
        let (_, got) = api.get(&format!("/api/Spaces-1/accounts/{id}")).await;
        assert_eq!(got["CustomClaims"], json!({"team": "payments"}));
    }
}

#[tokio::test]
async fn the_ca_certificate_is_served_and_verifies_the_https_listeners() {
    let api = Api::start().await;
    let r = reqwest::Client::new()
        .get(api.url("/_sandbox/ca.pem"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/x-pem-file");
    let pem = r.text().await.unwrap();
    assert_eq!(pem, api.sandbox.ca_pem());
    assert!(!pem.contains("PRIVATE KEY"), "never the key");
    // That certificate alone verifies the authority's HTTPS listener.
    let trusted = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let authority = api.sandbox.urls().azure_authority.clone().unwrap();
    let discovery = trusted
        .get(format!(
            "{authority}/organizations/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.status(), StatusCode::OK);
    // Without it, the listener is not trusted.
    let untrusted = reqwest::Client::builder()
        .tls_certs_only([])
        .build()
        .unwrap()
        .get(format!(
            "{authority}/organizations/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await;
    assert!(untrusted.is_err());
}

#[tokio::test]
async fn permissions_are_withheld_and_given_back_over_the_admin_endpoint() {
    let api = Api::start().await;
    let admin = reqwest::Client::new();
    let url = api.url("/_sandbox/octopus/withheld-permissions/AccountCreate");
    let r = admin.put(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // (What a withheld permission does is the test above's.)
    let (_, set) = api.get("/api/users/Users-1/permissions").await;
    assert_eq!(grant_spaces(&set, "AccountCreate"), Vec::<String>::new());
    let r = admin.delete(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, set) = api.get("/api/users/Users-1/permissions").await;
    assert_eq!(
        grant_spaces(&set, "AccountCreate"),
        vec!["Spaces-1", "Spaces-2", "Spaces-3"]
    );
}

#[tokio::test]
async fn the_seeded_deployer_key_sees_but_may_not_create_accounts_or_edit_teams() {
    let api = Api::start().await;
    let key = api
        .sandbox
        .env_vars()
        .into_iter()
        .find(|(n, _)| *n == "OCTOPUS_DEPLOYER_API_KEY")
        .map(|(_, v)| v)
        .expect("the env vars carry the deployer's key");
    assert_ne!(key, api.sandbox.api_key().expose());
    let call = |method: Method, path: &'static str, body: Option<Value>| {
        api_as(&api.sandbox, &key, method, path, body)
    };
    let (status, me) = call(Method::GET, "/api/users/me", None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["Username"], "deployer");
    let (status, set) = call(Method::GET, "/api/users/me/permissions", None).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["Id"], me["Id"]);
    assert_eq!(grant_spaces(&set, "ProjectView"), vec!["Spaces-1"]);
    assert_eq!(grant_spaces(&set, "AccountView"), vec!["Spaces-1"]);
    for lacking in ["AccountCreate", "AccountEdit", "TaskCreate", "TeamEdit"] {
        assert!(
            set["SpacePermissions"].get(lacking).is_none(),
            "{lacking}: {set}"
        );
    }
    assert_eq!(set["SystemPermissions"], json!([]));
    assert!(
        items(&set["Teams"])
            .iter()
            .any(|t| t["Name"] == "Project deployers" && t["SpaceId"] == "Spaces-1"),
        "{set}"
    );

    // Reads its role allows answer; writes it lacks are refused in Octopus's error shape.
    let (status, _) = call(Method::GET, "/api/Spaces-1/accounts/all", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(Method::GET, "/api/Spaces-2/accounts/all", None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "another space is not the team's"
    );
    let before = api.get("/api/Spaces-1/accounts/all").await.1;
    let (status, body) = call(
        Method::POST,
        "/api/Spaces-1/accounts",
        Some(json!({"AccountType": "AzureOidc", "Name": "refused"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        first_error(&body).contains("Missing permission: AccountCreate"),
        "{body}"
    );
    assert!(
        body["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("AccountCreate")
    );
    assert_eq!(
        api.get("/api/Spaces-1/accounts/all").await.1,
        before,
        "nothing created"
    );
    let (_, team) = api.get("/api/teams/teams-spacemanagers-Spaces-1").await;
    let (status, body) = call(
        Method::PUT,
        "/api/teams/teams-spacemanagers-Spaces-1",
        Some(team),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(first_error(&body).contains("TeamEdit"), "{body}");
    let (status, body) = call(
        Method::POST,
        "/api/users",
        Some(json!({"Username": "sneaky", "DisplayName": "x", "IsService": true})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(first_error(&body).contains("UserEdit"), "{body}");
    // The administrator still may.
    let (status, _) = api.get("/api/users/Users-1/permissions").await;
    assert_eq!(status, StatusCode::OK);
}
