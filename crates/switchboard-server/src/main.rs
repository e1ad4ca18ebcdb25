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

/// Ctrl-C (SIGINT) and SIGTERM, listened to from start-up on, so that a
/// signal that comes before the server first polls its shutdown future is
/// not lost to the default action (which would kill the process without
/// closing its connections).
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind, name: &'static str| {
                signal(kind)
                    .map_err(|error| tracing::warn!(%error, "cannot listen for {name}"))
                    .ok()
            };
            Self {
                term: listen(SignalKind::terminate(), "SIGTERM"),
                interrupt: listen(SignalKind::interrupt(), "SIGINT"),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// The next Ctrl-C or SIGTERM.
    #[cfg(unix)]
    async fn next(&mut self) {
        async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = recv(&mut self.interrupt) => {}
            () = recv(&mut self.term) => {}
        }
    }

    /// The next Ctrl-C.
    #[cfg(not(unix))]
    async fn next(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
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
