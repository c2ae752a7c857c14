//! Seed profiles for the sandbox Octopus inventory: `empty`, `demo` and `large`.
//!
//! Every profile has the default space as a real Octopus has it (`Spaces-1`, "Default",
//! `default`). Names come from fixed word lists combined deterministically (no randomness), so
//! the same profile always produces the same ids, names and slugs.
//! - `empty`: only the default space.
//! - `demo`: three spaces, ~30 environments, ~200 projects in groups, tenants connected to
//!   projects/environments, and runbooks.
//! - `large`: 10,000 projects, 500 environments and 5,000 tenants in the default space, for
//!   performance work.
//!
//! Deliberately absent: accounts, users and identities (the wizard creates those).

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::octopus::model::{Environment, Project, ProjectGroup, Runbook, Space, Tenant, slugify};
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
    }
}
