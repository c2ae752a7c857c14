//! Query-string parameters and Octopus's paged collection shape.
//!
//! Octopus (ASP.NET) matches query parameter names case-insensitively, accepts list parameters
//! both comma-separated and repeated, and pages with `skip`/`take` (default 30) into
//! `{ItemType, TotalResults, ItemsPerPage, NumberOfPages, LastPageNumber, Items, Links}` with
//! `Page.Next` present only while more items follow.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::errors::OctopusError;

/// The default page size of Octopus list endpoints.
pub const DEFAULT_TAKE: usize = 30;

/// Query parameters with lower-cased names, in order.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(QueryParams(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
                .collect(),
        ))
    }
}

impl QueryParams {
    /// The first value of a parameter (name matched case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a list parameter, repeated or comma-separated, blanks dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        let name = name.to_ascii_lowercase();
        self.0
            .iter()
            .filter(|(k, _)| *k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// A non-negative integer parameter; 400 if it is not one.
    pub fn number(&self, name: &str) -> Result<Option<usize>, OctopusError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(raw) => raw
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| {
                    OctopusError::bad_request(format!(
                        "The value '{raw}' is not valid for the parameter '{name}'."
                    ))
                }),
        }
    }

    /// A boolean parameter (`true`/`false`, any case); 400 otherwise.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, OctopusError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(raw) => match raw.to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(OctopusError::bad_request(format!(
                    "The value '{raw}' is not valid for the parameter '{name}'."
                ))),
            },
        }
    }

    /// Whether no filtering parameter (anything but the API key) was given.
    pub fn is_unfiltered(&self) -> bool {
        self.0.iter().all(|(k, _)| k == "apikey")
    }

    /// `skip` and `take` with Octopus's defaults.
    pub fn skip_take(&self) -> Result<(usize, usize), OctopusError> {
        Ok((
            self.number("skip")?.unwrap_or(0),
            self.number("take")?.unwrap_or(DEFAULT_TAKE),
        ))
    }
}

/// Whether `name` contains `partial` case-insensitively (Octopus's `partialName`).
pub fn matches_partial_name(name: &str, partial: Option<&str>) -> bool {
    match partial {
        None | Some("") => true,
        Some(p) => name.to_lowercase().contains(&p.to_lowercase()),
    }
}

/// One page of a collection as the JSON response of a list endpoint. `render` is called only
/// for the items on the page.
pub fn page<T>(
    item_type: &str,
    base_path: &str,
    items: &[T],
    skip: usize,
    take: usize,
    render: impl Fn(&T) -> Value,
) -> Response {
    let total = items.len();
    let start = skip.min(total);
    let end = start.saturating_add(take).min(total);
    let page_items: Vec<Value> = items[start..end].iter().map(render).collect();
    let pages = if take == 0 { 0 } else { total.div_ceil(take) };
    let mut links = Map::new();
    let link = |skip: usize| format!("{base_path}?skip={skip}&take={take}");
    links.insert("Self".into(), json!(link(skip)));
    links.insert(
        "Template".into(),
        json!(format!("{base_path}{{?skip,take,ids,partialName}}")),
    );
    links.insert("Page.All".into(), json!(format!("{base_path}/all")));
    links.insert("Page.Current".into(), json!(link(skip)));
    if take > 0 {
        links.insert(
            "Page.Last".into(),
            json!(link(pages.saturating_sub(1) * take)),
        );
        if skip > 0 {
            links.insert(
                "Page.Previous".into(),
                json!(link(skip.saturating_sub(take))),
            );
        }
        if end < total {
            links.insert("Page.Next".into(), json!(link(end)));
        }
    }
    axum::Json(json!({
        "ItemType": item_type,
        "TotalResults": total,
        "ItemsPerPage": take,
        "NumberOfPages": pages,
        "LastPageNumber": pages.saturating_sub(1),
        "Items": page_items,
        "Links": links,
    }))
    .into_response()
}
