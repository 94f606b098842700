use std::{sync::Arc, time::Duration};

use super::*;

/// Both backends, each in its own place.
fn backends(dir: &std::path::Path) -> Vec<Arc<dyn Storage>> {
    vec![
        Arc::new(FileStorage::new(dir.join("store"))),
        Arc::new(MemoryStorage::new()),
    ]
}

#[tokio::test]
async fn values_round_trip_are_listed_by_prefix_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    for storage in backends(dir.path()) {
        assert_eq!(storage.get("accounts/a/account.json").await.unwrap(), None);
        assert!(storage.list("").await.unwrap().is_empty(), "{storage:?}");
        for key in [
            "certificates/ca/b.example/bundle.pem",
            "certificates/ca/a.example/bundle.pem",
            "accounts/ca/account.json",
        ] {
            storage.put(key, key.as_bytes().to_vec()).await.unwrap();
        }
        storage
            .put("accounts/ca/account.json", b"replaced".to_vec())
            .await
            .unwrap();
        assert_eq!(
            storage
                .get("accounts/ca/account.json")
                .await
                .unwrap()
                .as_deref(),
            Some(b"replaced".as_slice())
        );
        assert_eq!(
            storage.list("certificates/").await.unwrap(),
            [
                "certificates/ca/a.example/bundle.pem",
                "certificates/ca/b.example/bundle.pem"
            ],
            "{storage:?}"
        );
        assert_eq!(
            storage.list("certificates/ca/a").await.unwrap(),
            ["certificates/ca/a.example/bundle.pem"]
        );
        assert_eq!(storage.list("").await.unwrap().len(), 3);
        storage
            .delete("certificates/ca/a.example/bundle.pem")
            .await
            .unwrap();
        storage.delete("never/stored").await.unwrap();
        assert_eq!(storage.list("certificates").await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn keys_that_could_leave_the_store_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for storage in backends(dir.path()) {
        for key in [
            "",
            "../outside",
            "a/../../outside",
            "/etc/passwd",
            "a//b",
            "a/",
            ".locks/x",
            "a/.hidden",
            "a b",
            "a\\b",
            "ü",
        ] {
            let err = storage.put(key, b"x".to_vec()).await.unwrap_err();
            assert!(
                matches!(err, StorageError::InvalidKey { .. }),
                "{key:?}: {err}"
            );
            assert!(storage.get(key).await.is_err(), "{key:?}");
            assert!(storage.try_lock(key, Duration::from_secs(1)).await.is_err());
        }
    }
    assert!(!dir.path().join("outside").exists());
}

#[cfg(unix)]
#[tokio::test]
async fn files_are_private_and_no_temporary_file_is_left() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let storage = FileStorage::new(dir.path().join("store"));
    let key = "certificates/ca/a.example/bundle.pem";
    storage.put(key, b"secret".to_vec()).await.unwrap();
    storage.put(key, b"secret again".to_vec()).await.unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let file = storage.path(key).unwrap();
    assert_eq!(mode(&file), 0o600);
    let mut parent = file.parent();
    while let Some(dir) = parent.filter(|dir| dir.starts_with(storage.root())) {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
        parent = dir.parent();
    }
    let entries: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["bundle.pem"]);
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_planted_where_a_temporary_file_would_go_is_not_written_through() {
    // The old store wrote `.key.pem.tmp-<pid>`, a name anyone could guess
    // and prepare, with create + truncate: a planted symlink redirected
    // the private key. Temporary names are now random and created
    // exclusively; the planted names stay untouched.
    let dir = tempfile::tempdir().unwrap();
    let storage = FileStorage::new(dir.path().join("store"));
    let key = "certificates/ca/a.example/bundle.pem";
    storage.put(key, b"first".to_vec()).await.unwrap();
    let target = dir.path().join("stolen");
    std::fs::write(&target, b"").unwrap();
    let file = storage.path(key).unwrap();
    let pid = std::process::id();
    for guess in [
        format!(".bundle.pem.tmp-{pid}"),
        ".bundle.pem.tmp".to_string(),
        "bundle.pem.tmp".to_string(),
    ] {
        std::os::unix::fs::symlink(&target, file.with_file_name(guess)).unwrap();
    }
    storage.put(key, b"private key".to_vec()).await.unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"");
    assert_eq!(storage.get(key).await.unwrap().unwrap(), b"private key");
}

#[tokio::test]
async fn a_lock_is_exclusive_until_released() {
    let dir = tempfile::tempdir().unwrap();
    for storage in backends(dir.path()) {
        let lease = Duration::from_secs(60);
        let held = storage.try_lock("certificates/ca/a", lease).await.unwrap();
        let held = held.expect("a free lock is taken");
        assert_eq!(held.name(), "certificates/ca/a");
        assert!(storage
            .try_lock("certificates/ca/a", lease)
            .await
            .unwrap()
            .is_none());
        // Another name is another lock; a lock is not a value.
        assert!(storage
            .try_lock("certificates/ca/b", lease)
            .await
            .unwrap()
            .is_some());
        assert!(storage.list("").await.unwrap().is_empty());
        storage.unlock(&held).await.unwrap();
        let again = storage.try_lock("certificates/ca/a", lease).await.unwrap();
        assert!(again.is_some(), "{storage:?}");
        assert_ne!(again.unwrap().token(), held.token());
    }
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_its_holder_cannot_release_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    for storage in backends(dir.path()) {
        let short = storage
            .try_lock("accounts/ca", Duration::from_millis(100))
            .await
            .unwrap()
            .unwrap();
        assert!(storage
            .try_lock("accounts/ca", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none());
        tokio::time::sleep(Duration::from_millis(150)).await;
        let taken = storage
            .try_lock("accounts/ca", Duration::from_secs(60))
            .await
            .unwrap()
            .expect("an expired lease is taken over");
        // The first holder, late, releases: the new holder keeps it.
        storage.unlock(&short).await.unwrap();
        assert!(storage
            .try_lock("accounts/ca", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none());
        storage.unlock(&taken).await.unwrap();
        assert!(storage
            .try_lock("accounts/ca", Duration::from_secs(60))
            .await
            .unwrap()
            .is_some());
    }
}

/// Many takers at once, as processes sharing a directory would be (each
/// its own `FileStorage`): a free lock, then an expired one, goes to
/// exactly one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_takers_of_a_free_or_expired_lock_get_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    for round in 0..20 {
        let name = format!("certificates/ca/n{round}");
        // Even rounds: a free lock; odd rounds: an expired one.
        if round % 2 == 1 {
            let stale = FileStorage::new(&root)
                .try_lock(&name, Duration::ZERO)
                .await
                .unwrap();
            assert!(stale.is_some());
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(12));
        let takers: Vec<_> = (0..12)
            .map(|_| {
                let storage = FileStorage::new(&root);
                let name = name.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    storage.try_lock(&name, Duration::from_secs(60)).await
                })
            })
            .collect();
        let mut winners = 0;
        for taker in takers {
            if taker.await.unwrap().unwrap().is_some() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
    // Nothing but the lock files is left behind (no claims, no temporaries).
    let mut names = Vec::new();
    let mut stack = vec![root.join(".locks")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                names.push(entry.file_name().into_string().unwrap());
            }
        }
    }
    assert_eq!(names.len(), 20, "{names:?}");
    assert!(
        names.iter().all(|name| name.ends_with(".lock")),
        "{names:?}"
    );
}

#[tokio::test]
async fn a_guard_waits_for_the_holder_and_releases_when_dropped() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let first = LockGuard::acquire(storage.clone(), "certificates/x", Duration::from_secs(60))
        .await
        .unwrap();
    let waiter = tokio::spawn({
        let storage = storage.clone();
        async move {
            LockGuard::acquire(storage, "certificates/x", Duration::from_secs(60))
                .await
                .map(|guard| guard.lease().is_some())
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !waiter.is_finished(),
        "the second waits while the first holds"
    );
    drop(first);
    let taken = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("a dropped guard releases its lock")
        .unwrap()
        .unwrap();
    assert!(taken);
}

#[test]
fn key_syntax() {
    for good in ["a", "accounts/x-1.2_3+4@5/account.json"] {
        check_key(good).unwrap();
    }
    let long = "a".repeat(513);
    for bad in ["", "/", "a/", ".a", "a/..", "a/./b", "a b", long.as_str()] {
        assert!(check_key(bad).is_err(), "{bad:?}");
    }
}
