//! Test databases: a SQLite file in a temp folder, or a fresh PostgreSQL database on the local
//! server (dropped when the test ends). PostgreSQL tests run whenever the server is reachable;
//! under CI (`CI` set) or with `SWITCHBOARD_REQUIRE_SERVICES=1` an unreachable server fails them
//! instead of skipping, so CI can never silently skip the PostgreSQL suite.

use server::storage::Storage;
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

/// Admin connection used to create and drop per-test databases.
fn postgres_admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub(crate) fn services_required() -> bool {
    std::env::var_os("CI").is_some()
        || std::env::var("SWITCHBOARD_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// A database that lives as long as this value.
pub(crate) enum TestDatabase {
    Sqlite { url: String, _dir: TempDir },
    Postgres { url: String, name: String },
}

impl TestDatabase {
    pub(crate) fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("calls.db").display()
        );
        Self::Sqlite { url, _dir: dir }
    }

    /// A fresh PostgreSQL database, or `None` (with a note) when the server is unreachable and
    /// not required.
    pub(crate) async fn postgres() -> Option<Self> {
        let admin = postgres_admin_url();
        let mut conn = match PgConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(error) if !services_required() => {
                eprintln!("PostgreSQL unreachable at {admin} ({error}): PostgreSQL case not run");
                return None;
            }
            Err(error) => panic!("PostgreSQL is required here but unreachable at {admin}: {error}"),
        };
        let name = format!("switchboard_test_{:016x}", rand::random::<u64>());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(base, _)| base);
        Some(Self::Postgres {
            url: format!("{base}/{name}"),
            name,
        })
    }

    pub(crate) fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    /// Drops a PostgreSQL database now, closing its connections: to a server using it, the
    /// database is gone.
    pub(crate) async fn drop_now(&self) {
        let Self::Postgres { name, .. } = self else {
            return;
        };
        let mut conn = PgConnection::connect(&postgres_admin_url()).await.unwrap();
        let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
            .unwrap();
    }

    /// Makes the database unavailable to every other client until [`Outage::end`]: SQLite
    /// held under an exclusive lock (writers get BUSY), PostgreSQL refusing connections with
    /// its open ones terminated.
    pub(crate) async fn outage(&self) -> Outage {
        match self {
            Self::Sqlite { url, .. } => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN EXCLUSIVE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Outage::Sqlite(conn)
            }
            Self::Postgres { name, .. } => {
                let mut conn = PgConnection::connect(&postgres_admin_url()).await.unwrap();
                for statement in [
                    format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
                    format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
                    ),
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(statement))
                        .execute(&mut conn)
                        .await
                        .unwrap();
                }
                Outage::Postgres {
                    conn,
                    name: name.clone(),
                }
            }
        }
    }

    pub(crate) async fn open(&self) -> Storage {
        Storage::open(self.url()).await.unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Self::Postgres { name, .. } = self else {
            return;
        };
        let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        // Drop cannot await; a short-lived runtime on its own thread does the cleanup.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&postgres_admin_url()).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// A database made unavailable by [`TestDatabase::outage`].
pub(crate) enum Outage {
    Sqlite(sqlx::SqliteConnection),
    Postgres { conn: PgConnection, name: String },
}

impl Outage {
    /// The database is back.
    pub(crate) async fn end(self) {
        match self {
            Self::Sqlite(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
            }
            Self::Postgres { mut conn, name } => {
                let statement = format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true");
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
    }
}

/// Every backend this machine can run: SQLite always, PostgreSQL when reachable.
pub(crate) async fn each_backend() -> Vec<TestDatabase> {
    let mut databases = vec![TestDatabase::sqlite()];
    databases.extend(TestDatabase::postgres().await);
    databases
}
