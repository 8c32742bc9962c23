//! Agents' response latency over a period (issue 25): agent turns are counted in per-hour
//! histograms beside the rollup, by their call's tenant, start hour and agent, on both backends;
//! a period's figures add its hours up, every tenant's come from the servers' per-hour sums
//! (kept current by the hour versions), and each figure is within one bucket of the exact one.

use std::collections::BTreeMap;

use app::dto::{
    dashboard::AgentPerformanceResponse,
    ingest::{CallEvent, CallFields, EventType, Turn, TurnRole},
    latency::{LATENCY_BUCKETS_MS, ResponseLatency, latency_bucket},
};
use serde_json::json;
use server::storage::{
    Incoming, Storage,
    reads::{HourRange, LatencyTotals},
};
use time::{Duration, OffsetDateTime, PrimitiveDateTime, Time};

use crate::{databases::each_backend, helpers::spawn_app};

/// The hour of `now` and `back` hours before it, as a period.
fn hours(now: OffsetDateTime, back: i64) -> HourRange {
    let last =
        PrimitiveDateTime::new(now.date(), Time::MIDNIGHT) + Duration::hours(now.hour().into());
    HourRange {
        first: last - Duration::hours(back),
        last,
    }
}

fn started(tenant: &str, call_id: &str, at: OffsetDateTime, agent: &str) -> CallEvent {
    CallEvent {
        call: Some(CallFields {
            agent_config_id: Some(agent.to_owned()),
            ..CallFields::default()
        }),
        ..CallEvent::new(EventType::CallStarted, tenant, call_id, at)
    }
}

fn turn(tenant: &str, call_id: &str, role: TurnRole, latency: Option<i64>) -> CallEvent {
    CallEvent {
        turn: Some(Turn {
            role,
            text: "…".to_owned(),
            latency_ms: latency,
            interrupted: None,
        }),
        ..CallEvent::new(EventType::Turn, tenant, call_id, OffsetDateTime::now_utc())
    }
}

async fn write(storage: &Storage, events: Vec<CallEvent>) {
    let events = Incoming::all(events, app::dto::call_detail::EventSource::Http);
    storage.write_batch(&events).await.unwrap();
}

/// (agent, bucket) → turns, as a map to compare.
fn counts(rows: Vec<LatencyTotals>) -> BTreeMap<(String, i32), i64> {
    rows.into_iter()
        .map(|row| ((row.agent_config_id, row.bucket), row.turns))
        .collect()
}

fn bucket(ms: i64) -> i32 {
    latency_bucket(ms) as i32
}

#[tokio::test]
async fn agent_turns_are_counted_by_their_calls_hour_and_agent_and_periods_add_up() {
    for db in each_backend().await {
        let storage = db.open().await;
        // One instant for the calls' start hours and the periods asked for.
        let now = OffsetDateTime::now_utc();
        let hours = |back| hours(now, back);
        let tenant_1 = [300, 450, 900, 1_200, 2_600];
        let mut events = vec![
            started("tenant-1", "a1", now, "ava"),
            // Three hours before, so only periods reaching back that far hold its turn.
            started("tenant-1", "a0", now - Duration::hours(3), "ava"),
            turn("tenant-1", "a0", TurnRole::Agent, Some(5_000)),
            // Not the agent's answers: neither counts.
            turn("tenant-1", "a1", TurnRole::Caller, Some(700)),
            turn("tenant-1", "a1", TurnRole::Agent, None),
            started("tenant-2", "b1", now, "ava"),
            turn("tenant-2", "b1", TurnRole::Agent, Some(100)),
        ];
        events.extend(
            tenant_1
                .iter()
                .map(|&ms| turn("tenant-1", "a1", TurnRole::Agent, Some(ms))),
        );
        write(&storage, events).await;

        let this_hour = counts(
            storage
                .latency_totals(Some("tenant-1"), hours(0))
                .await
                .unwrap(),
        );
        let expected: BTreeMap<(String, i32), i64> = tenant_1
            .iter()
            .map(|&ms| (("ava".to_owned(), bucket(ms)), 1))
            .collect();
        assert_eq!(this_hour, expected, "{}", db.url());
        // Four hours: the older call's turn too, its own hour's row added in.
        let four_hours = counts(
            storage
                .latency_totals(Some("tenant-1"), hours(3))
                .await
                .unwrap(),
        );
        let older = counts(
            storage
                .latency_totals(Some("tenant-1"), hours(3))
                .await
                .unwrap(),
        )
        .into_iter()
        .filter(|(key, _)| !this_hour.contains_key(key))
        .collect::<Vec<_>>();
        assert_eq!(older, [(("ava".to_owned(), bucket(5_000)), 1)]);
        assert_eq!(four_hours.values().sum::<i64>(), 6);

        // Every tenant: the two tenants' rows summed, from the per-hour sums.
        let every = counts(storage.latency_totals(None, hours(0)).await.unwrap());
        let mut both = expected.clone();
        *both.entry(("ava".to_owned(), bucket(100))).or_default() += 1;
        assert_eq!(every, both, "{}", db.url());
        // A later write moves the hour's version, and every tenant's figures follow.
        write(
            &storage,
            vec![turn("tenant-2", "b1", TurnRole::Agent, Some(100))],
        )
        .await;
        let every = counts(storage.latency_totals(None, hours(0)).await.unwrap());
        assert_eq!(every[&("ava".to_owned(), bucket(100))], 2, "{}", db.url());
        // Another tenant's turns are not the tenant's.
        let tenant_2 = counts(
            storage
                .latency_totals(Some("tenant-2"), hours(0))
                .await
                .unwrap(),
        );
        assert_eq!(
            tenant_2,
            BTreeMap::from([(("ava".to_owned(), bucket(100)), 2)])
        );
    }
}

#[tokio::test]
async fn a_calls_turns_follow_it_when_its_agent_or_hour_changes() {
    for db in each_backend().await {
        let storage = db.open().await;
        let now = OffsetDateTime::now_utc();
        // Turns arrive before anything names the agent: counted under "no agent" for now.
        write(
            &storage,
            vec![
                turn("tenant-1", "late", TurnRole::Agent, Some(300)),
                turn("tenant-1", "late", TurnRole::Agent, Some(300)),
            ],
        )
        .await;
        let before = counts(
            storage
                .latency_totals(Some("tenant-1"), hours(now, 0))
                .await
                .unwrap(),
        );
        assert_eq!(
            before,
            BTreeMap::from([((String::new(), bucket(300)), 2)]),
            "{}",
            db.url()
        );
        // The start arrives late, naming the agent and an earlier hour: the turns move with the
        // call, as its rollup row does.
        write(
            &storage,
            vec![started("tenant-1", "late", now - Duration::hours(2), "ava")],
        )
        .await;
        let this_hour = counts(
            storage
                .latency_totals(Some("tenant-1"), hours(now, 0))
                .await
                .unwrap(),
        );
        assert!(this_hour.is_empty(), "{}: {this_hour:?}", db.url());
        let since = counts(
            storage
                .latency_totals(Some("tenant-1"), hours(now, 2))
                .await
                .unwrap(),
        );
        assert_eq!(
            since,
            BTreeMap::from([(("ava".to_owned(), bucket(300)), 2)]),
            "{}",
            db.url()
        );
        // Every tenant's remembered hours agree.
        let every = counts(storage.latency_totals(None, hours(now, 2)).await.unwrap());
        assert_eq!(every, since, "{}", db.url());
    }
}

#[tokio::test]
async fn agent_performance_gives_each_agents_response_times_within_a_bucket_of_exact() {
    let app = spawn_app().await;
    let now = OffsetDateTime::now_utc();
    let at = |seconds: i64| {
        (now - Duration::seconds(seconds))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let latencies = [380, 420, 610, 650, 700, 880, 1_050, 1_400, 2_100, 4_200];
    let mut events = vec![
        json!({"type": "call_started", "user_id": "acme", "call_id": "acme-1", "at": at(60),
               "call": {"agentConfigId": "front-desk"}}),
        json!({"type": "call_started", "user_id": "globex", "call_id": "globex-1", "at": at(60),
               "call": {"agentConfigId": "front-desk"}}),
        json!({"type": "turn", "user_id": "globex", "call_id": "globex-1", "at": at(50),
               "turn": {"role": "agent", "text": "Globex here", "latency_ms": 9_000}}),
    ];
    events.extend(latencies.iter().map(|ms| {
        json!({"type": "turn", "user_id": "acme", "call_id": "acme-1", "at": at(30),
               "turn": {"role": "agent", "text": "Sure.", "latency_ms": ms}})
    }));
    assert_eq!(app.ingest(&json!(events)).await.status(), 200);

    let acme: AgentPerformanceResponse = app
        .get_as(
            "/api/dashboard/agent-performance?hours=2",
            &app.token(Some("acme")),
        )
        .await
        .json()
        .await
        .unwrap();
    let answered = acme.agents[0].response_latency.unwrap();
    let exact = ResponseLatency::of(latencies).unwrap();
    assert_eq!(answered.samples, latencies.len());
    for (approximate, exact) in [
        (answered.p50_ms, exact.p50_ms),
        (answered.p95_ms, exact.p95_ms),
    ] {
        // The upper edge of the exact figure's bucket.
        assert_eq!(approximate, LATENCY_BUCKETS_MS[latency_bucket(exact)]);
        assert!(approximate >= exact);
    }
    // Globex's slow answer is not acme's; every tenant's figure has both.
    assert!(answered.p95_ms < 9_000);
    let every: AgentPerformanceResponse = app
        .get_as("/api/dashboard/agent-performance?hours=2", &app.token(None))
        .await
        .json()
        .await
        .unwrap();
    let all = every.agents[0].response_latency.unwrap();
    assert_eq!(all.samples, latencies.len() + 1);
    assert_eq!(all.p95_ms, 10_000);
}
