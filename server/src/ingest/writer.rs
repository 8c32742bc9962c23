//! The [`Ingestor`]: submissions go through a queue to writer tasks, which take everything that
//! has queued up (up to [`MAX_EVENTS_PER_TRANSACTION`]) into one transaction. Under load that
//! turns thousands of single-event requests into a few dozen commits per second; at rest a lone
//! event is written at once, with no added wait.
//!
//! An event is answered only after its transaction committed (`Stored`), or after a failed write
//! put it durably in the dead-letter queue (`Queued`). If even the queue cannot take it, the
//! answer is `Unavailable` and the producer must send it again: nothing is acknowledged that is
//! not on disk.
//!
//! After each commit the live registry is updated and each change published on the bus.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use app::dto::{
    admin::FailureKind,
    call_detail::EventSource,
    ingest::{CallEvent, EventType},
};
use rand::Rng;
use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc, oneshot};
use tracing::{debug, warn};

use super::Gate;
use crate::{
    dlq::DeadLetterQueue,
    live::{
        bus::{BusEvent, CallChange, EventBus},
        redis::RedisLink,
        registry::LiveRegistry,
    },
    storage::{
        BatchPlan, Incoming, Planned, Storage, StorageError,
        record::MergeError,
        timeline::{LoggedEvent, TurnRow},
    },
};

/// Most events in one transaction.
pub const MAX_EVENTS_PER_TRANSACTION: usize = 1_000;
/// Submissions that may wait for a writer before `submit` itself waits (backpressure).
const QUEUE_CAPACITY: usize = 4_096;
/// Request bodies being read, parsed or written at once, in bytes ([`Ingestor::body_room`]):
/// with their parsed events (a few times their size), what ingest holds in memory.
pub const BODIES_IN_FLIGHT: usize = 64 * 1024 * 1024;
/// [`BODIES_IN_FLIGHT`] is counted in these units.
const BODY_UNIT: usize = 1024;

/// What became of one submitted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    Stored,
    /// The write failed; the event is in the dead-letter queue. The reason is kept there.
    Queued,
    Rejected(MergeError),
    /// Neither written nor queued: the producer must retry.
    Unavailable(String),
}

/// Makes a share of writes fail on purpose, so the DLQ path runs for real in the demo and tests.
#[derive(Debug, Default)]
pub struct FailureInjector {
    percent: AtomicU32,
}

impl FailureInjector {
    pub fn new(percent: u32) -> Self {
        Self {
            percent: AtomicU32::new(percent.min(100)),
        }
    }

    pub fn set_percent(&self, percent: u32) {
        self.percent.store(percent.min(100), Ordering::Relaxed);
    }

    pub fn percent(&self) -> u32 {
        self.percent.load(Ordering::Relaxed)
    }

    fn should_fail(&self) -> bool {
        let percent = self.percent();
        percent > 0 && rand::rng().random_range(0..100) < percent
    }
}

pub const INJECTED_FAILURE: &str = "injected write failure (SWITCHBOARD_INJECT_WRITE_FAILURES)";
/// Injected failures stand for the database refusing an event, so the path that spends
/// attempts and ends in a final failure runs for real.
const INJECTED_KIND: FailureKind = FailureKind::Refusal;

/// Why a direct write (a dead letter's retry) failed, and whose fault that was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFailure {
    pub error: String,
    pub kind: FailureKind,
}

struct Job {
    events: Vec<Incoming>,
    reply: oneshot::Sender<Vec<WriteOutcome>>,
}

/// What the writer tasks share: where rows go, where failures go, and who hears of changes.
pub struct Writer {
    pub storage: Storage,
    pub dlq: DeadLetterQueue,
    pub bus: EventBus,
    pub registry: Arc<LiveRegistry>,
    pub injector: Arc<FailureInjector>,
    /// Redis mode: live keys and fan-out to other instances.
    pub redis: Option<RedisLink>,
}

#[derive(Clone)]
pub struct Ingestor {
    queue: mpsc::Sender<Job>,
    writer: Arc<Writer>,
    gate: Arc<Gate>,
    bodies: Arc<tokio::sync::Semaphore>,
}

impl Ingestor {
    /// Starts `workers` writer tasks. SQLite takes one writer at a time, so more only help
    /// PostgreSQL.
    pub fn start(writer: Writer, gate: Gate, workers: usize) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let receiver = Arc::new(Mutex::new(receiver));
        let writer = Arc::new(writer);
        for _ in 0..workers.max(1) {
            tokio::spawn(run_worker(Arc::clone(&receiver), Arc::clone(&writer)));
        }
        Self {
            queue,
            writer,
            gate: Arc::new(gate),
            bodies: Arc::new(tokio::sync::Semaphore::new(BODIES_IN_FLIGHT / BODY_UNIT)),
        }
    }

    /// Room for a request body of `bytes` (at most [`BODIES_IN_FLIGHT`] in all), held until
    /// the request is answered; waits while other bodies fill it.
    pub async fn body_room(&self, bytes: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let units = bytes
            .div_ceil(BODY_UNIT)
            .clamp(1, BODIES_IN_FLIGHT / BODY_UNIT);
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        Arc::clone(&self.bodies)
            .acquire_many_owned(units)
            .await
            .ok()
    }

    pub fn injector(&self) -> &FailureInjector {
        &self.writer.injector
    }

    /// Writes `events`, received from `source`, answering once each is stored, queued or
    /// refused (same order). An event the [`Gate`] refuses is answered at once and the others
    /// are written.
    pub async fn submit(&self, events: Vec<CallEvent>, source: EventSource) -> Vec<WriteOutcome> {
        let refused = self.gate.admit(&events);
        if refused.iter().all(Option::is_none) {
            return self.enqueue(Incoming::all(events, source)).await;
        }
        let admitted: Vec<Incoming> = events
            .into_iter()
            .zip(&refused)
            .filter(|(_, refusal)| refusal.is_none())
            .map(|(event, _)| Incoming { event, source })
            .collect();
        let mut written = self.enqueue(admitted).await.into_iter();
        refused
            .into_iter()
            .map(|refusal| match refusal {
                Some(error) => WriteOutcome::Rejected(error),
                None => written
                    .next()
                    .unwrap_or_else(|| WriteOutcome::Unavailable("not processed".to_owned())),
            })
            .collect()
    }

    async fn enqueue(&self, events: Vec<Incoming>) -> Vec<WriteOutcome> {
        if events.is_empty() {
            return Vec::new();
        }
        let count = events.len();
        let (reply, answer) = oneshot::channel();
        if self.queue.send(Job { events, reply }).await.is_err() {
            return vec![
                WriteOutcome::Unavailable("the server is shutting down".to_owned());
                count
            ];
        }
        answer.await.unwrap_or_else(|_| {
            vec![WriteOutcome::Unavailable("the writer stopped".to_owned()); count]
        })
    }

    /// Writes `events` now, in one transaction, without falling back to the DLQ: for the DLQ's own
    /// retries (logged as [`EventSource::DlqReplay`]). `Err` carries the failure.
    pub async fn write_now(&self, events: &[CallEvent]) -> Result<Vec<WriteOutcome>, WriteFailure> {
        let events = Incoming::all(events.to_vec(), EventSource::DlqReplay);
        self.writer.write_direct(&events).await
    }

    /// Writes the server's own repairs (reconciliation) in one transaction, all or nothing,
    /// then updates the registry, Redis and the bus as after any write. Failure injection,
    /// which stands for a producer's writes failing, does not apply.
    pub async fn write_repairs(
        &self,
        events: &[CallEvent],
    ) -> Result<Vec<WriteOutcome>, crate::storage::StorageError> {
        let events = Incoming::all(events.to_vec(), EventSource::Reconciliation);
        let plan = self.writer.storage.write_batch(&events).await?;
        Ok(self.writer.after_commit(&events, plan).await)
    }
}

async fn run_worker(receiver: Arc<Mutex<mpsc::Receiver<Job>>>, writer: Arc<Writer>) {
    loop {
        let jobs = {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut total = first.events.len();
            let mut jobs = vec![first];
            while total < MAX_EVENTS_PER_TRANSACTION {
                match receiver.try_recv() {
                    Ok(job) => {
                        total += job.events.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            jobs
        };
        writer.write_jobs(jobs).await;
    }
}

impl Writer {
    async fn write_jobs(&self, jobs: Vec<Job>) {
        // Each event goes either into the transaction or, when injection picks it, to the DLQ;
        // `injected` remembers which, so answers can be handed back in request order.
        let mut batch = Vec::new();
        let mut failing = Vec::new();
        let injected: Vec<Vec<bool>> = jobs
            .iter()
            .map(|job| {
                job.events
                    .iter()
                    .map(|event| {
                        let fail = self.injector.should_fail();
                        if fail { &mut failing } else { &mut batch }.push(event.clone());
                        fail
                    })
                    .collect()
            })
            .collect();
        let failed = if failing.is_empty() {
            None
        } else {
            Some(self.queue(&failing, INJECTED_FAILURE, INJECTED_KIND).await)
        };
        let mut written = if batch.is_empty() {
            Vec::new()
        } else {
            debug!(events = batch.len(), requests = jobs.len(), "transaction");
            self.write_or_split(&batch).await
        }
        .into_iter();
        for (job, injected) in jobs.into_iter().zip(injected) {
            let outcomes = injected
                .into_iter()
                .map(|fail| {
                    let outcome = if fail { failed.clone() } else { written.next() };
                    outcome.unwrap_or_else(|| WriteOutcome::Unavailable("not processed".to_owned()))
                })
                .collect();
            // The producer may have hung up; its events are written all the same.
            let _ = job.reply.send(outcomes);
        }
    }

    /// Writes `events` in one transaction. When the database refuses it, the halves are
    /// written on their own, and theirs again, so the events it refuses alone go to the DLQ and
    /// every other event of the batch is stored. A database that cannot be reached fails every
    /// part alike: then the batch is queued whole, at once.
    async fn write_or_split(&self, events: &[Incoming]) -> Vec<WriteOutcome> {
        match self.storage.write_batch(events).await {
            Ok(plan) => self.after_commit(events, plan).await,
            Err(error) if events.len() > 1 && error.failure().may_split() => {
                debug!(%error, events = events.len(), "batch refused; writing its halves");
                let (first, second) = events.split_at(events.len() / 2);
                let mut outcomes = Box::pin(self.write_or_split(first)).await;
                outcomes.extend(Box::pin(self.write_or_split(second)).await);
                outcomes
            }
            Err(error) if error.failure().may_split() => {
                // Alone, once more: a conflict with a batch committed meanwhile (two calls
                // claiming one room sid at once) is then planned against what it wrote.
                match self.storage.write_batch(events).await {
                    Ok(plan) => self.after_commit(events, plan).await,
                    Err(error) => self.queue_failed(events, &error).await,
                }
            }
            Err(error) => self.queue_failed(events, &error).await,
        }
    }

    async fn queue_failed(&self, events: &[Incoming], error: &StorageError) -> Vec<WriteOutcome> {
        let kind = error.failure().kind();
        warn!(%error, kind = kind.as_str(), events = events.len(), "write failed; queueing for retry");
        vec![self.queue(events, &error.to_string(), kind).await; events.len()]
    }

    async fn write_direct(&self, events: &[Incoming]) -> Result<Vec<WriteOutcome>, WriteFailure> {
        if events.iter().any(|_| self.injector.should_fail()) {
            return Err(WriteFailure {
                error: INJECTED_FAILURE.to_owned(),
                kind: INJECTED_KIND,
            });
        }
        let plan = self
            .storage
            .write_batch(events)
            .await
            .map_err(|error| WriteFailure {
                kind: error.failure().kind(),
                error: error.to_string(),
            })?;
        Ok(self.after_commit(events, plan).await)
    }

    /// Puts events in the DLQ after a failed write.
    async fn queue(&self, events: &[Incoming], error: &str, kind: FailureKind) -> WriteOutcome {
        let events: Vec<CallEvent> = events
            .iter()
            .map(|incoming| incoming.event.clone())
            .collect();
        match self.dlq.push(&events, error, kind).await {
            Ok(()) => {
                if let Ok(depth) = self.dlq.depth().await {
                    let event = BusEvent::DlqChanged { depth };
                    crate::live::announce(&self.bus, self.redis.as_ref(), event).await;
                }
                WriteOutcome::Queued
            }
            Err(dlq_error) => {
                warn!(%dlq_error, write_error = error, "the dead-letter queue refused events too");
                WriteOutcome::Unavailable(format!("storage unavailable: {error}"))
            }
        }
    }

    /// Updates the registry, publishes the changes (and what each call's page gained) and maps
    /// the plan to outcomes.
    async fn after_commit(&self, events: &[Incoming], plan: BatchPlan) -> Vec<WriteOutcome> {
        let now = OffsetDateTime::now_utc();
        for row in plan.changed.values() {
            self.registry.track(row, now);
        }
        let mut published = Vec::new();
        // Each event's news carries its call's final row: one heartbeat per call says it all.
        let mut heartbeat_told: HashSet<String> = HashSet::new();
        let outcomes = events
            .iter()
            .map(|incoming| &incoming.event)
            .zip(&plan.events)
            .map(|(event, planned)| match planned {
                Planned::Applied { changed } => {
                    if let (true, Some(row)) = (changed, plan.changed.get(&event.call_id))
                        && (event.event_type != EventType::Heartbeat
                            || heartbeat_told.insert(event.call_id.clone()))
                    {
                        let call = Box::new(row.live_copy());
                        published.push(match event.event_type {
                            EventType::CallStarted => BusEvent::Call {
                                change: CallChange::Started,
                                call,
                            },
                            // A turn changes the row only when it is the call's first news.
                            EventType::CallUpdated | EventType::Turn => BusEvent::Call {
                                change: CallChange::Updated,
                                call,
                            },
                            EventType::CallEnded => BusEvent::Call {
                                change: CallChange::Ended,
                                call,
                            },
                            EventType::Heartbeat => BusEvent::Heartbeat { call },
                        });
                    }
                    WriteOutcome::Stored
                }
                Planned::Rejected(error) => WriteOutcome::Rejected(error.clone()),
            })
            .collect();
        // A heartbeat's bus event carries the call's row, which is all its page gains from it.
        published.extend(timelines(plan, &heartbeat_told));
        if let Some(redis) = &self.redis {
            redis.after_commit(&published).await;
        }
        for event in published {
            self.bus.publish(event);
        }
        outcomes
    }
}

/// One [`BusEvent::Timeline`] per call the write changed: its row as it now stands, with the log
/// entries and turns the write added to it (moved, not copied). None for a call whose only news
/// is heartbeats already told (`heartbeat_told`): the hub pushes their row to its page, so
/// heartbeats, most of the traffic, cross the Redis bus once rather than twice.
fn timelines(plan: BatchPlan, heartbeat_told: &HashSet<String>) -> Vec<BusEvent> {
    let BatchPlan {
        changed, timeline, ..
    } = plan;
    let mut by_call: HashMap<String, (Vec<LoggedEvent>, Vec<TurnRow>)> = HashMap::new();
    for event in timeline.events {
        by_call
            .entry(event.call_id.clone())
            .or_default()
            .0
            .push(event);
    }
    for turn in timeline.turns {
        by_call
            .entry(turn.call_id.clone())
            .or_default()
            .1
            .push(turn);
    }
    changed
        .into_values()
        .filter_map(|row| {
            let (events, turns) = by_call.remove(&row.id).unwrap_or_default();
            let told = events.is_empty() && turns.is_empty() && heartbeat_told.contains(&row.id);
            (!told).then(|| BusEvent::Timeline {
                call: Box::new(row.live_copy()),
                events,
                turns,
            })
        })
        .collect()
}
