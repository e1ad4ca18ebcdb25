//! The workload runner `fanout` and `poll-fanout` share: one publisher
//! relaying a stamped schedule to a room, N receivers in it. The runner
//! owns the plan, the schedule, the deliveries and the report; each
//! workload brings only its receivers' transport (a [`Job`] per share).
//!
//! Files: `plan.rs` (one run), `report.rs` (its figures).

mod plan;
mod report;

pub use plan::Plan;
pub use report::{Report, Settings};

use std::ops::Range;

use crate::deliveries::Deliveries;
use crate::error::{Error, Result};
use crate::hub_under_test::{HubUnderTest, HubUnderTestArgs};
use crate::schedule::Schedule;
use crate::workers::Job;

impl Plan {
    /// Checks the plan, starts the hub under test (or finds it), runs the
    /// plan with one share per process made by `job(hub, clients,
    /// schedule)` (`clients`: the run's numbers of the share's receivers),
    /// and stops the hub if it was started for the run.
    pub async fn run_against<J: Job<Output = Deliveries>>(
        &self,
        hub: &HubUnderTestArgs,
        job: impl Fn(&HubUnderTest, Range<usize>, Schedule) -> J,
    ) -> Result<Report> {
        if self.rate == 0 || self.duration == 0 {
            return Err(Error::Usage(
                "--rate and --duration must be positive".into(),
            ));
        }
        let target = HubUnderTest::start(hub).await?;
        let outcome = self
            .measure(&target, |clients, schedule| job(&target, clients, schedule))
            .await;
        target.stop().await;
        outcome
    }
}
