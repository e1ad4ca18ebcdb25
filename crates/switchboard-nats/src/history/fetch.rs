//! Reading batches back: a room's last or first batch, or the batch at a
//! stream sequence, each with one JetStream direct get.

use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::{DirectGetError, DirectGetErrorKind};

use super::Inner;
use super::batch::StoredBatch;
use super::connection::Ready;
use super::failure::{Failure, get_failure};

impl Inner {
    /// The room's last batch (`None` when it keeps nothing).
    pub(super) async fn last_batch(
        &self,
        ready: &Ready,
        subject: &str,
    ) -> Result<Option<StoredBatch>, Failure> {
        let got = ready.stream.direct_get_last_for_subject(subject).await;
        self.found(got)
    }

    /// The room's oldest kept batch.
    pub(super) async fn first_batch(
        &self,
        ready: &Ready,
        subject: &str,
    ) -> Result<Option<StoredBatch>, Failure> {
        let got = ready.stream.direct_get_first_for_subject(subject).await;
        self.found(got)
    }

    /// The batch at `sequence` (`None` when it was dropped).
    pub(super) async fn batch_at(
        &self,
        ready: &Ready,
        sequence: u64,
    ) -> Result<Option<StoredBatch>, Failure> {
        let got = ready.stream.direct_get(sequence).await;
        self.found(got)
    }

    fn found(
        &self,
        got: Result<StreamMessage, DirectGetError>,
    ) -> Result<Option<StoredBatch>, Failure> {
        match got {
            Ok(message) => StoredBatch::parse(message)
                .map(Some)
                .map_err(Failure::Driver),
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => Ok(None),
            Err(e) => Err(get_failure(&e, self.connection.is_connected())),
        }
    }
}
