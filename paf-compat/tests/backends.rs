//! The backend selection: each async backend passes the same client test
//! against the compat server, and naming a backend whose feature is off is
//! a typed error.
#![cfg(any(feature = "hyper", feature = "reqwest"))]
#![allow(clippy::unwrap_used)]

#[cfg(feature = "hyper")]
mod common;

use paf_compat::{Backend, Client};

#[test]
fn the_default_backend_is_hyper_when_its_feature_is_on() {
    let expected = if cfg!(feature = "hyper") {
        "hyper"
    } else {
        "reqwest"
    };
    assert_eq!(Client::new().backend(), expected);
    assert_eq!(Backend::default().name(), expected);
}

#[cfg(not(feature = "reqwest"))]
#[test]
fn naming_reqwest_without_its_feature_is_a_typed_error() {
    assert!(!Backend::Reqwest.is_enabled());
    let err = Client::with_backend(Backend::Reqwest).unwrap_err();
    assert!(
        matches!(
            err,
            paf_compat::Error::BackendDisabled { backend: "reqwest" }
        ),
        "{err:?}"
    );
    assert!(err.is_backend_disabled());
    assert!(err.to_string().contains("\"reqwest\" feature"), "{err}");
}

#[cfg(not(feature = "hyper"))]
#[test]
fn naming_hyper_without_its_feature_is_a_typed_error() {
    assert!(!Backend::Hyper.is_enabled());
    let err = Client::with_backend(Backend::Hyper).unwrap_err();
    assert!(
        matches!(err, paf_compat::Error::BackendDisabled { backend: "hyper" }),
        "{err:?}"
    );
}

#[test]
fn an_enabled_backend_is_built_by_name() {
    for backend in [Backend::Hyper, Backend::Reqwest] {
        match Client::with_backend(backend) {
            Ok(client) => {
                assert!(backend.is_enabled());
                assert_eq!(client.backend(), backend.name());
            }
            Err(e) => {
                assert!(!backend.is_enabled());
                assert!(e.is_backend_disabled());
            }
        }
    }
}

/// The same exchanges on every enabled backend, with the same answers.
#[cfg(feature = "hyper")]
#[tokio::test]
async fn every_enabled_backend_passes_the_same_client_test() {
    use std::time::Duration;

    use common::{tcp_server, within, Site};
    use paf_compat::code::Status;

    let site = Site::new();
    let server = tcp_server(&site).await;
    let base = server.url().unwrap();
    let backends: Vec<Backend> = [Backend::Hyper, Backend::Reqwest]
        .into_iter()
        .filter(|b| b.is_enabled())
        .collect();
    assert_eq!(
        backends.len(),
        if cfg!(feature = "reqwest") { 2 } else { 1 }
    );
    for backend in backends {
        let client = Client::builder()
            .backend(backend)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        assert_eq!(client.backend(), backend.name());
        within(backend.name(), async {
            let (res, body) = client.get(format!("{base}/echo")).await.unwrap();
            assert_eq!(res.status(), Status::Ok, "{backend:?}");
            assert_eq!(res.headers().get("x-method"), Some("GET"), "{backend:?}");
            assert_eq!(body.to_string().await.unwrap(), "", "{backend:?}");

            let res = client.head(format!("{base}/echo")).await.unwrap();
            assert_eq!(res.headers().get("x-method"), Some("HEAD"), "{backend:?}");

            let (res, body) = client
                .put(format!("{base}/echo"))
                .body("abc")
                .chunked(true)
                .await
                .unwrap();
            assert_eq!(res.headers().get("x-te"), Some("chunked"), "{backend:?}");
            assert_eq!(body.to_string().await.unwrap(), "abc", "{backend:?}");

            let (res, body) = client
                .post_form(format!("{base}/form"), [("k", ["v1", "v2"])])
                .await
                .unwrap();
            assert_eq!(res.headers().get("x-is-form"), Some("true"), "{backend:?}");
            assert_eq!(body.to_string().await.unwrap(), "k=v1|v2;", "{backend:?}");

            let (res, _) = client
                .get(format!("{base}/respond_redirect"))
                .await
                .unwrap();
            assert_eq!(res.status(), Status::Found, "{backend:?} does not follow");
        })
        .await;
    }
    server.stop(Duration::from_secs(1)).await;
}
