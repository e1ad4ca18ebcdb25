//! The builder's typed application state: [`HubBuilder::with_state`],
//! [`HubBuilder::on_state`] and [`HubState`].

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::HubBuilder;
use crate::error::HandlerError;
use crate::hub::handle::Socket;

impl HubBuilder<()> {
    /// Gives the hub a typed application state, checked at compile time as
    /// axum's `State` is: handlers registered with [`HubBuilder::on_state`]
    /// receive a clone of it as [`HubState<S>`], and a handler that asks for
    /// another type does not compile. Give it before those handlers (the
    /// builder's type is `HubBuilder<S>` from here on). Cloned for every
    /// call: wrap what is not cheap to clone in an `Arc`. It is also the
    /// value of type `S` that [`Socket::state`] and [`Hub::state`](crate::Hub::state) return.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use switchboard::{HandlerError, Hub, HubState, Socket};
    ///
    /// #[derive(Clone, Default)]
    /// struct App { visits: Arc<AtomicU64> }
    ///
    /// let hub = Hub::builder()
    ///     .with_state(App::default())
    ///     .on_state("visit", |_socket: Socket, HubState(app): HubState<App>, _: serde_json::Value| async move {
    ///         Ok::<_, HandlerError>(app.visits.fetch_add(1, Ordering::Relaxed) + 1)
    ///     })
    ///     .build();
    /// assert!(hub.state::<App>().is_some());
    /// ```
    ///
    /// A handler asking for a state of another type is refused by the
    /// compiler:
    ///
    /// ```compile_fail
    /// use switchboard::{HandlerError, Hub, HubState, Socket};
    ///
    /// #[derive(Clone)]
    /// struct App;
    ///
    /// let hub = Hub::builder()
    ///     .with_state(App)
    ///     .on_state("n", |_s: Socket, HubState(n): HubState<u32>, _: serde_json::Value| async move {
    ///         Ok::<_, HandlerError>(n)
    ///     })
    ///     .build();
    /// ```
    pub fn with_state<S: Clone + Send + Sync + 'static>(self, state: S) -> HubBuilder<S> {
        HubBuilder {
            config: self.config,
            router: self.router,
            policies: self.policies,
            raw: self.raw,
            adapter: self.adapter,
            state: self.state,
            app: state,
        }
    }
}

impl<S: Clone + Send + Sync + 'static> HubBuilder<S> {
    /// Handles `event` as [`HubBuilder::on`] does, with a clone of the
    /// hub's typed state ([`HubBuilder::with_state`]) as second argument.
    pub fn on_state<T, R, F, Fut>(self, event: &str, handler: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(Socket, HubState<S>, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, HandlerError>> + Send + 'static,
    {
        let state = self.app.clone();
        self.on(event, move |socket, data: T| {
            handler(socket, HubState(state.clone()), data)
        })
    }
}

/// The hub's typed application state, as a handler registered with
/// [`HubBuilder::on_state`] receives it (a clone of the value given to
/// [`HubBuilder::with_state`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct HubState<S>(pub S);
