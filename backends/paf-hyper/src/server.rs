//! The hyper server (being written).

/// The server.
pub struct Server;
/// Builds a server.
pub struct ServerBuilder;
/// A running server.
pub struct Running;
/// Stops a server.
pub struct StopHandle;
