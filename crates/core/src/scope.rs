//! The Octopus scope model: what exists in a space (the [`Inventory`]), what the user chose
//! ([`ScopeSelection`]) and the account's subject keys ([`SubjectKeyConfig`]), and from them
//! every run Octopus can make with the account and the exact subjects it will present.
//!
//! A *run* is one token request: a deployment or runbook run of (project, runbook,
//! environment, tenant or untenanted), a health check of a target, or the account test.
//! Tenanted runs exist only where the tenant is connected to the project and environment.
//! The account test is always intended: without it "Save and test" fails.
//!
//! `Selection::All` means "all, including ones created later"; the AWS pattern generator may
//! turn it into a `*`, everything exact (Azure, the matrix) expands it to the current items.
//!
//! Deliberately absent: tenant tags, channels, lifecycles, target roles and the target ↔
//! environment relation (health-check subjects do not carry them), feeds (no feed selection in
//! the wizard), and the values' origin (the octopus crate fills the inventory).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::ports::{
    OctopusProject, OctopusResource, OctopusRunbook, OctopusTenant, SpaceInventory,
};
use crate::subject::{
    Context, KeySet, SubjectError, SubjectKey, SubjectParts, check_value, write_subject,
};

/// Everything in one space that runs can involve, plus the account being set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// The space.
    pub space: OctopusResource,
    /// The Octopus account (its slug is the `account:` value).
    pub account: OctopusResource,
    /// Project groups.
    #[serde(default)]
    pub project_groups: Vec<OctopusResource>,
    /// Projects.
    #[serde(default)]
    pub projects: Vec<OctopusProject>,
    /// Runbooks.
    #[serde(default)]
    pub runbooks: Vec<OctopusRunbook>,
    /// Environments.
    #[serde(default)]
    pub environments: Vec<OctopusResource>,
    /// Tenants with their project/environment connections.
    #[serde(default)]
    pub tenants: Vec<OctopusTenant>,
    /// Deployment targets (health checks).
    #[serde(default)]
    pub targets: Vec<OctopusResource>,
}

impl Inventory {
    /// Builds an inventory from what the Octopus port returns, plus space, account and targets.
    pub fn from_space(
        space: OctopusResource,
        account: OctopusResource,
        inv: SpaceInventory,
        targets: Vec<OctopusResource>,
    ) -> Inventory {
        Inventory {
            space,
            account,
            project_groups: inv.project_groups,
            projects: inv.projects,
            runbooks: inv.runbooks,
            environments: inv.environments,
            tenants: inv.tenants,
            targets,
        }
    }
}

/// A choice over one dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Every item, including items created later.
    All,
    /// Exactly these ids.
    Only(Vec<String>),
}

impl Selection {
    /// Whether the item with this id is chosen.
    pub fn contains(&self, id: &str) -> bool {
        match self {
            Selection::All => true,
            Selection::Only(ids) => ids.iter().any(|i| i == id),
        }
    }

    /// Whether this is [`Selection::All`].
    pub fn is_all(&self) -> bool {
        matches!(self, Selection::All)
    }

    /// The ids for an Octopus account's `EnvironmentIds`/`TenantIds` (empty = unrestricted).
    pub fn ids(&self) -> Vec<String> {
        match self {
            Selection::All => Vec::new(),
            Selection::Only(ids) => ids.clone(),
        }
    }
}

/// What the user allows the account to be used for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSelection {
    /// Contexts to trust besides the account test (always included): deployment, runbook, health.
    pub contexts: Vec<Context>,
    /// Projects (deployments and runbook runs).
    pub projects: Selection,
    /// Runbooks (of the chosen projects).
    pub runbooks: Selection,
    /// Environments.
    pub environments: Selection,
    /// Tenants (tenanted runs).
    pub tenants: Selection,
    /// Whether untenanted runs are allowed.
    pub untenanted: bool,
    /// Deployment targets (health checks).
    pub targets: Selection,
}

impl ScopeSelection {
    /// Whether `context` is chosen (the account test always is).
    pub fn has_context(&self, context: Context) -> bool {
        context == Context::AccountTest || self.contexts.contains(&context)
    }
}

/// The account's subject keys per context (empty = Octopus's default for the context).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubjectKeyConfig {
    /// `DeploymentSubjectKeys` (deployments and runbook runs).
    pub deployment: Vec<SubjectKey>,
    /// `HealthCheckSubjectKeys`.
    pub health_check: Vec<SubjectKey>,
    /// `AccountTestSubjectKeys`.
    pub account_test: Vec<SubjectKey>,
}

impl SubjectKeyConfig {
    /// The configured keys for a context (may be empty = defaults).
    pub fn for_context(&self, context: Context) -> &[SubjectKey] {
        match context {
            Context::Deployment | Context::RunbookRun => &self.deployment,
            Context::HealthCheck => &self.health_check,
            Context::AccountTest => &self.account_test,
            Context::Feed => &[],
        }
    }

    /// The resolved key set for a context.
    pub fn resolve(&self, context: Context) -> Result<KeySet, SubjectError> {
        KeySet::resolve(context, self.for_context(context))
    }
}

/// The chosen scope: inventory, selection and keys together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// What exists.
    pub inventory: Inventory,
    /// What is allowed.
    pub selection: ScopeSelection,
    /// The account's subject keys.
    #[serde(default)]
    pub keys: SubjectKeyConfig,
}

/// Why a scope cannot be turned into subjects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// The keys or a slug are invalid.
    #[error(transparent)]
    Subject(#[from] SubjectError),
    /// A reference to something not in the inventory (e.g. a runbook's project).
    #[error("{what} '{id}' is not in the inventory")]
    Dangling {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
}

/// The contexts the scope enumerates, in output order.
pub const RUN_CONTEXTS: [Context; 4] = [
    Context::Deployment,
    Context::RunbookRun,
    Context::HealthCheck,
    Context::AccountTest,
];

/// One run, by index into the inventory's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunRef {
    /// The context.
    pub context: Context,
    /// Index into `projects`.
    pub project: Option<usize>,
    /// Index into `runbooks`.
    pub runbook: Option<usize>,
    /// Index into `tenants` (`None` = untenanted).
    pub tenant: Option<usize>,
    /// Index into `environments`.
    pub environment: Option<usize>,
    /// Index into `targets`.
    pub target: Option<usize>,
}

/// A run with names, for matrices and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLabel {
    /// The context.
    pub context: Context,
    /// Project slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Runbook slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    /// Tenant slug (`None` = untenanted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Environment slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Target slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// One distinct subject of the scope, with the contexts that present it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScopeSubject {
    /// The exact subject.
    pub subject: String,
    /// Contexts whose runs present it.
    pub contexts: BTreeSet<Context>,
    /// How many intended runs present it.
    pub runs: usize,
}

/// A dimension value while enumerating: a concrete inventory index or "any" (a `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    At(usize),
    Any,
}

/// Per-dimension permission to use `*` while generating patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wild {
    project: bool,
    runbook: bool,
    tenant: bool,
    environment: bool,
    target: bool,
}

impl Wild {
    const NONE: Wild = Wild {
        project: false,
        runbook: false,
        tenant: false,
        environment: false,
        target: false,
    };
}

/// The scope with its lookups precomputed (validated once; enumeration allocates nothing
/// per run beyond the caller's subject buffer).
#[derive(Debug)]
pub struct CompiledScope<'a> {
    scope: &'a Scope,
    deployment_keys: KeySet,
    health_keys: KeySet,
    account_test_keys: KeySet,
    project_group_slug: Vec<Option<&'a str>>,
    runbook_project: Vec<usize>,
    /// Per project: (tenant index, connected environment flags).
    tenants_of: Vec<Vec<(usize, Vec<bool>)>>,
    sel_project: Vec<bool>,
    sel_runbook: Vec<bool>,
    sel_env: Vec<bool>,
    sel_tenant: Vec<bool>,
    sel_target: Vec<bool>,
}

impl Scope {
    /// Validates keys and slugs and precomputes lookups.
    pub fn compile(&self) -> Result<CompiledScope<'_>, ScopeError> {
        CompiledScope::new(self)
    }

    /// The exact, deduplicated subjects of every intended run, sorted.
    pub fn subjects(&self) -> Result<Vec<ScopeSubject>, ScopeError> {
        Ok(self.compile()?.subjects())
    }
}

fn check_slug(key: SubjectKey, r: &OctopusResource) -> Result<(), ScopeError> {
    check_value(key, &r.slug)?;
    Ok(())
}

impl<'a> CompiledScope<'a> {
    fn new(scope: &'a Scope) -> Result<Self, ScopeError> {
        let inv = &scope.inventory;
        let sel = &scope.selection;
        check_slug(SubjectKey::Space, &inv.space)?;
        check_slug(SubjectKey::Account, &inv.account)?;
        for g in &inv.project_groups {
            check_slug(SubjectKey::ProjectGroup, g)?;
        }
        for p in &inv.projects {
            check_slug(SubjectKey::Project, &p.resource)?;
        }
        for r in &inv.runbooks {
            check_slug(SubjectKey::Runbook, &r.resource)?;
        }
        for e in &inv.environments {
            check_slug(SubjectKey::Environment, e)?;
        }
        for t in &inv.tenants {
            check_slug(SubjectKey::Tenant, &t.resource)?;
        }
        for t in &inv.targets {
            check_slug(SubjectKey::Target, t)?;
        }
        let project_index: BTreeMap<&str, usize> = inv
            .projects
            .iter()
            .enumerate()
            .map(|(i, p)| (p.resource.id.as_str(), i))
            .collect();
        let env_index: BTreeMap<&str, usize> = inv
            .environments
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.as_str(), i))
            .collect();
        let groups: BTreeMap<&str, &str> = inv
            .project_groups
            .iter()
            .map(|g| (g.id.as_str(), g.slug.as_str()))
            .collect();
        let project_group_slug = inv
            .projects
            .iter()
            .map(|p| groups.get(p.project_group_id.as_str()).copied())
            .collect();
        let mut runbook_project = Vec::with_capacity(inv.runbooks.len());
        for r in &inv.runbooks {
            let p =
                *project_index
                    .get(r.project_id.as_str())
                    .ok_or_else(|| ScopeError::Dangling {
                        what: "project",
                        id: r.project_id.clone(),
                    })?;
            runbook_project.push(p);
        }
        let mut tenants_of: Vec<Vec<(usize, Vec<bool>)>> = vec![Vec::new(); inv.projects.len()];
        for (t, tenant) in inv.tenants.iter().enumerate() {
            for (pid, envs) in &tenant.project_environments {
                // Connections to projects or environments outside the inventory are ignored:
                // no run can use them.
                let Some(&p) = project_index.get(pid.as_str()) else {
                    continue;
                };
                let mut flags = vec![false; inv.environments.len()];
                for eid in envs {
                    if let Some(&e) = env_index.get(eid.as_str()) {
                        flags[e] = true;
                    }
                }
                tenants_of[p].push((t, flags));
            }
        }
        Ok(CompiledScope {
            scope,
            deployment_keys: scope.keys.resolve(Context::Deployment)?,
            health_keys: scope.keys.resolve(Context::HealthCheck)?,
            account_test_keys: scope.keys.resolve(Context::AccountTest)?,
            project_group_slug,
            runbook_project,
            tenants_of,
            sel_project: inv
                .projects
                .iter()
                .map(|p| sel.projects.contains(&p.resource.id))
                .collect(),
            sel_runbook: inv
                .runbooks
                .iter()
                .map(|r| sel.runbooks.contains(&r.resource.id))
                .collect(),
            sel_env: inv
                .environments
                .iter()
                .map(|e| sel.environments.contains(&e.id))
                .collect(),
            sel_tenant: inv
                .tenants
                .iter()
                .map(|t| sel.tenants.contains(&t.resource.id))
                .collect(),
            sel_target: inv
                .targets
                .iter()
                .map(|t| sel.targets.contains(&t.id))
                .collect(),
        })
    }

    /// The scope this was compiled from.
    pub fn scope(&self) -> &'a Scope {
        self.scope
    }

    /// The resolved keys for a context.
    pub fn keys(&self, context: Context) -> KeySet {
        match context {
            Context::Deployment | Context::RunbookRun | Context::Feed => self.deployment_keys,
            Context::HealthCheck => self.health_keys,
            Context::AccountTest => self.account_test_keys,
        }
    }

    /// Whether the user intended this run.
    pub fn is_intended(&self, run: &RunRef) -> bool {
        let sel = &self.scope.selection;
        if !sel.has_context(run.context) {
            return false;
        }
        let flag = |v: &[bool], i: Option<usize>| i.is_none_or(|i| v[i]);
        let tenant_ok = match run.tenant {
            None => sel.untenanted,
            Some(t) => self.sel_tenant[t],
        };
        match run.context {
            Context::Deployment => {
                flag(&self.sel_project, run.project)
                    && flag(&self.sel_env, run.environment)
                    && tenant_ok
            }
            Context::RunbookRun => {
                flag(&self.sel_project, run.project)
                    && flag(&self.sel_runbook, run.runbook)
                    && flag(&self.sel_env, run.environment)
                    && tenant_ok
            }
            Context::HealthCheck => flag(&self.sel_target, run.target),
            Context::AccountTest => true,
            Context::Feed => false,
        }
    }

    /// The subject values of a run.
    pub fn parts(&self, run: &RunRef) -> SubjectParts<'a> {
        let inv = &self.scope.inventory;
        SubjectParts {
            space: Some(inv.space.slug.as_str()),
            project_group: run.project.and_then(|p| self.project_group_slug[p]),
            project: run.project.map(|p| inv.projects[p].resource.slug.as_str()),
            runbook: run.runbook.map(|r| inv.runbooks[r].resource.slug.as_str()),
            tenant: run.tenant.map(|t| inv.tenants[t].resource.slug.as_str()),
            environment: run.environment.map(|e| inv.environments[e].slug.as_str()),
            target: run.target.map(|t| inv.targets[t].slug.as_str()),
            account: Some(inv.account.slug.as_str()),
            feed: None,
        }
    }

    /// Writes the subject of a run into `out` (cleared first).
    pub fn write_run_subject(&self, run: &RunRef, out: &mut String) {
        out.clear();
        write_subject(run.context, self.keys(run.context), &self.parts(run), out);
    }

    /// The run with slugs instead of indexes.
    pub fn label(&self, run: &RunRef) -> RunLabel {
        let p = self.parts(run);
        RunLabel {
            context: run.context,
            project: p.project.map(str::to_string),
            runbook: p.runbook.map(str::to_string),
            tenant: p.tenant.map(str::to_string),
            environment: p.environment.map(str::to_string),
            target: p.target.map(str::to_string),
        }
    }

    /// Every run Octopus can make with the account in this space (intended or not), in a
    /// fixed order: deployments, runbook runs, health checks, the account test.
    pub fn for_each_run(&self, mut f: impl FnMut(&RunRef)) {
        let inv = &self.scope.inventory;
        let n_env = inv.environments.len();
        // Deployments of every project, then every runbook's runs in its project.
        let deployments = (0..inv.projects.len()).map(|p| (Context::Deployment, p, None));
        let runbook_runs = (self.runbook_project.iter().enumerate())
            .map(|(r, &p)| (Context::RunbookRun, p, Some(r)));
        for (context, p, runbook) in deployments.chain(runbook_runs) {
            for e in 0..n_env {
                let mut run = RunRef {
                    context,
                    project: Some(p),
                    runbook,
                    tenant: None,
                    environment: Some(e),
                    target: None,
                };
                f(&run);
                for (t, envs) in &self.tenants_of[p] {
                    if envs[e] {
                        run.tenant = Some(*t);
                        f(&run);
                    }
                }
            }
        }
        for t in 0..inv.targets.len() {
            f(&RunRef {
                context: Context::HealthCheck,
                project: None,
                runbook: None,
                tenant: None,
                environment: None,
                target: Some(t),
            });
        }
        f(&RunRef {
            context: Context::AccountTest,
            project: None,
            runbook: None,
            tenant: None,
            environment: None,
            target: None,
        });
    }

    /// The exact, deduplicated subjects of every intended run, sorted by subject.
    pub fn subjects(&self) -> Vec<ScopeSubject> {
        let mut map: BTreeMap<String, (BTreeSet<Context>, usize)> = BTreeMap::new();
        let mut buf = String::with_capacity(128);
        self.for_each_run(|run| {
            if self.is_intended(run) {
                self.write_run_subject(run, &mut buf);
                let entry = map.entry(buf.clone()).or_default();
                entry.0.insert(run.context);
                entry.1 += 1;
            }
        });
        map.into_iter()
            .map(|(subject, (contexts, runs))| ScopeSubject {
                subject,
                contexts,
                runs,
            })
            .collect()
    }

    /// Whether tenant `t` is connected to the (possibly "any") project and environment.
    fn connected(&self, t: usize, p: Item, e: Item) -> bool {
        let projects: Vec<usize> = match p {
            Item::At(p) => vec![p],
            Item::Any => (0..self.tenants_of.len()).collect(),
        };
        projects.into_iter().any(|p| {
            self.tenants_of[p].iter().any(|(tt, envs)| {
                *tt == t
                    && match e {
                        Item::At(e) => envs[e],
                        Item::Any => envs.iter().any(|b| *b),
                    }
            })
        })
    }

    /// Subject patterns for the intended runs of one context with the given wildcard
    /// permissions: `(pattern, wildcard keys)`.
    fn context_patterns(&self, context: Context, wild: Wild) -> Vec<(String, Vec<SubjectKey>)> {
        let inv = &self.scope.inventory;
        let sel = &self.scope.selection;
        let mut out = Vec::new();
        if !sel.has_context(context) {
            return out;
        }
        let pick = |n: usize, flags: &[bool], all: bool, wild: bool| -> Vec<Item> {
            if all && wild {
                vec![Item::Any]
            } else {
                (0..n).filter(|&i| flags[i]).map(Item::At).collect()
            }
        };
        let projects = pick(
            inv.projects.len(),
            &self.sel_project,
            sel.projects.is_all(),
            wild.project,
        );
        let envs = pick(
            inv.environments.len(),
            &self.sel_env,
            sel.environments.is_all(),
            wild.environment,
        );
        let tenants = pick(
            inv.tenants.len(),
            &self.sel_tenant,
            sel.tenants.is_all(),
            wild.tenant,
        );
        let keys = self.keys(context);
        let mut emit = |project: Item,
                        runbook: Option<Item>,
                        tenant: Option<Item>,
                        env: Item,
                        target: Option<Item>| {
            let mut parts = SubjectParts {
                space: Some(inv.space.slug.as_str()),
                account: Some(inv.account.slug.as_str()),
                ..Default::default()
            };
            let mut wild_keys = Vec::new();
            let mut set = |key: SubjectKey,
                           item: Option<Item>,
                           value: &dyn Fn(usize) -> Option<&'a str>|
             -> Option<&'a str> {
                match item? {
                    Item::Any => {
                        wild_keys.push(key);
                        Some("*")
                    }
                    Item::At(i) => value(i),
                }
            };
            if matches!(context, Context::Deployment | Context::RunbookRun) {
                parts.project_group = set(SubjectKey::ProjectGroup, Some(project), &|p| {
                    self.project_group_slug[p]
                });
                parts.project = set(SubjectKey::Project, Some(project), &|p| {
                    Some(inv.projects[p].resource.slug.as_str())
                });
                parts.runbook = set(SubjectKey::Runbook, runbook, &|r| {
                    Some(inv.runbooks[r].resource.slug.as_str())
                });
                parts.tenant = set(SubjectKey::Tenant, tenant, &|t| {
                    Some(inv.tenants[t].resource.slug.as_str())
                });
                parts.environment = set(SubjectKey::Environment, Some(env), &|e| {
                    Some(inv.environments[e].slug.as_str())
                });
            }
            parts.target = set(SubjectKey::Target, target, &|t| {
                Some(inv.targets[t].slug.as_str())
            });
            // Only keys that made it into the subject count as wildcards.
            wild_keys.retain(|k| keys.contains(*k) && parts.value(context, *k).is_some());
            let mut s = String::new();
            write_subject(context, keys, &parts, &mut s);
            out.push((s, wild_keys));
        };
        let env_tenants = |project: Item,
                           runbook: Option<Item>,
                           emit: &mut dyn FnMut(
            Item,
            Option<Item>,
            Option<Item>,
            Item,
            Option<Item>,
        )| {
            for &env in &envs {
                if sel.untenanted {
                    emit(project, runbook, None, env, None);
                }
                for &tenant in &tenants {
                    let ok = match tenant {
                        Item::Any => true,
                        Item::At(t) => self.connected(t, project, env),
                    };
                    if ok {
                        emit(project, runbook, Some(tenant), env, None);
                    }
                }
            }
        };
        match context {
            Context::Deployment => {
                for &project in &projects {
                    env_tenants(project, None, &mut emit);
                }
            }
            Context::RunbookRun => {
                if sel.runbooks.is_all() && wild.runbook {
                    for &project in &projects {
                        env_tenants(project, Some(Item::Any), &mut emit);
                    }
                } else {
                    for (r, &p) in self.runbook_project.iter().enumerate() {
                        let project_ok = projects
                            .iter()
                            .any(|i| *i == Item::Any || *i == Item::At(p));
                        if self.sel_runbook[r] && project_ok && self.sel_project[p] {
                            env_tenants(Item::At(p), Some(Item::At(r)), &mut emit);
                        }
                    }
                }
            }
            Context::HealthCheck => {
                for target in pick(
                    inv.targets.len(),
                    &self.sel_target,
                    sel.targets.is_all(),
                    wild.target,
                ) {
                    emit(Item::Any, None, None, Item::Any, Some(target));
                }
            }
            Context::AccountTest => emit(Item::Any, None, None, Item::Any, None),
            Context::Feed => {}
        }
        out
    }

    /// Whether a `*` at `key` can absorb parts of a real subject that is not intended: true
    /// when a key of the context's key set lies between `key` and the next part present in
    /// the pattern but is absent from the pattern (it may be present in another subject).
    fn wildcard_unsafe(
        &self,
        context: Context,
        pattern_keys: &[SubjectKey],
        key: SubjectKey,
    ) -> bool {
        let keys = self.keys(context);
        let sel = &self.scope.selection;
        let next = pattern_keys.iter().copied().find(|k| *k > key);
        keys.keys()
            .filter(|j| *j > key && next.is_none_or(|n| *j < n) && !pattern_keys.contains(j))
            .any(|j| match j {
                // Runbook-run subjects differ from deployment subjects in `type`.
                SubjectKey::Runbook => {
                    !(context == Context::Deployment && keys.contains(SubjectKey::Type))
                }
                // Tenanted subjects are intended anyway when every tenant is.
                SubjectKey::Tenant => !sel.tenants.is_all(),
                _ => true,
            })
    }

    /// AWS `StringLike` patterns for the intended subjects: exact subjects, with `*` standing
    /// for a whole value only where the selection is `All` and the `*` cannot absorb parts of
    /// a subject outside the scope. Deduplicated, without patterns another one covers, sorted.
    pub fn aws_subject_patterns(&self) -> Vec<String> {
        let sel = &self.scope.selection;
        let mut all = BTreeSet::new();
        for context in RUN_CONTEXTS {
            let mut wild = Wild {
                project: sel.projects.is_all(),
                // A runbook belongs to a project: `runbook:*` must not admit runbooks of
                // projects outside the selection, so the project must be pinned in the subject.
                runbook: sel.runbooks.is_all()
                    && (sel.projects.is_all() || self.keys(context).contains(SubjectKey::Project)),
                tenant: sel.tenants.is_all(),
                environment: sel.environments.is_all(),
                target: sel.targets.is_all(),
            };
            let patterns = loop {
                let patterns = self.context_patterns(context, wild);
                let keys = self.keys(context);
                let unsafe_key = patterns.iter().find_map(|(s, wild_keys)| {
                    let present: Vec<SubjectKey> =
                        keys.keys().filter(|k| pattern_has_key(s, *k)).collect();
                    wild_keys
                        .iter()
                        .copied()
                        .find(|k| self.wildcard_unsafe(context, &present, *k))
                });
                match unsafe_key {
                    None => break patterns,
                    Some(SubjectKey::ProjectGroup | SubjectKey::Project) => wild.project = false,
                    Some(SubjectKey::Runbook) => wild.runbook = false,
                    Some(SubjectKey::Tenant) => wild.tenant = false,
                    Some(SubjectKey::Environment) => wild.environment = false,
                    Some(_) => wild.target = false,
                }
                if wild == Wild::NONE {
                    break self.context_patterns(context, wild);
                }
            };
            all.extend(patterns.into_iter().map(|(s, _)| s));
        }
        let wildcards: Vec<&String> = all
            .iter()
            .filter(|p| crate::wildcard::has_wildcard(p))
            .collect();
        all.iter()
            .filter(|p| {
                !wildcards
                    .iter()
                    .any(|w| *w != *p && crate::wildcard::matches(w, p))
            })
            .cloned()
            .collect()
    }
}

/// Whether the (pattern) subject contains a part for `key`: parts are `name:value` pairs at
/// even positions.
fn pattern_has_key(subject: &str, key: SubjectKey) -> bool {
    subject
        .split(':')
        .step_by(2)
        .any(|name| name == key.claim_name())
}
