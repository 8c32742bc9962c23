//! The storage interface, every case against SQLite and PostgreSQL.

use std::collections::HashMap;

use app::dto::ingest::{CallEvent, CallFields, Direction, EventType, Outcome};
use server::{
    domain::audit::Actor,
    storage::{Planned, Pool, RollupValues, Storage, record::MergeError},
};
use time::{OffsetDateTime, macros::datetime};

use crate::databases::{TestDatabase, each_backend};

pub(crate) fn event(
    event_type: EventType,
    tenant: &str,
    call_id: &str,
    at: OffsetDateTime,
) -> CallEvent {
    CallEvent {
        event_type,
        user_id: tenant.into(),
        call_id: call_id.into(),
        at,
        call: (event_type == EventType::CallStarted).then(|| CallFields {
            phone_number: Some("+12345678900".into()),
            direction: Some(Direction::Inbound),
            agent_config_id: Some("agent-1".into()),
            livekit_room_name: Some(format!("room-{call_id}")),
            ..CallFields::default()
        }),
        outcome: (event_type == EventType::CallEnded).then_some(Outcome::Completed),
        end_reason: None,
        cost: None,
        turn: None,
        duration: None,
    }
}

/// `events` as if posted over HTTP.
fn http(events: &[CallEvent]) -> Vec<server::storage::Incoming> {
    server::storage::Incoming::all(events.to_vec(), app::dto::call_detail::EventSource::Http)
}

fn lifecycle(tenant: &str, call_id: &str) -> Vec<CallEvent> {
    vec![
        event(
            EventType::CallStarted,
            tenant,
            call_id,
            datetime!(2026-11-21 10:15:00 UTC),
        ),
        event(
            EventType::Heartbeat,
            tenant,
            call_id,
            datetime!(2026-11-21 10:15:20 UTC),
        ),
        event(
            EventType::CallEnded,
            tenant,
            call_id,
            datetime!(2026-11-21 10:16:40 UTC),
        ),
    ]
}

async fn totals(storage: &Storage, tenant: &str) -> RollupValues {
    let mut sum = RollupValues::default();
    for (_, values) in storage.rollup(tenant).await.unwrap() {
        sum.calls += values.calls;
        sum.ended += values.ended;
        sum.duration_sum += values.duration_sum;
        sum.duration_count += values.duration_count;
    }
    sum
}

#[tokio::test]
async fn a_call_lands_once_however_often_it_is_sent() {
    for db in each_backend().await {
        let storage = db.open().await;
        for _ in 0..3 {
            storage
                .write_batch(&http(&lifecycle("tenant-1", "call-1")))
                .await
                .unwrap();
        }
        assert_eq!(storage.count_calls().await.unwrap(), 1, "{}", db.url());
        let row = storage.call("call-1").await.unwrap().unwrap();
        assert_eq!(row.status.as_deref(), Some("ended"));
        assert_eq!(row.outcome.as_deref(), Some("completed"));
        assert_eq!(row.duration, Some(100));
        assert_eq!(row.phone_number.as_deref(), Some("+12345678900"));
        assert_eq!(row.last_heartbeat_at, Some(datetime!(2026-11-21 10:15:20)));
        // One call, ended, 100 s — however many replays.
        assert_eq!(
            totals(&storage, "tenant-1").await,
            RollupValues {
                calls: 1,
                ended: 1,
                duration_sum: 100,
                duration_count: 1
            },
            "{}",
            db.url()
        );
        let rollup = storage.rollup("tenant-1").await.unwrap();
        assert_eq!(rollup.len(), 1, "{rollup:?}");
        assert_eq!(rollup[0].0.hour, datetime!(2026-11-21 10:00:00));
        assert_eq!(rollup[0].0.outcome, "completed");
    }
}

#[tokio::test]
async fn out_of_order_events_give_the_same_row() {
    for db in each_backend().await {
        let storage = db.open().await;
        storage
            .write_batch(&http(&lifecycle("tenant-1", "in-order")))
            .await
            .unwrap();
        // One event per transaction, in reverse order.
        for event in lifecycle("tenant-1", "reversed").iter().rev() {
            storage
                .write_batch(&http(std::slice::from_ref(event)))
                .await
                .unwrap();
        }
        let mut in_order = storage.call("in-order").await.unwrap().unwrap();
        let reversed = storage.call("reversed").await.unwrap().unwrap();
        in_order.id = "reversed".into();
        in_order.livekit_room_name = Some("room-reversed".into());
        assert_eq!(in_order, reversed, "{}", db.url());
        assert_eq!(
            totals(&storage, "tenant-1").await,
            RollupValues {
                calls: 2,
                ended: 2,
                duration_sum: 200,
                duration_count: 2
            }
        );
    }
}

#[tokio::test]
async fn a_call_of_another_tenant_is_refused_and_left_alone() {
    for db in each_backend().await {
        let storage = db.open().await;
        storage
            .write_batch(&http(&lifecycle("tenant-1", "call-1")[..1]))
            .await
            .unwrap();
        let mut intruder = lifecycle("tenant-2", "call-1");
        intruder.truncate(1);
        intruder[0].event_type = EventType::CallUpdated;
        intruder[0].call = Some(CallFields {
            phone_number: Some("+1666".into()),
            ..CallFields::default()
        });
        let plan = storage.write_batch(&http(&intruder)).await.unwrap();
        assert_eq!(
            plan.events,
            vec![Planned::Rejected(MergeError::TenantMismatch {
                call_id: "call-1".into()
            })]
        );
        let row = storage.call("call-1").await.unwrap().unwrap();
        assert_eq!(row.user_id, "tenant-1");
        assert_eq!(row.phone_number.as_deref(), Some("+12345678900"));
        assert!(storage.rollup("tenant-2").await.unwrap().is_empty());
        assert_eq!(storage.tenant_name("tenant-2").await.unwrap(), None);
    }
}

#[tokio::test]
async fn new_tenants_are_registered_under_their_id() {
    for db in each_backend().await {
        let storage = db.open().await;
        storage
            .write_batch(&http(&lifecycle("acme", "call-1")))
            .await
            .unwrap();
        assert_eq!(
            storage.tenant_name("acme").await.unwrap().as_deref(),
            Some("acme")
        );
        assert_eq!(storage.tenant_name("nobody").await.unwrap(), None);
    }
}

#[tokio::test]
async fn concurrent_writers_lose_nothing() {
    for db in each_backend().await {
        let storage = db.open().await;
        // 40 calls, each event in its own transaction, all at once, interleaved across calls.
        let mut tasks = Vec::new();
        for call in 0..40 {
            for event in lifecycle(&format!("tenant-{}", call % 3), &format!("call-{call}")) {
                let storage = storage.clone();
                tasks.push(tokio::spawn(async move {
                    storage.write_batch(&http(&[event])).await.map(drop)
                }));
            }
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(storage.count_calls().await.unwrap(), 40, "{}", db.url());
        let mut all = RollupValues::default();
        for tenant in 0..3 {
            let values = totals(&storage, &format!("tenant-{tenant}")).await;
            all.calls += values.calls;
            all.ended += values.ended;
            all.duration_sum += values.duration_sum;
            all.duration_count += values.duration_count;
        }
        let expected = RollupValues {
            calls: 40,
            ended: 40,
            duration_sum: 4000,
            duration_count: 40,
        };
        assert_eq!(all, expected, "{}", db.url());
        assert!(storage.active_calls().await.unwrap().is_empty());
    }
}

/// Every tenant's period sums, keyed by (agent, outcome): (calls, ended, duration sum, count).
type AllTenants = HashMap<(String, String), (i64, i64, i64, i64)>;

fn keyed(totals: Vec<server::storage::reads::PeriodTotals>) -> AllTenants {
    let mut keyed = AllTenants::new();
    for row in totals {
        let sum = keyed.entry((row.agent_config_id, row.outcome)).or_default();
        sum.0 += row.calls;
        sum.1 += row.ended;
        sum.2 += row.duration_sum;
        sum.3 += row.duration_count;
    }
    keyed
}

/// What the all-tenant figures must say: each tenant's own figures (read straight from its
/// rollup rows) added up.
async fn tenant_by_tenant(
    storage: &Storage,
    tenants: &[&str],
    range: server::storage::reads::HourRange,
) -> (AllTenants, Vec<(time::PrimitiveDateTime, i64)>) {
    let mut totals = Vec::new();
    let mut per_hour = std::collections::BTreeMap::new();
    for tenant in tenants {
        totals.extend(storage.period_totals(Some(tenant), range).await.unwrap());
        for (hour, calls) in storage.calls_per_hour(Some(tenant), range).await.unwrap() {
            *per_hour.entry(hour).or_insert(0) += calls;
        }
    }
    (keyed(totals), per_hour.into_iter().collect())
}

#[tokio::test]
async fn every_tenant_figures_follow_every_write_whoever_writes_it() {
    for db in each_backend().await {
        // Two handles on one database: two servers, each remembering its own hours.
        let reader = db.open().await;
        let writer = Storage::connect(db.url()).await.unwrap();
        let now = OffsetDateTime::now_utc();
        let range = server::domain::figures::period(now, 168);
        let tenants = ["tenant-a", "tenant-b"];
        let started = |tenant: &str, call: &str, at: OffsetDateTime, agent: &str| {
            let mut event = event(EventType::CallStarted, tenant, call, at);
            if let Some(fields) = event.call.as_mut() {
                fields.agent_config_id = Some(agent.into());
            }
            event
        };
        let all_tenants = || async {
            let totals = keyed(reader.period_totals(None, range).await.unwrap());
            let per_hour = reader.calls_per_hour(None, range).await.unwrap();
            (totals, per_hour)
        };

        writer
            .write_batch(&http(&[
                started("tenant-a", "old", now - time::Duration::hours(3), "agent-a"),
                started("tenant-a", "a1", now, "agent-a"),
                started("tenant-b", "b1", now, "agent-b"),
            ]))
            .await
            .unwrap();
        let first = all_tenants().await;
        assert_eq!(
            first,
            tenant_by_tenant(&reader, &tenants, range).await,
            "{}",
            db.url()
        );
        assert_eq!(first.1.iter().map(|(_, calls)| calls).sum::<i64>(), 3);

        // The reader has every hour now; a write into an older hour by the other server (the
        // call of three hours ago ends), a new agent in the current hour, and a call started
        // before the period (outside it) must all show on the next read.
        let mut ended = event(EventType::CallEnded, "tenant-a", "old", now);
        ended.duration = Some(100);
        writer
            .write_batch(&http(&[
                ended,
                started("tenant-b", "b2", now, "agent-c"),
                started(
                    "tenant-b",
                    "long-ago",
                    now - time::Duration::hours(200),
                    "agent-b",
                ),
            ]))
            .await
            .unwrap();
        let second = all_tenants().await;
        assert_eq!(
            second,
            tenant_by_tenant(&reader, &tenants, range).await,
            "{}",
            db.url()
        );
        assert_ne!(second, first, "{}", db.url());
        assert_eq!(second.1.iter().map(|(_, calls)| calls).sum::<i64>(), 4);
        assert_eq!(
            second
                .0
                .get(&("agent-a".to_owned(), "completed".to_owned())),
            Some(&(1, 1, 100, 1)),
            "the old call, ended: {}",
            db.url()
        );

        // A shorter period reads the same remembered hours, cut to its own.
        let hour = server::domain::figures::period(now, 1);
        assert_eq!(
            keyed(reader.period_totals(None, hour).await.unwrap()),
            tenant_by_tenant(&reader, &tenants, hour).await.0,
            "{}",
            db.url()
        );
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    for db in each_backend().await {
        let storage = db.open().await;
        storage.migrate().await.unwrap();
        Storage::open(db.url()).await.unwrap();
    }
}

/// A `call_logs` table created by the old backend (seed 000's schema, with data) stays readable,
/// and its history feeds the rollups and the tenant list.
#[tokio::test]
async fn an_existing_seed_table_is_adopted() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let storage = Storage::connect(db.url()).await.unwrap();
    let Pool::Postgres(pool) = storage.pool() else {
        unreachable!()
    };
    sqlx::raw_sql(
        r#"CREATE TABLE call_logs (
            id VARCHAR(36) PRIMARY KEY, "userId" VARCHAR(36) NOT NULL, "agentConfigId" VARCHAR(36),
            "phoneNumber" TEXT, "startedAt" TIMESTAMP NOT NULL, "endedAt" TIMESTAMP,
            "livekitRoomName" VARCHAR(255), "livekitRoomSid" VARCHAR(100) UNIQUE,
            direction VARCHAR(20) DEFAULT 'inbound', status VARCHAR(50) DEFAULT 'ended',
            outcome VARCHAR(50), duration INTEGER, "sipCallId" VARCHAR(255), "recordingUrl" VARCHAR(512),
            call_metadata JSONB, "createdAt" TIMESTAMP DEFAULT NOW(), "updatedAt" TIMESTAMP DEFAULT NOW());
        INSERT INTO call_logs (id, "userId", "startedAt", "endedAt", status, outcome, duration)
        VALUES ('old-1', 'legacy', '2025-10-30 12:00:00', '2025-10-30 12:01:00', 'ended', 'completed', 60),
               ('old-2', 'legacy', '2025-10-30 12:30:00', NULL, 'active', NULL, NULL);"#,
    )
    .execute(pool)
    .await
    .unwrap();
    storage.migrate().await.unwrap();

    let old = storage.call("old-1").await.unwrap().unwrap();
    assert_eq!(old.duration, Some(60));
    assert_eq!(
        storage.tenant_name("legacy").await.unwrap().as_deref(),
        Some("legacy")
    );
    assert_eq!(
        totals(&storage, "legacy").await,
        RollupValues {
            calls: 2,
            ended: 1,
            duration_sum: 60,
            duration_count: 1
        }
    );
    // New events for an old call keep the rollup exact.
    let end = CallEvent {
        outcome: Some(Outcome::NoAnswer),
        ..event(
            EventType::CallEnded,
            "legacy",
            "old-2",
            datetime!(2025-10-30 12:30:30 UTC),
        )
    };
    storage.write_batch(&http(&[end])).await.unwrap();
    assert_eq!(
        totals(&storage, "legacy").await,
        RollupValues {
            calls: 2,
            ended: 2,
            duration_sum: 90,
            duration_count: 2
        }
    );
    let by_outcome: HashMap<String, i64> = storage
        .rollup("legacy")
        .await
        .unwrap()
        .into_iter()
        .map(|(key, values)| (key.outcome, values.calls))
        .collect();
    assert_eq!(by_outcome.get("no_answer"), Some(&1));
    assert_eq!(
        by_outcome.get("").copied().unwrap_or(0),
        0,
        "no call is active any more"
    );
}

#[tokio::test]
async fn dashboard_users_are_validated_and_their_passwords_hashed() {
    use server::domain::users::{NewUser, Role, UserError, add_user, verify_password};
    for db in each_backend().await {
        let storage = db.open().await;
        storage
            .set_tenant_name("acme", "Acme Dental")
            .await
            .unwrap();
        let admin = NewUser {
            email: "Ops@Example.com".into(),
            role: Role::Admin,
            tenant: None,
        };
        add_user(&storage, &admin, "long enough secret", Actor::cli(None))
            .await
            .unwrap();
        let hash = storage
            .user_by_email("ops@example.com")
            .await
            .unwrap()
            .unwrap()
            .password_hash;
        assert!(verify_password(&hash, "long enough secret"), "{}", db.url());
        assert!(!hash.contains("long enough secret"));

        let tenant = NewUser {
            email: "owner@acme.test".into(),
            role: Role::Owner,
            tenant: Some("acme".into()),
        };
        add_user(&storage, &tenant, "another long one", Actor::cli(None))
            .await
            .unwrap();

        let refused = [
            (admin.clone(), "long enough secret", "already exists"),
            (
                NewUser {
                    email: "x@y.z".into(),
                    ..tenant.clone()
                },
                "short",
                "at least 10",
            ),
            (
                NewUser {
                    email: "not-an-email".into(),
                    ..admin.clone()
                },
                "long enough secret",
                "email",
            ),
            (
                NewUser {
                    tenant: None,
                    email: "a@b.c".into(),
                    ..tenant.clone()
                },
                "long enough secret",
                "needs --tenant",
            ),
            (
                NewUser {
                    tenant: Some("acme".into()),
                    email: "a@b.c".into(),
                    ..admin.clone()
                },
                "long enough secret",
                "no --tenant",
            ),
            (
                NewUser {
                    tenant: Some("nobody".into()),
                    email: "a@b.c".into(),
                    ..tenant.clone()
                },
                "long enough secret",
                "unknown tenant",
            ),
        ];
        for (user, password, expected) in refused {
            let error = add_user(&storage, &user, password, Actor::cli(None))
                .await
                .unwrap_err();
            assert!(
                error.to_string().contains(expected),
                "{}: {error}",
                db.url()
            );
            assert!(!matches!(error, UserError::Storage(_)));
        }
    }
}
