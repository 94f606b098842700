//! An HTTPS server whose certificates come from Let's Encrypt (or any ACME
//! CA), the program to deploy: it serves the names on its command line,
//! each with its own certificate picked by SNI, orders what the store does
//! not hold, renews in the background and logs every event.
//!
//! ```text
//! cargo run -p paf-examples --features le --example letsencrypt -- [options] NAMES...
//!   NAMES                one certificate each; join names with commas to put
//!                        them on one certificate: example.org,www.example.org
//!   --directory staging|production|URL   the ACME directory (default: staging)
//!   --ca FILE            trust this CA (PEM) for the directory's HTTPS (pebble)
//!   --email ADDRESS      the account's contact address
//!   --storage DIR        account, certificates, challenge answers (default: ./letsencrypt)
//!   --listen ADDR        the HTTPS listener (default: 0.0.0.0:443)
//!   --http-listen ADDR   HTTP-01 answers and a redirect to HTTPS (default:
//!                        0.0.0.0:80; `off`: no port 80)
//!   --challenge LIST     challenge types in order of preference, comma separated:
//!                        tls-alpn-01, http-01, dns-01 (default: tls-alpn-01,http-01)
//!   --dns-hook PROGRAM   for dns-01: runs `PROGRAM set NAME VALUE` and
//!                        `PROGRAM clear NAME VALUE` (NAME: _acme-challenge.…)
//!   --dns-wait SECONDS   wait after setting TXT records (default: 0)
//!   --eab KID:KEY        an external account binding, for CAs that require one
//! ```
//!
//! The CA connects to port 443 (TLS-ALPN-01) or 80 (HTTP-01) of every
//! name: run it on the machine the names point to, allowed to bind those
//! ports. Wildcards (`*.example.org`) need `--challenge dns-01` and a hook.
//! Restarted, it serves the stored certificates at once. Ctrl-C stops it.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
    time::{Duration, SystemTime},
};

use http::{header, Request, Response, StatusCode};
use paf_core::{Body, BoxError, BoxFuture};
use paf_le::{
    CertManager, ChallengeType, Config, Directory, DnsProvider, ExternalAccount, RenewalEvent,
};

struct Args {
    certificates: Vec<Vec<String>>,
    directory: Directory,
    ca: Option<PathBuf>,
    email: Option<String>,
    storage: PathBuf,
    listen: SocketAddr,
    http_listen: Option<SocketAddr>,
    challenges: Vec<ChallengeType>,
    dns_hook: Option<PathBuf>,
    dns_wait: Duration,
    eab: Option<ExternalAccount>,
}

const USAGE: &str = "usage: letsencrypt [--directory staging|production|URL] [--ca FILE] \
     [--email ADDRESS] [--storage DIR] [--listen ADDR] [--http-listen ADDR|off] \
     [--challenge tls-alpn-01,http-01,dns-01] [--dns-hook PROGRAM] [--dns-wait SECONDS] \
     [--eab KID:KEY] NAME[,NAME...]...";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        certificates: Vec::new(),
        directory: Directory::LetsEncryptStaging,
        ca: None,
        email: None,
        storage: PathBuf::from("letsencrypt"),
        listen: SocketAddr::from(([0, 0, 0, 0], 443)),
        http_listen: Some(SocketAddr::from(([0, 0, 0, 0], 80))),
        challenges: vec![ChallengeType::TlsAlpn01, ChallengeType::Http01],
        dns_hook: None,
        dns_wait: Duration::ZERO,
        eab: None,
    };
    let mut argv = std::env::args().skip(1);
    let addr = |text: String| -> Result<SocketAddr, String> {
        text.parse().map_err(|e| format!("{text}: {e}"))
    };
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
            "--listen" => args.listen = addr(value()?)?,
            "--http-listen" => {
                args.http_listen = match value()?.as_str() {
                    "off" => None,
                    other => Some(addr(other.to_string())?),
                }
            }
            "--challenge" => {
                args.challenges = value()?
                    .split(',')
                    .map(|kind| kind.parse::<ChallengeType>().map_err(|e| e.to_string()))
                    .collect::<Result<_, _>>()?
            }
            "--dns-hook" => args.dns_hook = Some(value()?.into()),
            "--dns-wait" => {
                let secs = value()?;
                let secs: u64 = secs.parse().map_err(|e| format!("{secs}: {e}"))?;
                args.dns_wait = Duration::from_secs(secs);
            }
            "--eab" => {
                let binding = value()?;
                let (kid, key) = binding.split_once(':').ok_or("--eab needs KID:KEY")?;
                let eab = ExternalAccount::from_base64url(kid, key).map_err(|e| e.to_string())?;
                args.eab = Some(eab);
            }
            "-h" | "--help" => return Err(USAGE.into()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            names => args
                .certificates
                .push(names.split(',').map(str::to_string).collect()),
        }
    }
    if args.certificates.is_empty() {
        return Err(USAGE.into());
    }
    if args.challenges.contains(&ChallengeType::Dns01) && args.dns_hook.is_none() {
        return Err("--challenge dns-01 needs --dns-hook PROGRAM".into());
    }
    Ok(args)
}

/// DNS-01 through a program of the user's: `PROGRAM set NAME VALUE`,
/// `PROGRAM clear NAME VALUE`; it should exit once the record is served.
#[derive(Debug)]
struct DnsHook {
    program: PathBuf,
}

impl DnsHook {
    async fn run(&self, action: &str, name: &str, value: &str) -> Result<(), BoxError> {
        let status = tokio::process::Command::new(&self.program)
            .args([action, name, value])
            .status()
            .await
            .map_err(|e| format!("{}: {e}", self.program.display()))?;
        if !status.success() {
            return Err(format!("{} {action} {name}: {status}", self.program.display()).into());
        }
        Ok(())
    }
}

impl DnsProvider for DnsHook {
    fn set_txt<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(self.run("set", name, value))
    }

    fn clear_txt<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(self.run("clear", name, value))
    }
}

/// Seconds since the epoch and the event, one line each.
fn log(event: &RenewalEvent) {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = |at: SystemTime| {
        at.duration_since(SystemTime::now())
            .map_or(0, |left| left.as_secs() / 86_400)
    };
    let names = event.names().join(",");
    match event {
        RenewalEvent::Loaded {
            origin,
            serial,
            not_after,
            next_renewal,
            ..
        } => println!(
            "{now} {names}: serving certificate {} ({origin:?}), valid {} more days, renewal in {} days",
            serial.as_deref().unwrap_or("?"),
            days(*not_after),
            days(*next_renewal)
        ),
        RenewalEvent::Renewed {
            origin,
            serial,
            not_after,
            next_renewal,
            ..
        } => println!(
            "{now} {names}: renewed, now certificate {} ({origin:?}), valid {} more days, next renewal in {} days",
            serial.as_deref().unwrap_or("?"),
            days(*not_after),
            days(*next_renewal)
        ),
        RenewalEvent::Failed {
            error,
            failures,
            retry_in,
            ..
        } => {
            let mut message = error.to_string();
            let mut source = std::error::Error::source(&**error);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            println!("{now} {names}: failure {failures} ({message}); next try in {retry_in:?}");
        }
        other => println!("{now} {names}: {other:?}"),
    }
}

/// The site: says which name and protocol it was reached by.
async fn site(request: Request<Body>) -> Response<Body> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().host().map(str::to_string))
        .unwrap_or_default();
    Response::new(Body::from(format!(
        "hello from paf, {host} over {:?}\n",
        request.version()
    )))
}

/// Port 80 outside the challenges: everything moves to HTTPS.
async fn to_https(request: Request<Body>) -> Response<Body> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or(h).to_string());
    let Some(host) = host else {
        let mut response = Response::new(Body::from("no host\n"));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return response;
    };
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(location) = header::HeaderValue::from_str(&format!("https://{host}{path}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut settings = Config::builder()
        .directory(args.directory)
        .storage_dir(&args.storage)
        .challenge_types(args.challenges.iter().copied())
        .dns_propagation_delay(args.dns_wait);
    if let Some(email) = args.email {
        settings = settings.contact_email(email);
    }
    if let Some(eab) = args.eab {
        settings = settings.external_account(eab);
    }
    if let Some(ca) = &args.ca {
        let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
        settings = settings.extra_ca_pem(pem);
    }
    if let Some(program) = args.dns_hook {
        settings = settings.dns_provider(Arc::new(DnsHook { program }));
    }
    let manager = CertManager::builder(settings).on_event(log).build()?;

    // The servers first: they answer the challenges of the orders below.
    let https = paf_hyper::Server::builder()
        .tls(manager.server_config()?)
        .build(site)
        .bind_tcp(args.listen)
        .await?;
    println!("HTTPS on {}", args.listen);
    let http = match args.http_listen {
        Some(addr) => {
            let server = paf_hyper::Server::new(manager.http_handler(to_https))
                .bind_tcp(addr)
                .await?;
            println!("HTTP (HTTP-01 answers, redirects) on {addr}");
            Some(server)
        }
        None => None,
    };
    let challenges: Vec<&str> = args.challenges.iter().map(|c| c.as_str()).collect();
    println!(
        "certificates from {} ({}), kept in {}",
        manager.settings().directory().url(),
        challenges.join(", "),
        args.storage.display()
    );
    for names in &args.certificates {
        manager.add(names)?;
    }

    tokio::signal::ctrl_c().await?;
    println!("stopping");
    manager.stop().await;
    https.stop(Duration::from_secs(5)).await;
    if let Some(http) = http {
        http.stop(Duration::from_secs(5)).await;
    }
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
