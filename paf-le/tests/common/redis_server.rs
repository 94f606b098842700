//! The `RedisStorage` on paf-testkit's `redis-server`: it needs paf-le, so
//! it is not in paf-testkit.

use paf_le::RedisStorage;
use paf_testkit::RedisServer;

/// A new connection to `server`, keyed under `prefix`.
pub async fn storage_on(server: &RedisServer, prefix: &str) -> RedisStorage {
    RedisStorage::connect(server.url())
        .await
        .unwrap_or_else(|e| panic!("connect to redis at {}: {e}", server.url()))
        .with_prefix(prefix)
}
