//! The standalone Switchboard server: the hub of the `switchboard` crate
//! at `/ws`, an HTTP API for application back ends, Prometheus metrics and
//! a demo page (PROTOCOL.md section 9).
//!
//! The binary is `switchboard`; this library holds its parts so that tests
//! can build the same server in-process:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use switchboard_server::{Config, Server};
//!
//! let server = Server::new(Config::default())?;
//! let listener = switchboard::listen(([127, 0, 0, 1], 0)).await?;
//! server.serve(listener, std::future::pending()).await?;
//! # Ok(())
//! # }
//! ```

pub mod admin;
pub mod api;
pub mod api_error;
pub mod api_rooms;
pub mod api_state;
pub mod api_users;
pub mod app;
pub mod assets;
pub mod backend;
pub mod cli;
pub mod config;
pub mod glob;
pub mod keyless;
pub mod logging;
pub mod metrics;
pub mod options;
pub mod room_rules;
pub mod token_command;
pub mod units;

pub use app::Server;
pub use config::{Config, ConfigError};
