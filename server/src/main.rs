//! The `switchboard` command line: parse, then hand over to the library.

use std::io::Write;

use clap::Parser;
use server::{
    domain::auth::{JwtKeys, api_tokens},
    domain::users::{self, NewUser, Role},
    runtime::config::{
        Cli, Command, JWT_SECRET_FILE, TokenArgs, TokensCommand, UserCommand, secret_from_env,
    },
    runtime::startup::{Application, shutdown_signal},
    secrets::{self, SecretSource},
    storage::Storage,
    telemetry,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal; a malformed one is worth failing loudly over.
    match dotenvy::dotenv() {
        Ok(_) => {}
        Err(error) if error.not_found() => {}
        Err(error) => return Err(anyhow::anyhow!("could not read .env: {error}")),
    }
    let cli = Cli::parse();
    telemetry::init();
    match cli.command {
        Command::Serve(args) => {
            let app = Application::build(args.into_config()).await?;
            // Listening for signals before telling anyone where we listen.
            let stop = shutdown_signal();
            banner(&format!(
                "Switchboard is running at http://{}/dashboard/realtime",
                app.display_addr()
            ));
            if app.state().config.demo {
                banner(&format!(
                    "Sign in as {} (every tenant) or as one of the tenants listed on the login page; password {}",
                    server::service::demo::demo_users()
                        .first()
                        .map_or("admin@demo.switchboard.test", |(email, _, _)| email
                            .as_str()),
                    server::service::demo::DEMO_PASSWORD
                ));
            }
            let key = &app.state().ingest_key;
            if key.source != SecretSource::Environment {
                banner(&format!(
                    "Ingest key (Authorization: Bearer …, kept in the data folder): {}",
                    key.value
                ));
            }
            app.run_until_stopped(stop).await?;
        }
        Command::User {
            command: UserCommand::Add(args),
        } => {
            let storage = Storage::open(&args.storage.database_url()).await?;
            if let (Some(tenant), Some(name)) = (&args.tenant, &args.tenant_name) {
                storage.set_tenant_name(tenant, name.trim()).await?;
            }
            let (password, generated) = password(args.password_stdin)?;
            let user = NewUser {
                email: args.email,
                role: args.role,
                tenant: args.tenant,
            };
            let id = users::add_user(&storage, &user, &password, cli_actor()).await?;
            banner(&format!(
                "added user #{id}: {} ({})",
                users::normalized_email(&user.email),
                user.role.as_str()
            ));
            if generated {
                banner(&format!("password: {password}"));
            }
        }
        Command::User {
            command: UserCommand::SetRole(args),
        } => {
            let storage = Storage::open(&args.storage.database_url()).await?;
            let by = cli_actor();
            users::set_role(&storage, &args.email, args.role, args.tenant.as_deref(), by).await?;
            banner(&format!(
                "{} is now {}; its sessions have ended",
                users::normalized_email(&args.email),
                args.role.as_str()
            ));
        }
        Command::User {
            command: UserCommand::SignOut(args),
        } => {
            let storage = Storage::open(&args.storage.database_url()).await?;
            let client = server::domain::audit::ClientAddr::default();
            users::sign_out_everywhere(&storage, &args.email, cli_actor(), client).await?;
            banner(&format!(
                "every session of {} has ended",
                users::normalized_email(&args.email)
            ));
        }
        Command::User {
            command: UserCommand::Remove(args),
        } => {
            let storage = Storage::open(&args.storage.database_url()).await?;
            users::remove(&storage, &args.email, cli_actor()).await?;
            banner(&format!("removed {}", users::normalized_email(&args.email)));
        }
        Command::User {
            command: UserCommand::List(storage),
        } => {
            let storage = Storage::open(&storage.database_url()).await?;
            for user in storage.users(None).await? {
                let tenant = user.tenant_id.as_deref().unwrap_or("every tenant");
                banner(&format!("{}\t{}\t{tenant}", user.email, user.role));
            }
        }
        Command::User {
            command: UserCommand::ResetPassword(args),
        } => {
            let storage = Storage::open(&args.storage.database_url()).await?;
            let email = users::normalized_email(&args.email);
            let (password, generated) = password(args.password_stdin)?;
            if !generated {
                server::domain::passwords::check_chosen_password(&password, &email)?;
            }
            let hash = users::hash_password(&password)?;
            let client = server::domain::audit::ClientAddr::default();
            let action = server::domain::audit::Action::PasswordReset;
            users::set_password(&storage, &email, &hash, action, cli_actor(), client).await?;
            banner(&format!(
                "new password for {email}; its sessions have ended"
            ));
            if generated {
                banner(&format!("password: {password}"));
            }
        }
        Command::Token(args) => match args.signed {
            false => mint_api_token(&args).await?,
            true => {
                if !args.admin && args.role.is_none() && args.tenant.is_none() {
                    anyhow::bail!(
                        "a signed token reads as someone: give --admin, --role or --tenant"
                    );
                }
                let (secret, _) = secrets::load_or_generate(
                    secret_from_env("JWT_SECRET").as_deref(),
                    &args.storage.data_dir,
                    JWT_SECRET_FILE,
                )?;
                let tenant = args.tenant.as_deref();
                let role = args.role.unwrap_or(match tenant {
                    Some(_) => Role::Member,
                    None => Role::Admin,
                });
                if role.is_platform() == tenant.is_some() {
                    anyhow::bail!(
                        "a token of an {} {}",
                        role.as_str(),
                        if role.is_platform() {
                            "reads every tenant: leave out --tenant"
                        } else {
                            "reads one tenant: name it with --tenant"
                        }
                    );
                }
                let ttl = time::Duration::hours(i64::from(args.ttl_hours));
                let (token, _) =
                    JwtKeys::from_secret(&secret)?.mint(&args.subject, role, tenant, None, ttl)?;
                banner(&token);
                eprintln!(
                    "a signed token naming no user: only its expiry or a new JWT_SECRET ends it. \
                     Leave out --signed for an API token you can revoke."
                );
            }
        },
        Command::Tokens {
            command: TokensCommand::List(storage),
        } => {
            let storage = Storage::open(&storage.database_url()).await?;
            for row in storage.api_tokens(None, None).await? {
                let Some(token) = api_tokens::summary(&row) else {
                    continue;
                };
                let reads = token.tenant.as_deref().unwrap_or("every tenant");
                let used = token
                    .last_used_at
                    .map_or_else(|| "never used".to_owned(), |at| format!("used {at}"));
                banner(&format!(
                    "{}\t{}\t{} ({reads})\t{}\texpires {}\t{used}",
                    token.id,
                    token.name,
                    token.scope.as_str(),
                    token.owner,
                    token.expires_at
                ));
            }
        }
        Command::Tokens {
            command: TokensCommand::Revoke(args),
        } => {
            let storage = Storage::open(&args.storage.database_url()).await?;
            let row = storage
                .api_token(args.id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no API token {}", args.id))?;
            let client = server::domain::audit::ClientAddr::default();
            api_tokens::revoke(&storage, &row, cli_actor(), client).await?;
            banner(&format!(
                "revoked API token {} ({}) of {}; its live connections close within seconds",
                row.id, row.name, row.owner_email
            ));
        }
        Command::Migrate(storage) => {
            let url = storage.database_url();
            Storage::open(&url).await?;
            println!(
                "migrations applied ({})",
                url.split(':').next().unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// Mints an API token of `--user`, else of the first owner of `--tenant`, else of the first
/// admin, and prints it, once.
async fn mint_api_token(args: &TokenArgs) -> anyhow::Result<()> {
    use app::dto::tokens::{NewApiToken, TokenScope};
    let storage = Storage::open(&args.storage.database_url()).await?;
    let owner = match args.user.as_deref() {
        Some(email) => {
            let email = users::normalized_email(email);
            storage.user_by_email(&email).await?.ok_or_else(|| {
                anyhow::anyhow!("no user {email}: add it with `switchboard user add`")
            })?
        }
        None => {
            let first = |role: &str, users: Vec<server::storage::reads::UserRow>| {
                users.into_iter().find(|user| user.role == role)
            };
            let tenant_owner = match args.tenant.as_deref() {
                Some(tenant) => first("owner", storage.users(Some(tenant)).await?),
                None => None,
            };
            match tenant_owner {
                Some(owner) => owner,
                None => first("admin", storage.users(None).await?).ok_or_else(|| {
                    anyhow::anyhow!(
                        "no user to own the token: name one with --user (add it with \
                         `switchboard user add`), or print the old kind with --signed"
                    )
                })?,
            }
        }
    };
    let implied = match (args.admin, args.role, &args.tenant) {
        (true, _, _) => Some(TokenScope::Operator),
        (_, Some(Role::Admin | Role::Operator), _) => Some(TokenScope::Operator),
        (_, Some(Role::Viewer), _) => Some(TokenScope::AllRead),
        (_, Some(Role::Owner | Role::Member), _) | (_, None, Some(_)) => {
            Some(TokenScope::TenantRead)
        }
        (false, None, None) => None,
    };
    let widest = Role::parse(&owner.role).map_or(TokenScope::TenantRead, |role| {
        TokenScope::Operator.narrowed_to(role)
    });
    let new = NewApiToken {
        name: args.name.clone(),
        scope: args.scope.or(implied).unwrap_or(widest),
        tenant: args.tenant.clone(),
        expires_in_days: args.days,
    };
    let client = server::domain::audit::ClientAddr::default();
    let (secret, token) = api_tokens::create(&storage, &owner, &new, cli_actor(), client).await?;
    banner(&secret);
    eprintln!(
        "API token {} ({}) of {}: {}, expires {}. Revoke it on the account page or with \
         `switchboard tokens revoke --id {}`.",
        token.id,
        token.name,
        token.owner,
        token.scope.as_str(),
        token.expires_at,
        token.id
    );
    Ok(())
}

/// A user's password: the first line of standard input with `--password-stdin`, else a
/// generated one (the `bool`: generated, so to be printed).
fn password(from_stdin: bool) -> std::io::Result<(String, bool)> {
    if !from_stdin {
        return Ok((secrets::random_password(), true));
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
}

/// Whoever runs the command line, as the audit log names them.
fn cli_actor() -> server::domain::audit::Actor {
    let os_user = std::env::var("USER").ok().filter(|user| !user.is_empty());
    server::domain::audit::Actor::cli(os_user)
}

/// A line for the person who started the server. Unlike `println!`, a closed stdout (a pipe
/// whose reader went away) must not take the server down with it.
fn banner(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}
