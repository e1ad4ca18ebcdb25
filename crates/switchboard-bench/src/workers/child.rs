//! The worker process: `switchboard-bench worker KIND` reads its job from
//! stdin, runs it, and reports on stdout (see the module above).

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Stdout};

use super::control;
use super::{Finished, Job, Line};
use crate::cpu::{CpuUse, CpuWindow};
use crate::error::{Error, Result};

/// How often a worker reports its counters.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

async fn write_line<O: serde::Serialize>(out: &mut Stdout, line: &Line<O>) -> Result<()> {
    let mut bytes = serde_json::to_vec(line).map_err(|e| Error::Worker(e.to_string()))?;
    bytes.push(b'\n');
    out.write_all(&bytes).await?;
    out.flush().await?;
    Ok(())
}

/// Runs one job of type `J` read from stdin, reporting on stdout.
pub async fn serve<J: Job>() -> Result<()> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let first = lines
        .next_line()
        .await?
        .ok_or_else(|| Error::Worker("no job on stdin".into()))?;
    let job: J = serde_json::from_str(&first)
        .map_err(|e| Error::Worker(format!("unreadable job ({e}): {first}")))?;
    let (control, handles) = control::control();
    let control::Handles {
        mut ready,
        go,
        stop,
        progress,
    } = handles;
    let mut go_seen = go.subscribe();
    let mut stop_seen = stop.subscribe();
    // The parent's commands; its end of the pipe closing means stop.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            match line.trim() {
                "go" => go.send_replace(true),
                "stop" => stop.send_replace(true),
                _ => false,
            };
        }
        go.send_replace(true);
        stop.send_replace(true);
    });
    let mut run = tokio::spawn(job.run(control));
    let mut out = tokio::io::stdout();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let (mut ready_sent, mut window, mut cpu): (bool, Option<CpuWindow>, Option<CpuUse>) =
        (false, None, None);
    loop {
        tokio::select! {
            outcome = &mut run => {
                let outcome = outcome.map_err(Error::from).and_then(|r| r);
                let cpu = cpu.or_else(|| window.and_then(|w| w.finish()));
                // The last counts first: a share may end before the stop.
                let last = Line::<J::Output>::Progress { done: progress.done(), errors: progress.errors() };
                write_line(&mut out, &last).await?;
                return match outcome {
                    Ok(output) => write_line(&mut out, &Line::Finished(Finished { output, cpu })).await,
                    Err(error) => {
                        write_line::<J::Output>(&mut out, &Line::Failed(error.to_string())).await?;
                        Err(error)
                    }
                };
            }
            changed = ready.wait_for(|r| *r), if !ready_sent => {
                ready_sent = true;
                if changed.is_ok() {
                    write_line::<J::Output>(&mut out, &Line::Ready).await?;
                }
            }
            _ = go_seen.wait_for(|g| *g), if window.is_none() => {
                window = Some(CpuWindow::start());
            }
            _ = stop_seen.wait_for(|s| *s), if cpu.is_none() && window.is_some() => {
                cpu = window.and_then(|w| w.finish());
            }
            _ = tick.tick() => {
                let line = Line::<J::Output>::Progress { done: progress.done(), errors: progress.errors() };
                write_line(&mut out, &line).await?;
            }
        }
    }
}
