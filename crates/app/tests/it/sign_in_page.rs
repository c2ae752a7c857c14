//! The stand-in browser of the Sandbox's Azure sign-in: the app writes the authorize address
//! to a file (Sandbox mode only) instead of opening a browser; these helpers read it, sign in
//! on the Sandbox's authorize page (trusting the CA it serves) and follow the redirect to the
//! app's loopback listener, as a person in a browser would.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use octo_oidc_app::cloud_connect::{AzureConnection, AzureSignIn};
use octo_oidc_app::sign_in_address_file::{SIGN_IN_URL_FILE, SIGN_IN_URL_VAR};
use octo_oidc_app::{SandboxSummary, Session};

/// A fresh file path in the system's temp folder (nothing is created).
pub fn temp_path(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!("octo-oidc-{name}-{}-{nanos}", std::process::id()))
}

/// A session whose environment names a fresh sign-in address file, and `more`.
pub fn session_with_address_file(
    name: &str,
    more: &[(&'static str, String)],
) -> (PathBuf, Arc<Session>) {
    let file = temp_path(name);
    let mut vars = vec![(SIGN_IN_URL_FILE, file.display().to_string())];
    vars.extend_from_slice(more);
    let session = crate::support::session_with_env(&crate::support::test_service(), &vars);
    (file, Arc::new(session))
}

/// What a browser sends back from the sign-in page: its form's action and fields.
fn sign_in_form(page: &str) -> (String, Vec<(String, String)>) {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    let form = page.split("<form").nth(1).expect("a sign-in form");
    let action = attribute(form, "action").expect("the form's action");
    let fields = form
        .split("<input")
        .skip(1)
        .filter(|tag| tag.contains("type=\"hidden\""))
        .map(|tag| {
            (
                attribute(tag, "name").unwrap(),
                attribute(tag, "value").unwrap(),
            )
        })
        .collect();
    (action, fields)
}

/// The authorize address the session wrote to `file` (waited for, up to 5 s).
pub async fn read_address(file: &Path) -> String {
    let mut line = String::new();
    for _ in 0..200 {
        line = std::fs::read_to_string(file).unwrap_or_default();
        if line.ends_with('\n') {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    line.trim_end()
        .strip_prefix(&format!("{SIGN_IN_URL_VAR}="))
        .unwrap_or_else(|| panic!("one AZURE_SIGN_IN_URL line: {line:?}"))
        .to_string()
}

/// A browser that trusts only the Sandbox's CA and does not follow redirects.
pub async fn sandbox_browser(started: &SandboxSummary) -> reqwest::Client {
    let ca = reqwest::get(format!("{}/_sandbox/ca.pem", started.octopus_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Opens the authorize page at `address` and submits its form as `user`; returns where the
/// page redirects (the app's loopback listener, with the code and state).
pub async fn submit_sign_in(
    browser: &reqwest::Client,
    started: &SandboxSummary,
    address: &str,
    user: &str,
) -> String {
    let authority = started
        .azure_authority
        .clone()
        .expect("the Sandbox's Entra");
    let page = browser.get(address).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let (action, mut fields) = sign_in_form(&page.text().await.unwrap());
    fields.push(("username".into(), user.into()));
    fields.push((
        "password".into(),
        octo_oidc_sandbox::entra::DEFAULT_PASSWORD.into(),
    ));
    let submitted = browser
        .post(format!("{authority}{action}"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 302);
    submitted.headers()["location"]
        .to_str()
        .unwrap()
        .to_string()
}

/// Follows the authorize page's redirect to the app's loopback listener, which must take it.
pub async fn land(browser: &reqwest::Client, location: &str) {
    let landed = browser
        .get(location.replace("localhost", "127.0.0.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(landed.status(), 200);
}

/// Starts the session's browser sign-in to the Sandbox's Azure (the address goes to the
/// session's address file; no browser is opened); it ends once the redirect lands.
pub fn start_browser_sign_in(
    session: &Arc<Session>,
) -> tokio::task::JoinHandle<Result<AzureConnection, octo_oidc_core::Problem>> {
    let session = session.clone();
    tokio::spawn(async move {
        session
            .sign_in_azure(AzureSignIn::Browser, |_: &str| {
                panic!("the address file replaces the browser in the Sandbox")
            })
            .await
    })
}

/// Signs the session in to the Sandbox's Azure with the browser as `user` (a Sandbox demo
/// user, its demo password), start to finish.
pub async fn sign_in_as(
    session: &Arc<Session>,
    file: &Path,
    started: &SandboxSummary,
    user: &str,
) -> AzureConnection {
    let _ = std::fs::remove_file(file);
    let signing_in = start_browser_sign_in(session);
    let address = read_address(file).await;
    let browser = sandbox_browser(started).await;
    let location = submit_sign_in(&browser, started, &address, user).await;
    land(&browser, &location).await;
    signing_in.await.unwrap().expect("signed in")
}
