//! Reading a room: its last batch, then back along each batch's
//! `Switchboard-Previous` sequence until the messages after `since` (or
//! the last `size` messages) are covered.

use bytes::Bytes;
use switchboard::adapter::{DriverError, HistoryPage};

use super::Inner;
use super::batch::StoredBatch;
use super::connection::Ready;
use super::failure::Failure;

impl Inner {
    /// The messages of `room` after `since`, at most `limit`.
    pub(super) async fn read_page(
        &self,
        room: &str,
        since: u64,
        limit: usize,
    ) -> Result<HistoryPage<Bytes>, DriverError> {
        let subject = self.subject(room);
        let mut stream_made_again = false;
        loop {
            let ready = self.connection.ready().await?;
            match self.read_once(&ready, &subject, since, limit).await {
                Err(Failure::NoStream) if !stream_made_again => {
                    stream_made_again = true;
                    self.connection.forget_stream();
                }
                result => {
                    return result
                        .map_err(|failure| failure.into_driver_error("NATS history read"));
                }
            }
        }
    }

    async fn read_once(
        &self,
        ready: &Ready,
        subject: &str,
        since: u64,
        limit: usize,
    ) -> Result<HistoryPage<Bytes>, Failure> {
        let Some(last) = self.last_batch(ready, subject).await? else {
            return Ok(HistoryPage::empty());
        };
        let latest = last.last();
        // The stream keeps `size` batches per room: of their messages, only
        // the last `size` count.
        let size = u64::try_from(self.limits.size.max(1)).unwrap_or(u64::MAX);
        let floor = latest.saturating_sub(size) + 1;
        let wanted_from = (since + 1).max(floor);

        // Newest first, back to the batch holding `wanted_from`.
        let mut batches = vec![last];
        let mut reached_the_oldest = false;
        loop {
            let oldest = batches.last().expect("one batch at least");
            if oldest.place.offset <= wanted_from {
                break;
            }
            if oldest.place.previous == 0 {
                reached_the_oldest = true;
                break;
            }
            match self.batch_at(ready, oldest.place.previous).await? {
                Some(previous)
                    if previous.place.epoch == oldest.place.epoch
                        && previous.last() + 1 == oldest.place.offset =>
                {
                    batches.push(previous);
                }
                // Dropped (expired, or past the size): nothing older is kept.
                _ => {
                    reached_the_oldest = true;
                    break;
                }
            }
        }
        let oldest = batches.last().expect("one batch at least");
        let first = if reached_the_oldest || floor >= oldest.place.offset {
            oldest.place.offset.max(floor)
        } else {
            // The walk stopped at `since`: the oldest kept batch is further.
            match self.first_batch(ready, subject).await? {
                Some(first) if first.place.epoch == oldest.place.epoch => {
                    first.place.offset.max(floor).min(latest + 1)
                }
                _ => oldest.place.offset.max(floor),
            }
        };
        let page = HistoryPage {
            epoch: batches[0].place.epoch.clone(),
            offset: latest,
            first,
            entries: entries(&batches, since.max(first - 1), limit).map_err(Failure::Driver)?,
        };
        Ok(page)
    }
}

/// The messages of `batches` (newest first) after offset `after`, oldest
/// first, at most `limit`.
fn entries(
    batches: &[StoredBatch],
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, Bytes)>, DriverError> {
    let mut entries = Vec::new();
    for batch in batches.iter().rev() {
        if batch.last() <= after {
            continue;
        }
        for (offset, message) in (batch.place.offset..).zip(batch.messages()?) {
            if entries.len() == limit {
                return Ok(entries);
            }
            if offset > after {
                entries.push((offset, message));
            }
        }
    }
    Ok(entries)
}
