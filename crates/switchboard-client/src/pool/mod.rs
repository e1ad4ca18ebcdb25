//! The outbound connection pool: named raw WebSocket connections with one merged stream.
