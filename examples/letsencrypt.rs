//! Gets a certificate over ACME HTTP-01 and keeps it in a directory; run
//! again, it reuses the stored certificate until it is due for renewal.
//!
//! ```text
//! cargo run -p paf-examples --example letsencrypt -- [options] HOSTNAME...
//!   --directory staging|production|URL   the ACME directory (default: staging)
//!   --ca FILE        trust this CA (PEM) for the directory's HTTPS (private CAs, pebble)
//!   --email ADDRESS  the account's contact address
//!   --storage DIR    where the account and the certificate bundle go (default: ./letsencrypt)
//!   --listen ADDR    where the challenge server listens (default: 0.0.0.0:80)
//!   --eab KID:KEY    an external account binding (key ID, base64url HMAC key)
//!                    for CAs that require one
//! ```
//!
//! The CA connects to port 80 of every name: run it on the machine the
//! names point to, with the right to bind port 80. Several copies sharing
//! `--storage` order once: the others wait and reuse its certificate.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Instant};

use paf_le::{
    obtain_with_challenge_server, Config, Directory, ExternalAccount, FileStorage, Origin,
};

struct Args {
    hostnames: Vec<String>,
    directory: Directory,
    ca: Option<PathBuf>,
    email: Option<String>,
    storage: PathBuf,
    listen: SocketAddr,
    eab: Option<ExternalAccount>,
}

const USAGE: &str = "usage: letsencrypt [--directory staging|production|URL] [--ca FILE] \
                     [--email ADDRESS] [--storage DIR] [--listen ADDR] [--eab KID:KEY] HOSTNAME...";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        hostnames: Vec::new(),
        directory: Directory::LetsEncryptStaging,
        ca: None,
        email: None,
        storage: PathBuf::from("letsencrypt"),
        listen: SocketAddr::from(([0, 0, 0, 0], 80)),
        eab: None,
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
            "--eab" => {
                let binding = value()?;
                let (kid, key) = binding.split_once(':').ok_or("--eab needs KID:KEY")?;
                let eab = ExternalAccount::from_base64url(kid, key).map_err(|e| e.to_string())?;
                args.eab = Some(eab);
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
    if let Some(eab) = args.eab {
        builder = builder.external_account(eab);
    }
    if let Some(ca) = &args.ca {
        let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
        builder = builder.extra_ca_pem(pem);
    }
    let config = builder.build()?;

    println!(
        "certificate for {} from {} (challenges answered on {} if one is ordered)",
        config.hostnames().join(", "),
        config.directory().url(),
        config.challenge_addr()
    );
    let started = Instant::now();
    let obtained = obtain_with_challenge_server(&config).await?;
    let elapsed = started.elapsed();

    let cert = &obtained.certificate;
    let days = |at: std::time::SystemTime| {
        at.duration_since(std::time::SystemTime::now())
            .map_or(0, |left| left.as_secs() / 86_400)
    };
    match obtained.origin {
        Origin::Stored => println!("reusing the stored certificate: nothing was ordered"),
        Origin::Issued => println!("a new certificate was issued in {elapsed:.2?}"),
        _ => println!("certificate obtained in {elapsed:.2?}"),
    }
    println!(
        "valid for {} more days, due for renewal in {} days",
        days(cert.not_after()),
        days(cert.renew_at(config.renew_fraction()))
    );
    if let Some(account) = paf_le::stored_account_id(&config).await? {
        println!("account: {account}");
    }
    let storage = FileStorage::new(&args.storage);
    println!(
        "chain and private key (one PEM file, mode 0600): {}",
        storage.path(config.certificate_storage_key())?.display()
    );
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
