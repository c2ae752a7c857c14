//! Inventory: spaces, and per space the environments, project groups, projects, tenants,
//! runbooks and deployment targets that scope selection needs, with their slugs.
//!
//! The six collections load concurrently from the `/all` endpoints (one plain JSON array
//! each). When a server answers 404 for `/all`, the collection falls back to paging
//! (`?skip=&take=`): the first page says `TotalResults`, the rest are fetched a few at a time.
//! Responses are deserialized straight into lean structs that keep only ids, names, slugs
//! and the links between them; everything else in Octopus's large resources is skipped by
//! the parser without being materialized, which keeps a 10,000-project space fast and small.
//!
//! Deliberately absent: caching, and anything scope selection does not use (lifecycles,
//! channels, tags).

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use octo_oidc_core::ports::{
    OctopusProject, OctopusResource, OctopusRunbook, OctopusTenant, SpaceInventory,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::client::RestOctopus;
use crate::error::OctopusError;

/// A space as listed by `/api/spaces/all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceSummary {
    /// `Spaces-N`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Slug (the `space:` subject part).
    pub slug: String,
    /// Whether it is the default space.
    pub is_default: bool,
}

/// A listed resource as the inventory reads it: id, name and slug (older servers have no slug
/// on some resources, project groups before 2025.3, which becomes an empty string) and the
/// links one kind has (a space's `IsDefault`, a project's group, a runbook's project, a
/// tenant's connections, an account's type; absent on the others). Every other member is
/// skipped unread.
#[derive(Debug, Deserialize)]
pub(crate) struct LeanResource {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Slug", default)]
    slug: Option<String>,
    #[serde(rename = "IsDefault", default)]
    is_default: bool,
    #[serde(rename = "ProjectGroupId", default)]
    project_group_id: Option<String>,
    #[serde(rename = "ProjectId", default)]
    project_id: Option<String>,
    #[serde(rename = "ProjectEnvironments", default)]
    project_environments: Option<BTreeMap<String, Vec<String>>>,
    #[serde(rename = "AccountType", default)]
    pub(crate) account_type: Option<String>,
}

impl From<LeanResource> for OctopusResource {
    fn from(r: LeanResource) -> Self {
        OctopusResource {
            id: r.id,
            name: r.name,
            slug: r.slug.unwrap_or_default(),
        }
    }
}

impl From<LeanResource> for SpaceSummary {
    fn from(s: LeanResource) -> Self {
        let is_default = s.is_default;
        let OctopusResource { id, name, slug } = s.into();
        SpaceSummary {
            id,
            name,
            slug,
            is_default,
        }
    }
}

impl From<LeanResource> for OctopusProject {
    fn from(mut p: LeanResource) -> Self {
        OctopusProject {
            project_group_id: p.project_group_id.take().unwrap_or_default(),
            resource: p.into(),
        }
    }
}

impl From<LeanResource> for OctopusRunbook {
    fn from(mut r: LeanResource) -> Self {
        OctopusRunbook {
            project_id: r.project_id.take().unwrap_or_default(),
            resource: r.into(),
        }
    }
}

impl From<LeanResource> for OctopusTenant {
    fn from(mut t: LeanResource) -> Self {
        OctopusTenant {
            project_environments: t.project_environments.take().unwrap_or_default(),
            resource: t.into(),
        }
    }
}

/// One page of a paged Octopus collection (only what paging needs).
#[derive(Debug, Deserialize)]
struct Page<T> {
    #[serde(rename = "Items")]
    items: Vec<T>,
    #[serde(rename = "TotalResults", default)]
    total_results: Option<u64>,
}

impl RestOctopus {
    /// Every collection item under `api/{prefix}{collection}`: `/all` first, paged on 404.
    pub(crate) async fn list_all<T: DeserializeOwned + Send>(
        &self,
        collection_path: &str,
    ) -> Result<Vec<T>, OctopusError> {
        match self
            .transport
            .get_json::<Vec<T>>(&format!("{collection_path}/all"), &[])
            .await
        {
            Err(error) if error.status() == Some(404) => {
                tracing::debug!(collection_path, "no /all endpoint; paging instead");
                self.list_paged(collection_path, &[]).await
            }
            other => other,
        }
    }

    /// Every item of a paged collection, pages after the first fetched concurrently.
    pub(crate) async fn list_paged<T: DeserializeOwned + Send>(
        &self,
        collection_path: &str,
        filters: &[(&str, String)],
    ) -> Result<Vec<T>, OctopusError> {
        let take = self.config.page_size.max(1);
        let page_query = |skip: u64| {
            let mut query: Vec<(&str, String)> = filters.to_vec();
            query.push(("skip", skip.to_string()));
            query.push(("take", take.to_string()));
            query
        };
        let first: Page<T> = self
            .transport
            .get_json(collection_path, &page_query(0))
            .await?;
        let first_len = first.items.len() as u64;
        let total = first.total_results.unwrap_or(first_len);
        let mut items = first.items;
        if first_len == 0 || first_len >= total {
            return Ok(items);
        }
        // The server may cap `take` below what we asked; step by what it actually returned.
        let step = first_len;
        // A server's TotalResults is not trusted to size our work: at most `max_pages` pages.
        let pages_needed = total.div_ceil(step);
        let max_pages = self.config.max_pages.max(1) as u64;
        if pages_needed > max_pages {
            return Err(OctopusError::UnexpectedResponse {
                operation: format!("GET /{collection_path}"),
                detail: format!(
                    "the server reports {total} items in pages of {step}, more than the {max_pages} pages this client reads"
                ),
            });
        }
        let skips: Vec<u64> = (1..).map(|i| i * step).take_while(|s| *s < total).collect();
        let mut pages: Vec<(u64, Vec<T>)> = futures::stream::iter(skips)
            .map(|skip| {
                let query = page_query(skip);
                async move {
                    let page: Page<T> = self.transport.get_json(collection_path, &query).await?;
                    Ok::<_, OctopusError>((skip, page.items))
                }
            })
            .buffer_unordered(self.config.page_concurrency.max(1))
            .try_collect()
            .await?;
        pages.sort_by_key(|(skip, _)| *skip);
        items.reserve(
            usize::try_from(total)
                .unwrap_or(0)
                .saturating_sub(items.len()),
        );
        for (_, page) in pages {
            items.extend(page);
        }
        Ok(items)
    }

    /// [`Self::list_all`] in the lean wire shape `L`, converted to what callers get.
    pub(crate) async fn list_into<L, T>(
        &self,
        collection_path: &str,
    ) -> Result<Vec<T>, OctopusError>
    where
        L: DeserializeOwned + Send + Into<T>,
    {
        let items: Vec<L> = self.list_all(collection_path).await?;
        Ok(items.into_iter().map(Into::into).collect())
    }

    /// All spaces the user can see.
    pub async fn spaces(&self) -> Result<Vec<SpaceSummary>, OctopusError> {
        self.list_into::<LeanResource, _>("api/spaces").await
    }

    /// One space by id.
    pub async fn space(&self, space_id: &str) -> Result<OctopusResource, OctopusError> {
        let space: LeanResource = self
            .transport
            .get_json(&format!("api/spaces/{space_id}"), &[])
            .await?;
        Ok(space.into())
    }

    /// Every item of a space's collection, e.g. `api/Spaces-1/environments`.
    pub(crate) async fn in_space<T>(&self, collection_path: String) -> Result<Vec<T>, OctopusError>
    where
        LeanResource: Into<T>,
    {
        self.list_into::<LeanResource, T>(&collection_path).await
    }

    /// Environments of a space.
    pub async fn environments(&self, space_id: &str) -> Result<Vec<OctopusResource>, OctopusError> {
        self.in_space(format!("api/{space_id}/environments")).await
    }

    /// Projects of a space.
    pub async fn projects(&self, space_id: &str) -> Result<Vec<OctopusProject>, OctopusError> {
        self.in_space(format!("api/{space_id}/projects")).await
    }

    /// Deployment targets of a space (for health-check subjects, `target:<slug>`), from
    /// `GET /api/spaces/{space}/machines/all` (paged `/machines` when `/all` is missing).
    pub async fn deployment_targets(
        &self,
        space_id: &str,
    ) -> Result<Vec<OctopusResource>, OctopusError> {
        self.in_space(format!("api/spaces/{space_id}/machines"))
            .await
    }

    /// Everything scope selection needs in one space (with its project groups, tenants and
    /// runbooks), loaded concurrently.
    pub async fn space_inventory(&self, space_id: &str) -> Result<SpaceInventory, OctopusError> {
        let (space, environments, project_groups, projects, tenants, runbooks, deployment_targets) =
            tokio::try_join!(
                self.space(space_id),
                self.environments(space_id),
                self.in_space(format!("api/{space_id}/projectgroups")),
                self.projects(space_id),
                self.in_space(format!("api/{space_id}/tenants")),
                self.in_space(format!("api/{space_id}/runbooks")),
                self.deployment_targets(space_id),
            )?;
        Ok(SpaceInventory {
            space: Some(space),
            environments,
            project_groups,
            projects,
            tenants,
            runbooks,
            deployment_targets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lean_structs_skip_everything_else_and_tolerate_missing_slugs() {
        let project: LeanResource = serde_json::from_value(serde_json::json!({
            "Id": "Projects-1", "Name": "Web", "Slug": "web", "ProjectGroupId": "ProjectGroups-1",
            "DeploymentProcessId": "x", "Links": {"Self": "/api"}, "Templates": [{"a": 1}]
        }))
        .expect("project parses");
        let project = OctopusProject::from(project);
        assert_eq!(project.resource.slug, "web");
        assert_eq!(project.project_group_id, "ProjectGroups-1");

        let group: LeanResource =
            serde_json::from_value(serde_json::json!({"Id": "ProjectGroups-1", "Name": "All"}))
                .expect("group parses");
        assert_eq!(OctopusResource::from(group).slug, "");

        let tenant: LeanResource = serde_json::from_value(serde_json::json!({
            "Id": "Tenants-1", "Name": "Acme", "Slug": "acme",
            "ProjectEnvironments": {"Projects-1": ["Environments-1", "Environments-2"]}
        }))
        .expect("tenant parses");
        let tenant = OctopusTenant::from(tenant);
        assert_eq!(tenant.project_environments["Projects-1"].len(), 2);
    }
}
