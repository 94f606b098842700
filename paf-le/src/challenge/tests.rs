use std::sync::Arc;

use super::*;
use crate::storage::MemoryStorage;

#[tokio::test]
async fn an_answer_published_by_one_instance_is_found_by_another_through_the_storage() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let ordering = Challenges::new().with_storage(storage.clone());
    let other = Challenges::new().with_storage(storage.clone());

    let mut scope = ordering.scope(None);
    scope.publish_http("tok-1", "tok-1.thumb").await.unwrap();
    assert_eq!(
        ordering.key_authorization("tok-1").as_deref(),
        Some("tok-1.thumb")
    );
    assert_eq!(
        other.key_authorization("tok-1"),
        None,
        "not in the other process"
    );
    assert_eq!(other.lookup("tok-1").await.as_deref(), Some("tok-1.thumb"));

    scope.withdraw().await;
    assert_eq!(ordering.key_authorization("tok-1"), None);
    assert_eq!(
        other.lookup("tok-1").await,
        None,
        "withdrawn from the storage too"
    );
    assert!(storage.list("challenges/").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_alpn_answer_is_read_from_the_storage_only_for_managed_names() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let ordering = Challenges::new().with_storage(storage.clone());
    let other = Challenges::new().with_storage(storage.clone());
    let mut scope = ordering.scope(None);
    scope
        .publish_tls_alpn("alpn.example.org", "tok.thumb")
        .await
        .unwrap();
    assert!(ordering
        .tls_alpn_answer("alpn.example.org", false)
        .is_some());

    assert!(other.tls_alpn_answer("alpn.example.org", false).is_none());
    let first = other.tls_alpn_answer("alpn.example.org", true).unwrap();
    let again = other.tls_alpn_answer("alpn.example.org", true).unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "made once per key authorization"
    );
    assert!(other.tls_alpn_answer("other.example.org", true).is_none());

    scope.withdraw().await;
    assert!(ordering
        .tls_alpn_answer("alpn.example.org", false)
        .is_none());
    assert!(other.tls_alpn_answer("alpn.example.org", true).is_none());
}

#[tokio::test]
async fn a_dropped_scope_withdraws_its_answers_in_the_background() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let challenges = Challenges::new().with_storage(storage.clone());
    challenges.insert("kept", "kept.x");
    {
        let mut scope = challenges.scope(None);
        scope.publish_http("a", "a.x").await.unwrap();
        scope.publish_http("b", "b.x").await.unwrap();
        assert_eq!(challenges.len(), 3);
    }
    assert_eq!(challenges.len(), 1);
    assert_eq!(
        challenges.key_authorization("kept").as_deref(),
        Some("kept.x")
    );
    for _ in 0..100 {
        if storage.list("challenges/").await.unwrap().is_empty() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the storage still holds answers");
}

#[test]
fn challenge_types_read_and_print_as_acme_names() {
    for kind in [
        ChallengeType::Http01,
        ChallengeType::TlsAlpn01,
        ChallengeType::Dns01,
    ] {
        assert_eq!(kind.as_str().parse::<ChallengeType>().unwrap(), kind);
        assert_eq!(ChallengeType::from_acme(&kind.acme()), Some(kind));
    }
    assert!("tls-sni-01"
        .parse::<ChallengeType>()
        .unwrap_err()
        .is_config());
}
