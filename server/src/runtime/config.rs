//! Configuration: the `switchboard` CLI. Every setting of `serve` has a flag and an environment
//! variable (flags win); `main` reads a `.env` file into the environment first when present.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use clap::{Args, Parser, Subcommand};
use time::Duration;

use crate::live::{hub::PushSettings, registry::HealthThresholds};

/// How long a client has to send a request's headers, on a new connection or between requests
/// on a kept-alive one. Browsers and scripts send them at once; a client trickling them in
/// (slowloris) would otherwise hold a connection, and its memory, for as long as it likes.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Parser, Debug)]
#[command(
    name = "switchboard",
    version,
    about = "Real-time call monitoring dashboard"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the dashboard server.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit (`serve` also applies them at start).
    Migrate(StorageArgs),
    /// Manage dashboard users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print an API token for scripts and the platform's backend, owned by a user and revocable;
    /// with --signed, a JWT signed with JWT_SECRET (or the secret kept in the data folder).
    Token(TokenArgs),
    /// List or revoke API tokens.
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
}

#[derive(Args, Debug, Clone)]
pub struct TokenArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    /// The user the API token belongs to (listed on its account page, revocable there or with
    /// `switchboard tokens revoke`) [default: the first owner of --tenant by email, else the
    /// first admin].
    #[arg(long, conflicts_with = "signed")]
    pub user: Option<String>,

    /// Print the old kind instead: a JWT signed with JWT_SECRET naming no user, which only its
    /// expiry or a new JWT_SECRET ends.
    #[arg(long)]
    pub signed: bool,

    /// An API token's scope: `tenant_read` (with --tenant for a platform user), `all_read` or
    /// `operator` [default: what --admin, --role or --tenant imply, else the widest the
    /// user's role allows].
    #[arg(long, conflicts_with = "signed", value_parser = parse_scope)]
    pub scope: Option<app::dto::tokens::TokenScope>,

    /// An API token's name, as its list shows it.
    #[arg(long, conflicts_with = "signed", default_value = "switchboard-cli")]
    pub name: String,

    /// Days until an API token expires (1–366).
    #[arg(long, conflicts_with = "signed", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,

    /// A token that reads this tenant (`userId`) only: a `member`'s unless --role says `owner`.
    #[arg(long, conflicts_with = "admin")]
    pub tenant: Option<String>,

    /// A token of an `admin` (as an API token: `operator`, the widest scope).
    #[arg(long, conflicts_with = "role")]
    pub admin: bool,

    /// The token's role: `admin`, `operator` or `viewer` (every tenant), `owner` or `member`
    /// (with --tenant).
    #[arg(long, value_parser = crate::domain::users::parse_role)]
    pub role: Option<crate::domain::users::Role>,

    /// A signed token's subject (who it was minted for).
    #[arg(long, default_value = "switchboard-cli", requires = "signed")]
    pub subject: String,

    /// Hours until a signed token expires.
    #[arg(long, default_value_t = 24, requires = "signed",
          value_parser = clap::value_parser!(u32).range(1..=8760))]
    pub ttl_hours: u32,
}

fn parse_scope(value: &str) -> Result<app::dto::tokens::TokenScope, String> {
    app::dto::tokens::TokenScope::parse(value)
        .ok_or_else(|| "one of tenant_read, all_read, operator".to_owned())
}

#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Every API token: id, name, scope, owner, expiry, last use. Never a secret.
    List(StorageArgs),
    /// Revoke an API token by id: refused at once on every door; live sockets close within
    /// seconds on every instance.
    Revoke(TokenRevokeArgs),
}

#[derive(Args, Debug, Clone)]
pub struct TokenRevokeArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    /// The token's id (`switchboard tokens list`).
    #[arg(long)]
    pub id: i64,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a dashboard user. The password is read from stdin with --password-stdin, or
    /// generated and printed: never a flag, which other users could read in `ps`.
    Add(UserAddArgs),
    /// Give a user another role (and tenant); every session it holds ends.
    SetRole(UserSetRoleArgs),
    /// End every session of a user, on every instance: each token and cookie handed out.
    SignOut(UserEmailArgs),
    /// Remove a user; its sessions end with it.
    Remove(UserEmailArgs),
    /// List every dashboard user: email, role, tenant.
    List(StorageArgs),
    /// Give a user a new password and end every session it holds. The password is read from
    /// stdin with --password-stdin (it must be hard to guess), or generated and printed.
    ResetPassword(UserPasswordArgs),
}

#[derive(Args, Debug, Clone)]
pub struct UserPasswordArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    #[arg(long)]
    pub email: String,

    /// Read the new password from standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Args, Debug, Clone)]
pub struct UserSetRoleArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    #[arg(long)]
    pub email: String,

    /// `admin`, `operator` or `viewer` (every tenant), or `owner` or `member` (one, with
    /// --tenant).
    #[arg(long, value_parser = crate::domain::users::parse_role)]
    pub role: crate::domain::users::Role,

    /// The tenant (`userId`) an owner or member reads; not for the platform's roles.
    #[arg(long)]
    pub tenant: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct UserEmailArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    #[arg(long)]
    pub email: String,
}

#[derive(Args, Debug, Clone)]
pub struct UserAddArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    #[arg(long)]
    pub email: String,

    /// `admin`, `operator` or `viewer` (every tenant), or `owner` or `member` (one, with
    /// --tenant).
    #[arg(long, value_parser = crate::domain::users::parse_role)]
    pub role: crate::domain::users::Role,

    /// The tenant (`userId`) an owner or member reads; not for the platform's roles. It must be known (have
    /// sent a call) unless `--tenant-name` registers it.
    #[arg(long)]
    pub tenant: Option<String>,

    /// Register `--tenant` under this business name (or rename it), so a customer can be
    /// given a sign-in before its first call arrives.
    #[arg(long, requires = "tenant")]
    pub tenant_name: Option<String>,

    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

/// Where the data lives; shared by `serve` and `migrate`.
#[derive(Args, Debug, Clone)]
pub struct StorageArgs {
    /// Folder for the embedded database, the dead-letter queue and generated secrets.
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// `postgres://…` to scale out; unset means a SQLite file in the data folder.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StorageArgs {
    /// The database URL, defaulting to the SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| default_database_url(&self.data_dir))
    }
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on [default: 0.0.0.0:5001; 127.0.0.1:5001 with --demo, whose login
    /// page shows the demo passwords]. 5001 is the old backend's port: its clients only change
    /// the host.
    #[arg(long, env = "SWITCHBOARD_ADDR")]
    pub addr: Option<SocketAddr>,

    #[command(flatten)]
    pub storage: StorageArgs,

    /// `redis://…` for live state, fan-out between instances and the DLQ; unset means in process.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Prefix for every Redis key and channel (e.g. `staging:`); empty keeps the seed-002 names.
    #[arg(long, env = "SWITCHBOARD_REDIS_PREFIX", default_value = "")]
    pub redis_prefix: String,

    /// Folder holding the browser bundles (`pkg/`) that Trunk builds.
    #[arg(long, env = "SWITCHBOARD_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Run the built-in simulator: demo tenants, history and live traffic.
    #[arg(long)]
    pub demo: bool,

    /// Percentage (0-100) of call-log writes to fail on purpose, to exercise the DLQ
    /// (default 0; 2 with --demo).
    #[arg(long, env = "SWITCHBOARD_INJECT_WRITE_FAILURES",
          value_parser = clap::value_parser!(u32).range(0..=100))]
    pub inject_write_failures: Option<u32>,

    /// Heartbeat age (seconds) from which a live call shows "warning".
    #[arg(long, env = "SWITCHBOARD_HEARTBEAT_WARNING_SECS", default_value_t = 60)]
    pub heartbeat_warning_secs: u32,

    /// Heartbeat age (seconds) from which a live call is "stale".
    #[arg(long, env = "SWITCHBOARD_HEARTBEAT_STALE_SECS", default_value_t = 120)]
    pub heartbeat_stale_secs: u32,

    /// Bytes of a call's stored metadata (merged from every event, as JSON); an event that would
    /// take a call past it is refused for itself (`metadata_too_large`).
    #[arg(long, env = "SWITCHBOARD_MAX_CALL_METADATA_BYTES", default_value_t = 65_536,
          value_parser = clap::value_parser!(u32).range(1_024..=16_777_216))]
    pub max_call_metadata_bytes: u32,

    /// Live calls one tenant may have at once; an event that would open one more is refused for
    /// itself (`live_call_limit`).
    #[arg(long, env = "SWITCHBOARD_MAX_LIVE_CALLS_PER_TENANT", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub max_live_calls_per_tenant: u32,

    /// Tenants that events may register for the first time, per minute; past it such an event
    /// is refused for itself (`tenant_limit`) and may be sent again a moment later.
    #[arg(long, env = "SWITCHBOARD_NEW_TENANTS_PER_MINUTE", default_value_t = 600,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub new_tenants_per_minute: u32,

    /// Automatic retries of a failed write before it becomes a final failure in the DLQ.
    #[arg(long, env = "SWITCHBOARD_DLQ_MAX_RETRIES", default_value_t = 3)]
    pub dlq_max_retries: u32,

    /// Seconds between scheduled reconciliation runs (one instance runs each); 0 turns the
    /// schedule off. Admins and the internal API can still start runs.
    #[arg(
        long,
        env = "SWITCHBOARD_RECONCILE_INTERVAL_SECS",
        default_value_t = 900
    )]
    pub reconcile_interval_secs: u64,

    /// Where people reach this dashboard (`https://board.example.com`) when a proxy stands in
    /// front: pages posting from there are this site's own (cross-site posts are refused), and
    /// an `https` address makes the session cookie `Secure`.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL", value_parser = public_origin)]
    pub public_url: Option<String>,

    /// Where call recordings are served from (`https://recordings.example.com`, comma
    /// separated): a call's page may play audio from these origins (its Content Security
    /// Policy's `media-src`), and from no other.
    #[arg(long, env = "SWITCHBOARD_RECORDING_ORIGINS", value_parser = public_origin,
          value_delimiter = ',')]
    pub recording_origins: Vec<String>,

    /// Seconds a request may take until its answer starts (a CSV export's rows may take longer
    /// to stream); then it is answered 503. A client that never finishes sending its request
    /// holds nothing past this either.
    #[arg(long, env = "SWITCHBOARD_REQUEST_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,

    /// Connections served at once. Past it the server stops accepting (new ones wait in the
    /// kernel's queue) and says so in its log; a connection with no request in flight for the
    /// header deadline (10 s) is closed, so idle ones cannot hold the places. Live sockets,
    /// once upgraded, count against a second allowance of the same size: keep twice it under
    /// the process's file-descriptor limit (`ulimit -n`).
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTIONS", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// The header the proxy in front writes the client's address into (`X-Forwarded-For`: its
    /// last entry, the one the proxy added; `X-Real-IP`, `CF-Connecting-IP`: the whole value).
    /// Sign-in attempts are limited per client address; unset, the address is the connection's
    /// peer. Set it only behind such a proxy: clients can write any header themselves.
    #[arg(long, env = "SWITCHBOARD_CLIENT_IP_HEADER",
          value_parser = clap::value_parser!(axum::http::HeaderName))]
    pub client_ip_header: Option<axum::http::HeaderName>,

    /// Requests each client may make per second, after a burst of four seconds' worth; past it,
    /// a 429 with `Retry-After`. A client is a signed-in caller (by its verified token), else its
    /// address (an IPv6 client's /64, as `SWITCHBOARD_CLIENT_IP_HEADER` says). Ingest (limited
    /// per producer key), Socket.IO, static files and health checks are not counted. 0: no limit.
    #[arg(long, env = "SWITCHBOARD_CLIENT_RATE", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub client_rate: u32,

    /// Live push: at most one metrics / active-calls / live-calls update per room per this many
    /// milliseconds, however many events arrive (call events themselves are pushed at once).
    #[arg(long, env = "SWITCHBOARD_PUSH_INTERVAL_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub push_interval_ms: u64,

    /// Who invitation and reset links are mailed from, when SWITCHBOARD_SMTP_URL (environment
    /// only: it may hold a password) names the server to send them through.
    #[arg(long, env = "SWITCHBOARD_MAIL_FROM", default_value = DEFAULT_MAIL_FROM)]
    pub mail_from: String,
}

impl ServeArgs {
    pub fn into_config(self) -> Config {
        // The demo prints its passwords on the login page: reachable from this machine only,
        // unless an address is given.
        let host = if self.demo {
            [127, 0, 0, 1]
        } else {
            [0, 0, 0, 0]
        };
        Config {
            addr: self.addr.unwrap_or(SocketAddr::from((host, DEFAULT_PORT))),
            database_url: self.storage.database_url(),
            data_dir: self.storage.data_dir,
            redis_url: self.redis_url.filter(|url| !url.trim().is_empty()),
            redis_prefix: self.redis_prefix,
            site_root: self.site_root,
            demo: self.demo,
            // The demo shows the DLQ at work unless the operator picked a rate.
            inject_write_failures: self.inject_write_failures.unwrap_or(if self.demo {
                DEMO_FAILURE_PERCENT
            } else {
                0
            }),
            heartbeat: HealthThresholds {
                warning: Duration::seconds(i64::from(self.heartbeat_warning_secs)),
                stale: Duration::seconds(i64::from(
                    self.heartbeat_stale_secs.max(self.heartbeat_warning_secs),
                )),
            },
            dlq_max_retries: self.dlq_max_retries,
            bounds: crate::storage::Bounds {
                max_metadata_bytes: self.max_call_metadata_bytes as usize,
            },
            ingest_limits: crate::ingest::Limits {
                max_live_calls_per_tenant: self.max_live_calls_per_tenant as usize,
                new_tenants_per_minute: self.new_tenants_per_minute,
            },
            push: PushSettings {
                interval: std::time::Duration::from_millis(self.push_interval_ms),
                ..PushSettings::default()
            },
            reconcile_interval: std::time::Duration::from_secs(self.reconcile_interval_secs),
            public_url: self.public_url,
            recording_origins: self.recording_origins,
            client_ip_header: self.client_ip_header,
            client_rate: self.client_rate,
            request_timeout: std::time::Duration::from_secs(self.request_timeout_secs),
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: self.max_connections as usize,
            stream_claim_idle: crate::live::redis::STREAM_CLAIM_IDLE,
            // Secrets come from the environment only: never from flags, which `ps` shows.
            ingest_api_key: secret_from_env("INGEST_API_KEY"),
            internal_api_key: secret_from_env("INTERNAL_API_KEY"),
            jwt_secret: secret_from_env("JWT_SECRET"),
            smtp_url: secret_from_env("SWITCHBOARD_SMTP_URL"),
            mail_from: self.mail_from,
        }
    }
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub site_root: PathBuf,
    pub demo: bool,
    pub inject_write_failures: u32,
    pub heartbeat: HealthThresholds,
    pub dlq_max_retries: u32,
    /// What one call's row may hold.
    pub bounds: crate::storage::Bounds,
    /// What producers may make the server hold.
    pub ingest_limits: crate::ingest::Limits,
    pub push: PushSettings,
    /// Between scheduled reconciliation runs; zero: no schedule.
    pub reconcile_interval: std::time::Duration,
    /// `SWITCHBOARD_PUBLIC_URL` as an origin (`https://board.example.com`, no path).
    pub public_url: Option<String>,
    /// Origins call recordings may be played from (`SWITCHBOARD_RECORDING_ORIGINS`).
    pub recording_origins: Vec<String>,
    /// Until a request's answer must start.
    pub request_timeout: std::time::Duration,
    /// Until a request's headers must have arrived ([`HEADER_READ_TIMEOUT`]); a connection's
    /// first request too, whatever its protocol.
    pub header_read_timeout: std::time::Duration,
    /// Connections served at once (`SWITCHBOARD_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Redis mode: how long a stream entry an instance took may stay unacknowledged before
    /// another takes it over ([`crate::live::redis::STREAM_CLAIM_IDLE`]).
    pub stream_claim_idle: std::time::Duration,
    /// `SWITCHBOARD_CLIENT_IP_HEADER`: where a trusted proxy says who the client is.
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// `SWITCHBOARD_CLIENT_RATE`: requests a second per client (0: no limit).
    pub client_rate: u32,
    /// `INGEST_API_KEY`; when unset one is generated into the data folder.
    pub ingest_api_key: Option<String>,
    /// `JWT_SECRET`; when unset one is generated into the data folder.
    pub jwt_secret: Option<String>,
    /// `INTERNAL_API_KEY`: opens seed 002's `/api/v1/internal/admin/…` paths; unset, they
    /// answer 404.
    pub internal_api_key: Option<String>,
    /// `SWITCHBOARD_SMTP_URL`: where invitation and reset links are mailed; unset, nowhere.
    pub smtp_url: Option<String>,
    /// `SWITCHBOARD_MAIL_FROM`: who those messages are from.
    pub mail_from: String,
}

/// A secret from the environment; blank counts as unset.
pub fn secret_from_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Write failures the demo injects (percent) when the operator chose none, so the DLQ has
/// something to show.
pub const DEMO_FAILURE_PERCENT: u32 = 2;

/// The file in the data folder holding the generated JWT secret.
pub const JWT_SECRET_FILE: &str = "jwt_secret";
/// The JWT secret tests sign with.
pub const TEST_JWT_SECRET: &str = "test-jwt-secret-of-at-least-32-bytes";

/// The internal key tests use (`INTERNAL_API_KEY`).
pub const TEST_INTERNAL_KEY: &str = "test-internal-key-of-at-least-32-chars";

/// The ingest key tests use.
pub const TEST_INGEST_KEY: &str = "test-ingest-key-of-at-least-32-chars";

impl Config {
    /// Defaults for tests: an ephemeral port on loopback, everything else as `serve` would have it.
    pub fn for_tests(data_dir: &Path, site_root: &Path) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_owned(),
            database_url: default_database_url(data_dir),
            redis_url: None,
            redis_prefix: String::new(),
            site_root: site_root.to_owned(),
            demo: false,
            inject_write_failures: 0,
            heartbeat: HealthThresholds::default(),
            dlq_max_retries: 3,
            bounds: crate::storage::Bounds::default(),
            ingest_limits: crate::ingest::Limits::default(),
            push: PushSettings {
                // Short, so tests wait for coalesced updates in milliseconds, not a second.
                interval: std::time::Duration::from_millis(50),
                ..PushSettings::default()
            },
            // Tests start runs themselves; a schedule would race them.
            reconcile_interval: std::time::Duration::ZERO,
            public_url: None,
            recording_origins: Vec::new(),
            client_ip_header: None,
            // Tests ask as fast as they can; the limit's own test sets one.
            client_rate: 0,
            request_timeout: std::time::Duration::from_secs(30),
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: 4096,
            stream_claim_idle: crate::live::redis::STREAM_CLAIM_IDLE,
            ingest_api_key: Some(TEST_INGEST_KEY.to_owned()),
            jwt_secret: Some(TEST_JWT_SECRET.to_owned()),
            internal_api_key: None,
            smtp_url: None,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
        }
    }
}

/// `SWITCHBOARD_PUBLIC_URL` as the origin browsers send (`scheme://host[:port]`); a trailing
/// `/` is dropped, any other path refused.
fn public_origin(value: &str) -> Result<String, String> {
    let value = value.trim().trim_end_matches('/');
    let valid = value.split_once("://").is_some_and(|(scheme, authority)| {
        matches!(scheme, "http" | "https")
            && !authority.is_empty()
            && !authority.contains(['/', '?', '#', '@', ' '])
    });
    if valid {
        Ok(value.to_owned())
    } else {
        Err(
            "expected http(s)://host[:port] with no path, e.g. https://board.example.com"
                .to_owned(),
        )
    }
}

/// Who invitation and reset links come from unless `SWITCHBOARD_MAIL_FROM` says.
pub const DEFAULT_MAIL_FROM: &str = "Switchboard <switchboard@localhost>";

/// The old backend's port.
const DEFAULT_PORT: u16 = 5001;

fn default_database_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("switchboard.db").display()
    )
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, error::ErrorKind};

    use super::*;

    /// The SPEC's configuration table: flag, environment variable, default.
    const TABLE: [(&str, &str, Option<&str>); 19] = [
        // 0.0.0.0:5001, or loopback with --demo: see `the_demo_listens_on_loopback_unless_told`.
        ("addr", "SWITCHBOARD_ADDR", None),
        ("data-dir", "SWITCHBOARD_DATA_DIR", Some("./data")),
        ("database-url", "DATABASE_URL", None),
        ("redis-url", "REDIS_URL", None),
        ("redis-prefix", "SWITCHBOARD_REDIS_PREFIX", Some("")),
        ("site-root", "SWITCHBOARD_SITE_ROOT", Some("target/site")),
        (
            "inject-write-failures",
            "SWITCHBOARD_INJECT_WRITE_FAILURES",
            None,
        ),
        (
            "heartbeat-warning-secs",
            "SWITCHBOARD_HEARTBEAT_WARNING_SECS",
            Some("60"),
        ),
        (
            "heartbeat-stale-secs",
            "SWITCHBOARD_HEARTBEAT_STALE_SECS",
            Some("120"),
        ),
        ("dlq-max-retries", "SWITCHBOARD_DLQ_MAX_RETRIES", Some("3")),
        (
            "max-call-metadata-bytes",
            "SWITCHBOARD_MAX_CALL_METADATA_BYTES",
            Some("65536"),
        ),
        (
            "max-live-calls-per-tenant",
            "SWITCHBOARD_MAX_LIVE_CALLS_PER_TENANT",
            Some("10000"),
        ),
        (
            "new-tenants-per-minute",
            "SWITCHBOARD_NEW_TENANTS_PER_MINUTE",
            Some("600"),
        ),
        (
            "push-interval-ms",
            "SWITCHBOARD_PUSH_INTERVAL_MS",
            Some("1000"),
        ),
        (
            "reconcile-interval-secs",
            "SWITCHBOARD_RECONCILE_INTERVAL_SECS",
            Some("900"),
        ),
        ("public-url", "SWITCHBOARD_PUBLIC_URL", None),
        ("client-ip-header", "SWITCHBOARD_CLIENT_IP_HEADER", None),
        (
            "request-timeout-secs",
            "SWITCHBOARD_REQUEST_TIMEOUT_SECS",
            Some("30"),
        ),
        (
            "max-connections",
            "SWITCHBOARD_MAX_CONNECTIONS",
            Some("4096"),
        ),
    ];

    /// Parses a full `serve` command line. Flags win over the environment, so passing every flag
    /// keeps these tests independent of the shell they run in.
    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        let argv = ["switchboard", "serve"]
            .into_iter()
            .chain(args.iter().copied());
        match Cli::try_parse_from(argv)?.command {
            Command::Serve(serve) => Ok(serve.into_config()),
            Command::Migrate(_)
            | Command::User { .. }
            | Command::Token(_)
            | Command::Tokens { .. } => {
                unreachable!("the argv above always names serve")
            }
        }
    }

    fn args(database_url: Option<&str>, redis_url: Option<&str>) -> ServeArgs {
        ServeArgs {
            addr: None,
            storage: StorageArgs {
                data_dir: PathBuf::from("/var/lib/switchboard"),
                database_url: database_url.map(str::to_owned),
            },
            redis_url: redis_url.map(str::to_owned),
            redis_prefix: String::new(),
            site_root: PathBuf::from("site"),
            demo: false,
            inject_write_failures: None,
            heartbeat_warning_secs: 60,
            heartbeat_stale_secs: 120,
            dlq_max_retries: 3,
            max_call_metadata_bytes: 65_536,
            max_live_calls_per_tenant: 10_000,
            new_tenants_per_minute: 600,
            push_interval_ms: 1000,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            reconcile_interval_secs: 900,
            public_url: None,
            recording_origins: Vec::new(),
            client_ip_header: None,
            client_rate: 50,
            request_timeout_secs: 30,
            max_connections: 4096,
        }
    }

    #[test]
    fn the_public_url_is_an_origin() {
        assert_eq!(
            public_origin(" https://board.example.com/ "),
            Ok("https://board.example.com".to_owned())
        );
        assert_eq!(
            public_origin("http://10.0.0.7:5001"),
            Ok("http://10.0.0.7:5001".to_owned())
        );
        for wrong in [
            "board.example.com",
            "ftp://board.example.com",
            "https://",
            "https://board.example.com/dashboard",
            "https://user@board.example.com",
        ] {
            assert!(public_origin(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn every_flag_has_the_spec_variable_and_default() {
        let cli = Cli::command();
        let serve = cli.find_subcommand("serve").unwrap();
        for (flag, variable, default) in TABLE {
            let argument = serve
                .get_arguments()
                .find(|argument| argument.get_long() == Some(flag))
                .unwrap_or_else(|| panic!("--{flag} is missing"));
            assert_eq!(
                argument.get_env().and_then(|name| name.to_str()),
                Some(variable),
                "--{flag}"
            );
            let defaults: Vec<_> = argument
                .get_default_values()
                .iter()
                .filter_map(|value| value.to_str())
                .collect();
            assert_eq!(defaults.first().copied(), default, "default of --{flag}");
        }
    }

    #[test]
    fn without_a_database_url_sqlite_lives_in_the_data_folder() {
        let config = args(None, None).into_config();
        assert_eq!(
            config.database_url,
            "sqlite:///var/lib/switchboard/switchboard.db?mode=rwc"
        );
        assert_eq!(config.redis_url, None);
    }

    #[test]
    fn empty_urls_mean_unset() {
        let config = args(Some("  "), Some("")).into_config();
        assert!(
            config
                .database_url
                .starts_with("sqlite:///var/lib/switchboard/")
        );
        assert_eq!(config.redis_url, None);
    }

    #[test]
    fn flags_are_parsed() {
        let config = parse(&[
            "--addr=127.0.0.1:8080",
            "--data-dir=/tmp/sb",
            "--database-url=postgres://root@127.0.0.1/test",
            "--redis-url=redis://127.0.0.1:6379",
            "--site-root=/srv/site",
        ])
        .unwrap();
        assert_eq!(config.addr, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("/tmp/sb"));
        assert_eq!(config.database_url, "postgres://root@127.0.0.1/test");
        assert_eq!(config.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(config.site_root, PathBuf::from("/srv/site"));
    }

    #[test]
    fn a_bad_address_is_a_clear_error() {
        let error = parse(&["--addr", "localhost"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ValueValidation);
        assert!(error.to_string().contains("--addr"), "{error}");
    }

    #[test]
    fn failure_injection_is_a_percentage() {
        assert_eq!(
            parse(&["--inject-write-failures=100"])
                .unwrap()
                .inject_write_failures,
            100
        );
        assert_eq!(
            parse(&["--inject-write-failures=101"]).unwrap_err().kind(),
            ErrorKind::ValueValidation
        );
    }

    #[test]
    fn the_demo_injects_failures_unless_told_otherwise() {
        let demo = |rate: Option<u32>| ServeArgs {
            demo: true,
            inject_write_failures: rate,
            ..args(None, None)
        };
        assert_eq!(
            demo(None).into_config().inject_write_failures,
            DEMO_FAILURE_PERCENT
        );
        assert_eq!(demo(Some(0)).into_config().inject_write_failures, 0);
        assert_eq!(args(None, None).into_config().inject_write_failures, 0);
    }

    #[test]
    fn the_demo_listens_on_loopback_unless_told() {
        let addr = |demo: bool, addr: Option<&str>| {
            ServeArgs {
                demo,
                addr: addr.map(|addr| addr.parse().unwrap()),
                ..args(None, None)
            }
            .into_config()
            .addr
            .to_string()
        };
        assert_eq!(addr(false, None), "0.0.0.0:5001");
        assert_eq!(addr(true, None), "127.0.0.1:5001");
        assert_eq!(addr(true, Some("0.0.0.0:8080")), "0.0.0.0:8080");
    }

    #[test]
    fn the_stale_threshold_is_never_below_the_warning_one() {
        let config = parse(&["--heartbeat-warning-secs=90", "--heartbeat-stale-secs=30"]).unwrap();
        assert_eq!(config.heartbeat.warning, Duration::seconds(90));
        assert_eq!(config.heartbeat.stale, Duration::seconds(90));
    }

    #[test]
    fn unknown_flags_are_refused() {
        assert_eq!(
            parse(&["--port", "1"]).unwrap_err().kind(),
            ErrorKind::UnknownArgument
        );
    }
}
