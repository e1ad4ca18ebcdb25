//! `token-verify`: what the hub's token check costs per handshake, without
//! sockets.
//!
//! Signs `--tokens` HS256 tokens (one user each, as the connection
//! workloads' clients have with `--token-hmac-secret`), then checks each
//! with the hub's own verifier, [`switchboard::TokenVerifier::hmac`] (what
//! the standalone server's `--token-hmac-secret` builds, and what a
//! handshake calls), `--rounds` times over; each round's time over its
//! tokens is one figure. Every check must succeed.

use std::io::Write;
use std::time::{Duration, Instant};

use serde::Serialize;
use switchboard::TokenVerifier;

use crate::error::{Error, Result};
use crate::report::emit;
use crate::tokens::Minter;

/// Options of `token-verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Distinct tokens (users) signed, each checked once per round
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub tokens: usize,
    /// Rounds over all the tokens
    #[arg(long, value_name = "R", default_value_t = 10)]
    pub rounds: usize,
    /// The HS256 secret
    #[arg(
        long,
        value_name = "SECRET",
        default_value = "switchboard-bench token secret, 32+ bytes"
    )]
    pub secret: String,
    /// Lengthen every token by a claim `pad` of this many bytes (as the
    /// connection workloads' --token-pad)
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub token_pad: usize,
    /// Pin this process to these CPUs, as `taskset -c` takes them
    /// [default: not pinned]
    #[arg(long, value_name = "CPUS")]
    pub cpus: Option<String>,
    /// Print one JSON object on stdout instead of the table
    #[arg(long)]
    pub json: bool,
}

/// The figures of a `token-verify` run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always `"token-verify"`.
    pub benchmark: &'static str,
    /// Tokens checked per round.
    pub tokens: usize,
    /// Bytes of one token (they differ by a digit or two).
    pub token_bytes: usize,
    /// Each round's time per check, ns, in the order run.
    pub rounds_ns: Vec<f64>,
    /// The median of `rounds_ns`.
    pub median_ns: f64,
    /// The fastest round.
    pub min_ns: f64,
}

impl Report {
    /// Writes the report as a table.
    pub fn write_table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "token-verify: {} HS256 tokens of ~{} bytes, {} rounds",
            self.tokens,
            self.token_bytes,
            self.rounds_ns.len()
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "per check          {:.0} ns median, {:.0} ns fastest round",
            self.median_ns, self.min_ns
        )?;
        let rounds: Vec<String> = self.rounds_ns.iter().map(|n| format!("{n:.0}")).collect();
        writeln!(out, "rounds (ns)        {}", rounds.join(", "))
    }
}

/// Runs `token-verify` and writes the report to stdout.
pub async fn run(args: Args) -> Result<()> {
    let report = measure(&args).await?;
    emit(&report, args.json, |r, out| r.write_table(out))
}

/// Runs `token-verify` and returns its figures.
pub async fn measure(args: &Args) -> Result<Report> {
    if args.tokens == 0 || args.rounds == 0 {
        return Err(Error::Usage(
            "--tokens and --rounds must be positive".into(),
        ));
    }
    let minter = Minter::new(&args.secret, Duration::from_secs(3600))?.padded(args.token_pad);
    let tokens = minter.mint_clients(0, args.tokens)?;
    let verifier = TokenVerifier::hmac(&args.secret);
    // One unmeasured check: the crypto provider is chosen on the first.
    check(&verifier, &tokens[0]).await?;
    let mut rounds_ns = Vec::with_capacity(args.rounds);
    for _ in 0..args.rounds {
        let started = Instant::now();
        for token in &tokens {
            check(&verifier, token).await?;
        }
        rounds_ns.push(started.elapsed().as_nanos() as f64 / tokens.len() as f64);
    }
    let mut sorted = rounds_ns.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(Report {
        benchmark: "token-verify",
        tokens: args.tokens,
        token_bytes: tokens[0].len(),
        median_ns: sorted[sorted.len() / 2],
        min_ns: sorted[0],
        rounds_ns,
    })
}

async fn check(verifier: &TokenVerifier, token: &str) -> Result<()> {
    let claims = verifier
        .verify(token)
        .await
        .map_err(|e| Error::Protocol(format!("the hub's verifier refused a token: {e}")))?;
    std::hint::black_box(claims);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_every_token() {
        let args = Args {
            tokens: 20,
            rounds: 3,
            secret: "a secret of at least thirty-two bytes".into(),
            token_pad: 0,
            cpus: None,
            json: true,
        };
        let report = measure(&args).await.unwrap();
        assert_eq!(report.rounds_ns.len(), 3);
        assert!(report.min_ns > 0.0 && report.min_ns <= report.median_ns);
        assert!(report.token_bytes > 100);
    }
}
