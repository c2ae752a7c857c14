//! The AWS SDK's HTTP client: the process's reqwest client from
//! [`octo_oidc_http::build_client`], so IAM, STS and the SDK's credential providers share the
//! connection pools, trust roots (read once) and HTTP/2 of every other client instead of the
//! SDK's own hyper client, which reads the platform's roots again for each connector it makes.
//!
//! Each request runs [`octo_oidc_http::in_own_task`]; its answer is read up to
//! [`octo_oidc_http::DEFAULT_BODY_CAP`]. No redirects are followed (the SDK's client follows
//! none either); the connect timeout is the SDK's setting for the call, the whole request is
//! bounded by the attempt timeout the connection was made with.
//!
//! Deliberately absent: streaming request bodies (IAM and STS send none).

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use octo_oidc_http::{BodyError, ClientSettings, DEFAULT_BODY_CAP, build_client, read_body};

/// The connect timeout when the SDK names none.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The SDK's [`HttpClient`] over the process's reqwest clients.
#[derive(Debug, Clone)]
pub(crate) struct SharedReqwest {
    /// The longest a request may take, connect to last byte.
    request_timeout: Duration,
}

impl SharedReqwest {
    /// Requests bounded by `request_timeout`.
    pub(crate) fn new(request_timeout: Duration) -> SharedReqwest {
        SharedReqwest { request_timeout }
    }
}

impl HttpClient for SharedReqwest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let client = build_client(&ClientSettings {
            request_timeout: self.request_timeout,
            connect_timeout: settings
                .connect_timeout()
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            ..ClientSettings::default()
        });
        SharedHttpConnector::new(Connector { client })
    }
}

/// One connector: the client for its settings, or why there is none (reported per call).
#[derive(Debug)]
struct Connector {
    client: Result<reqwest::Client, octo_oidc_http::ClientSetupError>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match &self.client {
            Ok(client) => client.clone(),
            Err(e) => {
                let error = ConnectorError::other(e.to_string().into(), None);
                return HttpConnectorFuture::ready(Err(error));
            }
        };
        HttpConnectorFuture::new(async move {
            let request = to_reqwest(&client, request)?;
            octo_oidc_http::in_own_task(send(request))
                .await
                .map_err(|cancelled| ConnectorError::other(cancelled.into(), None))?
        })
    }
}

fn to_reqwest(
    client: &reqwest::Client,
    request: HttpRequest,
) -> Result<reqwest::RequestBuilder, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::user(e.into()))?;
    let (parts, body) = request.into_parts();
    let Some(bytes) = body.bytes() else {
        return Err(ConnectorError::user(
            "a streaming request body cannot be sent".into(),
        ));
    };
    Ok(client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(bytes.to_vec()))
}

async fn send(request: reqwest::RequestBuilder) -> Result<HttpResponse, ConnectorError> {
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_body(response, DEFAULT_BODY_CAP)
        .await
        .map_err(|e| match e {
            BodyError::Transport(e) => transport_error(e),
            too_large @ BodyError::TooLarge { .. } => {
                ConnectorError::other(too_large.to_string().into(), None)
            }
        })?;
    let mut answer = http::Response::new(SdkBody::from(body));
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    HttpResponse::try_from(answer).map_err(|e| ConnectorError::other(e.into(), None))
}

/// A reqwest failure as the SDK classifies it: timeout, I/O (nothing or not all of the answer
/// came back), or other. The reqwest error stays the source, so name-resolution failures are
/// still recognised.
fn transport_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() || error.is_decode() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}
