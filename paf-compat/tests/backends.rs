//! The backend selection: each async backend passes the same client test
//! against the compat server, and a backend whose feature is off cannot be named
//! in code, and is a typed error when named at run time.
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
fn reqwest_named_at_run_time_without_its_feature_is_a_typed_error() {
    // `Backend::Reqwest` does not exist in this build: naming it in code
    // would not compile. A name read at run time is a typed error.
    let err = "reqwest".parse::<Backend>().unwrap_err();
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
fn hyper_named_at_run_time_without_its_feature_is_a_typed_error() {
    let err = "Hyper".parse::<Backend>().unwrap_err();
    assert!(
        matches!(err, paf_compat::Error::BackendDisabled { backend: "hyper" }),
        "{err:?}"
    );
}

#[test]
fn every_compiled_backend_is_built_and_parsed_by_name() {
    assert_eq!(
        Backend::ALL.len(),
        usize::from(cfg!(feature = "hyper")) + usize::from(cfg!(feature = "reqwest"))
    );
    for &backend in Backend::ALL {
        let client = Client::with_backend(backend).unwrap();
        assert_eq!(client.backend(), backend.name());
        assert_eq!(backend.name().parse::<Backend>().unwrap(), backend);
        assert_eq!(
            backend.name().to_uppercase().parse::<Backend>().unwrap(),
            backend
        );
    }
    let err = "curl".parse::<Backend>().unwrap_err();
    assert!(!err.is_backend_disabled(), "{err:?}");
    assert!(err.to_string().contains("unknown backend"), "{err}");
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
    assert_eq!(
        Backend::ALL.len(),
        if cfg!(feature = "reqwest") { 2 } else { 1 }
    );
    for &backend in Backend::ALL {
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
