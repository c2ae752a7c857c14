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
use super::state::{AllCache, Collection, Inventory, OctopusState};

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

/// A per-space inventory collection: where the inventory keeps it, its names on the wire and
/// the filters of its own (beyond `ids`, `partialName` and `name`).
pub trait InSpace: Listed + Sized + Send + Sync + 'static {
    /// The key of its cached `/all` body.
    const COLLECTION: Collection;
    /// `ItemType` of its pages.
    const ITEM_TYPE: &'static str;
    /// Its path under `/api/{space}/` (`/{PATH}`, `/{PATH}/all`, `/{PATH}/{id}`).
    const PATH: &'static str;
    /// Its items (of every space).
    fn items(inventory: &Inventory) -> &[Self];
    /// Whether the item passes the collection's own filters.
    fn passes(&self, _filters: &Filters) -> bool {
        true
    }
}

/// `InSpace` for a model type stored in `inventory.$field`; `$passes` (optional) is the
/// collection's own filter.
macro_rules! in_space {
    ($t:ty, $field:ident, $collection:ident, $item_type:literal, $path:literal $(, $passes:path)?) => {
        impl InSpace for $t {
            const COLLECTION: Collection = Collection::$collection;
            const ITEM_TYPE: &'static str = $item_type;
            const PATH: &'static str = $path;
            fn items(inventory: &Inventory) -> &[Self] {
                &inventory.$field
            }
            $(fn passes(&self, filters: &Filters) -> bool {
                $passes(self, filters)
            })?
        }
    };
}
in_space!(
    Environment,
    environments,
    Environments,
    "Environment",
    "environments"
);
in_space!(
    ProjectGroup,
    project_groups,
    ProjectGroups,
    "ProjectGroup",
    "projectgroups"
);
in_space!(Project, projects, Projects, "Project", "projects");
in_space!(Tenant, tenants, Tenants, "Tenant", "tenants", tenant_filter);
in_space!(
    Runbook,
    runbooks,
    Runbooks,
    "Runbook",
    "runbooks",
    runbook_filter
);
in_space!(
    DeploymentTarget,
    deployment_targets,
    DeploymentTargets,
    "DeploymentTarget",
    "machines",
    target_filter
);

/// The unfiltered `/all` body of a space's collection, from the cache or built into it.
fn unfiltered_body<T: InSpace>(
    cache: &mut AllCache,
    inventory: &Inventory,
    space_id: &str,
) -> Bytes {
    cache.get_or_build(space_id, T::COLLECTION, || {
        serialize_array(
            T::items(inventory)
                .iter()
                .filter(|i| i.space_id() == space_id),
        )
    })
}

/// A page (`skip`/`take`) of `items` that pass the common filters and `keep`.
fn filtered_page<T: Listed>(
    q: &QueryParams,
    item_type: &str,
    base_path: &str,
    items: &[T],
    keep: impl Fn(&T, &Filters) -> bool,
) -> Result<Response, OctopusError> {
    let (skip, take) = q.skip_take()?;
    let f = Filters::new(q);
    let items: Vec<&T> = items
        .iter()
        .filter(|i| passes_filters(*i, &f) && keep(i, &f))
        .collect();
    Ok(page(item_type, base_path, &items, skip, take, |i| {
        i.resource()
    }))
}

/// The filtered `/all` body: the `items` that pass the common filters and `keep`.
fn filtered_all<T: Listed>(q: &QueryParams, items: &[T], keep: impl Fn(&T) -> bool) -> Response {
    let f = Filters::new(q);
    json_bytes(serialize_array(
        items.iter().filter(|i| passes_filters(*i, &f) && keep(i)),
    ))
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
    filtered_all(&q, spaces, |_| true)
}

/// `GET /api/spaces?skip&take&partialName&ids`.
pub async fn spaces_page(
    State(app): State<AppState>,
    q: QueryParams,
) -> Result<Response, OctopusError> {
    let state = app.read();
    filtered_page(
        &q,
        "Space",
        "/api/spaces",
        &state.inventory.spaces,
        |_, _| true,
    )
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

/// `GET /api/{space}/{collection}/all`: a plain array, cached when unfiltered.
pub async fn all<T: InSpace>(
    State(app): State<AppState>,
    Path(space): Path<String>,
    q: QueryParams,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let state = app.read();
    if q.is_unfiltered() {
        let mut cache = app.cache.lock().unwrap_or_else(|e| e.into_inner());
        return Ok(json_bytes(unfiltered_body::<T>(
            &mut cache,
            &state.inventory,
            &space_id,
        )));
    }
    let f = Filters::new(&q);
    Ok(filtered_all(&q, T::items(&state.inventory), |i| {
        i.space_id() == space_id && i.passes(&f)
    }))
}

/// `GET /api/{space}/{collection}?skip&take`.
pub async fn paged<T: InSpace>(
    State(app): State<AppState>,
    Path(space): Path<String>,
    q: QueryParams,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let base = format!("/api/{}/{}", space_id, T::PATH);
    let state = app.read();
    filtered_page(
        &q,
        T::ITEM_TYPE,
        &base,
        T::items(&state.inventory),
        |i, f| i.space_id() == space_id && i.passes(f),
    )
}

/// `GET /api/{space}/{collection}/{id}`.
pub async fn get_one<T: InSpace>(
    State(app): State<AppState>,
    Path((space, id)): Path<(String, String)>,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let state = app.read();
    T::items(&state.inventory)
        .iter()
        .find(|i| i.space_id() == space_id && i.id() == id)
        .map(|i| axum::Json(i.resource()).into_response())
        .ok_or_else(OctopusError::not_found)
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
        unfiltered_body::<Environment>(&mut cache, inv, id);
        unfiltered_body::<ProjectGroup>(&mut cache, inv, id);
        unfiltered_body::<Project>(&mut cache, inv, id);
        unfiltered_body::<Tenant>(&mut cache, inv, id);
        unfiltered_body::<Runbook>(&mut cache, inv, id);
        unfiltered_body::<DeploymentTarget>(&mut cache, inv, id);
    }
}
