//! Gets a certificate over ACME HTTP-01 and writes it to a directory.
//!
//! ```text
//! cargo run -p paf-examples --example letsencrypt -- [options] HOSTNAME...
//!   --directory staging|production|URL   the ACME directory (default: staging)
//!   --ca FILE        trust this CA (PEM) for the directory's HTTPS (private CAs, pebble)
//!   --email ADDRESS  the account's contact address
//!   --storage DIR    where the account, cert.pem and key.pem go (default: ./letsencrypt)
//!   --listen ADDR    where the challenge server listens (default: 0.0.0.0:80)
//! ```
//!
//! The CA connects to port 80 of every name: run it on the machine the
//! names point to, with the right to bind port 80.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Instant};

use paf_le::{provision_with_challenge_server, Config, Directory};

struct Args {
    hostnames: Vec<String>,
    directory: Directory,
    ca: Option<PathBuf>,
    email: Option<String>,
    storage: PathBuf,
    listen: SocketAddr,
}

const USAGE: &str = "usage: letsencrypt [--directory staging|production|URL] [--ca FILE] \
                     [--email ADDRESS] [--storage DIR] [--listen ADDR] HOSTNAME...";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        hostnames: Vec::new(),
        directory: Directory::LetsEncryptStaging,
        ca: None,
        email: None,
        storage: PathBuf::from("letsencrypt"),
        listen: SocketAddr::from(([0, 0, 0, 0], 80)),
    };
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--directory" => {
                args.directory = match value()?.as_str() {
                    "staging" => Directory::LetsEncryptStaging,
                    "production" => Directory::LetsEncrypt,
                    url => Directory::Url(url.parse().map_err(|e| format!("{url}: {e}"))?),
                }
            }
            "--ca" => args.ca = Some(value()?.into()),
            "--email" => args.email = Some(value()?),
            "--storage" => args.storage = value()?.into(),
            "--listen" => {
                let addr = value()?;
                args.listen = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
            }
            "-h" | "--help" => return Err(USAGE.into()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            name => args.hostnames.push(name.to_string()),
        }
    }
    if args.hostnames.is_empty() {
        return Err(USAGE.into());
    }
    Ok(args)
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Config::builder()
        .hostnames(args.hostnames)
        .directory(args.directory)
        .challenge_addr(args.listen)
        .storage_dir(&args.storage);
    if let Some(email) = args.email {
        builder = builder.contact_email(email);
    }
    if let Some(ca) = &args.ca {
        let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
        builder = builder.extra_ca_pem(pem);
    }
    let config = builder.build()?;

    println!(
        "asking {} for {} (challenges answered on {})",
        config.directory().url(),
        config.hostnames().join(", "),
        config.challenge_addr()
    );
    let started = Instant::now();
    let cert = provision_with_challenge_server(&config).await?;
    let elapsed = started.elapsed();

    let store = config.store().ok_or("no storage directory")?;
    let days_left = cert
        .not_after()
        .duration_since(std::time::SystemTime::now())
        .map_or(0, |left| left.as_secs() / 86_400);
    println!("certificate issued in {elapsed:.2?}, valid for {days_left} more days");
    if let Some(account) = store.account_id()? {
        println!("account:     {account}");
    }
    println!("chain:       {}", store.certificate_path().display());
    println!("private key: {}", store.key_path().display());
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
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The chain of causes: each names what failed at its level.
            eprint!("error: {err}");
            let mut source = err.source();
            while let Some(cause) = source {
                eprint!(": {cause}");
                source = cause.source();
            }
            eprintln!();
            ExitCode::FAILURE
        }
    }
}
