//! One event the database cannot take never sinks the rest of its batch, on SQLite and on
//! PostgreSQL: a refused transaction is split until only the refused events remain (and those go
//! to the DLQ), text PostgreSQL cannot hold is refused at validation, and a room sid already held
//! by another of the tenant's calls is refused for that event alone — never across tenants.

use app::dto::ingest::{EventStatus, IngestResponse};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::storage::Pool;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    databases::each_backend,
    helpers::{TestApp, spawn_app_with},
};

fn started(tenant: &str, call_id: &str, call: Value) -> Value {
    let at = OffsetDateTime::now_utc().format(&Rfc3339).unwrap();
    json!({"type": "call_started", "user_id": tenant, "call_id": call_id, "at": at, "call": call})
}

/// Twenty calls of `tenant` that any database takes.
fn good_calls(tenant: &str) -> Vec<Value> {
    (0..20)
        .map(|n| {
            let call_id = format!("{tenant}-good-{n}");
            started(
                tenant,
                &call_id,
                json!({"livekitRoomSid": format!("RM_{call_id}")}),
            )
        })
        .collect()
}

async fn post(app: &TestApp, batch: &[Value]) -> (StatusCode, IngestResponse) {
    let response = app.ingest(&json!(batch)).await;
    (response.status(), response.json().await.unwrap())
}

fn statuses(reply: &IngestResponse) -> Vec<(EventStatus, Option<&str>)> {
    reply
        .results
        .iter()
        .map(|result| (result.status, result.code.as_deref()))
        .collect()
}

async fn stored(app: &TestApp, call_id: &str) -> bool {
    app.state.storage.call(call_id).await.unwrap().is_some()
}

#[tokio::test]
async fn a_batch_the_database_refuses_is_split_so_only_the_refused_event_is_queued() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        // A real refusal from the database itself: a trigger that rejects one call's row.
        match app.state.storage.pool() {
            Pool::Sqlite(pool) => {
                sqlx::raw_sql(
                    "CREATE TRIGGER poison BEFORE INSERT ON call_logs WHEN NEW.id = 'poison' \
                     BEGIN SELECT RAISE(ABORT, 'poisoned row'); END",
                )
                .execute(pool)
                .await
                .unwrap();
            }
            Pool::Postgres(pool) => {
                sqlx::raw_sql(
                    "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                       IF NEW.id = 'poison' THEN RAISE EXCEPTION 'poisoned row'; END IF; \
                       RETURN NEW; END $$; \
                     CREATE TRIGGER poison BEFORE INSERT ON call_logs \
                       FOR EACH ROW EXECUTE FUNCTION poison()",
                )
                .execute(pool)
                .await
                .unwrap();
            }
        }
        let mut batch = good_calls("acme");
        batch.insert(13, started("acme", "poison", json!({})));

        let (status, reply) = post(&app, &batch).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{:?}", db.url());
        assert_eq!((reply.stored, reply.queued, reply.rejected), (20, 1, 0));
        assert_eq!(reply.results[13].status, EventStatus::Queued);
        assert_eq!(app.state.storage.count_calls().await.unwrap(), 20);
        let letters = app.state.dlq.list(10).await.unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].event.0.call_id, "poison");
        assert!(
            letters[0].error.contains("poisoned row"),
            "{}",
            letters[0].error
        );
    }
}

#[tokio::test]
async fn text_postgresql_cannot_hold_is_refused_for_its_event_alone() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        let mut batch = good_calls("acme");
        batch.push(started(
            "acme",
            "nul",
            json!({"call_metadata": {"notes": "before\u{0}after"}}),
        ));

        let (status, reply) = post(&app, &batch).await;
        assert_eq!(status, StatusCode::MULTI_STATUS);
        assert_eq!((reply.stored, reply.queued, reply.rejected), (20, 0, 1));
        let refused = &reply.results[20];
        assert_eq!(refused.code.as_deref(), Some("invalid_event"));
        assert!(
            refused
                .error
                .as_deref()
                .unwrap()
                .starts_with("call.call_metadata.notes: contains U+0000"),
            "{refused:?}"
        );
        assert!(!stored(&app, "nul").await);
        assert_eq!(app.state.dlq.depth().await.unwrap(), 0);
    }
}

#[tokio::test]
async fn a_room_sid_held_by_another_call_of_the_tenant_is_refused_for_that_event_alone() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        let (status, _) = post(
            &app,
            &[started(
                "acme",
                "acme-1",
                json!({"livekitRoomSid": "RM_shared"}),
            )],
        )
        .await;
        assert_eq!(status, StatusCode::OK);

        // Another tenant sending the same sid neither fails nor blocks anything: its rooms are
        // its own.
        let mut batch = good_calls("globex");
        batch.push(started(
            "globex",
            "globex-1",
            json!({"livekitRoomSid": "RM_shared"}),
        ));
        let (status, reply) = post(&app, &batch).await;
        assert_eq!(status, StatusCode::OK, "{:?}", statuses(&reply));
        assert_eq!(reply.stored, 21);

        // The same tenant claiming it for a second call: that event is refused, the rest stored.
        let mut batch = good_calls("acme");
        batch.insert(
            5,
            started("acme", "acme-2", json!({"livekitRoomSid": "RM_shared"})),
        );
        let (status, reply) = post(&app, &batch).await;
        assert_eq!(status, StatusCode::MULTI_STATUS);
        assert_eq!((reply.stored, reply.queued, reply.rejected), (20, 0, 1));
        let refused = &reply.results[5];
        assert_eq!(refused.code.as_deref(), Some("room_sid_taken"));
        assert_eq!(
            refused.error.as_deref(),
            Some("call acme-2: livekitRoomSid RM_shared is already held by call acme-1")
        );
        assert!(!stored(&app, "acme-2").await);
        for (call, holder) in [("acme-1", "acme"), ("globex-1", "globex")] {
            let row = app.state.storage.call(call).await.unwrap().unwrap();
            assert_eq!(
                (row.user_id.as_str(), row.livekit_room_sid.as_deref()),
                (holder, Some("RM_shared"))
            );
        }
        assert_eq!(app.state.dlq.depth().await.unwrap(), 0);
    }
}

#[tokio::test]
async fn two_calls_claiming_one_room_sid_at_once_get_one_answer_each_and_nothing_queued() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        // Pairs of single-event requests sent together: on PostgreSQL the writers run side by
        // side, so a pair is planned in one batch or raced in two; either way one call holds
        // the room and the other is told why it does not.
        let app = &app;
        let requests = (0..20).flat_map(|n| {
            ["a", "b"].map(move |side| {
                let event = started(
                    "acme",
                    &format!("{side}-{n}"),
                    json!({"livekitRoomSid": format!("RM_{n}")}),
                );
                async move {
                    app.ingest(&event)
                        .await
                        .json::<IngestResponse>()
                        .await
                        .unwrap()
                }
            })
        });
        let replies = futures::future::join_all(requests).await;
        for pair in replies.chunks(2) {
            let mut codes: Vec<Option<&str>> = pair
                .iter()
                .map(|reply| reply.results[0].code.as_deref())
                .collect();
            codes.sort_unstable();
            assert_eq!(codes, [None, Some("room_sid_taken")], "{pair:?}");
        }
        assert_eq!(app.state.storage.count_calls().await.unwrap(), 20);
        assert_eq!(app.state.dlq.depth().await.unwrap(), 0);
    }
}
