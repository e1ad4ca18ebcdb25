//! Adopting sockets a hub accepted in raw mode (with the crate's `hub`
//! feature): [`Pool::adopt`], and the frames they receive reaching the
//! merged stream ([`Pool::deliver_raw`], [`Pool::raw_handler`]). The
//! adopted socket's own task is `adopted.rs`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use switchboard::RawFrame;
use tokio::sync::watch;

use super::registry::{Entry, Route, finish};
use super::{Frame, Pool, PoolError, PoolEvent, adopted};

impl Pool {
    /// Adopts a socket accepted by a hub in raw mode under `id`: it is
    /// reported `Connected` now, [`Pool::send`] and [`Pool::send_all`] reach
    /// it, and it leaves the pool (`Disconnected`, `Removed`) when it
    /// closes. Its frames reach the stream through [`Pool::deliver_raw`]:
    /// install [`Pool::raw_handler`] as the hub's `on_raw` handler and adopt
    /// in the hub's `on_connect` handler, so no frame comes before.
    /// Raw-mode sessions are not resumed, so it leaves as soon as its link
    /// drops.
    ///
    /// With the crate's `hub` feature only.
    #[cfg(feature = "hub")]
    pub async fn adopt(
        &self,
        id: impl Into<String>,
        socket: switchboard::Socket,
    ) -> Result<(), PoolError> {
        let id: Arc<str> = Arc::from(id.into());
        let (close_tx, close_rx) = watch::channel(false);
        let connected = Arc::new(AtomicBool::new(true));
        let producer = {
            let mut registry = self.inner.registry();
            if registry.closed {
                return Err(PoolError::PoolClosed);
            }
            if registry.entries.contains_key(&id) {
                return Err(PoolError::DuplicateId(id.to_string()));
            }
            let key = registry.next_key;
            registry.next_key += 1;
            registry
                .by_socket
                .insert(socket.id().to_owned(), id.clone());
            registry.entries.insert(
                id.clone(),
                Entry {
                    key,
                    route: Route::Adopted(socket.clone()),
                    close: close_tx,
                    task: None,
                    connected: connected.clone(),
                },
            );
            (self.inner.queue.producer(), key)
        };
        let (events, key) = producer;
        let _ = events
            .queue()
            .push(PoolEvent::Connected { id: id.clone() })
            .await;
        let weak = Arc::downgrade(&self.inner);
        let task_id = id.clone();
        let task = tokio::spawn(async move {
            let events = adopted::run(task_id.clone(), socket, close_rx, connected, events).await;
            finish(&weak, &task_id, key, events);
        });
        let mut registry = self.inner.registry();
        match registry.entries.get_mut(&id) {
            Some(entry) if entry.key == key => entry.task = Some(task),
            // Already removed or closed: the task ends on its own.
            _ => {}
        }
        Ok(())
    }

    /// Puts a frame an adopted socket received on the merged stream, waiting
    /// for room under backpressure (which holds the hub's dispatcher for
    /// that socket, so the hub stops reading it). Fails with
    /// [`PoolError::UnknownId`] when the socket is not adopted (or left).
    ///
    /// With the crate's `hub` feature only.
    #[cfg(feature = "hub")]
    pub async fn deliver_raw(
        &self,
        socket: &switchboard::Socket,
        frame: RawFrame,
    ) -> Result<(), PoolError> {
        let id = self
            .inner
            .registry()
            .by_socket
            .get(socket.id())
            .cloned()
            .ok_or_else(|| PoolError::UnknownId(socket.id().to_owned()))?;
        let frame = if frame.binary {
            Frame::Binary(frame.data)
        } else {
            Frame::Text(frame.data)
        };
        let _ = self.inner.queue.push(PoolEvent::Frame { id, frame }).await;
        Ok(())
    }

    /// A handler for [`switchboard::HubBuilder::on_raw`] that passes every
    /// frame of adopted sockets to [`Pool::deliver_raw`] (frames of sockets
    /// not adopted are dropped with a debug log). It holds the pool weakly.
    ///
    /// With the crate's `hub` feature only.
    #[cfg(feature = "hub")]
    pub fn raw_handler(
        &self,
    ) -> impl Fn(switchboard::Socket, RawFrame) -> Pin<Box<dyn Future<Output = ()> + Send>>
    + Send
    + Sync
    + 'static {
        let weak = Arc::downgrade(&self.inner);
        move |socket, frame| {
            let weak = weak.clone();
            Box::pin(async move {
                let Some(inner) = weak.upgrade() else { return };
                let pool = Pool { inner };
                if let Err(error) = pool.deliver_raw(&socket, frame).await {
                    tracing::debug!(%error, "raw frame from a socket not in the pool");
                }
            })
        }
    }
}
