//! Shared fixtures of the flow tests: a space inventory, setup files per target, the
//! testkit's fakes wired as the engine's ports, and one-call observe / apply / teardown.

use std::collections::BTreeMap;

use octo_oidc_core::events::NoProgress;
use octo_oidc_core::ports::{
    EntraApps, FederatedCredential, Iam, OctopusProject, OctopusResource, OctopusTenant, RoleSpec,
    SpaceInventory,
};
use octo_oidc_engine::apply::{ApplyReport, NotCancelled, StepReport, apply};
use octo_oidc_engine::desired::DesiredResource;
use octo_oidc_engine::journal::{MemoryJournal, Phase, entries};
use octo_oidc_engine::observe::{Observation, Ports, observe};
use octo_oidc_engine::plan::{Action, PlanStep};
use octo_oidc_engine::setup_file::{Setup, parse_setup};
use octo_oidc_engine::teardown::{TeardownItem, TeardownReport, teardown};
use octo_oidc_testkit::fakes::CallLog;
use octo_oidc_testkit::{FakeAzureRbac, FakeEntraApps, FakeGoogleCloud, FakeIam, FakeOctopus};

pub const ISSUER: &str = "https://octopus.example.com";

fn res(id: &str, name: &str) -> OctopusResource {
    OctopusResource {
        id: id.into(),
        name: name.into(),
        slug: name.into(),
    }
}

/// 2 projects, 3 environments, 1 tenant, 1 target.
pub fn inventory() -> SpaceInventory {
    SpaceInventory {
        space: Some(OctopusResource {
            id: "Spaces-1".into(),
            name: "Default".into(),
            slug: "default".into(),
        }),
        environments: ["dev", "staging", "production"]
            .iter()
            .enumerate()
            .map(|(i, e)| res(&format!("Environments-{}", i + 1), e))
            .collect(),
        project_groups: vec![res("ProjectGroups-1", "default-project-group")],
        projects: ["web", "api"]
            .iter()
            .enumerate()
            .map(|(i, p)| OctopusProject {
                resource: res(&format!("Projects-{}", i + 1), p),
                project_group_id: "ProjectGroups-1".into(),
            })
            .collect(),
        tenants: vec![OctopusTenant {
            resource: res("Tenants-1", "acme"),
            project_environments: BTreeMap::from([(
                "Projects-1".to_string(),
                vec!["Environments-3".to_string()],
            )]),
        }],
        runbooks: vec![],
        deployment_targets: vec![res("Machines-1", "web-01")],
    }
}

/// A setup file named `shop-<target>` for the test server's Default space, then `$rest`.
macro_rules! setup_text {
    ($target:literal, $rest:expr) => {
        concat!(
            "version = 1\nname = \"shop-",
            $target,
            "\"\ntarget = \"",
            $target,
            "\"\n[octopus]\nurl = \"https://octopus.example.com\"\nspace = \"Default\"\n",
            $rest
        )
    };
}

/// A cloud setup file: [`setup_text!`] with projects web + api in staging and production and
/// the account `$account`, then the target's section `$section`.
macro_rules! cloud_setup_text {
    ($target:literal, $account:literal, $section:literal) => {
        setup_text!(
            $target,
            concat!(
                r#"[scope]
projects = ["web", "api"]
environments = ["staging", "production"]
[account]
name = ""#,
                $account,
                "\"\n",
                $section
            )
        )
    };
}

pub const AWS: &str = cloud_setup_text!(
    "aws",
    "AWS production (OIDC)",
    r#"[aws]
role_name = "octopus-shop"
managed_policies = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
"#
);

pub const AZURE: &str = cloud_setup_text!(
    "azure",
    "Azure production (OIDC)",
    r#"[azure]
tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
subscription_id = "11111111-2222-3333-4444-555555555555"
resource_group = "rg-shop"
role = "Contributor"
"#
);

pub const GITHUB: &str = setup_text!(
    "github",
    r#"[github]
repository = "acme/shop"
filter = "branch:main"
service_account = "github-shop"
"#
);

pub const GCP: &str = cloud_setup_text!(
    "gcp",
    "Google production (OIDC)",
    r#"[gcp]
project = "octopus-sandbox"
roles = ["roles/storage.objectViewer", "roles/run.developer"]
"#
);

/// The IAM role the setup of `o` wants.
pub fn desired_role(o: &Observation) -> RoleSpec {
    o.desired
        .resources
        .iter()
        .find_map(|r| match r {
            DesiredResource::IamRole { spec, .. } => Some(spec.clone()),
            _ => None,
        })
        .expect("an IAM role in the desired state")
}

/// The plan step of `kind` (e.g. `iam_role`) in `o`.
pub fn step<'a>(o: &'a Observation, kind: &str) -> &'a PlanStep {
    o.plan
        .steps
        .iter()
        .find(|st| st.kind.as_str() == kind)
        .unwrap_or_else(|| panic!("no {kind} step in {:#?}", o.plan.steps))
}

/// The plan steps of `o` whose action is `action`.
pub fn steps_doing(o: &Observation, action: Action) -> Vec<&PlanStep> {
    o.plan
        .steps
        .iter()
        .filter(|st| st.action == action)
        .collect()
}

/// The step of the object `name` in an apply report.
pub fn step_named<'a>(report: &'a ApplyReport, name: &str) -> &'a StepReport {
    report
        .steps
        .iter()
        .find(|st| st.name == name)
        .unwrap_or_else(|| panic!("no step of {name} in {:#?}", report.steps))
}

/// The teardown item of `kind` in `report`.
pub fn item<'a>(report: &'a TeardownReport, kind: &str) -> &'a TeardownItem {
    report
        .items
        .iter()
        .find(|i| i.kind.as_str() == kind)
        .unwrap_or_else(|| panic!("no {kind} item in {:#?}", report.items))
}

pub fn setup(text: &str) -> Setup {
    parse_setup(text).unwrap_or_else(|p| panic!("{p:#?}")).setup
}

/// A split-apps setup and a world whose space has 2 projects × 12 environments: more than
/// one app's 20 credentials, so two app registrations, each with its service principal,
/// credentials and a role assignment of the same name.
pub fn split_apps() -> (World, Setup) {
    let world = World::new();
    let mut inventory = inventory();
    for i in 4..=12 {
        inventory
            .environments
            .push(res(&format!("Environments-{i}"), &format!("env-{i}")));
    }
    world.octopus.set_inventory("Spaces-1", inventory);
    let text = AZURE
        .replace(
            "environments = [\"staging\", \"production\"]",
            "environments = [\"*\"]",
        )
        .replace(
            "role = \"Contributor\"",
            "role = \"Contributor\"\ncredential_strategy = \"split_apps\"",
        );
    (world, setup(&text))
}

/// Every fake, sharing state with the ports the engine gets.
#[derive(Clone, Default)]
pub struct World {
    pub octopus: FakeOctopus,
    pub entra: FakeEntraApps,
    pub rbac: FakeAzureRbac,
    pub iam: FakeIam,
    pub gcp: FakeGoogleCloud,
    pub journal: MemoryJournal,
}

impl World {
    pub fn new() -> World {
        let w = World::default();
        w.octopus.set_server("2025.4.1", ISSUER);
        w.octopus.set_inventory("Spaces-1", inventory());
        w
    }

    /// A new world in which the setup `text` was applied completely.
    pub async fn applied(text: &str) -> (World, Setup) {
        let world = World::new();
        let s = setup(text);
        let report = world.apply(&s).await;
        assert!(report.is_complete(), "{:#?}", report.problem);
        (world, s)
    }

    pub fn ports(
        &self,
    ) -> Ports<'_, FakeOctopus, FakeEntraApps, FakeAzureRbac, FakeIam, FakeGoogleCloud> {
        Ports {
            octopus: &self.octopus,
            entra: &self.entra,
            rbac: &self.rbac,
            iam: &self.iam,
            gcp: &self.gcp,
        }
    }

    pub async fn observe(&self, setup: &Setup) -> Observation {
        observe(setup, "Spaces-1", ISSUER, self.ports())
            .await
            .unwrap_or_else(|p| panic!("observe: {p:#?}"))
    }

    pub async fn apply(&self, setup: &Setup) -> ApplyReport {
        let o = self.observe(setup).await;
        apply(&o, self.ports(), &self.journal, &NoProgress, &NotCancelled).await
    }

    pub async fn teardown(&self, setup: &Setup) -> TeardownReport {
        let o = self.observe(setup).await;
        teardown(&o, self.ports(), &self.journal, &NoProgress, &NotCancelled).await
    }

    /// Drops every `:sub` condition from the trust policy of the setup's IAM role, as someone
    /// widening it by hand would.
    pub async fn drop_sub_conditions(&self, setup: &Setup) {
        let mut role = desired_role(&self.observe(setup).await);
        let mut policy: serde_json::Value = serde_json::from_str(&role.trust_policy).unwrap();
        let condition = policy["Statement"][0]["Condition"].as_object_mut().unwrap();
        for (_, tests) in condition.iter_mut() {
            tests
                .as_object_mut()
                .unwrap()
                .retain(|k, _| !k.ends_with(":sub"));
        }
        role.trust_policy = policy.to_string();
        self.iam.ensure_role(&role).await.unwrap();
    }

    /// The first app registration's federated credentials.
    pub async fn credentials(&self) -> Vec<FederatedCredential> {
        let app = self.entra.applications()[0].clone();
        self.entra
            .list_federated_credentials(&app.object_id)
            .await
            .unwrap()
    }

    /// Deletes the first app's federated credential whose subject contains `subject_part`;
    /// returns it.
    pub async fn delete_credential(&self, subject_part: &str) -> FederatedCredential {
        let app = self.entra.applications()[0].clone();
        let gone = self
            .credentials()
            .await
            .into_iter()
            .find(|c| c.subject.contains(subject_part))
            .unwrap();
        self.entra
            .delete_federated_credential(&app.object_id, &gone.name)
            .await
            .unwrap();
        gone
    }

    /// Every state-changing call the fakes received.
    pub fn changes(&self) -> Vec<String> {
        self.logs()
            .iter()
            .flat_map(|l| l.changes())
            .map(|c| format!("{} {}", c.operation, c.target))
            .collect()
    }

    pub fn clear_logs(&self) {
        for l in self.logs() {
            l.clear();
        }
    }

    /// The call log of every fake.
    fn logs(&self) -> [&CallLog; 5] {
        [
            self.octopus.log(),
            self.entra.log(),
            self.rbac.log(),
            self.iam.log(),
            self.gcp.log(),
        ]
    }

    /// After a cut-short apply: a rerun completes, creates no duplicate (the same objects as
    /// in `clean`, where it ran once), leaves no change planned, and journals every resource
    /// done. Returns the observation after it.
    pub async fn rerun_converges(&self, setup: &Setup, clean: &World, label: &str) -> Observation {
        let rerun = self.apply(setup).await;
        assert!(rerun.is_complete(), "{label}: {:#?}", rerun.problem);
        assert_eq!(
            self.inventory_counts(),
            clean.inventory_counts(),
            "{label}: duplicates"
        );
        let o = self.observe(setup).await;
        assert!(!o.plan.has_changes(), "{label}: not converged");
        for e in entries(&self.journal.all()) {
            assert_eq!(e.last, Phase::Done, "{label}: {e:#?}");
        }
        o
    }

    /// How many objects of ours exist, per kind (what "no duplicates" compares).
    pub fn inventory_counts(&self) -> BTreeMap<&'static str, usize> {
        BTreeMap::from([
            ("accounts", self.octopus.accounts("Spaces-1").len()),
            ("apps", self.entra.applications().len()),
            ("assignments", self.rbac.assignments().len()),
            ("roles", self.iam.roles().len()),
            ("providers", self.iam.providers().len()),
        ])
    }
}
