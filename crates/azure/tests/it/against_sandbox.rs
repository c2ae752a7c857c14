//! The Azure client against the sandbox Entra / Graph / ARM over real HTTP: each sign-in
//! path, listing, every port operation, failure paths (401, 403, 404, 409, 429 + Retry-After,
//! 5xx, timeouts, dropped connections, propagation errors) and a second run that changes
//! nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use octo_oidc_azure::{
    ArmRbac, AuthorityConfig, AzureSession, GraphEntraApps, Resource, Transport,
};
use octo_oidc_core::ports::{
    ApplicationSpec, Applied, AzureRbac, EntraApplication, EntraApps, FederatedCredential,
    RoleAssignment, ServicePrincipal,
};
use octo_oidc_core::retry::RetryPolicy;
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_sandbox::entra::{
    DEFAULT_SUBSCRIPTION_ID, DEFAULT_TENANT_ID, DEFAULT_USER, EntraConfig, EntraSandbox,
    LIMITED_USER, WIZARD_CLIENT_ID,
};
use octo_oidc_sandbox::faults::{FaultKind, FaultRule, Faults};
use octo_oidc_sandbox::token_validation::RemoteIssuers;
use octo_oidc_testkit::assert_problem;
use octo_oidc_testkit::misbehaving::browse_in_background;
use octo_oidc_testkit::{RecordingProgress, serve};

struct Env {
    sandbox: EntraSandbox,
    faults: Faults,
    login: String,
    graph: String,
    arm: String,
    progress: RecordingProgress,
    transport: Transport,
}

async fn env() -> Env {
    let faults = Faults::new();
    let sandbox = EntraSandbox::new(
        EntraConfig::default(),
        faults.clone(),
        RemoteIssuers::new(reqwest::Client::new()),
    );
    let login = serve(sandbox.login_router()).await;
    let graph = serve(sandbox.graph_router()).await;
    let arm = serve(sandbox.arm_router()).await;
    let progress = RecordingProgress::new();
    let transport = Transport::new(reqwest::Client::new())
        .with_policies(RetryPolicy::fast(), RetryPolicy::fast())
        .with_request_timeout(Duration::from_secs(5))
        .reporting_to(Arc::new(progress.clone()));
    Env {
        sandbox,
        faults,
        login,
        graph,
        arm,
        progress,
        transport,
    }
}

/// A fresh sandbox and the default user's interactive sign-in.
async fn signed_in() -> (Env, AzureSession) {
    let env = env().await;
    let session = env.sign_in(DEFAULT_USER).await;
    (env, session)
}

impl Env {
    fn authority(&self, tenant: &str, client_id: &str) -> AuthorityConfig {
        AuthorityConfig {
            authority_url: self.login.clone(),
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
        }
    }

    /// The interactive sign-in, with a "browser" that follows the sandbox's auto-approve
    /// redirect into the client's loopback listener.
    async fn sign_in(&self, user: &str) -> AzureSession {
        self.sign_in_through(self.transport.clone(), user).await
    }

    /// [`Env::sign_in`] through another transport.
    async fn sign_in_through(&self, transport: Transport, user: &str) -> AzureSession {
        self.sandbox.set_auto_approve_user(Some(user));
        AzureSession::sign_in_interactive(
            transport,
            self.authority("organizations", WIZARD_CLIENT_ID),
            |url| {
                browse_in_background(url);
                Ok(())
            },
            Duration::from_secs(10),
        )
        .await
        .expect("interactive sign-in")
    }

    /// Gives the app `app_id` a client secret and consent to `Application.ReadWrite.All`;
    /// returns the secret.
    fn consented_secret(&self, app_id: &str) -> String {
        let secret = self
            .sandbox
            .add_client_secret(DEFAULT_TENANT_ID, app_id)
            .expect("secret");
        self.sandbox
            .grant_graph_app_role(DEFAULT_TENANT_ID, app_id, "Application.ReadWrite.All")
            .expect("consent");
        secret
    }

    /// A session of the app `app_id` signing in with `secret`.
    fn service_principal(&self, app_id: &str, secret: &str) -> AzureSession {
        AzureSession::service_principal(
            self.transport.clone(),
            self.authority(DEFAULT_TENANT_ID, app_id),
            Secret::new(secret.to_owned()),
        )
        .expect("session")
    }

    /// The next `times` calls to `service` are answered 429 with `Retry-After: retry_after_secs`.
    fn throttle(&self, service: &str, retry_after_secs: u64, times: u32) {
        self.faults.add(
            FaultRule::for_service(service)
                .fault(FaultKind::Throttle { retry_after_secs })
                .times(times),
        );
    }

    fn graph(&self, session: &AzureSession) -> GraphEntraApps {
        GraphEntraApps::new(session.clone(), &self.graph)
    }

    fn arm(&self, session: &AzureSession) -> ArmRbac {
        ArmRbac::new(session.clone(), &self.arm)
    }
}

const ISSUER: &str = "https://octopus.example.com";
const MARKER: &str = "octo-oidc:setup=test-1";

fn credential(name: &str, subject: &str) -> FederatedCredential {
    FederatedCredential {
        name: name.to_owned(),
        issuer: ISSUER.to_owned(),
        subject: subject.to_owned(),
        audiences: vec!["api://AzureADTokenExchange".to_owned()],
        description: Some(format!("Octopus OIDC Wizard ({MARKER})")),
    }
}

fn rg_scope() -> String {
    format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/rg-web-prod")
}

/// The id of the role `name` at the resource group.
async fn rg_role(arm: &ArmRbac, name: &str) -> String {
    arm.role_definition_id(&rg_scope(), name)
        .await
        .expect("role")
}

/// The assignment of the role `name` at the resource group to `principal_id`.
async fn rg_assignment(arm: &ArmRbac, name: &str, principal_id: &str) -> RoleAssignment {
    octo_oidc_core::azure::role_assignment(&rg_scope(), &rg_role(arm, name).await, principal_id)
}

/// A new app registration `name` and its service principal (asserted created).
async fn app_with_sp(
    graph: &GraphEntraApps,
    name: &str,
    display_name: &str,
) -> (EntraApplication, ServicePrincipal) {
    let app = graph
        .ensure_application(&ApplicationSpec::named(name, display_name))
        .await
        .expect("app")
        .into_inner();
    let sp = graph
        .ensure_service_principal(&app.app_id)
        .await
        .expect("sp");
    let Applied::Created(sp) = sp else {
        panic!("the service principal was not created: {sp:?}")
    };
    (app, sp)
}

/// Which call adds a federated credential.
#[derive(Clone, Copy)]
enum Adding {
    Ensure,
    Create,
}

/// Adds the credentials `fic-N` (subject `s-N`) for N in `from..20` to the app through `how`,
/// then the 21st, and returns why that one was refused.
async fn fill_to_the_limit(
    graph: &GraphEntraApps,
    how: Adding,
    object_id: &str,
    from: usize,
) -> octo_oidc_core::Problem {
    let add = |n: usize| {
        let fic = credential(&format!("fic-{n}"), &format!("s-{n}"));
        async move {
            match how {
                Adding::Ensure => graph.ensure_federated_credential(object_id, &fic).await,
                Adding::Create => graph.create_federated_credential(object_id, &fic).await,
            }
        }
    };
    for n in from..20 {
        add(n).await.expect("within the limit");
    }
    let full = add(20).await.expect_err("the app is full");
    assert_eq!(full.code, ErrorCode::LimitExceeded);
    full
}

/// Asserts that a retry of an operation containing `operation` was reported for `code`.
fn assert_retried(progress: &RecordingProgress, operation: &str, code: ErrorCode) {
    let retries = progress.retries();
    assert!(
        retries
            .iter()
            .any(|r| r.operation.contains(operation) && r.code == code),
        "no retry of {operation} for {code:?}: {retries:?}"
    );
}

#[tokio::test]
async fn interactive_sign_in_lists_tenants_subscriptions_groups_and_roles() {
    let (env, session) = signed_in().await;
    let account = session.account().expect("account");
    assert_eq!(account.tenant_id, DEFAULT_TENANT_ID);
    assert_eq!(account.user_principal_name.as_deref(), Some(DEFAULT_USER));
    let me = env.graph(&session).me().await.expect("me");
    assert_eq!(me.user_principal_name, DEFAULT_USER);
    assert_eq!(
        env.graph(&session)
            .my_directory_roles()
            .await
            .expect("roles"),
        vec!["Global Administrator".to_owned()]
    );

    // ARM needs its own token, from the refresh token.
    let arm = env.arm(&session);
    let tenants = arm.list_tenants().await.expect("tenants");
    assert_eq!(tenants.len(), 2);
    let subscriptions = arm.list_subscriptions().await.expect("subscriptions");
    assert_eq!(subscriptions.len(), 2);
    env.sandbox.set_arm_page_size(1);
    let groups = arm
        .list_resource_groups(DEFAULT_SUBSCRIPTION_ID)
        .await
        .expect("groups");
    assert_eq!(groups.len(), 4, "every page followed");
    let contributor = rg_role(&arm, "Contributor").await;
    assert!(contributor.ends_with("/b24988ac-6180-42a0-ab88-20f7382dd24c"));
    let missing = arm
        .role_definition_id(&rg_scope(), "No Such Role")
        .await
        .expect_err("404");
    assert_eq!(missing.code, ErrorCode::NotFound);

    // The second tenant's subscriptions need a token from that tenant.
    let other = tenants
        .iter()
        .find(|t| t.tenant_id != DEFAULT_TENANT_ID)
        .expect("second tenant");
    let in_other = env.arm(&session).in_tenant(&other.tenant_id);
    let subs = in_other.list_subscriptions().await.expect("subscriptions");
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].tenant_id, other.tenant_id);
}

#[tokio::test]
async fn device_code_sign_in_polls_until_approved() {
    let env = env().await;
    env.sandbox.set_auto_approve_user(Some(DEFAULT_USER));
    let shown = Arc::new(Mutex::new(None));
    let seen = shown.clone();
    let session = AzureSession::sign_in_device_code(
        env.transport.clone(),
        env.authority("organizations", WIZARD_CLIENT_ID),
        move |prompt| *seen.lock().expect("lock") = Some(prompt.clone()),
    )
    .await
    .expect("device code sign-in");
    let prompt = shown.lock().expect("lock").clone().expect("prompt shown");
    assert!(prompt.verification_uri.ends_with("/devicelogin"));
    assert!(prompt.message.contains(&prompt.user_code));
    assert_eq!(
        session
            .account()
            .expect("account")
            .user_principal_name
            .as_deref(),
        Some(DEFAULT_USER)
    );
}

/// App + SP + credentials + role assignment, as the engine would apply them.
async fn apply_setup(env: &Env, session: &AzureSession) -> Vec<bool> {
    let graph = env.graph(session);
    let arm = env.arm(session);
    let mut changed = Vec::new();
    let app = graph
        .ensure_application(&ApplicationSpec::named(
            "octo-oidc-test-1",
            "Octopus OIDC (test)",
        ))
        .await
        .expect("app");
    changed.push(app.changed());
    let app = app.into_inner();
    let sp = graph
        .ensure_service_principal(&app.app_id)
        .await
        .expect("sp");
    changed.push(sp.changed());
    for (name, subject) in [
        (
            "prod-web",
            "space:default:project:web:environment:production",
        ),
        (
            "staging-web",
            "space:default:project:web:environment:staging",
        ),
        ("account-test", "space:default:account:azure-prod"),
    ] {
        let fic = graph
            .ensure_federated_credential(&app.object_id, &credential(name, subject))
            .await
            .expect("credential");
        changed.push(fic.changed());
    }
    let assignment = rg_assignment(&arm, "Contributor", &sp.into_inner().object_id).await;
    let applied = arm
        .ensure_role_assignment(&assignment)
        .await
        .expect("assignment");
    changed.push(applied.changed());
    changed
}

#[tokio::test]
async fn a_full_setup_then_a_second_run_that_changes_nothing() {
    let (env, session) = signed_in().await;
    let first = apply_setup(&env, &session).await;
    assert!(first.iter().all(|c| *c), "everything created: {first:?}");
    let apps = env.sandbox.applications(DEFAULT_TENANT_ID);
    let assignments = env.sandbox.role_assignments(DEFAULT_TENANT_ID);
    let second = apply_setup(&env, &session).await;
    assert!(second.iter().all(|c| !*c), "nothing changed: {second:?}");
    assert_eq!(env.sandbox.applications(DEFAULT_TENANT_ID), apps);
    assert_eq!(env.sandbox.role_assignments(DEFAULT_TENANT_ID), assignments);

    // A changed credential is updated in place; setup-owned leftovers are pruned, others kept.
    let graph = env.graph(&session);
    let app_id = apps[0]["id"].as_str().expect("id").to_owned();
    let client_id = apps[0]["appId"].as_str().expect("appId");
    let reused = graph
        .find_application_by_app_id(client_id)
        .await
        .expect("lookup")
        .expect("found by client id");
    assert_eq!(reused.object_id, app_id);
    assert!(
        graph
            .find_application_by_app_id("00000000-0000-0000-0000-0000000000ff")
            .await
            .expect("lookup")
            .is_none()
    );
    let mut changed = credential(
        "prod-web",
        "space:default:project:web:environment:production",
    );
    changed.description = Some(format!("updated ({MARKER})"));
    let applied = graph
        .ensure_federated_credential(&app_id, &changed)
        .await
        .expect("update");
    assert!(matches!(applied, Applied::Updated(_)));
    let mut foreign = credential("someone-else", "space:other");
    foreign.description = Some("made by hand".into());
    graph
        .ensure_federated_credential(&app_id, &foreign)
        .await
        .expect("foreign");
    let removed = graph
        .remove_setup_credentials_except(&app_id, &["prod-web"], MARKER)
        .await
        .expect("prune");
    assert_eq!(removed.len(), 2, "{removed:?}");
    let left: Vec<String> = graph
        .list_federated_credentials(&app_id)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&"someone-else".to_owned()) && left.contains(&"prod-web".to_owned()));

    // Teardown: deleting twice is fine.
    let arm = env.arm(&session);
    let assignment = assignments[0]["name"].as_str().expect("name");
    let ra = octo_oidc_core::ports::RoleAssignment {
        scope: rg_scope(),
        role_definition_id: String::new(),
        principal_id: String::new(),
        name: assignment.to_owned(),
    };
    arm.delete_role_assignment(&ra).await.expect("delete");
    arm.delete_role_assignment(&ra).await.expect("delete again");
    graph
        .delete_federated_credential(&app_id, "prod-web")
        .await
        .expect("delete fic");
    graph
        .delete_federated_credential(&app_id, "prod-web")
        .await
        .expect("again");
    graph.delete_application(&app_id).await.expect("delete app");
    graph.delete_application(&app_id).await.expect("again");
    assert!(env.sandbox.applications(DEFAULT_TENANT_ID).is_empty());
}

#[tokio::test]
async fn lookups_see_the_setup_marks_and_answer_none_for_what_is_missing() {
    let (env, session) = signed_in().await;
    let graph = env.graph(&session);
    let arm = env.arm(&session);
    assert_eq!(find_marked(&graph).await, None);
    let spec = ApplicationSpec::named("octo-oidc-marked", "Marked").marked("shop-azure");
    let created = graph.ensure_application(&spec).await.expect("app");
    assert!(matches!(created, Applied::Created(_)), "{created:?}");
    let found = find_marked(&graph).await.expect("found by unique name");
    assert_eq!(found, created.into_inner());
    assert_eq!(found.unique_name.as_deref(), Some("octo-oidc-marked"));
    assert_eq!(found.notes.as_deref(), Some("octo-oidc:setup=shop-azure"));
    assert_eq!(found.tags, ["octo-oidc:setup=shop-azure"]);
    // A rename keeps the marks; a second ensure is unchanged.
    let renamed = ApplicationSpec::named("octo-oidc-marked", "Marked (prod)");
    let updated = graph.ensure_application(&renamed).await.expect("rename");
    assert!(
        matches!(updated, Applied::Updated(ref a) if a.notes == found.notes),
        "{updated:?}"
    );
    assert!(
        !graph
            .ensure_application(&renamed)
            .await
            .expect("again")
            .changed()
    );

    assert_eq!(
        graph
            .find_service_principal(&found.app_id)
            .await
            .expect("sp"),
        None
    );
    let sp = graph
        .ensure_service_principal(&found.app_id)
        .await
        .expect("sp")
        .into_inner();
    assert_eq!(
        graph
            .find_service_principal(&found.app_id)
            .await
            .expect("sp"),
        Some(sp.clone())
    );

    let role = rg_role(&arm, "Reader").await;
    let assignment = octo_oidc_core::azure::role_assignment(&rg_scope(), &role, &sp.object_id);
    assert_eq!(
        arm.find_role_assignment(&rg_scope(), &assignment.name)
            .await
            .expect("find"),
        None
    );
    arm.ensure_role_assignment(&assignment)
        .await
        .expect("assign");
    let found = arm
        .find_role_assignment(&rg_scope(), &assignment.name)
        .await
        .expect("find")
        .expect("the assignment exists");
    assert_eq!(found.name, assignment.name);
    assert_eq!(found.principal_id, sp.object_id);
    assert!(
        found
            .role_definition_id
            .ends_with(role.rsplit('/').next().expect("guid"))
    );
    arm.delete_role_assignment(&assignment)
        .await
        .expect("delete");
    assert_eq!(
        arm.find_role_assignment(&rg_scope(), &assignment.name)
            .await
            .expect("find"),
        None
    );
    graph
        .delete_application(&found_app_id(&graph).await)
        .await
        .expect("delete app");
    assert_eq!(find_marked(&graph).await, None);
}

/// The app the lookup tests mark, if it exists.
async fn find_marked(graph: &GraphEntraApps) -> Option<EntraApplication> {
    graph
        .find_application("octo-oidc-marked")
        .await
        .expect("find")
}

async fn found_app_id(graph: &GraphEntraApps) -> String {
    find_marked(graph).await.expect("exists").object_id
}

#[tokio::test]
async fn replication_errors_after_creating_the_app_are_retried_and_reported() {
    let (env, session) = signed_in().await;
    env.faults
        .set_consistency_window("graph", Duration::from_millis(300));
    let graph = env.graph(&session);
    let (app, _) = app_with_sp(&graph, "octo-oidc-fresh", "Fresh").await;
    graph
        .ensure_federated_credential(&app.object_id, &credential("fic-1", "s-1"))
        .await
        .expect("fic");
    assert_retried(
        &env.progress,
        "servicePrincipals",
        ErrorCode::PropagationPending,
    );
}

#[tokio::test]
async fn throttling_5xx_timeouts_and_dropped_connections_are_retried() {
    let (env, session) = signed_in().await;
    env.throttle("graph", 1, 2);
    env.graph(&session)
        .ensure_application(&ApplicationSpec::named("octo-oidc-throttled", "Throttled"))
        .await
        .expect("eventually");
    let retries = env.progress.retries();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(
        retries
            .iter()
            .all(|r| r.code == ErrorCode::RateLimited && r.wait_ms == 1000)
    );

    env.faults.add(
        FaultRule::for_service("arm")
            .operation("GET subscriptions")
            .fault(FaultKind::ServerError { status: 503 })
            .times(1),
    );
    env.faults.add(
        FaultRule::for_service("arm")
            .operation("GET tenants")
            .fault(FaultKind::DropConnection)
            .times(1),
    );
    let arm = env.arm(&session);
    assert_eq!(
        arm.list_subscriptions().await.expect("after a 503").len(),
        2
    );
    assert_eq!(
        arm.list_tenants()
            .await
            .expect("after a dropped connection")
            .len(),
        2
    );
    assert_retried(
        &env.progress,
        "GET subscriptions",
        ErrorCode::RemoteUnavailable,
    );
    assert_retried(&env.progress, "GET tenants", ErrorCode::RemoteUnavailable);
}

#[tokio::test]
async fn a_timeout_is_reported_as_timeout_when_retries_run_out() {
    let env = env().await;
    env.faults.add(
        FaultRule::for_service("arm")
            .operation("GET subscriptions")
            .latency(Duration::from_millis(800))
            .times(1),
    );
    let slow_policy = RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::fast()
    };
    let slow = env
        .sign_in_through(
            Transport::new(reqwest::Client::new())
                .with_policies(slow_policy, slow_policy)
                .with_request_timeout(Duration::from_millis(200)),
            DEFAULT_USER,
        )
        .await;
    let error = env
        .arm(&slow)
        .list_subscriptions()
        .await
        .expect_err("timeout");
    assert_eq!(error.code, ErrorCode::Timeout, "{error:?}");
}

#[tokio::test]
async fn limits_and_duplicate_subjects_are_refused_before_calling_graph() {
    let (env, session) = signed_in().await;
    let graph = env.graph(&session);
    let app = graph
        .ensure_application(&ApplicationSpec::named("octo-oidc-limits", "Limits"))
        .await
        .expect("app")
        .into_inner();
    fill_to_the_limit(&graph, Adding::Ensure, &app.object_id, 0).await;
    let duplicate = graph
        .ensure_federated_credential(&app.object_id, &credential("other-name", "s-3"))
        .await
        .expect_err("duplicate");
    assert_problem(&duplicate, ErrorCode::Conflict, "fic-3");
}

#[tokio::test]
async fn permission_problems_carry_the_service_message() {
    let env = env().await;
    env.sandbox
        .set_users_can_register_apps(DEFAULT_TENANT_ID, false)
        .expect("switch");
    let limited = env.sign_in(LIMITED_USER).await;
    let denied = env
        .graph(&limited)
        .ensure_application(&ApplicationSpec::named("octo-oidc-denied", "Denied"))
        .await
        .expect_err("403");
    assert_problem(
        &denied,
        ErrorCode::PermissionDenied,
        "Authorization_RequestDenied",
    );
    assert!(denied.hint.is_some());

    let admin = env.sign_in(DEFAULT_USER).await;
    let (_, sp) = app_with_sp(&env.graph(&admin), "octo-oidc-ra", "RA").await;
    let assignment = rg_assignment(&env.arm(&admin), "Reader", &sp.object_id).await;
    let arm_denied = env
        .arm(&limited)
        .ensure_role_assignment(&assignment)
        .await
        .expect_err("403");
    assert_problem(
        &arm_denied,
        ErrorCode::PermissionDenied,
        "AuthorizationFailed",
    );
}

/// The session's access token for `resource`.
async fn token_for(session: &AzureSession, resource: Resource) -> Secret {
    session.access_token(resource, None).await.expect("token")
}

#[tokio::test]
async fn an_existing_grant_under_another_name_counts_as_done() {
    let (env, session) = signed_in().await;
    let (_, sp) = app_with_sp(&env.graph(&session), "octo-oidc-409", "409").await;
    let arm = env.arm(&session);
    let role = rg_role(&arm, "Contributor").await;
    // Someone granted the same role by hand, under a random name.
    let token = token_for(&session, Resource::Arm).await;
    let by_hand = "0f0e0d0c-0b0a-4909-8807-060504030201";
    let response = reqwest::Client::new()
        .put(format!(
            "{}{}/providers/Microsoft.Authorization/roleAssignments/{by_hand}?api-version=2022-04-01",
            env.arm,
            rg_scope()
        ))
        .bearer_auth(token.expose())
        .json(&serde_json::json!({"properties": {"roleDefinitionId": role, "principalId": sp.object_id, "principalType": "ServicePrincipal"}}))
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), 201);
    let assignment = octo_oidc_core::azure::role_assignment(&rg_scope(), &role, &sp.object_id);
    let applied = arm
        .ensure_role_assignment(&assignment)
        .await
        .expect("409 is success");
    match applied {
        Applied::Unchanged(found) => assert_eq!(found.name, by_hand),
        other => panic!("expected Unchanged, got {other:?}"),
    }
}

#[tokio::test]
async fn a_principal_that_never_appears_ends_as_propagation_pending() {
    let (env, session) = signed_in().await;
    let arm = env.arm(&session);
    let ghost = rg_assignment(&arm, "Reader", "7a1b2c3d-0000-4000-8000-000000000042").await;
    let error = arm
        .ensure_role_assignment(&ghost)
        .await
        .expect_err("never visible");
    assert_eq!(error.code, ErrorCode::PropagationPending);
    assert_retried(
        &env.progress,
        "PUT roleAssignments",
        ErrorCode::PropagationPending,
    );
}

#[tokio::test]
async fn a_service_principal_with_a_client_secret_automates_the_setup() {
    let env = env().await;
    let admin = env.sign_in(DEFAULT_USER).await;
    let (automation, sp) =
        app_with_sp(&env.graph(&admin), "octo-oidc-automation", "Automation").await;
    let secret = env.consented_secret(&automation.app_id);
    env.sandbox
        .grant_arm_role(
            &format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}"),
            "Owner",
            &sp.object_id,
        )
        .expect("owner");

    let session = env.service_principal(&automation.app_id, &secret);
    assert!(
        !format!("{session:?}").contains("8Q~"),
        "no secret in Debug"
    );
    let changed = apply_setup(&env, &session).await;
    assert!(changed.iter().all(|c| *c), "{changed:?}");

    let wrong = env.service_principal(&automation.app_id, "not-the-secret");
    let error = env
        .graph(&wrong)
        .ensure_application(&ApplicationSpec::named("x-app", "x"))
        .await
        .expect_err("401");
    assert_problem(&error, ErrorCode::Unauthenticated, "AADSTS7000215");
}

/// Stands in for the `az` CLI: answers `az account get-access-token` with tokens the sandbox
/// issued (as `az` would after `az login`); every other command fails as if not installed.
#[derive(Debug)]
struct FakeAz {
    graph_token: Option<String>,
    arm_token: Option<String>,
    commands: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl azure_identity::Executor for FakeAz {
    async fn run(
        &self,
        _program: &std::ffi::OsStr,
        args: &[&std::ffi::OsStr],
    ) -> std::io::Result<std::process::Output> {
        use std::os::unix::process::ExitStatusExt;
        let command = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        self.commands.lock().expect("lock").push(command.clone());
        let token = if !command.contains("az account get-access-token") {
            None
        } else if command.contains("graph.microsoft.com") {
            self.graph_token.clone()
        } else {
            self.arm_token.clone()
        };
        let Some(token) = token else {
            return Ok(std::process::Output {
                status: std::process::ExitStatus::from_raw(127 << 8),
                stdout: Vec::new(),
                stderr: b"/bin/sh: 1: az: not found".to_vec(),
            });
        };
        let expires_on = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            + 3600;
        let body = serde_json::json!({
            "accessToken": token,
            "expires_on": expires_on,
            "subscription": DEFAULT_SUBSCRIPTION_ID,
            "tenant": DEFAULT_TENANT_ID,
            "tokenType": "Bearer",
        });
        Ok(std::process::Output {
            status: std::process::ExitStatus::from_raw(0),
            stdout: body.to_string().into_bytes(),
            stderr: Vec::new(),
        })
    }
}

#[tokio::test]
async fn an_azure_cli_login_is_reused_through_azure_identity() {
    let env = env().await;
    let signed_in = env.sign_in(DEFAULT_USER).await;
    let graph_token = token_for(&signed_in, Resource::Graph).await;
    let arm_token = token_for(&signed_in, Resource::Arm).await;
    let az = Arc::new(FakeAz {
        graph_token: Some(graph_token.expose().to_owned()),
        arm_token: Some(arm_token.expose().to_owned()),
        commands: Mutex::new(Vec::new()),
    });
    let session =
        AzureSession::developer_tools_with_executor(env.transport.clone(), Some(az.clone()))
            .expect("credential");
    let me = env
        .graph(&session)
        .me()
        .await
        .expect("me through the az token");
    assert_eq!(me.user_principal_name, DEFAULT_USER);
    assert_eq!(
        env.arm(&session)
            .list_subscriptions()
            .await
            .expect("subs")
            .len(),
        2
    );
    assert_eq!(
        session.account().expect("account").tenant_id,
        DEFAULT_TENANT_ID
    );
    let commands = az.commands.lock().expect("lock").clone();
    assert!(
        commands.iter().any(|c| c.contains(
            "az account get-access-token -o json --scope https://graph.microsoft.com/.default"
        )),
        "{commands:?}"
    );

    // No `az` / `azd` login: a clear Unauthenticated problem.
    let missing = Arc::new(FakeAz {
        graph_token: None,
        arm_token: None,
        commands: Mutex::new(Vec::new()),
    });
    let session = AzureSession::developer_tools_with_executor(env.transport.clone(), Some(missing))
        .expect("credential");
    let error = env.graph(&session).me().await.expect_err("no login");
    assert_eq!(error.code, ErrorCode::Unauthenticated);
    assert!(
        error
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("az login")
    );
}

#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLog {
    type Writer = CapturedLog;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn secrets_and_tokens_never_reach_the_logs() {
    let log = CapturedLog::default();
    // Global, not scoped: tracing caches callsite interest process-wide, and other tests in
    // this binary run on other threads. Only this test installs a subscriber. `try_init` also
    // installs the `log` → `tracing` bridge (LogTracer), so records of crates that log through
    // `log` (the HTTP and TLS stack) are captured and searched too.
    use tracing_subscriber::util::SubscriberInitExt as _;
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(log.clone())
        .finish()
        .try_init()
        .expect("the only global subscriber and log bridge");
    log::warn!(target: "log_bridge_check", "a record sent through the log crate");

    let env = env().await;
    let admin = env.sign_in(DEFAULT_USER).await;
    let (app, _) = app_with_sp(&env.graph(&admin), "octo-oidc-logs", "Logs").await;
    let secret = env.consented_secret(&app.app_id);
    let session = env.service_principal(&app.app_id, &secret);
    env.throttle("graph", 0, 1);
    env.graph(&session)
        .ensure_application(&ApplicationSpec::named("octo-oidc-logs-2", "Logs 2"))
        .await
        .expect("app as SP");
    let token = token_for(&session, Resource::Graph).await;
    let admin_token = token_for(&admin, Resource::Graph).await;

    let text = String::from_utf8(log.0.lock().expect("lock").clone()).expect("utf8");
    assert!(text.contains("retrying"), "the retry was logged at all");
    assert!(
        text.contains("a record sent through the log crate"),
        "the log bridge is installed"
    );
    // The interactive sign-in's authorization code, PKCE verifier and refresh token.
    let sign_in_secrets = env.sandbox.sign_in_secrets();
    assert!(
        sign_in_secrets.len() >= 3,
        "code, verifier and refresh token were issued: {}",
        sign_in_secrets.len()
    );
    for (i, value) in sign_in_secrets.iter().enumerate() {
        assert!(value.len() >= 16, "secret {i} is not trivially short");
        assert!(
            !text.contains(value.as_str()),
            "sign-in secret {i} in the log"
        );
    }
    assert!(!text.contains(&secret), "client secret in the log");
    assert!(!text.contains(token.expose()), "SP access token in the log");
    assert!(
        !text.contains(admin_token.expose()),
        "user access token in the log"
    );
}

/// The `create_*` paths (sent without a lookup, for what observe found absent) meet objects
/// that exist after all (a race, a resumed crash): each converges as its `ensure_*` would,
/// with no duplicate, and a refused credential is explained as `ensure_*` explains it.
#[tokio::test]
async fn creates_of_objects_that_exist_after_all_converge_without_duplicates() {
    let (env, session) = signed_in().await;
    let graph = env.graph(&session);
    let (app, sp) = app_with_sp(&graph, "octo-oidc-race", "Race").await;
    let spec = ApplicationSpec::named("octo-oidc-race", "Race");
    let again = graph.create_application(&spec).await.expect("app again");
    assert!(matches!(again, Applied::Updated(_)), "{again:?}");
    assert_eq!(again.value().object_id, app.object_id);

    let sp_again = graph
        .create_service_principal(&app.app_id)
        .await
        .expect("sp again");
    assert_eq!(sp_again, Applied::Unchanged(sp.clone()));

    let prod = credential(
        "prod-web",
        "space:default:project:web:environment:production",
    );
    let created = graph
        .create_federated_credential(&app.object_id, &prod)
        .await
        .expect("credential");
    assert!(matches!(created, Applied::Created(_)), "{created:?}");
    let again = graph
        .create_federated_credential(&app.object_id, &prod)
        .await
        .expect("credential again");
    assert_eq!(again, Applied::Updated(prod.clone()));
    let same_subject = graph
        .create_federated_credential(&app.object_id, &credential("other", &prod.subject))
        .await
        .expect_err("the pair is prod-web's");
    assert_problem(&same_subject, ErrorCode::Conflict, "prod-web");
    fill_to_the_limit(&graph, Adding::Create, &app.object_id, 1).await;
    let listed = graph
        .list_federated_credentials(&app.object_id)
        .await
        .expect("list");
    assert_eq!(listed.len(), 20);

    let arm = env.arm(&session);
    let assignment = rg_assignment(&arm, "Contributor", &sp.object_id).await;
    arm.create_role_assignment(&assignment)
        .await
        .expect("assignment");
    let again = arm
        .create_role_assignment(&assignment)
        .await
        .expect("assignment again");
    assert_eq!(again.value().name, assignment.name);
    let grants = arm
        .list_role_assignments(&rg_scope(), &sp.object_id)
        .await
        .expect("list");
    assert_eq!(grants.len(), 1, "{grants:#?}");
}
