//! A connection's place in the hub: where it starts in each room, the pushes it is sent, and
//! which streams it takes.

use std::sync::{Arc, atomic::Ordering};

use app::dto::live::{Room, Stream};
use tokio::sync::mpsc;

use super::{Frame, Hub, Subscriber, stream_bit};

/// Where a subscription starts in one of its rooms.
#[derive(Debug)]
pub enum Start {
    /// The client's cursor is still covered: these pushes (possibly none) bring it up to date.
    Replay {
        room: Room,
        epoch: u32,
        frames: Vec<Arc<Frame>>,
    },
    /// The client needs the room's state: a snapshot reflecting at least `seq`.
    Snapshot { room: Room, epoch: u32, seq: u64 },
}

/// What a subscription yields next.
#[derive(Debug)]
pub enum Next {
    Frame(Arc<Frame>),
    /// The subscriber fell behind (or the hub lost events): its queue was dropped and it must
    /// start over from snapshots.
    Lagged,
}

/// A connection's place in the hub. Dropping it leaves every room.
pub struct Subscription {
    pub(super) hub: Hub,
    pub(super) subscriber: Arc<Subscriber>,
    pub(super) rooms: Vec<Room>,
    pub(super) receiver: mpsc::Receiver<Arc<Frame>>,
    pub(super) starts: Vec<Start>,
}

impl Subscription {
    pub fn rooms(&self) -> &[Room] {
        &self.rooms
    }

    /// Where each room starts; taken once, right after subscribing.
    pub fn take_starts(&mut self) -> Vec<Start> {
        std::mem::take(&mut self.starts)
    }

    /// The next push, or [`Next::Lagged`]. Frames still queued when the subscriber lagged are
    /// skipped: the snapshots that follow supersede them.
    pub async fn next(&mut self) -> Next {
        if self.subscriber.lagged.load(Ordering::Relaxed) {
            return Next::Lagged;
        }
        match self.receiver.recv().await {
            Some(frame) if !self.subscriber.lagged.load(Ordering::Relaxed) => Next::Frame(frame),
            // Lagged, or the hub forgot this subscriber (a reset): start over either way.
            _ => Next::Lagged,
        }
    }

    /// A push already queued, without waiting; `None` when there is none (or the subscriber
    /// lagged: [`Subscription::next`] says so).
    pub fn try_next(&mut self) -> Option<Arc<Frame>> {
        if self.subscriber.lagged.load(Ordering::Relaxed) {
            return None;
        }
        self.receiver.try_recv().ok()
    }

    /// Starts over in the same rooms from snapshots, keeping the stream switches.
    pub fn restart(&mut self) {
        let streams = self.subscriber.streams.load(Ordering::Relaxed);
        let fresh = self
            .hub
            .subscribe_with(&self.rooms, &[], self.subscriber.allowed, streams);
        // The old subscription leaves its rooms as it is dropped here.
        drop(std::mem::replace(self, fresh));
    }

    /// The stream switches of this subscriber, for whoever handles the client's requests.
    pub fn switch(&self) -> StreamSwitch {
        StreamSwitch {
            subscriber: Arc::clone(&self.subscriber),
            rooms: self.rooms.clone(),
        }
    }
}

/// Switches a subscriber's streams on and off (the seed's `subscribe` / `unsubscribe`).
#[derive(Clone, Debug)]
pub struct StreamSwitch {
    subscriber: Arc<Subscriber>,
    rooms: Vec<Room>,
}

impl StreamSwitch {
    /// Whether any of the subscriber's rooms carries `stream`, and its caller may receive it.
    pub fn offers(&self, stream: Stream) -> bool {
        self.subscriber.allowed & stream_bit(stream) != 0
            && self
                .rooms
                .iter()
                .any(|room| room.streams().contains(&stream))
    }

    /// Switches `stream` on (when offered) or off; returns whether it was on before.
    pub fn set(&self, stream: Stream, on: bool) -> bool {
        let bit = stream_bit(stream) & self.subscriber.allowed;
        let before = if on {
            self.subscriber.streams.fetch_or(bit, Ordering::Relaxed)
        } else {
            self.subscriber.streams.fetch_and(!bit, Ordering::Relaxed)
        };
        before & bit != 0
    }

    pub fn wants(&self, stream: Stream) -> bool {
        self.subscriber.wants(stream)
    }

    /// The streams of its rooms the subscriber receives.
    pub fn streams(&self) -> Vec<Stream> {
        let mut streams: Vec<Stream> = self
            .rooms
            .iter()
            .flat_map(|room| room.streams().iter().copied())
            .filter(|stream| self.wants(*stream))
            .collect();
        streams.sort();
        streams.dedup();
        streams
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.leave(self.subscriber.id, &self.rooms);
    }
}
