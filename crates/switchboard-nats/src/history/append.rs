//! Appending one batch to a room, atomic across nodes by optimistic
//! concurrency: the publish names the stream sequence of the room's last
//! batch (`Nats-Expected-Last-Subject-Sequence`, 0 for none), JetStream
//! refuses it if another batch came in between, and the append reads the
//! room's last batch again and retries.
//!
//! Each publish also carries `Nats-Msg-Id`, the batch id (32 hex digits):
//! JetStream keeps no second message with an id it stored within the
//! stream's duplicate window (checked before the expected sequence), and
//! acknowledges it as a duplicate with the sequence of the message it
//! stored first. The batch at that sequence holds its offset and epoch in
//! its headers (offsets are not derived from sequences: each batch carries
//! its own), so a repeated append reads it back and answers that position.

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use rand::Rng;
use rand::distr::Alphanumeric;
use switchboard::adapter::{BatchId, DriverError};
use switchboard::protocol::HistoryPosition;

use super::Inner;
use super::batch::{self, Place};
use super::cache::LastBatch;
use super::connection::Ready;
use super::failure::{Failure, publish_failure};

/// Attempts of one append while other nodes keep appending first.
const MAX_ATTEMPTS: u32 = 16;

/// A new random epoch: 8 letters or digits (about 47 bits).
fn new_epoch() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(8)
        .map(char::from)
        .collect()
}

impl Inner {
    /// Keeps `messages` as `room`'s next messages, as one JetStream
    /// message with id `batch`; answers the room's epoch and the first
    /// one's offset (those of the message kept first, for a repeat).
    pub(super) async fn append_batch(
        &self,
        room: &str,
        batch: BatchId,
        messages: &[Bytes],
    ) -> Result<HistoryPosition, DriverError> {
        let subject = self.subject(room);
        let body = batch::body(messages)?;
        let mut stream_made_again = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let ready = self.connection.ready().await?;
            let failure = match self
                .try_append(&ready, room, &subject, batch, messages.len(), body.clone())
                .await
            {
                Ok(position) => return Ok(position),
                Err(failure) => failure,
            };
            self.last.forget(room);
            match failure {
                Failure::Conflict if attempt < MAX_ATTEMPTS => {
                    tracing::trace!(room, attempt, "NATS history: another node appended first");
                    if attempt > 1 {
                        // Two nodes in step: break the tie at random.
                        let pause = rand::rng().random_range(0..attempt.min(8) * 500);
                        tokio::time::sleep(Duration::from_micros(u64::from(pause))).await;
                    }
                }
                Failure::NoStream if !stream_made_again => {
                    stream_made_again = true;
                    self.connection.forget_stream();
                }
                failure => return Err(failure.into_driver_error("NATS history append")),
            }
        }
    }

    async fn try_append(
        &self,
        ready: &Ready,
        room: &str,
        subject: &str,
        batch: BatchId,
        count: usize,
        body: Bytes,
    ) -> Result<HistoryPosition, Failure> {
        let last = match self.last.get(room) {
            Some(last) => Some(last),
            None => self
                .last_batch(ready, subject)
                .await?
                .map(|stored| LastBatch {
                    sequence: stored.sequence,
                    last: stored.last(),
                    epoch: stored.place.epoch,
                }),
        };
        let place = match last {
            Some(last) => Place {
                epoch: last.epoch,
                offset: last.last + 1,
                previous: last.sequence,
            },
            // The room keeps nothing: a new epoch, from offset 1.
            None => Place {
                epoch: new_epoch(),
                offset: 1,
                previous: 0,
            },
        };
        let publish = PublishMessage::build()
            .payload(body)
            .headers(batch::headers(&place, count))
            .message_id(batch.to_string())
            .expected_last_subject_sequence(place.previous);
        let failure = |e| publish_failure(&e, self.connection.is_connected());
        let ack = ready
            .context
            .send_publish(subject.to_owned(), publish)
            .await
            .map_err(failure)?
            .await
            .map_err(failure)?;
        if ack.duplicate {
            // Kept already, by an earlier try whose answer was lost: where
            // it went is in its headers. (What this try guessed of the
            // room's last batch was not checked: leave it to the next.)
            tracing::debug!(
                room,
                %batch,
                sequence = ack.sequence,
                "NATS history: batch kept already, answering where"
            );
            return match self.batch_at(ready, ack.sequence).await? {
                Some(kept) => Ok(HistoryPosition {
                    epoch: kept.place.epoch,
                    offset: kept.place.offset,
                }),
                // Newer batches pushed it out of the room's size already:
                // its messages were kept, but where is not known.
                None => Err(Failure::Driver(DriverError::Refused(format!(
                    "NATS history append: batch {batch} was kept already, at stream sequence \
                     {}, and is gone since",
                    ack.sequence
                )))),
            };
        }
        self.last.put(
            room,
            LastBatch {
                sequence: ack.sequence,
                epoch: place.epoch.clone(),
                last: place.offset + count as u64 - 1,
            },
        );
        Ok(HistoryPosition {
            epoch: place.epoch,
            offset: place.offset,
        })
    }
}
