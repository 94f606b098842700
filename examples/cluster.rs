//! One instance of a cluster: several of these, on several machines behind
//! one name, share a Redis server for their ACME account, certificates,
//! challenge answers and locks (paf-le's `redis` feature).
//!
//! ```text
//! cargo run -p paf-examples --features redis --example cluster -- [options] NAMES...
//!   NAMES                the names to serve, one certificate each
//!   --redis URL          the shared Redis (default: redis://127.0.0.1:6379/)
//!   --prefix PREFIX      the keys' prefix in Redis (default: paf-le:)
//!   --key-file FILE      32 bytes sealing every stored value (the same on
//!                        every instance); without it values are stored in clear
//!   --directory staging|production|URL   the ACME directory (default: staging)
//!   --ca FILE            trust this CA (PEM) for the directory's HTTPS (pebble)
//!   --email ADDRESS      the account's contact address
//!   --listen ADDR        the HTTPS listener (default: 0.0.0.0:443)
//!   --http-listen ADDR   the HTTP-01 answers (default: 0.0.0.0:80)
//! ```
//!
//! Whichever instance the CA reaches answers its challenges (from Redis),
//! one instance orders each certificate (the others wait for its lock and
//! load it), and a certificate renewed by one is served by all at once
//! (Redis pub/sub; every five minutes a look at the store as a fallback).
//! While Redis is away, every instance keeps serving what it holds. Ctrl-C
//! stops it.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc};

use http::{Request, Response};
use paf_core::Body;
use paf_le::{
    CertManager, ChallengeType, Config, Directory, EncryptedStorage, RedisStorage, Storage,
};

struct Args {
    names: Vec<String>,
    redis: String,
    prefix: String,
    key_file: Option<PathBuf>,
    directory: Directory,
    ca: Option<PathBuf>,
    email: Option<String>,
    listen: SocketAddr,
    http_listen: SocketAddr,
}

const USAGE: &str = "usage: cluster [--redis URL] [--prefix PREFIX] [--key-file FILE] \
     [--directory staging|production|URL] [--ca FILE] [--email ADDRESS] [--listen ADDR] \
     [--http-listen ADDR] NAMES...";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        names: Vec::new(),
        redis: "redis://127.0.0.1:6379/".into(),
        prefix: RedisStorage::DEFAULT_PREFIX.into(),
        key_file: None,
        directory: Directory::LetsEncryptStaging,
        ca: None,
        email: None,
        listen: ([0, 0, 0, 0], 443).into(),
        http_listen: ([0, 0, 0, 0], 80).into(),
    };
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or(format!("{arg} needs a value"));
        let address = |text: String| text.parse().map_err(|e| format!("{text}: {e}"));
        match arg.as_str() {
            "--redis" => args.redis = value()?,
            "--prefix" => args.prefix = value()?,
            "--key-file" => args.key_file = Some(value()?.into()),
            "--directory" => {
                args.directory = match value()?.as_str() {
                    "staging" => Directory::LetsEncryptStaging,
                    "production" => Directory::LetsEncrypt,
                    url => Directory::Url(url.parse().map_err(|e| format!("{url}: {e}"))?),
                }
            }
            "--ca" => args.ca = Some(value()?.into()),
            "--email" => args.email = Some(value()?),
            "--listen" => args.listen = address(value()?)?,
            "--http-listen" => args.http_listen = address(value()?)?,
            "-h" | "--help" => return Err(USAGE.into()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            name => args.names.push(name.to_string()),
        }
    }
    if args.names.is_empty() {
        return Err(format!("no name to serve\n{USAGE}"));
    }
    Ok(args)
}

async fn site(_req: Request<Body>) -> Response<Body> {
    Response::new(Body::from("hello from one instance of the cluster\n"))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let redis = RedisStorage::connect(args.redis.as_str())
        .await?
        .with_prefix(args.prefix.as_str());
    // Sealed values when a key is given: Redis then holds no private key
    // in clear. Only keys go over pub/sub either way.
    let storage: Arc<dyn Storage> = match &args.key_file {
        Some(path) => {
            let key: [u8; 32] = std::fs::read(path)?
                .try_into()
                .map_err(|_| format!("{}: the key must be 32 bytes", path.display()))?;
            Arc::new(EncryptedStorage::new(redis.clone(), &key))
        }
        None => Arc::new(redis.clone()),
    };
    let mut settings = Config::builder()
        .directory(args.directory)
        .storage(storage)
        .challenge_types([ChallengeType::TlsAlpn01, ChallengeType::Http01]);
    if let Some(email) = &args.email {
        settings = settings.contact_email(email);
    }
    if let Some(ca) = &args.ca {
        settings = settings.extra_ca_pem(std::fs::read_to_string(ca)?);
    }
    let manager = CertManager::builder(settings)
        .redis_notifications(&redis)
        .on_event(|event| println!("{event:?}"))
        .build()?;

    let https = paf_hyper::Server::builder()
        .tls(manager.server_config()?)
        .build(site)
        .bind_tcp(args.listen)
        .await?;
    let http = paf_hyper::Server::new(manager.http_handler(site))
        .bind_tcp(args.http_listen)
        .await?;
    println!(
        "serving {:?} on https://{} (HTTP-01 on {})",
        args.names, args.listen, args.http_listen
    );
    for name in &args.names {
        manager.add([name])?;
    }

    tokio::signal::ctrl_c().await?;
    manager.stop().await;
    https.stop(std::time::Duration::from_secs(5)).await;
    http.stop(std::time::Duration::from_secs(5)).await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    paf_examples::exit(run(args).await)
}
