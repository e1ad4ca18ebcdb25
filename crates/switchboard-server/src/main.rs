//! `switchboard`: the standalone server. Parses options, binds, prints
//! where it listens, serves until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use switchboard_server::{Config, Server, cli, logging, token_command};

fn main() -> ExitCode {
    let matches = cli::command().get_matches();
    if let Some(token) = matches.subcommand_matches("token") {
        return print_token(token);
    }
    let config = match Config::from_matches(&matches) {
        Ok(config) => config,
        Err(error) => {
            #[allow(clippy::print_stderr)] // start-up errors go to the user, before logging
            {
                eprintln!("switchboard: {error}");
            }
            return ExitCode::from(2);
        }
    };
    logging::init(config.log_level.as_deref());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config))
}

/// `switchboard token`: prints a token (or why it cannot) and exits.
#[allow(clippy::print_stdout, clippy::print_stderr)] // the subcommand's output
fn print_token(matches: &clap::ArgMatches) -> ExitCode {
    match token_command::token(matches, std::time::SystemTime::now()) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("switchboard token: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run(config: Config) -> ExitCode {
    let listener = match switchboard::listen(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, "cannot listen on {} (--listen)", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(error) => {
            tracing::error!(%error, "cannot read the bound address");
            return ExitCode::FAILURE;
        }
    };
    let signals = Signals::install();
    let server = match Server::new(config) {
        Ok(server) => server,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::from(2);
        }
    };
    for line in server.startup_lines(addr) {
        #[allow(clippy::print_stdout)] // the start-up lines are the binary's output
        {
            println!("{line}");
        }
    }
    match server.serve(listener, signals.shutdown()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C and SIGTERM, listened to from start-up on (so that a signal
/// that comes early is not lost to the default action).
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|error| tracing::warn!(%error, "cannot listen for SIGTERM"))
            .ok();
        Self {
            #[cfg(unix)]
            term,
        }
    }

    /// The next Ctrl-C or SIGTERM.
    async fn next(&mut self) {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async {
            match &mut self.term {
                Some(term) => {
                    term.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {}
            () = term => {}
        }
    }

    /// Resolves on the first signal; a second one exits at once.
    async fn shutdown(mut self) {
        self.next().await;
        tracing::info!("signal received: shutting down (send another to exit at once)");
        tokio::spawn(async move {
            self.next().await;
            tracing::warn!("second signal: exiting without waiting");
            std::process::exit(130);
        });
    }
}
