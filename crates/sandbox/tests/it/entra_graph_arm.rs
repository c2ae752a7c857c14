//! The sandbox Microsoft Graph and ARM through real HTTP: each endpoint, paging, upserts,
//! validation and limits, authorization, replication windows and injected faults.

use crate::entra_support;

use std::time::Duration;

use entra_support::*;
use octo_oidc_sandbox::entra::{
    CUSTOM_ROLES, DEFAULT_SUBSCRIPTION_ID, DEFAULT_TENANT_ID, DEFAULT_USER, LIMITED_USER,
};
use octo_oidc_sandbox::faults::{FaultKind, FaultRule};
use reqwest::Method;
use serde_json::{Value, json};

const API: &str = "api-version=2022-04-01";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

/// A Graph error reply's status and `error.code` (checking the body carries a request id).
fn graph_failure(reply: &Reply) -> (u16, &str) {
    let (status, body, _) = reply;
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );
    (*status, body["error"]["code"].as_str().expect("error.code"))
}

/// An ARM error reply's status and `error.code`.
fn arm_failure(reply: &Reply) -> (u16, &str) {
    let (status, body, _) = reply;
    (*status, body["error"]["code"].as_str().expect("error.code"))
}

#[tokio::test]
async fn me_and_directory_roles() {
    let h = start().await;
    let token = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let (status, me, _) = h.graph_get(&token, "me").await;
    assert_eq!(status, 200);
    assert_eq!(me["userPrincipalName"], DEFAULT_USER);
    let (_, roles, _) = h
        .graph_get(
            &token,
            "me/transitiveMemberOf/microsoft.graph.directoryRole",
        )
        .await;
    assert_eq!(roles["value"][0]["displayName"], "Global Administrator");
    assert_eq!(
        roles["value"][0]["roleTemplateId"],
        "62e90394-69f5-4237-9190-012177145e10"
    );
    let limited = h.user_token(LIMITED_USER, GRAPH_DEFAULT).await;
    let (_, roles, _) = h.graph_get(&limited, "me/memberOf").await;
    assert_eq!(roles["value"], json!([]));
    h.sandbox
        .set_directory_roles(LIMITED_USER, &["Application Developer"])
        .expect("roles");
    let (_, roles, _) = h.graph_get(&limited, "me/memberOf").await;
    assert_eq!(roles["value"][0]["displayName"], "Application Developer");
}

#[tokio::test]
async fn graph_requires_a_graph_token() {
    let h = start().await;
    let reply = h.graph_get("", "me").await;
    assert_eq!(graph_failure(&reply), (401, "InvalidAuthenticationToken"));
    let arm_token = h.user_token(DEFAULT_USER, ARM_DEFAULT).await;
    let (status, body, _) = h.graph_get(&arm_token, "me").await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("m")
            .contains("audience")
    );
    let (status, _, _) = h.graph_get("a.b.c", "applications").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn applications_create_get_list_page_delete() {
    let h = start().await;
    let token = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let (status, app, _) = h
            .graph_post(
                &token,
                "applications",
                json!({"displayName": format!("app-{i}")}),
            )
            .await;
        assert_eq!(status, 201, "{app}");
        ids.push((
            app["id"].as_str().expect("id").to_owned(),
            app["appId"].as_str().expect("appId").to_owned(),
        ));
    }
    let (status, _, _) = h
        .graph_post(
            &token,
            "applications",
            json!({"bogus": 1, "displayName": "x"}),
        )
        .await;
    assert_eq!(status, 400);
    let reply = h.graph_post(&token, "applications", json!({})).await;
    assert_eq!(graph_failure(&reply), (400, "Request_BadRequest"));

    let (id, app_id) = &ids[2];
    let (status, by_id, _) = h.graph_get(&token, &format!("applications/{id}")).await;
    assert_eq!(
        (status, by_id["displayName"].as_str()),
        (200, Some("app-2"))
    );
    let (_, by_app_id, _) = h
        .graph_get(&token, &format!("applications(appId='{app_id}')"))
        .await;
    assert_eq!(by_app_id["id"], id.as_str());
    let (_, filtered, _) = h
        .graph_get(&token, "applications?$filter=displayName%20eq%20'app-3'")
        .await;
    assert_eq!(filtered["value"].as_array().expect("value").len(), 1);

    // Paging with $top and @odata.nextLink.
    let mut seen = 0;
    let mut next = Some(format!("{}/v1.0/applications?$top=2", h.graph));
    let mut pages = 0;
    while let Some(url) = next {
        let (status, page, _) = h.graph_get(&token, &url).await;
        assert_eq!(status, 200, "{page}");
        seen += page["value"].as_array().expect("value").len();
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!((seen, pages), (5, 3));
    let (status, _, _) = h.graph_get(&token, "applications?$top=1000").await;
    assert_eq!(status, 400);
    let reply = h
        .graph_get(&token, "applications?$filter=startswith(displayName,'a')")
        .await;
    assert_eq!(graph_failure(&reply), (400, "Request_UnsupportedQuery"));

    let (status, _, _) = h.graph_delete(&token, &format!("applications/{id}")).await;
    assert_eq!(status, 204);
    let reply = h.graph_get(&token, &format!("applications/{id}")).await;
    assert_eq!(graph_failure(&reply), (404, "Request_ResourceNotFound"));
}

#[tokio::test]
async fn application_upsert_by_unique_name() {
    let h = start().await;
    let token = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let path = "applications(uniqueName='octopus-oidc-1234')";
    let body = json!({"displayName": "Octopus OIDC"});
    let reply = h
        .graph_call(Method::PATCH, &token, path, Some(body.clone()), false)
        .await;
    assert_eq!(graph_failure(&reply), (404, "Request_ResourceNotFound"));
    let (status, created, _) = h
        .graph_call(Method::PATCH, &token, path, Some(body.clone()), true)
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["uniqueName"], "octopus-oidc-1234");
    let (status, empty, _) = h
        .graph_call(
            Method::PATCH,
            &token,
            path,
            Some(json!({"displayName": "Renamed"})),
            true,
        )
        .await;
    assert_eq!((status, empty), (204, Value::Null));
    let (_, fetched, _) = h.graph_get(&token, path).await;
    assert_eq!(
        (fetched["id"].clone(), fetched["displayName"].clone()),
        (created["id"].clone(), json!("Renamed"))
    );
    assert_eq!(h.sandbox.applications(DEFAULT_TENANT_ID).len(), 1);
}

#[tokio::test]
async fn users_who_may_not_register_apps_are_denied() {
    let h = start().await;
    h.sandbox
        .set_users_can_register_apps(DEFAULT_TENANT_ID, false)
        .expect("switch");
    let limited = h.user_token(LIMITED_USER, GRAPH_DEFAULT).await;
    let reply = h
        .graph_post(&limited, "applications", json!({"displayName": "mine"}))
        .await;
    assert_eq!(graph_failure(&reply), (403, "Authorization_RequestDenied"));
    // Someone else's app cannot be changed either.
    let admin = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let (id, _, _) = h.app_with_sp(&admin, "admins").await;
    let (status, _, _) = h
        .graph_post(&limited, &format!("applications/{id}/federatedIdentityCredentials"), json!({"name": "x-1", "issuer": "https://a", "subject": "s", "audiences": ["api://AzureADTokenExchange"]}))
        .await;
    assert_eq!(status, 403);
    h.sandbox
        .set_directory_roles(LIMITED_USER, &["Application Developer"])
        .expect("roles");
    let (status, _, _) = h
        .graph_post(&limited, "applications", json!({"displayName": "mine"}))
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn service_principals_create_upsert_and_conflict() {
    let h = start().await;
    let token = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let (_, app, _) = h
        .graph_post(&token, "applications", json!({"displayName": "sp-test"}))
        .await;
    let app_id = app["appId"].as_str().expect("appId");
    let path = format!("servicePrincipals(appId='{app_id}')");
    let (status, _, _) = h.graph_get(&token, &path).await;
    assert_eq!(status, 404);
    let (status, _, _) = h
        .graph_call(Method::PATCH, &token, &path, Some(json!({})), false)
        .await;
    assert_eq!(status, 404, "no Prefer header");
    let (status, sp, _) = h
        .graph_call(Method::PATCH, &token, &path, Some(json!({})), true)
        .await;
    assert_eq!(status, 201, "{sp}");
    assert_eq!(sp["appId"], app_id);
    let (status, _, _) = h
        .graph_call(
            Method::PATCH,
            &token,
            &path,
            Some(json!({"tags": ["x"]})),
            true,
        )
        .await;
    assert_eq!(status, 204);
    let reply = h
        .graph_post(&token, "servicePrincipals", json!({"appId": app_id}))
        .await;
    assert_eq!(
        graph_failure(&reply),
        (409, "Request_MultipleObjectsWithSameKeyValue")
    );
    let (_, listed, _) = h
        .graph_get(
            &token,
            &format!("servicePrincipals?$filter=appId eq '{app_id}'"),
        )
        .await;
    assert_eq!(listed["value"][0]["id"], sp["id"]);
    let (status, body, _) = h
        .graph_post(
            &token,
            "servicePrincipals",
            json!({"appId": "00000000-0000-0000-0000-00000000abcd"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["details"][0]["code"],
        "NoBackingApplicationObject"
    );
}

#[tokio::test]
async fn a_new_app_is_invisible_during_the_replication_window() {
    let h = start().await;
    let token = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    h.faults
        .set_consistency_window("graph", Duration::from_millis(400));
    let (_, app, _) = h
        .graph_post(&token, "applications", json!({"displayName": "fresh"}))
        .await;
    let id = app["id"].as_str().expect("id");
    let (status, body, _) = h
        .graph_post(&token, "servicePrincipals", json!({"appId": app["appId"]}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["details"][0]["code"],
        "NoBackingApplicationObject"
    );
    let fic = json!({"name": "fic-1", "issuer": "https://o.example", "subject": "s", "audiences": ["api://AzureADTokenExchange"]});
    let fic_path = format!("applications/{id}/federatedIdentityCredentials");
    let reply = h.graph_post(&token, &fic_path, fic.clone()).await;
    assert_eq!(graph_failure(&reply), (404, "Request_ResourceNotFound"));
    tokio::time::sleep(Duration::from_millis(450)).await;
    let (status, _, _) = h.graph_post(&token, &fic_path, fic).await;
    assert_eq!(status, 201);
    let (status, _, _) = h
        .graph_post(&token, "servicePrincipals", json!({"appId": app["appId"]}))
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn federated_credentials_validation_limits_and_upserts() {
    let h = start().await;
    let token = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let (id, app_id, _) = h.app_with_sp(&token, "fics").await;
    let base = format!("applications/{id}/federatedIdentityCredentials");
    let fic = |name: &str, subject: &str| json!({"name": name, "issuer": "https://octopus.example", "subject": subject, "audiences": ["api://AzureADTokenExchange"], "description": "d"});
    let (status, created, _) = h
        .graph_post(&token, &base, fic("prod-web", "space:default:project:web"))
        .await;
    assert_eq!(status, 201, "{created}");
    let reply = h.graph_post(&token, &base, fic("prod-web", "other")).await;
    assert_eq!(
        graph_failure(&reply),
        (409, "Request_MultipleObjectsWithSameKeyValue")
    );
    let reply = h
        .graph_post(&token, &base, fic("dup", "space:default:project:web"))
        .await;
    assert_eq!(
        graph_failure(&reply),
        (400, "Request_BadRequest"),
        "unique issuer+subject"
    );
    for bad_name in ["ab", "-lead", "has space", &"x".repeat(121)] {
        let (status, _, _) = h.graph_post(&token, &base, fic(bad_name, "s-name")).await;
        assert_eq!(status, 400, "{bad_name}");
    }
    let mut two_audiences = fic("two-aud", "s2");
    two_audiences["audiences"] = json!(["a", "b"]);
    let (status, _, _) = h.graph_post(&token, &base, two_audiences).await;
    assert_eq!(status, 400);
    let (status, _, _) = h
        .graph_post(&token, &base, fic("long", &"s".repeat(601)))
        .await;
    assert_eq!(status, 400);
    let (status, _, _) = h
        .graph_post(&token, &base, fic("exact600", &"s".repeat(600)))
        .await;
    assert_eq!(status, 201);

    // Get by id and by name; list with $filter (also through the appId alternate key).
    let fic_id = created["id"].as_str().expect("id");
    let (status, by_id, _) = h.graph_get(&token, &format!("{base}/{fic_id}")).await;
    assert_eq!((status, by_id["name"].as_str()), (200, Some("prod-web")));
    let (_, by_name, _) = h.graph_get(&token, &format!("{base}/prod-web")).await;
    assert_eq!(by_name["id"], fic_id);
    let (_, listed, _) = h
        .graph_get(&token, &format!("applications(appId='{app_id}')/federatedIdentityCredentials?$filter=subject eq 'space:default:project:web'"))
        .await;
    assert_eq!(listed["value"].as_array().expect("v").len(), 1);

    // Upsert by name.
    let upsert = format!("{base}(name='staging-web')");
    let body = json!({"issuer": "https://octopus.example", "subject": "space:default:project:web:environment:staging", "audiences": ["api://AzureADTokenExchange"]});
    let (status, _, _) = h
        .graph_call(Method::PATCH, &token, &upsert, Some(body.clone()), false)
        .await;
    assert_eq!(status, 404);
    let (status, _, _) = h
        .graph_call(Method::PATCH, &token, &upsert, Some(body.clone()), true)
        .await;
    assert_eq!(status, 201);
    let (status, _, _) = h
        .graph_call(
            Method::PATCH,
            &token,
            &upsert,
            Some(json!({"description": "changed"})),
            true,
        )
        .await;
    assert_eq!(status, 204);
    let (_, fetched, _) = h.graph_get(&token, &upsert).await;
    assert_eq!(fetched["description"], "changed");

    // The 20-credential limit.
    for i in 3..20 {
        let (status, b, _) = h
            .graph_post(&token, &base, fic(&format!("fic-{i}"), &format!("sub-{i}")))
            .await;
        assert_eq!(status, 201, "{i}: {b}");
    }
    let reply = h.graph_post(&token, &base, fic("fic-21", "sub-21")).await;
    assert_eq!(
        graph_failure(&reply),
        (403, "Directory_ResourceSizeExceeded")
    );

    // Delete by name, then it is gone.
    let (status, _, _) = h.graph_delete(&token, &format!("{base}/prod-web")).await;
    assert_eq!(status, 204);
    let (status, _, _) = h.graph_delete(&token, &format!("{base}/prod-web")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn graph_throttling_uses_the_graph_envelope_and_retry_after() {
    let h = start().await;
    let token = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    h.faults
        .add(FaultRule::throttle_once("graph", "POST /applications", 3));
    let reply = h
        .graph_post(&token, "applications", json!({"displayName": "t"}))
        .await;
    assert_eq!(graph_failure(&reply), (429, "TooManyRequests"));
    assert_eq!(reply.2["retry-after"], "3");
    let (status, _, _) = h
        .graph_post(&token, "applications", json!({"displayName": "t"}))
        .await;
    assert_eq!(status, 201);
    h.faults.add(
        FaultRule::for_service("graph")
            .fault(FaultKind::ServerError { status: 503 })
            .times(1),
    );
    let reply = h.graph_get(&token, "me").await;
    assert_eq!(graph_failure(&reply), (503, "serviceNotAvailable"));
}

// ---- ARM -----------------------------------------------------------------------------------

#[tokio::test]
async fn tenants_subscriptions_and_paged_resource_groups() {
    let h = start().await;
    let token = h.user_token(DEFAULT_USER, ARM_DEFAULT).await;
    let reply = h.arm_get(&token, "/subscriptions").await;
    assert_eq!(arm_failure(&reply), (400, "MissingApiVersionParameter"));
    let (_, tenants, _) = h.arm_get(&token, "/tenants?api-version=2022-12-01").await;
    assert_eq!(tenants["value"].as_array().expect("v").len(), 2);
    let (_, subs, _) = h
        .arm_get(&token, "/subscriptions?api-version=2022-12-01")
        .await;
    let subs = subs["value"].as_array().expect("v").clone();
    assert_eq!(subs.len(), 2);
    assert!(subs.iter().all(|s| s["tenantId"] == DEFAULT_TENANT_ID));

    h.sandbox.set_arm_page_size(2);
    let mut names = Vec::new();
    let mut next = Some(format!(
        "/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourcegroups?api-version=2021-04-01"
    ));
    while let Some(url) = next {
        let (status, page, _) = h.arm_get(&token, &url).await;
        assert_eq!(status, 200, "{page}");
        names.extend(
            page["value"]
                .as_array()
                .expect("v")
                .iter()
                .map(|rg| rg["name"].as_str().expect("name").to_owned()),
        );
        next = page["nextLink"].as_str().map(str::to_owned);
    }
    assert_eq!(names.len(), 4, "{names:?}");
    let reply = h
        .arm_get(&token, "/subscriptions/00000000-0000-0000-0000-000000000009/resourcegroups?api-version=2021-04-01")
        .await;
    assert_eq!(arm_failure(&reply), (404, "SubscriptionNotFound"));

    // A subscription of the other tenant needs a token from that tenant.
    let reply = h
        .arm_get(&token, "/subscriptions/9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a/resourcegroups?api-version=2021-04-01")
        .await;
    assert_eq!(
        arm_failure(&reply),
        (401, "InvalidAuthenticationTokenTenant")
    );

    // The limited user sees no subscriptions and may not read resource groups.
    let limited = h.user_token(LIMITED_USER, ARM_DEFAULT).await;
    let (_, subs, _) = h
        .arm_get(&limited, "/subscriptions?api-version=2022-12-01")
        .await;
    assert_eq!(subs["value"], json!([]));
    let reply = h
        .arm_get(
            &limited,
            &format!(
                "/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourcegroups?api-version=2021-04-01"
            ),
        )
        .await;
    assert_eq!(arm_failure(&reply), (403, "AuthorizationFailed"));

    // Graph tokens are not ARM tokens.
    let graph = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let reply = h
        .arm_get(&graph, "/subscriptions?api-version=2022-12-01")
        .await;
    assert_eq!(
        arm_failure(&reply),
        (401, "InvalidAuthenticationTokenAudience")
    );
}

#[tokio::test]
async fn role_definitions_by_name() {
    let h = start().await;
    let token = h.user_token(DEFAULT_USER, ARM_DEFAULT).await;
    let (status, defs, _) = h
        .arm_get(&token, &format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/rg-web-prod/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName%20eq%20'Contributor'&{API}"))
        .await;
    assert_eq!(status, 200, "{defs}");
    let value = defs["value"].as_array().expect("v");
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["name"], CONTRIBUTOR);
    assert_eq!(
        value[0]["id"],
        format!(
            "/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"
        )
    );
}

#[tokio::test]
async fn custom_roles_are_listed_filtered_by_type_and_name_and_assignable() {
    let h = start().await;
    let graph = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let arm = h.user_token(DEFAULT_USER, ARM_DEFAULT).await;
    let definitions = format!(
        "/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions"
    );
    let list = |filter: &str| format!("{definitions}?$filter={filter}&{API}");

    // `type eq 'CustomRole'`: only the custom roles, with their assignable scopes.
    let (status, custom, _) = h
        .arm_call(Method::GET, &arm, &list("type%20eq%20'CustomRole'"), None)
        .await;
    assert_eq!(status, 200, "{custom}");
    let names: Vec<&str> = custom["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["properties"]["roleName"].as_str().unwrap())
        .collect();
    let seeded: Vec<&str> = CUSTOM_ROLES.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(names, seeded);
    for definition in custom["value"].as_array().unwrap() {
        assert_eq!(definition["properties"]["type"], "CustomRole");
        assert_eq!(
            definition["properties"]["assignableScopes"][0],
            format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}")
        );
    }
    // `type eq 'BuiltInRole'` leaves them out; no filter lists both.
    let (_, built_in, _) = h
        .arm_call(Method::GET, &arm, &list("type%20eq%20'BuiltInRole'"), None)
        .await;
    assert!(
        built_in["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["properties"]["type"] == "BuiltInRole"),
        "{built_in}"
    );
    let (_, all, _) = h
        .arm_call(Method::GET, &arm, &format!("{definitions}?{API}"), None)
        .await;
    let all = all["value"].as_array().unwrap().len();
    assert_eq!(
        all,
        built_in["value"].as_array().unwrap().len() + seeded.len()
    );

    // By name, and by id.
    let (_, by_name, _) = h
        .arm_call(
            Method::GET,
            &arm,
            &list("roleName%20eq%20'Octopus%20Web%20App%20Deployer'"),
            None,
        )
        .await;
    let found = &by_name["value"][0];
    assert_eq!(found["properties"]["type"], "CustomRole", "{by_name}");
    let guid = found["name"].as_str().unwrap().to_string();
    let (status, one, _) = h
        .arm_call(
            Method::GET,
            &arm,
            &format!("{definitions}/{guid}?{API}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["properties"]["roleName"], "Octopus Web App Deployer");

    // Assignable like a built-in role.
    let (_, _, sp_id) = h.app_with_sp(&graph, "custom-deployer").await;
    let scope = format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/rg-web-prod");
    let path = format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e?{API}"
    );
    let assignment = json!({"properties": {
        "roleDefinitionId": format!("{definitions}/{guid}"),
        "principalId": sp_id,
        "principalType": "ServicePrincipal"
    }});
    let (status, created, _) = h.arm_put(&arm, &path, assignment).await;
    assert_eq!(status, 201, "{created}");
    assert!(
        created["properties"]["roleDefinitionId"]
            .as_str()
            .unwrap()
            .ends_with(&guid)
    );
}

#[tokio::test]
async fn role_assignments_put_conflict_propagation_list_delete() {
    let h = start().await;
    let graph = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let arm = h.user_token(DEFAULT_USER, ARM_DEFAULT).await;
    let (_, _, sp_id) = h.app_with_sp(&graph, "deployer").await;
    let scope = format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/rg-web-prod");
    let role = format!(
        "/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"
    );
    let name = "3f1c8b2a-1d2e-4f5a-9b8c-7d6e5f4a3b2c";
    let url = |name: &str| {
        format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?{API}")
    };
    let body = |principal_type: Option<&str>| {
        let mut properties = json!({"roleDefinitionId": role, "principalId": sp_id});
        if let Some(t) = principal_type {
            properties["principalType"] = json!(t);
        }
        json!({ "properties": properties })
    };

    // A brand-new SP is not yet visible to ARM unless principalType says what it is.
    h.sandbox
        .set_principal_not_found_window(Duration::from_secs(60));
    h.sandbox.touch_service_principal(&sp_id).expect("touch");
    let reply = h.arm_put(&arm, &url(name), body(None)).await;
    assert_eq!(arm_failure(&reply), (400, "PrincipalNotFound"));
    let reply = h.arm_put(&arm, &url(name), body(Some("User"))).await;
    assert_eq!(arm_failure(&reply), (400, "UnmatchedPrincipalType"));
    let (status, created, _) = h
        .arm_put(&arm, &url(name), body(Some("ServicePrincipal")))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["properties"]["principalType"], "ServicePrincipal");
    assert_eq!(created["properties"]["scope"], scope.as_str());

    // Same name again: fine. Same (scope, role, principal) under another name: 409.
    let (status, _, _) = h
        .arm_put(&arm, &url(name), body(Some("ServicePrincipal")))
        .await;
    assert_eq!(status, 201);
    let other = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
    let reply = h
        .arm_put(&arm, &url(other), body(Some("ServicePrincipal")))
        .await;
    assert_eq!(arm_failure(&reply), (409, "RoleAssignmentExists"));
    let reply = h
        .arm_put(&arm, &url("not-a-guid"), body(Some("ServicePrincipal")))
        .await;
    assert_eq!(arm_failure(&reply), (400, "InvalidRoleAssignmentId"));
    let mut reader = body(Some("ServicePrincipal"));
    reader["properties"]["roleDefinitionId"] = json!(role.replace(CONTRIBUTOR, READER));
    let reply = h.arm_put(&arm, &url(name), reader).await;
    assert_eq!(
        arm_failure(&reply),
        (409, "RoleAssignmentUpdateNotPermitted")
    );
    let mut unknown_role = body(Some("ServicePrincipal"));
    unknown_role["properties"]["roleDefinitionId"] =
        json!(role.replace(CONTRIBUTOR, "00000000-0000-0000-0000-000000000000"));
    let reply = h.arm_put(&arm, &url(other), unknown_role).await;
    assert_eq!(arm_failure(&reply), (400, "RoleDefinitionDoesNotExist"));

    // List by principal, from the subscription (assignments below are included).
    let (_, listed, _) = h
        .arm_get(&arm, &format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20'{sp_id}'&{API}"))
        .await;
    assert_eq!(listed["value"].as_array().expect("v").len(), 1);
    assert_eq!(listed["value"][0]["name"], name);

    // A user without Owner may not assign roles.
    let limited = h.user_token(LIMITED_USER, ARM_DEFAULT).await;
    let reply = h
        .arm_put(&limited, &url(other), body(Some("ServicePrincipal")))
        .await;
    assert_eq!(arm_failure(&reply), (403, "AuthorizationFailed"));

    let (status, deleted, _) = h.arm_call(Method::DELETE, &arm, &url(name), None).await;
    assert_eq!((status, deleted["name"].as_str()), (200, Some(name)));
    let (status, _, _) = h.arm_call(Method::DELETE, &arm, &url(name), None).await;
    assert_eq!(status, 204);
    let reply = h.arm_get(&arm, &url(name)).await;
    assert_eq!(arm_failure(&reply), (404, "RoleAssignmentNotFound"));
}

#[tokio::test]
async fn arm_throttling_uses_the_cloud_error_envelope() {
    let h = start().await;
    let token = h.user_token(DEFAULT_USER, ARM_DEFAULT).await;
    h.faults
        .add(FaultRule::throttle_once("arm", "GET subscriptions", 2));
    let reply = h
        .arm_get(&token, "/subscriptions?api-version=2022-12-01")
        .await;
    assert_eq!(arm_failure(&reply), (429, "TooManyRequests"));
    assert_eq!(reply.2["retry-after"], "2");
    let (status, _, _) = h
        .arm_get(&token, "/subscriptions?api-version=2022-12-01")
        .await;
    assert_eq!(status, 200);
}
