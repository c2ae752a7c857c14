//! Seed profiles for the sandbox Octopus inventory: `empty`, `demo` and `large`.
//!
//! Every profile has the default space as a real Octopus has it (`Spaces-1`, "Default",
//! `default`). Names come from fixed word lists combined deterministically (no randomness), so
//! the same profile always produces the same ids, names and slugs.
//! - `empty`: only the default space.
//! - `demo`: three spaces, ~30 environments, ~200 projects in groups, tenants connected to
//!   projects/environments, runbooks, and 42 deployment targets.
//! - `large`: 10,000 projects, 500 environments, 5,000 tenants and 1,000 deployment targets in
//!   the default space, for performance work.
//!
//! Deliberately absent: accounts, users and identities (the wizard creates those).

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::octopus::model::{
    DeploymentTarget, Environment, Project, ProjectGroup, Runbook, Space, Tenant, slugify,
};
use crate::octopus::state::Inventory;

/// A named seed profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeedProfile {
    /// Only the default space.
    Empty,
    /// A realistic small installation.
    #[default]
    Demo,
    /// 10,000 projects, 500 environments, 5,000 tenants.
    Large,
}

impl SeedProfile {
    /// The profile's name as used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SeedProfile::Empty => "empty",
            SeedProfile::Demo => "demo",
            SeedProfile::Large => "large",
        }
    }
}

/// An unknown profile name.
#[derive(Debug, thiserror::Error)]
#[error("unknown seed profile '{0}' (expected demo, empty or large)")]
pub struct UnknownProfile(pub String);

impl FromStr for SeedProfile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "empty" => Ok(SeedProfile::Empty),
            "demo" => Ok(SeedProfile::Demo),
            "large" => Ok(SeedProfile::Large),
            other => Err(UnknownProfile(other.to_string())),
        }
    }
}

const STAGES: [&str; 20] = [
    "Development",
    "Test",
    "QA",
    "Staging",
    "Production",
    "UAT",
    "Integration",
    "Performance",
    "Pre-Production",
    "Disaster Recovery",
    "Sandbox",
    "Demo",
    "Training",
    "Hotfix",
    "Canary",
    "Preview",
    "Load Test",
    "Security Test",
    "Acceptance",
    "Live",
];
const REGIONS: [&str; 25] = [
    "US East",
    "US West",
    "US Central",
    "Canada",
    "Brazil",
    "UK South",
    "UK West",
    "EU West",
    "EU North",
    "France",
    "Germany",
    "Switzerland",
    "Norway",
    "Sweden",
    "Poland",
    "India",
    "Japan East",
    "Japan West",
    "Korea",
    "Singapore",
    "Hong Kong",
    "Australia East",
    "Australia Southeast",
    "South Africa",
    "UAE",
];
const ADJECTIVES: [&str; 25] = [
    "Customer",
    "Order",
    "Payment",
    "Inventory",
    "Billing",
    "Shipping",
    "Catalog",
    "Search",
    "Identity",
    "Notification",
    "Reporting",
    "Analytics",
    "Pricing",
    "Loyalty",
    "Support",
    "Checkout",
    "Fraud",
    "Ledger",
    "Audit",
    "Partner",
    "Marketing",
    "Content",
    "Media",
    "Booking",
    "Claims",
];
const NOUNS: [&str; 40] = [
    "Portal",
    "API",
    "Service",
    "Worker",
    "Gateway",
    "Web App",
    "Mobile Backend",
    "Scheduler",
    "Processor",
    "Importer",
    "Exporter",
    "Sync",
    "Dashboard",
    "Engine",
    "Hub",
    "Store",
    "Index",
    "Queue",
    "Bridge",
    "Monitor",
    "Console",
    "Feed",
    "Cache",
    "Router",
    "Registry",
    "Adapter",
    "Pipeline",
    "Tracker",
    "Validator",
    "Publisher",
    "Listener",
    "Emailer",
    "Archiver",
    "Resolver",
    "Builder",
    "Planner",
    "Matcher",
    "Uploader",
    "Renderer",
    "Proxy",
];
const VARIANTS: [&str; 10] = [
    "", "v2", "Legacy", "Next", "Internal", "Public", "Batch", "Realtime", "Lite", "Pro",
];
const GROUPS: [&str; 12] = [
    "Default Project Group",
    "Commerce",
    "Finance",
    "Logistics",
    "Platform",
    "Data",
    "Customer Experience",
    "Security",
    "Operations",
    "Marketing",
    "Mobile",
    "Internal Tools",
];
const COMPANY_PREFIXES: [&str; 50] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Massive",
    "Aperture",
    "Black Mesa",
    "Oceanic",
    "Dunder",
    "Prestige",
    "Gringotts",
    "Monarch",
    "Pied Piper",
    "Sterling",
    "Virtucon",
    "Wernham",
    "Zorg",
    "Blue Sun",
    "Buy n Large",
    "Nakatomi",
    "Oscorp",
    "Rekall",
    "Sirius",
    "Tessier",
    "Yoyodyne",
    "Axiom",
    "Bluth",
    "Chotchkies",
    "Duff",
    "Ewing",
    "Frobozz",
    "Gekko",
    "Hanso",
    "Ingen",
    "Krusty",
    "Lacuna",
    "Mooby",
    "Nuka",
    "Omni",
    "Planet Express",
    "Quark",
    "Rich",
];
const COMPANY_SUFFIXES: [&str; 100] = [
    "Corp",
    "Industries",
    "Holdings",
    "Labs",
    "Systems",
    "Group",
    "Partners",
    "Logistics",
    "Foods",
    "Energy",
    "Health",
    "Bank",
    "Insurance",
    "Media",
    "Retail",
    "Motors",
    "Airlines",
    "Pharma",
    "Capital",
    "Ventures",
    "Studios",
    "Networks",
    "Telecom",
    "Robotics",
    "Dynamics",
    "Analytics",
    "Security",
    "Consulting",
    "Software",
    "Hardware",
    "Mining",
    "Shipping",
    "Textiles",
    "Chemicals",
    "Aerospace",
    "Marine",
    "Hotels",
    "Travel",
    "Education",
    "Publishing",
    "Entertainment",
    "Sports",
    "Fashion",
    "Furniture",
    "Agriculture",
    "Biotech",
    "Semiconductors",
    "Utilities",
    "Water",
    "Solar",
    "Wind",
    "Nuclear",
    "Rail",
    "Freight",
    "Courier",
    "Records",
    "Games",
    "Toys",
    "Pets",
    "Dental",
    "Clinics",
    "Pharmacy",
    "Optics",
    "Audio",
    "Vision",
    "Cloud",
    "Data",
    "Payments",
    "Lending",
    "Trust",
    "Mutual",
    "Fund",
    "Realty",
    "Construction",
    "Engineering",
    "Architecture",
    "Design",
    "Marketing",
    "Legal",
    "Staffing",
    "Catering",
    "Bakery",
    "Brewing",
    "Coffee",
    "Tea",
    "Dairy",
    "Farms",
    "Fisheries",
    "Forestry",
    "Paper",
    "Plastics",
    "Glass",
    "Steel",
    "Tools",
    "Electric",
    "Lighting",
    "Batteries",
    "Drones",
    "Satellites",
    "Robots",
];
/// Kinds of deployment target: name prefix, roles, communication style, OS, shell.
const TARGET_KINDS: [(&str, &[&str], &str, &str, &str); 4] = [
    (
        "web",
        &["web-server"],
        "TentaclePassive",
        "Windows",
        "PowerShell",
    ),
    (
        "app",
        &["app-server", "worker"],
        "TentaclePassive",
        "Linux",
        "Bash",
    ),
    ("db", &["db-server"], "Ssh", "Linux", "Bash"),
    (
        "edge",
        &["edge", "web-server"],
        "TentacleActive",
        "Linux",
        "Bash",
    ),
];

const RUNBOOKS: [&str; 6] = [
    "Restart Service",
    "Rotate Secrets",
    "Backup Database",
    "Scale Out",
    "Flush Cache",
    "Health Report",
];

/// Sizes of one seeded space.
struct SpacePlan<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    environments: usize,
    groups: usize,
    projects: usize,
    tenants: usize,
    runbook_projects: usize,
    deployment_targets: usize,
}

/// Builds a profile's inventory.
pub fn inventory(profile: SeedProfile) -> Inventory {
    let plans: Vec<SpacePlan<'_>> = match profile {
        SeedProfile::Empty => vec![SpacePlan {
            id: "Spaces-1",
            name: "Default",
            description: "",
            environments: 0,
            groups: 1,
            projects: 0,
            tenants: 0,
            runbook_projects: 0,
            deployment_targets: 0,
        }],
        SeedProfile::Demo => vec![
            SpacePlan {
                id: "Spaces-1",
                name: "Default",
                description: "The default space",
                environments: 12,
                groups: 8,
                projects: 120,
                tenants: 24,
                runbook_projects: 40,
                deployment_targets: 24,
            },
            SpacePlan {
                id: "Spaces-2",
                name: "Platform Team",
                description: "Shared platform services",
                environments: 10,
                groups: 4,
                projects: 50,
                tenants: 10,
                runbook_projects: 20,
                deployment_targets: 10,
            },
            SpacePlan {
                id: "Spaces-3",
                name: "Data Science",
                description: "Models and pipelines",
                environments: 8,
                groups: 3,
                projects: 30,
                tenants: 6,
                runbook_projects: 10,
                deployment_targets: 8,
            },
        ],
        SeedProfile::Large => vec![SpacePlan {
            id: "Spaces-1",
            name: "Default",
            description: "The default space",
            environments: 500,
            groups: 12,
            projects: 10_000,
            tenants: 5_000,
            runbook_projects: 1_000,
            deployment_targets: 1_000,
        }],
    };
    let mut inv = Inventory::default();
    let mut counters = Counters::default();
    for (i, plan) in plans.iter().enumerate() {
        seed_space(&mut inv, &mut counters, plan, i == 0);
    }
    inv
}

#[derive(Default)]
struct Counters {
    environments: usize,
    groups: usize,
    projects: usize,
    tenants: usize,
    runbooks: usize,
    targets: usize,
}

fn environment_name(i: usize, total: usize) -> String {
    if total <= STAGES.len() {
        STAGES[i].to_string()
    } else {
        format!(
            "{} {}",
            REGIONS[(i / STAGES.len()) % REGIONS.len()],
            STAGES[i % STAGES.len()]
        )
    }
}

fn project_name(i: usize) -> String {
    let adjective = ADJECTIVES[i % ADJECTIVES.len()];
    let noun = NOUNS[(i / ADJECTIVES.len()) % NOUNS.len()];
    let variant = VARIANTS[(i / (ADJECTIVES.len() * NOUNS.len())) % VARIANTS.len()];
    let round = i / (ADJECTIVES.len() * NOUNS.len() * VARIANTS.len());
    let mut name = format!("{adjective} {noun}");
    if !variant.is_empty() {
        name = format!("{name} {variant}");
    }
    if round > 0 {
        name = format!("{name} {}", round + 1);
    }
    name
}

fn tenant_name(i: usize) -> String {
    let prefix = COMPANY_PREFIXES[i % COMPANY_PREFIXES.len()];
    let suffix = COMPANY_SUFFIXES[(i / COMPANY_PREFIXES.len()) % COMPANY_SUFFIXES.len()];
    let round = i / (COMPANY_PREFIXES.len() * COMPANY_SUFFIXES.len());
    if round > 0 {
        format!("{prefix} {suffix} {}", round + 1)
    } else {
        format!("{prefix} {suffix}")
    }
}

fn seed_space(inv: &mut Inventory, c: &mut Counters, plan: &SpacePlan<'_>, is_default: bool) {
    inv.spaces.push(Space {
        id: plan.id.to_string(),
        name: plan.name.to_string(),
        slug: slugify(plan.name),
        description: plan.description.to_string(),
        is_default,
    });
    let env_start = inv.environments.len();
    for i in 0..plan.environments {
        c.environments += 1;
        let name = environment_name(i, plan.environments);
        inv.environments.push(Environment {
            id: format!("Environments-{}", c.environments),
            space_id: plan.id.to_string(),
            slug: slugify(&name),
            name,
            description: String::new(),
            sort_order: i as u32,
        });
    }
    let env_ids: Vec<String> = inv.environments[env_start..]
        .iter()
        .map(|e| e.id.clone())
        .collect();
    let group_start = inv.project_groups.len();
    for name in GROUPS.iter().take(plan.groups.max(1)) {
        c.groups += 1;
        inv.project_groups.push(ProjectGroup {
            id: format!("ProjectGroups-{}", c.groups),
            space_id: plan.id.to_string(),
            name: name.to_string(),
            slug: slugify(name),
            description: String::new(),
        });
    }
    let group_ids: Vec<String> = inv.project_groups[group_start..]
        .iter()
        .map(|g| g.id.clone())
        .collect();
    let project_start = inv.projects.len();
    for i in 0..plan.projects {
        c.projects += 1;
        let name = project_name(i);
        inv.projects.push(Project {
            id: format!("Projects-{}", c.projects),
            space_id: plan.id.to_string(),
            slug: slugify(&name),
            name,
            description: String::new(),
            project_group_id: group_ids[i % group_ids.len()].clone(),
            tenanted_deployment_mode: if i % 3 == 0 {
                "TenantedOrUntenanted"
            } else {
                "Untenanted"
            }
            .to_string(),
        });
    }
    let project_ids: Vec<String> = inv.projects[project_start..]
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let tenant_start = inv.tenants.len();
    for i in 0..plan.tenants {
        c.tenants += 1;
        let name = tenant_name(i);
        let mut project_environments = BTreeMap::new();
        if !project_ids.is_empty() && !env_ids.is_empty() {
            for k in 0..3 {
                let project = &project_ids[(i * 7 + k * 3) % project_ids.len()];
                let envs: Vec<String> = (0..2)
                    .map(|j| env_ids[(i + k + j * 2) % env_ids.len()].clone())
                    .collect();
                project_environments.insert(project.clone(), envs);
            }
        }
        inv.tenants.push(Tenant {
            id: format!("Tenants-{}", c.tenants),
            space_id: plan.id.to_string(),
            slug: slugify(&name),
            name,
            description: String::new(),
            project_environments,
            tenant_tags: vec![format!("Tier/{}", ["Gold", "Silver", "Bronze"][i % 3])],
        });
    }
    let tenant_ids: Vec<String> = inv.tenants[tenant_start..]
        .iter()
        .map(|t| t.id.clone())
        .collect();
    seed_targets(inv, c, plan, env_start, &tenant_ids);
    for (i, project) in project_ids.iter().take(plan.runbook_projects).enumerate() {
        for k in 0..2 {
            c.runbooks += 1;
            let name = RUNBOOKS[(i + k) % RUNBOOKS.len()];
            inv.runbooks.push(Runbook {
                id: format!("Runbooks-{}", c.runbooks),
                space_id: plan.id.to_string(),
                project_id: project.clone(),
                name: name.to_string(),
                slug: slugify(name),
                description: String::new(),
            });
        }
    }
}

/// A deterministic hex string (a fake certificate thumbprint) from a number.
fn fake_thumbprint(n: usize) -> String {
    let mut x = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut out = String::with_capacity(40);
    while out.len() < 40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(&format!("{x:016X}"));
    }
    out.truncate(40);
    out
}

/// Deployment targets of one space: spread over its environments (round robin), named
/// `{kind}-{environment slug}-{nn}`, every third one serving a tenant; ids follow the
/// alphabetical order Octopus lists them in.
fn seed_targets(
    inv: &mut Inventory,
    c: &mut Counters,
    plan: &SpacePlan<'_>,
    env_start: usize,
    tenant_ids: &[String],
) {
    let environments: Vec<(String, String)> = inv.environments[env_start..]
        .iter()
        .map(|e| (e.id.clone(), e.slug.clone()))
        .collect();
    if environments.is_empty() {
        return;
    }
    let mut targets: Vec<DeploymentTarget> = (0..plan.deployment_targets)
        .map(|i| {
            let (env_id, env_slug) = &environments[i % environments.len()];
            let round = i / environments.len();
            let (prefix, roles, style, os, shell) = TARGET_KINDS[(i + round) % TARGET_KINDS.len()];
            let name = format!("{prefix}-{env_slug}-{:02}", round + 1);
            let tenanted = !tenant_ids.is_empty() && i % 3 == 0;
            DeploymentTarget {
                id: String::new(),
                space_id: plan.id.to_string(),
                slug: slugify(&name),
                host: format!("{name}.{}.internal", slugify(plan.name)),
                name,
                environment_ids: vec![env_id.clone()],
                roles: roles.iter().map(|r| r.to_string()).collect(),
                tenant_ids: if tenanted {
                    vec![tenant_ids[i % tenant_ids.len()].clone()]
                } else {
                    Vec::new()
                },
                tenanted_deployment_participation: if tenanted {
                    "TenantedOrUntenanted"
                } else {
                    "Untenanted"
                }
                .to_string(),
                communication_style: style.to_string(),
                thumbprint: fake_thumbprint(c.targets + i),
                operating_system: os.to_string(),
                shell_name: shell.to_string(),
                health_status: match i % 9 {
                    4 => "HasWarnings",
                    7 => "Unavailable",
                    _ => "Healthy",
                }
                .to_string(),
                is_disabled: i % 11 == 10,
                machine_policy_id: "MachinePolicies-1".to_string(),
                cloud_endpoint: None,
            }
        })
        .collect();
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    for target in &mut targets {
        c.targets += 1;
        target.id = format!("Machines-{}", c.targets);
    }
    inv.deployment_targets.extend(targets);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_profile_has_the_default_space() {
        for profile in [SeedProfile::Empty, SeedProfile::Demo, SeedProfile::Large] {
            let inv = inventory(profile);
            let default = &inv.spaces[0];
            assert_eq!(
                (default.id.as_str(), default.name.as_str()),
                ("Spaces-1", "Default")
            );
            assert_eq!(default.slug, "default");
            assert!(default.is_default);
        }
    }

    #[test]
    fn large_has_the_promised_sizes_and_unique_names() {
        let inv = inventory(SeedProfile::Large);
        assert_eq!(inv.projects.len(), 10_000);
        assert_eq!(inv.environments.len(), 500);
        assert_eq!(inv.tenants.len(), 5_000);
        let slugs: HashSet<_> = inv.projects.iter().map(|p| &p.slug).collect();
        assert_eq!(slugs.len(), 10_000, "project slugs are unique");
        let envs: HashSet<_> = inv.environments.iter().map(|e| &e.slug).collect();
        assert_eq!(envs.len(), 500);
        let tenants: HashSet<_> = inv.tenants.iter().map(|t| &t.slug).collect();
        assert_eq!(tenants.len(), 5_000);
        assert_eq!(inv.deployment_targets.len(), 1_000);
        let targets: HashSet<_> = inv.deployment_targets.iter().map(|t| &t.slug).collect();
        assert_eq!(targets.len(), 1_000);
    }

    #[test]
    fn demo_is_deterministic_and_realistic() {
        let a = inventory(SeedProfile::Demo);
        let b = inventory(SeedProfile::Demo);
        assert_eq!(
            serde_json::to_string(&a).expect("serializable"),
            serde_json::to_string(&b).expect("serializable")
        );
        assert_eq!(a.spaces.len(), 3);
        assert_eq!(a.environments.len(), 30);
        assert_eq!(a.projects.len(), 200);
        assert_eq!(a.projects[0].name, "Customer Portal");
        assert_eq!(a.projects[0].slug, "customer-portal");
        assert!(a.environments.iter().any(|e| e.slug == "production"));
        assert_eq!(a.deployment_targets.len(), 42);
        let first = &a.deployment_targets[0];
        assert_eq!(
            (first.id.as_str(), first.space_id.as_str()),
            ("Machines-1", "Spaces-1")
        );
        let default_targets: Vec<&str> = a
            .deployment_targets
            .iter()
            .filter(|t| t.space_id == "Spaces-1")
            .map(|t| t.name.as_str())
            .collect();
        let mut sorted = default_targets.clone();
        sorted.sort();
        assert_eq!(default_targets, sorted, "alphabetical within a space");
        assert!(default_targets.contains(&"web-production-01"));
        let slugs: HashSet<_> = a
            .deployment_targets
            .iter()
            .map(|t| (&t.space_id, &t.slug))
            .collect();
        assert_eq!(slugs.len(), 42, "target slugs are unique per space");
        assert!(a.deployment_targets.iter().all(|t| {
            t.environment_ids.iter().all(|e| {
                a.environments
                    .iter()
                    .any(|x| &x.id == e && x.space_id == t.space_id)
            })
        }));
        assert!(
            a.deployment_targets
                .iter()
                .any(|t| !t.tenant_ids.is_empty())
        );
    }
}
