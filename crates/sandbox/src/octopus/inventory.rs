//! Read-only inventory endpoints: spaces, environments, project groups, projects, tenants,
//! runbooks and deployment targets (`machines`), each as `/all` (a plain array) and paged (`skip`/`take`), plus get-by-id.
//!
//! Unfiltered `/all` bodies are serialized once and served from a cache (cleared whenever the
//! state is replaced), which is what keeps the `large` profile's inventory fast.
//! Deliberately absent: creating or modifying inventory through the API (seed profiles and the
//! state file provide it).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::errors::OctopusError;
use super::model::{DeploymentTarget, Environment, Project, ProjectGroup, Runbook, Space, Tenant};
use super::paging::{QueryParams, page};
use super::state::{Collection, Inventory, OctopusState};

/// What the generic list handlers need from a stored resource.
pub trait Listed {
    /// `Id`.
    fn id(&self) -> &str;
    /// `Name`.
    fn name(&self) -> &str;
    /// `Slug`.
    fn slug(&self) -> &str;
    /// `SpaceId`.
    fn space_id(&self) -> &str;
    /// The wire form.
    fn resource(&self) -> Value;
}

/// `Listed` for a model type; `$space` is the field holding its space id (a space's own id
/// for a space).
macro_rules! listed {
    ($t:ty, $space:ident) => {
        impl Listed for $t {
            fn id(&self) -> &str {
                &self.id
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn slug(&self) -> &str {
                &self.slug
            }
            fn space_id(&self) -> &str {
                &self.$space
            }
            fn resource(&self) -> Value {
                <$t>::resource(self)
            }
        }
    };
}
listed!(Environment, space_id);
listed!(ProjectGroup, space_id);
listed!(Project, space_id);
listed!(Tenant, space_id);
listed!(Runbook, space_id);
listed!(DeploymentTarget, space_id);
listed!(Space, id);

/// The item of the space `space_id` that `raw` names by id or slug.
pub fn by_id_or_slug<'i, T: Listed>(
    items: &'i [T],
    space_id: &str,
    raw: Option<&str>,
) -> Option<&'i T> {
    let raw = raw?;
    items
        .iter()
        .find(|i| i.space_id() == space_id && (i.id() == raw || i.slug() == raw))
}

/// A JSON response from pre-serialized bytes.
pub fn json_bytes(bytes: Bytes) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        bytes,
    )
        .into_response()
}

fn serialize_array<'a, T: Listed + 'a>(items: impl Iterator<Item = &'a T>) -> Bytes {
    let values: Vec<Value> = items.map(Listed::resource).collect();
    Bytes::from(serde_json::to_vec(&values).unwrap_or_else(|_| b"[]".to_vec()))
}

/// The filter parameters of a list request, parsed once per request (not once per item).
#[derive(Debug, Default)]
pub struct Filters {
    ids: Vec<String>,
    partial_name: Option<String>,
    name: Option<String>,
    project_id: Option<String>,
    project_ids: Vec<String>,
    environment_ids: Vec<String>,
    roles: Vec<String>,
    is_disabled: Option<bool>,
}

impl Filters {
    /// Reads `ids`, `partialName`, `name`, `projectId`, `projectIds`, `environmentIds`,
    /// `roles` and `isDisabled`.
    pub fn new(q: &QueryParams) -> Filters {
        let non_empty = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_string);
        Filters {
            ids: q.list("ids"),
            partial_name: non_empty(q.get("partialName")).map(|p| p.to_lowercase()),
            name: non_empty(q.get("name")),
            project_id: non_empty(q.get("projectId")),
            project_ids: q.list("projectIds"),
            environment_ids: q.list("environmentIds"),
            roles: q.list("roles"),
            is_disabled: q
                .get("isDisabled")
                .and_then(|v| v.to_ascii_lowercase().parse().ok()),
        }
    }
}

/// Per-collection filters shared by `/all` and the paged list.
fn passes_filters<T: Listed>(item: &T, f: &Filters) -> bool {
    (f.ids.is_empty() || f.ids.iter().any(|id| id == item.id()))
        && f.partial_name
            .as_ref()
            .is_none_or(|p| item.name().to_lowercase().contains(p.as_str()))
        && f.name
            .as_ref()
            .is_none_or(|n| item.name().eq_ignore_ascii_case(n))
}

/// Shared `/all` logic: cached when unfiltered.
fn list_all<T: Listed>(
    app: &AppState,
    space_id: &str,
    q: &QueryParams,
    collection: Collection,
    select: fn(&Inventory) -> &Vec<T>,
    extra: impl Fn(&T) -> bool,
) -> Response {
    let state = app.read();
    let items = select(&state.inventory);
    if q.is_unfiltered() {
        let mut cache = app.cache.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = cache.get_or_build(space_id, collection, || {
            serialize_array(items.iter().filter(|i| i.space_id() == space_id))
        });
        return json_bytes(bytes);
    }
    let f = Filters::new(q);
    json_bytes(serialize_array(items.iter().filter(|i| {
        i.space_id() == space_id && passes_filters(*i, &f) && extra(i)
    })))
}

/// Shared paged-list logic.
#[allow(clippy::too_many_arguments)]
fn list_page<T: Listed>(
    app: &AppState,
    space_id: &str,
    q: &QueryParams,
    item_type: &str,
    base_path: &str,
    select: fn(&Inventory) -> &Vec<T>,
    extra: impl Fn(&T) -> bool,
) -> Result<Response, OctopusError> {
    let (skip, take) = q.skip_take()?;
    let f = Filters::new(q);
    let state = app.read();
    let items: Vec<&T> = select(&state.inventory)
        .iter()
        .filter(|i| i.space_id() == space_id && passes_filters(*i, &f) && extra(i))
        .collect();
    Ok(page(item_type, base_path, &items, skip, take, |i| {
        i.resource()
    }))
}

fn get_one<T: Listed>(
    app: &AppState,
    space_id: &str,
    id: &str,
    select: fn(&Inventory) -> &Vec<T>,
) -> Result<Response, OctopusError> {
    let state = app.read();
    select(&state.inventory)
        .iter()
        .find(|i| i.space_id() == space_id && (i.id() == id))
        .map(|i| axum::Json(i.resource()).into_response())
        .ok_or_else(OctopusError::not_found)
}

// ---- spaces ----

/// `GET /api/spaces/all`.
pub async fn spaces_all(State(app): State<AppState>, q: QueryParams) -> Response {
    let state = app.read();
    let spaces = &state.inventory.spaces;
    if q.is_unfiltered() {
        let mut cache = app.cache.lock().unwrap_or_else(|e| e.into_inner());
        return json_bytes(
            cache.get_or_build("", Collection::Spaces, || serialize_array(spaces.iter())),
        );
    }
    let f = Filters::new(&q);
    json_bytes(serialize_array(
        spaces.iter().filter(|s| passes_filters(*s, &f)),
    ))
}

/// `GET /api/spaces?skip&take&partialName&ids`.
pub async fn spaces_page(
    State(app): State<AppState>,
    q: QueryParams,
) -> Result<Response, OctopusError> {
    let (skip, take) = q.skip_take()?;
    let f = Filters::new(&q);
    let state = app.read();
    let items: Vec<&Space> = state
        .inventory
        .spaces
        .iter()
        .filter(|s| passes_filters(*s, &f))
        .collect();
    Ok(page("Space", "/api/spaces", &items, skip, take, |s| {
        s.resource()
    }))
}

/// `GET /api/spaces/{id}` (id or slug).
pub async fn space_get(
    State(app): State<AppState>,
    Path(ident): Path<String>,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&ident)?;
    let state = app.read();
    state
        .space(&space_id)
        .map(|s| axum::Json(s.resource()).into_response())
        .ok_or_else(OctopusError::not_found)
}

// ---- per-space collections ----

macro_rules! collection_handlers {
    ($all:ident, $paged:ident, $get:ident, $field:ident, $coll:expr, $item_type:literal, $path:literal, $extra:expr) => {
        #[doc = concat!("`GET /api/{space}/", $path, "/all`.")]
        pub async fn $all(
            State(app): State<AppState>,
            Path(space): Path<String>,
            q: QueryParams,
        ) -> Result<Response, OctopusError> {
            let space_id = app.resolve_space(&space)?;
            let extra = $extra;
            let filters = Filters::new(&q);
            Ok(list_all(
                &app,
                &space_id,
                &q,
                $coll,
                |i| &i.$field,
                |x| extra(x, &filters),
            ))
        }

        #[doc = concat!("`GET /api/{space}/", $path, "?skip&take`.")]
        pub async fn $paged(
            State(app): State<AppState>,
            Path(space): Path<String>,
            q: QueryParams,
        ) -> Result<Response, OctopusError> {
            let space_id = app.resolve_space(&space)?;
            let extra = $extra;
            let filters = Filters::new(&q);
            let base = format!("/api/{}/{}", space_id, $path);
            list_page(
                &app,
                &space_id,
                &q,
                $item_type,
                &base,
                |i| &i.$field,
                |x| extra(x, &filters),
            )
        }

        #[doc = concat!("`GET /api/{space}/", $path, "/{id}`.")]
        pub async fn $get(
            State(app): State<AppState>,
            Path((space, id)): Path<(String, String)>,
        ) -> Result<Response, OctopusError> {
            let space_id = app.resolve_space(&space)?;
            get_one(&app, &space_id, &id, |i| &i.$field)
        }
    };
}

fn no_extra<T>(_: &T, _: &Filters) -> bool {
    true
}

fn tenant_filter(t: &Tenant, f: &Filters) -> bool {
    f.project_id
        .as_ref()
        .is_none_or(|p| t.project_environments.contains_key(p))
}

fn runbook_filter(r: &Runbook, f: &Filters) -> bool {
    f.project_ids.is_empty() || f.project_ids.contains(&r.project_id)
}

/// Targets in any of `environmentIds`, with any of `roles`, and `isDisabled` if given.
fn target_filter(t: &DeploymentTarget, f: &Filters) -> bool {
    (f.environment_ids.is_empty()
        || t.environment_ids
            .iter()
            .any(|e| f.environment_ids.contains(e)))
        && (f.roles.is_empty() || t.roles.iter().any(|r| f.roles.contains(r)))
        && f.is_disabled.is_none_or(|d| t.is_disabled == d)
}

collection_handlers!(
    environments_all,
    environments_page,
    environment_get,
    environments,
    Collection::Environments,
    "Environment",
    "environments",
    no_extra::<Environment>
);
collection_handlers!(
    project_groups_all,
    project_groups_page,
    project_group_get,
    project_groups,
    Collection::ProjectGroups,
    "ProjectGroup",
    "projectgroups",
    no_extra::<ProjectGroup>
);
collection_handlers!(
    projects_all,
    projects_page,
    project_get,
    projects,
    Collection::Projects,
    "Project",
    "projects",
    no_extra::<Project>
);
collection_handlers!(
    tenants_all,
    tenants_page,
    tenant_get,
    tenants,
    Collection::Tenants,
    "Tenant",
    "tenants",
    tenant_filter
);
collection_handlers!(
    runbooks_all,
    runbooks_page,
    runbook_get,
    runbooks,
    Collection::Runbooks,
    "Runbook",
    "runbooks",
    runbook_filter
);

collection_handlers!(
    deployment_targets_all,
    deployment_targets_page,
    deployment_target_get,
    deployment_targets,
    Collection::DeploymentTargets,
    "DeploymentTarget",
    "machines",
    target_filter
);

/// The project `project_id` (its id or slug) names in the space, and those of its runbooks
/// that pass the query's filters.
fn project_runbooks<'s>(
    state: &'s OctopusState,
    space_id: &str,
    project_id: &str,
    q: &QueryParams,
) -> Result<(&'s Project, Vec<&'s Runbook>), OctopusError> {
    let project = state
        .inventory
        .projects
        .iter()
        .find(|p| p.space_id == space_id && (p.id == project_id || p.slug == project_id))
        .ok_or_else(OctopusError::not_found)?;
    let f = Filters::new(q);
    let runbooks = state
        .inventory
        .runbooks
        .iter()
        .filter(|r| r.space_id == space_id && r.project_id == project.id && passes_filters(*r, &f))
        .collect();
    Ok((project, runbooks))
}

/// `GET /api/{space}/projects/{projectId}/runbooks/all`.
pub async fn project_runbooks_all(
    State(app): State<AppState>,
    Path((space, project_id)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let state = app.read();
    let (_, runbooks) = project_runbooks(&state, &space_id, &project_id, &q)?;
    Ok(json_bytes(serialize_array(runbooks.into_iter())))
}

/// `GET /api/{space}/projects/{projectId}/runbooks?skip&take`.
pub async fn project_runbooks_page(
    State(app): State<AppState>,
    Path((space, project_id)): Path<(String, String)>,
    q: QueryParams,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let (skip, take) = q.skip_take()?;
    let state = app.read();
    let (project, runbooks) = project_runbooks(&state, &space_id, &project_id, &q)?;
    let base = format!("/api/{space_id}/projects/{}/runbooks", project.id);
    Ok(page("Runbook", &base, &runbooks, skip, take, |r| {
        r.resource()
    }))
}

/// Serializes every unfiltered `/all` body ahead of the first request (the `large` profile's
/// projects take a few hundred milliseconds to serialize).
pub fn prebuild_all_bodies(app: &AppState) {
    let state = app.read();
    let inv = &state.inventory;
    let mut cache = app.cache.lock().unwrap_or_else(|e| e.into_inner());
    cache.get_or_build("", Collection::Spaces, || {
        serialize_array(inv.spaces.iter())
    });
    for space in &inv.spaces {
        let id = space.id.as_str();
        cache.get_or_build(id, Collection::Environments, || {
            serialize_array(inv.environments.iter().filter(|i| i.space_id == id))
        });
        cache.get_or_build(id, Collection::ProjectGroups, || {
            serialize_array(inv.project_groups.iter().filter(|i| i.space_id == id))
        });
        cache.get_or_build(id, Collection::Projects, || {
            serialize_array(inv.projects.iter().filter(|i| i.space_id == id))
        });
        cache.get_or_build(id, Collection::Tenants, || {
            serialize_array(inv.tenants.iter().filter(|i| i.space_id == id))
        });
        cache.get_or_build(id, Collection::Runbooks, || {
            serialize_array(inv.runbooks.iter().filter(|i| i.space_id == id))
        });
        cache.get_or_build(id, Collection::DeploymentTargets, || {
            serialize_array(inv.deployment_targets.iter().filter(|i| i.space_id == id))
        });
    }
}
