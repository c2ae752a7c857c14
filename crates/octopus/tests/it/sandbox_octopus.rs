//! `RestOctopus` against the in-process sandbox Octopus, over real HTTP(S): every operation,
//! the failure paths (401, 403, 404, 409, 429 with Retry-After, 5xx, dropped connections,
//! timeouts) and second runs that change nothing.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use octo_oidc_core::events::ProgressEvent;
use octo_oidc_core::ports::{Applied, Octopus, OidcIdentitySpec};
use octo_oidc_core::retry::RetryPolicy;
use octo_oidc_core::{ErrorCode, Problem, Secret};
use octo_oidc_octopus::issuer::Reachability;
use octo_oidc_octopus::token_exchange::exchange_id_token;
use octo_oidc_octopus::{Credential, OctopusClientConfig, RestOctopus, ServerUrl};
use octo_oidc_sandbox::faults::{FaultKind, FaultRule};
use octo_oidc_sandbox::octopus::IssuerStyle;
use octo_oidc_sandbox::octopus::github::WorkflowTokenRequest;
use octo_oidc_sandbox::{Sandbox, SandboxOptions};
use octo_oidc_testkit::RecordingProgress;
use octo_oidc_testkit::assert_problem;
use serde_json::{Value, json};

struct Harness {
    sandbox: Sandbox,
    events: RecordingProgress,
}

impl Harness {
    async fn start() -> Harness {
        Harness::start_with(SandboxOptions::default()).await
    }

    async fn start_with(options: SandboxOptions) -> Harness {
        Harness {
            sandbox: Sandbox::start(options).await.expect("sandbox starts"),
            events: RecordingProgress::new(),
        }
    }

    fn config(&self) -> OctopusClientConfig {
        let mut config =
            OctopusClientConfig::new(ServerUrl::parse(&self.sandbox.urls().octopus).unwrap());
        config.retry = RetryPolicy::fast();
        config.task_poll_interval = Duration::from_millis(50);
        config.request_timeout = Duration::from_secs(10);
        // The issuer (https://octopus.sandbox.localhost) is reached through the sandbox's
        // host overrides and trusted through its CA.
        config.resolve = self.sandbox.host_overrides().to_vec();
        config.ca_bundle_pem = Some(self.sandbox.ca_pem().as_bytes().to_vec());
        config
    }

    fn https_config(&self) -> OctopusClientConfig {
        let mut config = self.config();
        config.server_url = ServerUrl::parse(&self.sandbox.urls().octopus_public).unwrap();
        config.ca_bundle_pem = Some(self.sandbox.ca_pem().as_bytes().to_vec());
        config
    }

    fn client_with(&self, config: OctopusClientConfig) -> RestOctopus {
        RestOctopus::with_credential(config, Credential::ApiKey(self.sandbox.api_key().clone()))
            .unwrap()
            .reporting_to(Arc::new(self.events.clone()))
    }

    fn client(&self) -> RestOctopus {
        self.client_with(self.config())
    }

    /// (attempt, wait, code) of every retry reported so far.
    fn retries(&self) -> Vec<(u32, u64, ErrorCode)> {
        self.events
            .retries()
            .into_iter()
            .map(|r| (r.attempt, r.wait_ms, r.code))
            .collect()
    }

    /// Makes the sandbox Octopus answer `operation` with `fault`, every time or only the first
    /// `times` times.
    fn fault(&self, operation: &str, fault: FaultKind, times: Option<u32>) {
        let rule = FaultRule::for_service("octopus")
            .operation(operation)
            .fault(fault);
        self.sandbox.faults().add(match times {
            Some(times) => rule.times(times),
            None => rule,
        });
    }
}

fn azure_account(name: &str) -> Value {
    json!({
        "AccountType": "AzureOidc",
        "Name": name,
        "Description": "Created by octo-oidc tests",
        "SubscriptionNumber": "3f6a3a2e-1b2c-4d5e-8f90-0a1b2c3d4e5f",
        "ClientId": "8d5c1a4e-7b2f-4c3d-9e8f-1a2b3c4d5e6f",
        "TenantId": "b7c1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e",
        "Audience": "api://AzureADTokenExchange",
        "DeploymentSubjectKeys": ["space", "project", "environment"],
        "AccountTestSubjectKeys": ["space", "account"],
    })
}

fn aws_account(name: &str) -> Value {
    json!({
        "AccountType": "AmazonWebServicesOidcAccount", "Region": "us-east-1", "Audience": "octopus.sandbox.localhost",
        "Name": name,
        "RoleArn": "arn:aws:iam::123456789012:role/octopus-deploy",
        "SessionDuration": "3600",
        "DeploymentSubjectKeys": ["space", "environment"],
    })
}

fn code(result: Result<impl std::fmt::Debug, Problem>) -> (ErrorCode, String) {
    let problem = result.expect_err("expected a failure");
    (problem.code, problem.message)
}

// ---- connection -------------------------------------------------------------------------

#[tokio::test]
async fn connection_check_reports_version_user_and_spaces() {
    let h = Harness::start().await;
    let client = h.client();
    let report = client.check_connection().await.unwrap();
    assert!(report.version.at_least((2024, 1)), "{:?}", report.version);
    assert!(report.features.oidc);
    assert_eq!(report.user.id, "Users-1");
    assert!(!report.user.is_service);
    assert_eq!(report.server_url, h.sandbox.urls().octopus);

    let spaces = client.spaces().await.unwrap();
    let default = spaces.iter().find(|s| s.is_default).unwrap();
    assert_eq!(
        (default.id.as_str(), default.slug.as_str()),
        ("Spaces-1", "default")
    );

    let info = client.server_info().await.unwrap();
    assert_eq!(info.issuer, h.sandbox.urls().octopus_issuer);
    assert_eq!(info.version, report.version.version);
}

#[tokio::test]
async fn a_user_with_every_permission_misses_none() {
    let h = Harness::start().await;
    let report = h.client().check_connection().await.unwrap();
    assert!(report.permissions_checked, "{:?}", report.warnings);
    assert_eq!(report.missing_permissions, vec![]);
}

#[tokio::test]
async fn a_withheld_permission_is_named_per_space_and_system_wide() {
    let h = Harness::start().await;
    h.sandbox.octopus().withhold_permission("AccountCreate");
    h.sandbox.octopus().withhold_permission("UserEdit");
    let report = h.client().check_connection().await.unwrap();
    assert!(report.permissions_checked, "{:?}", report.warnings);
    let missing: Vec<(&str, Option<&str>)> = report
        .missing_permissions
        .iter()
        .map(|m| (m.permission.as_str(), m.space_id.as_deref()))
        .collect();
    assert_eq!(
        missing,
        vec![
            ("AccountCreate", Some("Spaces-1")),
            ("AccountCreate", Some("Spaces-2")),
            ("AccountCreate", Some("Spaces-3")),
            ("UserEdit", None),
        ]
    );
    assert!(
        report.missing_permissions[0]
            .needed_for
            .contains("creating the Azure/AWS OIDC account")
    );

    // The server refuses what the report warned about, with its message.
    let (code, message) = code(
        h.client()
            .ensure_account("Spaces-1", &azure_account("Refused"))
            .await,
    );
    assert_eq!(code, ErrorCode::PermissionDenied, "{message}");
    assert!(message.contains("AccountCreate"), "{message}");

    h.sandbox.octopus().grant_permission("AccountCreate");
    let missing = h
        .client()
        .missing_permissions("Users-1", &["Spaces-1".into()])
        .await
        .unwrap();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].permission, "UserEdit");
}

#[tokio::test]
async fn old_servers_are_refused_with_a_hint() {
    let h = Harness::start_with(SandboxOptions {
        octopus_version: "2023.4.8077".into(),
        ..SandboxOptions::default()
    })
    .await;
    let problem = Problem::from(h.client().check_connection().await.unwrap_err());
    assert_problem(&problem, ErrorCode::UnsupportedVersion, "2023.4.8077");
    assert!(problem.hint.unwrap().contains("2024.1"));
}

#[tokio::test]
async fn a_wrong_api_key_is_unauthenticated_with_the_servers_message() {
    let h = Harness::start().await;
    let client =
        RestOctopus::new(h.config(), Secret::new("API-WRONGWRONGWRONGWRONGWRONG1")).unwrap();
    let problem = Problem::from(client.check_connection().await.unwrap_err());
    assert_problem(&problem, ErrorCode::Unauthenticated, "Invalid API key");
    assert!(problem.hint.is_some());
    assert!(h.retries().is_empty(), "401 is not retried");
}

#[tokio::test]
async fn https_needs_the_private_ca_and_works_with_it() {
    let h = Harness::start().await;
    let mut without_ca = h.https_config();
    without_ca.ca_bundle_pem = None;
    without_ca.retry = RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::fast()
    };
    let problem = Problem::from(h.client_with(without_ca).current_user().await.unwrap_err());
    assert_eq!(problem.code, ErrorCode::RemoteUnavailable);
    assert!(
        problem.message.to_lowercase().contains("certificate"),
        "the TLS failure is named: {}",
        problem.message
    );

    let with_ca = h.client_with(h.https_config());
    assert_eq!(with_ca.current_user().await.unwrap().id, "Users-1");
}

#[tokio::test]
async fn a_ca_bundle_that_is_not_pem_is_invalid_input() {
    let h = Harness::start().await;
    let mut config = h.https_config();
    config.ca_bundle_pem = Some(b"not a certificate".to_vec());
    let error = RestOctopus::new(config, h.sandbox.api_key().clone()).unwrap_err();
    assert_eq!(Problem::from(error).code, ErrorCode::InvalidInput);
}

// ---- inventory --------------------------------------------------------------------------

#[tokio::test]
async fn inventory_has_every_collection_with_slugs_and_links() {
    let h = Harness::start().await;
    let inventory = h.client().inventory("Spaces-1").await.unwrap();
    assert_eq!(inventory.space.as_ref().unwrap().slug, "default");
    assert!(!inventory.environments.is_empty());
    assert!(!inventory.project_groups.is_empty());
    assert!(!inventory.projects.is_empty());
    assert!(!inventory.tenants.is_empty());
    assert!(!inventory.runbooks.is_empty());
    for env in &inventory.environments {
        assert!(env.id.starts_with("Environments-") && !env.slug.is_empty());
    }
    let group_ids: Vec<&str> = inventory
        .project_groups
        .iter()
        .map(|g| g.id.as_str())
        .collect();
    for project in &inventory.projects {
        assert!(
            group_ids.contains(&project.project_group_id.as_str()),
            "{project:?}"
        );
        assert!(!project.resource.slug.is_empty());
    }
    let project_ids: Vec<&str> = inventory
        .projects
        .iter()
        .map(|p| p.resource.id.as_str())
        .collect();
    for runbook in &inventory.runbooks {
        assert!(
            project_ids.contains(&runbook.project_id.as_str()),
            "{runbook:?}"
        );
    }
    assert!(
        inventory
            .tenants
            .iter()
            .any(|t| !t.project_environments.is_empty()),
        "tenants carry their project/environment connections"
    );
}

#[tokio::test]
async fn a_missing_all_endpoint_falls_back_to_paging_with_the_same_result() {
    let h = Harness::start().await;
    let client = h.client();
    let via_all = client.projects("Spaces-1").await.unwrap();
    // A server without `/all` answers 404 there.
    h.fault(
        "GET /api/{space}/projects/all",
        FaultKind::ServerError { status: 404 },
        None,
    );
    let mut config = h.config();
    config.page_size = 7; // many pages, fetched concurrently
    let paged = h.client_with(config).projects("Spaces-1").await.unwrap();
    assert!(via_all.len() > 7, "enough projects to need several pages");
    assert_eq!(paged, via_all);
}

#[tokio::test]
async fn the_ports_inventory_includes_the_deployment_targets() {
    let h = Harness::start().await;
    let client = h.client();
    let inventory = client.inventory("Spaces-1").await.unwrap();
    assert_eq!(
        inventory.deployment_targets,
        client.deployment_targets("Spaces-1").await.unwrap()
    );
    assert_eq!(inventory.deployment_targets.len(), 24);
}

#[tokio::test]
async fn deployment_targets_come_with_slugs_and_page_the_same_without_all() {
    let h = Harness::start().await;
    let client = h.client();
    let targets = client.deployment_targets("Spaces-1").await.unwrap();
    assert_eq!(targets.len(), 24, "{targets:?}");
    let web = targets
        .iter()
        .find(|t| t.name == "web-production-01")
        .expect("a production web server");
    assert_eq!(web.slug, "web-production-01");
    assert!(web.id.starts_with("Machines-"));
    assert!(targets.iter().all(|t| !t.slug.is_empty()));
    let other = client.deployment_targets("platform-team").await.unwrap();
    assert_eq!(other.len(), 10);
    assert!(other.iter().all(|t| !targets.contains(t)));

    h.fault(
        "GET /api/spaces/{space}/machines/all",
        FaultKind::ServerError { status: 404 },
        None,
    );
    let mut config = h.config();
    config.page_size = 5;
    let paged = h
        .client_with(config)
        .deployment_targets("Spaces-1")
        .await
        .unwrap();
    assert_eq!(paged, targets);

    let (code, message) = code(
        client
            .deployment_targets("Spaces-999")
            .await
            .map_err(Problem::from),
    );
    assert_eq!(code, ErrorCode::NotFound, "{message}");
}

#[tokio::test]
async fn an_unknown_space_is_not_found() {
    let h = Harness::start().await;
    let (code, message) = code(h.client().inventory("Spaces-999").await);
    assert_eq!(code, ErrorCode::NotFound, "{message}");
}

// ---- retries and failures ---------------------------------------------------------------

#[tokio::test]
async fn throttling_is_retried_after_the_servers_retry_after() {
    let h = Harness::start().await;
    h.fault(
        "GET /api/{space}/environments/all",
        FaultKind::Throttle {
            retry_after_secs: 1,
        },
        Some(2),
    );
    let started = std::time::Instant::now();
    let environments = h.client().environments("Spaces-1").await.unwrap();
    assert!(!environments.is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited as asked"
    );
    assert_eq!(
        h.retries(),
        vec![
            (1, 1000, ErrorCode::RateLimited),
            (2, 1000, ErrorCode::RateLimited)
        ]
    );
}

#[tokio::test]
async fn throttling_beyond_the_budget_is_rate_limited_with_the_servers_message() {
    let h = Harness::start().await;
    h.fault(
        "GET /api/{space}/environments/all",
        FaultKind::Throttle {
            retry_after_secs: 30,
        },
        None,
    );
    let (code, message) = code(
        h.client()
            .environments("Spaces-1")
            .await
            .map_err(Problem::from),
    );
    assert_eq!(code, ErrorCode::RateLimited);
    assert!(message.contains("429"), "{message}");
    assert!(
        h.retries().is_empty(),
        "30 s is beyond the fast policy's 5 s budget"
    );
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried_for_reads() {
    let h = Harness::start().await;
    h.fault(
        "GET /api/{space}/tenants/all",
        FaultKind::ServerError { status: 503 },
        Some(1),
    );
    h.fault(
        "GET /api/{space}/runbooks/all",
        FaultKind::DropConnection,
        Some(1),
    );
    let inventory = h.client().inventory("Spaces-1").await.unwrap();
    assert!(!inventory.tenants.is_empty() && !inventory.runbooks.is_empty());
    let codes: Vec<ErrorCode> = h.retries().iter().map(|r| r.2).collect();
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert!(codes.iter().all(|c| *c == ErrorCode::RemoteUnavailable));
}

#[tokio::test]
async fn a_500_on_create_is_not_resent_and_surfaces_as_remote_unavailable() {
    let h = Harness::start().await;
    h.fault(
        "POST /api/{space}/accounts",
        FaultKind::ServerError { status: 500 },
        None,
    );
    let (code, _) = code(
        h.client()
            .ensure_account("Spaces-1", &azure_account("never-created"))
            .await,
    );
    assert_eq!(code, ErrorCode::RemoteUnavailable);
    assert!(
        h.retries().is_empty(),
        "a POST that may have acted is not resent"
    );
}

#[tokio::test]
async fn a_persistent_5xx_gives_up_within_the_budget() {
    let h = Harness::start().await;
    h.fault(
        "GET /api/users/me",
        FaultKind::ServerError { status: 502 },
        None,
    );
    let mut config = h.config();
    config.retry = RetryPolicy {
        max_retries: 3,
        ..RetryPolicy::fast()
    };
    let problem = Problem::from(h.client_with(config).current_user().await.unwrap_err());
    assert_eq!(problem.code, ErrorCode::RemoteUnavailable);
    assert_eq!(h.retries().len(), 3);
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let h = Harness::start().await;
    h.sandbox.faults().add(
        FaultRule::for_service("octopus")
            .operation("GET /api/users/me")
            .latency(Duration::from_millis(1500)),
    );
    let mut config = h.config();
    config.request_timeout = Duration::from_millis(300);
    config.retry = RetryPolicy {
        max_retries: 1,
        ..RetryPolicy::fast()
    };
    let problem = Problem::from(h.client_with(config).current_user().await.unwrap_err());
    assert_eq!(problem.code, ErrorCode::Timeout, "{}", problem.message);
    assert_eq!(h.retries(), vec![(1, h.retries()[0].1, ErrorCode::Timeout)]);
}

#[tokio::test]
async fn a_409_is_a_conflict_with_the_servers_message() {
    let h = Harness::start().await;
    h.fault(
        "POST /api/{space}/accounts",
        FaultKind::ServerError { status: 409 },
        Some(1),
    );
    let (code, _) = code(
        h.client()
            .ensure_account("Spaces-1", &aws_account("conflicting"))
            .await,
    );
    assert_eq!(code, ErrorCode::Conflict);
}

// ---- accounts ---------------------------------------------------------------------------

#[tokio::test]
async fn azure_account_is_created_then_unchanged_then_updated_only_where_it_differs() {
    let h = Harness::start().await;
    let client = h.client();
    let desired = azure_account("Azure OIDC (tests)");

    let created = client.ensure_account("Spaces-1", &desired).await.unwrap();
    let Applied::Created(account) = created else {
        panic!("first run creates: {created:?}")
    };
    assert!(account.id.starts_with("Accounts-"));
    assert_eq!(account.slug, "azure-oidc-tests");
    assert_eq!(account.body["SpaceId"], "Spaces-1");

    let second = client.ensure_account("Spaces-1", &desired).await.unwrap();
    assert_eq!(
        second,
        Applied::Unchanged(account.clone()),
        "a second run changes nothing"
    );

    // Key order does not matter; a real change does.
    let mut reordered = desired.clone();
    reordered["DeploymentSubjectKeys"] = json!(["environment", "project", "space"]);
    assert!(
        !client
            .ensure_account("Spaces-1", &reordered)
            .await
            .unwrap()
            .changed()
    );

    let mut changed = desired.clone();
    changed["DeploymentSubjectKeys"] = json!(["space", "environment"]);
    let updated = client.ensure_account("Spaces-1", &changed).await.unwrap();
    let Applied::Updated(updated) = updated else {
        panic!("a difference updates: {updated:?}")
    };
    assert_eq!(updated.id, account.id);
    assert_eq!(
        updated.body["DeploymentSubjectKeys"],
        json!(["space", "environment"])
    );
    assert_eq!(
        updated.body["ClientId"], desired["ClientId"],
        "other fields kept"
    );

    let found = client
        .find_account("Spaces-1", "Azure OIDC (tests)")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, account.id);
    let by_slug = client
        .find_account_by_slug("Spaces-1", "azure-oidc-tests")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_slug.id, account.id);
    assert!(
        client
            .find_account("Spaces-1", "Azure OIDC")
            .await
            .unwrap()
            .is_none(),
        "partial names do not match"
    );

    client
        .delete_account("Spaces-1", &account.id)
        .await
        .unwrap();
    assert!(
        client
            .account("Spaces-1", &account.id)
            .await
            .unwrap()
            .is_none()
    );
    // Deleting again is still success (idempotent).
    client
        .delete_account("Spaces-1", &account.id)
        .await
        .unwrap();
    assert!(
        !client
            .remove_account("Spaces-1", &account.id)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn aws_account_round_trip_with_a_string_session_duration() {
    let h = Harness::start().await;
    let client = h.client();
    let created = client
        .ensure_account("Spaces-1", &aws_account("AWS OIDC"))
        .await
        .unwrap();
    assert!(matches!(created, Applied::Created(_)));
    let mut as_number = aws_account("AWS OIDC");
    as_number["SessionDuration"] = json!(3600);
    let again = client.ensure_account("Spaces-1", &as_number).await.unwrap();
    assert!(
        matches!(again, Applied::Unchanged(_)),
        "3600 equals \"3600\""
    );
    let mut longer = aws_account("AWS OIDC");
    longer["SessionDuration"] = json!("7200");
    let updated = client.ensure_account("Spaces-1", &longer).await.unwrap();
    assert_eq!(updated.into_inner().body["SessionDuration"], "7200");
}

#[tokio::test]
async fn an_account_of_another_type_with_the_same_name_is_a_conflict() {
    let h = Harness::start().await;
    let client = h.client();
    client
        .ensure_account("Spaces-1", &aws_account("shared-name"))
        .await
        .unwrap();
    let (code, message) = code(
        client
            .ensure_account("Spaces-1", &azure_account("shared-name"))
            .await,
    );
    assert_eq!(code, ErrorCode::Conflict);
    assert!(
        message.contains("AmazonWebServicesOidcAccount"),
        "{message}"
    );
}

#[tokio::test]
async fn server_validation_errors_come_back_with_every_message() {
    let h = Harness::start().await;
    let mut bad = azure_account("bad-azure");
    bad["SubscriptionNumber"] = json!("not-a-guid");
    let problem = h
        .client()
        .ensure_account("Spaces-1", &bad)
        .await
        .unwrap_err();
    assert_problem(&problem, ErrorCode::InvalidInput, "HTTP 400");
    assert!(
        problem.message.to_lowercase().contains("subscription"),
        "{}",
        problem.message
    );
}

#[tokio::test]
async fn the_account_test_is_followed_to_the_end_with_its_log() {
    let h = Harness::start().await;
    let client = h.client();
    let account = client
        .ensure_account("Spaces-1", &azure_account("tested"))
        .await
        .unwrap()
        .into_inner();
    let result = client.test_account("Spaces-1", &account.id).await.unwrap();
    assert!(result.task_id.starts_with("ServerTasks-"));
    assert!(
        ["Success", "Failed"].contains(&result.state.as_str()),
        "{result:?}"
    );
    assert!(!result.log.is_empty(), "the log is read");
    if !result.succeeded {
        // No Entra app trusts this sandbox's issuer: the failure carries the cloud's reason.
        let problem = octo_oidc_octopus::tasks::task_failure(&result).unwrap();
        assert_eq!(problem.code, ErrorCode::TaskFailed);
        assert!(
            result.error_message.is_some() || result.log.iter().any(|l| l.starts_with("Error"))
        );
    }
    let events = h.events.events();
    let states: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::TaskProgress {
                state,
                message: None,
                ..
            } => Some(state.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        states.last().copied(),
        Some(result.state.as_str()),
        "{states:?}"
    );
    let lines = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                ProgressEvent::TaskProgress {
                    message: Some(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(lines, result.log.len(), "every log line reported once");
}

#[tokio::test]
async fn testing_a_missing_account_is_refused() {
    let h = Harness::start().await;
    let problem = h
        .client()
        .test_account("Spaces-1", "Accounts-4242")
        .await
        .unwrap_err();
    assert!(
        matches!(problem.code, ErrorCode::InvalidInput | ErrorCode::NotFound),
        "{problem:?}"
    );
}

// ---- issuer -----------------------------------------------------------------------------

#[tokio::test]
async fn issuer_check_reports_the_issuer_verbatim_with_its_trailing_slash_and_keys() {
    let h = Harness::start_with(SandboxOptions {
        issuer_style: IssuerStyle::HttpsTrailingSlash,
        ..SandboxOptions::default()
    })
    .await;
    let report = h
        .client_with(h.https_config())
        .check_issuer()
        .await
        .unwrap();
    assert_eq!(report.issuer, h.sandbox.urls().octopus_issuer);
    assert!(report.issuer.ends_with('/'));
    assert!(report.has_trailing_slash && report.is_https);
    assert!(report.has_usable_key(), "{:?}", report.keys);
    assert!(
        report
            .keys
            .iter()
            .all(|k| k.kty == "RSA" && k.kid.is_some())
    );
    assert!(matches!(
        report.reachability,
        Reachability::NotPublic { .. }
    ));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("will not reach it")),
        "{:?}",
        report.warnings
    );
    assert!(report.warnings.iter().any(|w| w.contains("slash included")));
}

#[tokio::test]
async fn an_http_issuer_is_flagged() {
    let h = Harness::start_with(SandboxOptions {
        issuer_style: IssuerStyle::Http,
        ..SandboxOptions::default()
    })
    .await;
    let report = h.client().check_issuer().await.unwrap();
    assert!(!report.is_https);
    assert!(report.warnings.iter().any(|w| w.contains("not https")));
}

// ---- service accounts and OIDC identities -------------------------------------------------

#[tokio::test]
async fn service_account_team_and_identity_are_idempotent_and_the_trust_works() {
    let h = Harness::start().await;
    let client = h.client();

    let created = client
        .ensure_service_account("github-actions", "GitHub Actions")
        .await
        .unwrap();
    let Applied::Created(user) = created else {
        panic!("{created:?}")
    };
    let user_id = user.id.clone();
    assert!(user_id.starts_with("Users-"));
    assert!(user.is_service);
    assert_eq!(
        client
            .ensure_service_account("github-actions", "GitHub Actions")
            .await
            .unwrap(),
        Applied::Unchanged(user.clone())
    );
    assert_eq!(
        client.find_service_account("GitHub-Actions").await.unwrap(),
        Some(user.clone())
    );

    let github = h.sandbox.github();
    let spec = OidcIdentitySpec {
        name: "octo-org/octo-repo main".into(),
        issuer: github.issuer().to_string(),
        subject: "repo:octo-org/octo-repo:ref:refs/heads/main".into(),
        audience: None,
    };
    let applied = client.ensure_oidc_identity(&user_id, &spec).await.unwrap();
    let Applied::Created(ids) = applied else {
        panic!("{applied:?}")
    };
    let external_id = ids.external_id.clone();
    uuid::Uuid::parse_str(&external_id).expect("ExternalId is a GUID");
    assert_eq!(
        client.ensure_oidc_identity(&user_id, &spec).await.unwrap(),
        Applied::Unchanged(ids.clone())
    );

    // A token from the trusted repo and branch is exchanged for an access token...
    let id_token = github
        .mint(&WorkflowTokenRequest {
            audience: external_id.clone(),
            ..WorkflowTokenRequest::default()
        })
        .unwrap();
    let token = exchange_id_token(&h.https_config(), &external_id, &Secret::new(id_token))
        .await
        .unwrap();
    let as_service_account = RestOctopus::with_access_token(h.config(), token).unwrap();
    assert_eq!(as_service_account.current_user().await.unwrap().id, user_id);
    // ...but the account has no permissions until it is in a team: 403.
    let problem = as_service_account.inventory("Spaces-1").await.unwrap_err();
    assert_problem(
        &problem,
        ErrorCode::PermissionDenied,
        "not a member of any team",
    );

    let teams = client.teams("Spaces-1").await.unwrap();
    let team = teams
        .iter()
        .find(|t| t.name == "Octopus Managers")
        .expect("the sandbox has the built-in teams");
    let added = client.add_team_member(&team.id, &user_id).await.unwrap();
    assert!(matches!(added, Applied::Updated(ref t) if t.member_user_ids.contains(&user_id)));
    assert!(matches!(
        client.add_team_member(&team.id, &user_id).await.unwrap(),
        Applied::Unchanged(_)
    ));
    assert!(
        !as_service_account
            .inventory("Spaces-1")
            .await
            .unwrap()
            .projects
            .is_empty()
    );

    // Another branch is not trusted until the identity's subject says so.
    let develop = github
        .mint(&WorkflowTokenRequest {
            audience: external_id.clone(),
            git_ref: "refs/heads/develop".into(),
            ..WorkflowTokenRequest::default()
        })
        .unwrap();
    let rejected = exchange_id_token(
        &h.https_config(),
        &external_id,
        &Secret::new(develop.clone()),
    )
    .await
    .unwrap_err();
    assert_eq!(Problem::from(rejected).code, ErrorCode::InvalidInput);
    let widened = OidcIdentitySpec {
        subject: "repo:octo-org/octo-repo:ref:refs/heads/*".into(),
        ..spec.clone()
    };
    assert_eq!(
        client
            .ensure_oidc_identity(&user_id, &widened)
            .await
            .unwrap(),
        Applied::Updated(ids.clone())
    );
    exchange_id_token(&h.https_config(), &external_id, &Secret::new(develop))
        .await
        .unwrap();
    let identities = client.oidc_identities(&user_id).await.unwrap();
    assert_eq!(identities.identities.len(), 1);
    assert_eq!(identities.identities[0].subject, widened.subject);
    assert!(
        identities.identities[0]
            .audience
            .as_deref()
            .is_none_or(str::is_empty)
    );
}

#[tokio::test]
async fn the_port_lists_exchanges_and_tears_down_service_accounts_and_identities() {
    let h = Harness::start().await;
    let client = h.client_with(h.https_config());
    assert_eq!(
        client.find_service_account("gh-teardown").await.unwrap(),
        None
    );
    let person = client.find_service_account("admin").await.unwrap().unwrap();
    assert!(!person.is_service, "the seeded admin is a person");
    let account = client
        .ensure_service_account("gh-teardown", "GitHub (octo-oidc:setup=gh)")
        .await
        .unwrap()
        .into_inner();
    let github = h.sandbox.github();
    let spec = OidcIdentitySpec {
        name: "main".into(),
        issuer: github.issuer().to_string(),
        subject: "repo:octo-org/octo-repo:ref:refs/heads/main".into(),
        audience: None,
    };
    let ids = client
        .ensure_oidc_identity(&account.id, &spec)
        .await
        .unwrap()
        .into_inner();
    let listed = client.list_oidc_identities(&account.id).await.unwrap();
    assert_eq!(listed.external_id, ids.external_id);
    assert_eq!(listed.identities.len(), 1);
    assert_eq!(listed.identities[0].id, ids.identity_id);
    assert_eq!(listed.identities[0].spec, spec);

    // The exchange through the port: trusted → a token that signs in as the account.
    let trusted = github
        .mint(&WorkflowTokenRequest {
            audience: ids.external_id.clone(),
            ..WorkflowTokenRequest::default()
        })
        .unwrap();
    let exchanged = client
        .exchange_id_token(&ids.external_id, &Secret::new(trusted))
        .await
        .unwrap();
    assert!(!exchanged.access_token.is_blank());
    let as_account = RestOctopus::with_credential(
        h.https_config(),
        Credential::AccessToken(exchanged.access_token.clone()),
    )
    .unwrap()
    .reporting_to(Arc::new(RecordingProgress::new()));
    assert_eq!(as_account.current_user().await.unwrap().id, account.id);
    assert!(!format!("{exchanged:?}").contains(exchanged.access_token.expose()));
    // Another branch is refused as a trust problem, with the server's reason.
    let develop = github
        .mint(&WorkflowTokenRequest {
            audience: ids.external_id.clone(),
            git_ref: "refs/heads/develop".into(),
            ..WorkflowTokenRequest::default()
        })
        .unwrap();
    let refused = client
        .exchange_id_token(&ids.external_id, &Secret::new(develop))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::TrustRejected, "{refused:?}");

    // Teardown, twice.
    for _ in 0..2 {
        client
            .delete_oidc_identity(&account.id, &ids.identity_id)
            .await
            .unwrap();
    }
    assert!(
        client
            .list_oidc_identities(&account.id)
            .await
            .unwrap()
            .identities
            .is_empty()
    );
    for _ in 0..2 {
        client.delete_service_account(&account.id).await.unwrap();
    }
    assert_eq!(
        client.find_service_account("gh-teardown").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_person_is_never_turned_into_a_service_account() {
    let h = Harness::start().await;
    let (code, message) = code(h.client().ensure_service_account("admin", "Admin").await);
    assert_eq!(code, ErrorCode::Conflict);
    assert!(message.contains("not a service account"), "{message}");
}

#[tokio::test]
async fn identities_of_an_unknown_service_account_are_not_found() {
    let h = Harness::start().await;
    let spec = OidcIdentitySpec {
        name: "x".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
        subject: "repo:a/b:ref:refs/heads/main".into(),
        audience: None,
    };
    let (code, _) = code(h.client().ensure_oidc_identity("Users-9999", &spec).await);
    assert_eq!(code, ErrorCode::NotFound);
}

#[tokio::test]
async fn the_large_space_inventory_is_complete() {
    let h = Harness::start_with(SandboxOptions {
        profile: octo_oidc_sandbox::seed::SeedProfile::Large,
        ..SandboxOptions::default()
    })
    .await;
    let inventory = h.client().inventory("Spaces-1").await.unwrap();
    assert_eq!(inventory.projects.len(), 10_000);
    assert_eq!(inventory.environments.len(), 500);
    assert_eq!(inventory.tenants.len(), 5_000);
    let mut ids: Vec<&str> = inventory
        .projects
        .iter()
        .map(|p| p.resource.id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 10_000, "no duplicates");
}

/// The core's account bodies, built from the inventory this client loaded, are accepted by
/// the server as they are and a rerun of the setup changes nothing.
#[tokio::test]
async fn core_account_bodies_from_the_loaded_inventory_apply_once() {
    use octo_oidc_core::accounts::{
        AccountCommon, AwsOidcAccount, AzureCloud, AzureOidcAccount, aws_oidc_account_body,
        azure_oidc_account_body,
    };
    use octo_oidc_core::ports::OctopusResource;
    use octo_oidc_core::scope::{Inventory, Scope, ScopeSelection, Selection, SubjectKeyConfig};
    use octo_oidc_core::subject::{Context, SubjectKey};

    let h = Harness::start().await;
    let client = h.client();
    let loaded = client.inventory("Spaces-1").await.unwrap();
    let space = loaded.space.clone().unwrap();
    let environments: Vec<String> = loaded
        .environments
        .iter()
        .take(2)
        .map(|e| e.id.clone())
        .collect();
    let tenant = loaded
        .tenants
        .iter()
        .find(|t| !t.project_environments.is_empty())
        .unwrap();
    let scope = Scope {
        inventory: Inventory::from_space(
            space,
            OctopusResource {
                id: String::new(),
                name: "Wizard Azure".into(),
                slug: "wizard-azure".into(),
            },
            loaded.clone(),
            Vec::new(),
        ),
        selection: ScopeSelection {
            contexts: vec![Context::Deployment],
            projects: Selection::All,
            runbooks: Selection::All,
            environments: Selection::Only(environments.clone()),
            tenants: Selection::Only(vec![tenant.resource.id.clone()]),
            untenanted: true,
            targets: Selection::All,
        },
        keys: SubjectKeyConfig {
            deployment: vec![SubjectKey::Space, SubjectKey::Environment],
            ..SubjectKeyConfig::default()
        },
    };
    let common = |name: &str, slug: &str| AccountCommon {
        name: name.into(),
        description: "Created by the Octopus OIDC Wizard".into(),
        space_id: "Spaces-1".into(),
        slug: Some(slug.into()),
    };
    let azure = azure_oidc_account_body(
        &AzureOidcAccount {
            common: common("Wizard Azure", "wizard-azure"),
            subscription_id: "3f6a3a2e-1b2c-4d5e-8f90-0a1b2c3d4e5f".into(),
            client_id: "8d5c1a4e-7b2f-4c3d-9e8f-1a2b3c4d5e6f".into(),
            tenant_id: "b7c1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e".into(),
            cloud: AzureCloud::Global,
            audience: None,
            custom_claims: [("team".to_string(), "platform".to_string())].into(),
        },
        &scope,
    )
    .unwrap();
    let aws = aws_oidc_account_body(
        &AwsOidcAccount {
            common: common("Wizard AWS", "wizard-aws"),
            role_arn: "arn:aws:iam::123456789012:role/octopus-wizard".into(),
            session_duration: 3600,
            region: "eu-west-1".into(),
            audience: octo_oidc_sandbox::tls::OCTOPUS_HOST.into(),
            custom_claims: Default::default(),
        },
        &scope,
    )
    .unwrap();
    for body in [azure, aws] {
        let created = client.ensure_account("Spaces-1", &body).await.unwrap();
        let Applied::Created(account) = created else {
            panic!("{created:?}")
        };
        assert_eq!(account.slug, body["Slug"]);
        assert_eq!(
            account.body["CustomClaims"],
            body.get("CustomClaims").cloned().unwrap_or(json!({}))
        );
        if body["AccountType"] == "AmazonWebServicesOidcAccount" {
            assert_eq!(account.body["Region"], "eu-west-1");
            assert_eq!(account.body["Audience"], "octopus.sandbox.localhost");
        }
        assert_eq!(account.body["EnvironmentIds"], json!(environments));
        assert_eq!(
            account.body["TenantedDeploymentParticipation"],
            "TenantedOrUntenanted"
        );
        let rerun = client.ensure_account("Spaces-1", &body).await.unwrap();
        assert!(
            matches!(rerun, Applied::Unchanged(_)),
            "a rerun changes nothing: {rerun:?}"
        );
    }
}

#[tokio::test]
async fn a_name_differing_only_in_case_is_the_same_account() {
    let h = Harness::start().await;
    let client = h.client();
    let first = client
        .ensure_account("Spaces-1", &aws_account("Case Test"))
        .await
        .unwrap()
        .into_inner();
    let renamed = client
        .ensure_account("Spaces-1", &aws_account("case test"))
        .await
        .unwrap();
    let Applied::Updated(renamed) = renamed else {
        panic!("{renamed:?}")
    };
    assert_eq!(renamed.id, first.id);
    assert_eq!(renamed.body["Name"], "case test");
    assert_eq!(client.accounts("Spaces-1").await.unwrap().len(), 1);
}

/// Creates, over the sandbox IAM's query protocol, the OIDC provider for the Octopus issuer
/// and a role trusting exactly `subject`; returns the role ARN.
async fn aws_role_trusting(sandbox: &Sandbox, role: &str, subject: &str) -> String {
    let issuer = sandbox.urls().octopus_issuer.clone();
    let host = issuer.trim_start_matches("https://").trim_end_matches('/');
    let audience = host.split(':').next().unwrap();
    octo_oidc_testkit::aws::role_trusting(
        &sandbox.http_client().unwrap(),
        sandbox.urls().aws.as_deref().unwrap(),
        &issuer,
        audience,
        role,
        subject,
    )
    .await
}

#[tokio::test]
async fn the_aws_account_test_succeeds_when_the_trust_matches_and_fails_with_stss_reason() {
    let h = Harness::start().await;
    let client = h.client();
    let role = aws_role_trusting(
        &h.sandbox,
        "octopus-client-test",
        "space:default:account:aws-good",
    )
    .await;

    let mut good = aws_account("AWS Good");
    good["RoleArn"] = json!(role);
    good["Slug"] = json!("aws-good");
    let account = client
        .ensure_account("Spaces-1", &good)
        .await
        .unwrap()
        .into_inner();
    let result = client.test_account("Spaces-1", &account.id).await.unwrap();
    assert!(result.succeeded, "{result:?}");
    assert_eq!(result.state, "Success");
    assert!(octo_oidc_octopus::tasks::task_failure(&result).is_none());
    assert!(!result.log.is_empty());

    let mut wrong = aws_account("AWS Wrong");
    wrong["RoleArn"] = json!(role);
    let account = client
        .ensure_account("Spaces-1", &wrong)
        .await
        .unwrap()
        .into_inner();
    let result = client.test_account("Spaces-1", &account.id).await.unwrap();
    assert!(!result.succeeded);
    assert_eq!(result.state, "Failed");
    assert!(
        result
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("AccessDenied")),
        "{result:?}"
    );
    assert!(
        result
            .log
            .iter()
            .any(|l| l.contains("space:default:account:aws-wrong")),
        "{:?}",
        result.log
    );
    let problem = octo_oidc_octopus::tasks::task_failure(&result).unwrap();
    assert_problem(&problem, ErrorCode::TaskFailed, "AccessDenied");
}

/// `create_account` (sent without a lookup, for an account observe found absent) meets one
/// of that name after all (a race, a resumed crash): it converges as `ensure_account` would,
/// with no duplicate; a create refused for another reason keeps the server's refusal.
#[tokio::test]
async fn create_account_of_an_existing_name_converges_without_a_duplicate() {
    let h = Harness::start().await;
    let client = h.client();
    let desired = azure_account("Azure OIDC (race)");
    let created = client.create_account("Spaces-1", &desired).await.unwrap();
    let Applied::Created(account) = created else {
        panic!("an absent account is created: {created:?}")
    };
    let again = client.create_account("Spaces-1", &desired).await.unwrap();
    assert_eq!(again, Applied::Unchanged(account.clone()));
    let mut changed = desired.clone();
    changed["DeploymentSubjectKeys"] = json!(["space", "environment"]);
    let updated = client.create_account("Spaces-1", &changed).await.unwrap();
    assert!(
        matches!(&updated, Applied::Updated(a) if a.id == account.id),
        "{updated:?}"
    );
    let found = client
        .find_account("Spaces-1", "Azure OIDC (race)")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, account.id);

    // Octopus 2026 refuses an AWS account without a region (400, its validation body).
    let mut refused = aws_account("Refused on create");
    refused.as_object_mut().unwrap().remove("Region");
    let (_, message) = code(client.create_account("Spaces-1", &refused).await);
    assert!(message.contains("region is required"), "{message}");
    assert!(
        client
            .find_account("Spaces-1", "Refused on create")
            .await
            .unwrap()
            .is_none()
    );
}
