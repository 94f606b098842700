//! The hyper client (being written).

/// The hyper client.
#[derive(Clone, Debug, Default)]
pub struct Client {}

/// Builds a [`Client`].
#[derive(Debug, Default)]
pub struct ClientBuilder {}
