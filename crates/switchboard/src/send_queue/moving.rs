//! A session's queue while the session moves here from another node
//! (PROTOCOL.md section 11): what this node delivers to it meanwhile is
//! held back until the old node has forwarded everything, then goes out
//! without the operations the session already got there.

use std::collections::HashSet;

use tokio::time::Instant;

use super::delivery::Delivery;
use super::outgoing::Outgoing;
use crate::id::OpId;

/// The state of a queue whose session is moving in.
#[derive(Debug)]
pub(super) struct MoveIn {
    /// The operations the session got on the old node (its resume buffer
    /// there, and every frame forwarded since).
    seen: HashSet<OpId>,
    /// This node's own deliveries, held back while the old node forwards.
    held: Vec<(Outgoing, Delivery)>,
    /// Whether deliveries are still held back.
    holding: bool,
    /// Once forwarding ended: until when `seen` is still checked (a
    /// delivery of an operation the old node forwarded can reach this node
    /// a little after the end of the forwarding).
    forget_at: Option<Instant>,
}

/// What [`MoveIn::take`] says of a counted frame pushed meanwhile.
pub(super) enum Pushed {
    /// The session got it on the old node already: dropped.
    Seen,
    /// Held back until the forwarding ends.
    Held,
    /// Goes out as ever.
    Through,
}

impl MoveIn {
    /// A move in, the session having got `seen` on the old node.
    pub(super) fn new(seen: impl IntoIterator<Item = OpId>) -> Self {
        Self {
            seen: seen.into_iter().collect(),
            held: Vec::new(),
            holding: true,
            forget_at: None,
        }
    }

    /// Whether deliveries are still held back.
    pub(super) fn is_holding(&self) -> bool {
        self.holding
    }

    /// Whether it is over: nothing held, and `seen` no longer needed.
    pub(super) fn is_over(&self, now: Instant) -> bool {
        !self.holding && self.forget_at.is_some_and(|at| now >= at)
    }

    /// Decides what becomes of a counted frame this node delivers;
    /// `capacity` bounds what is held (past it the frame is refused, as a
    /// full queue refuses it).
    pub(super) fn take(
        &mut self,
        frame: &Outgoing,
        delivery: Delivery,
        capacity: usize,
    ) -> Result<Pushed, ()> {
        if frame.op().is_some_and(|op| self.seen.contains(&op)) {
            return Ok(Pushed::Seen);
        }
        if !self.holding {
            return Ok(Pushed::Through);
        }
        if self.held.len() >= capacity {
            return Err(());
        }
        self.held.push((frame.clone(), delivery));
        Ok(Pushed::Held)
    }

    /// Notes a frame the old node forwarded.
    pub(super) fn forwarded(&mut self, frame: &Outgoing) {
        if let Some(op) = frame.op() {
            self.seen.insert(op);
        }
    }

    /// The forwarding ended: returns what was held (less what the old
    /// node forwarded), and checks `seen` until `forget_at`.
    pub(super) fn release(&mut self, forget_at: Instant) -> Vec<(Outgoing, Delivery)> {
        self.holding = false;
        self.forget_at = Some(forget_at);
        let held = std::mem::take(&mut self.held);
        held.into_iter()
            .filter(|(frame, _)| !frame.op().is_some_and(|op| self.seen.contains(&op)))
            .collect()
    }
}
