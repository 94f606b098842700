//! Transports of the async context: what a user registers to reach peers
//! that are not TCP or Unix sockets.

use std::{any::Any, fmt, hash::Hash, io};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::BoxFuture;

/// A connected byte stream: what every transport yields.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A boxed [`Io`].
pub type BoxIo = Box<dyn Io>;

/// A transport registered by the user: turns an endpoint value into a stream.
///
/// ```
/// use paf_core::ctx::{BoxIo, Ctx, Transport};
/// use paf_core::BoxFuture;
///
/// /// Reaches "services" by number over an in-memory pipe.
/// struct Pipes;
///
/// impl Transport for Pipes {
///     type Endpoint = u32;
///     fn connect(&self, service: &u32) -> BoxFuture<'static, std::io::Result<BoxIo>> {
///         let _service = *service;
///         Box::pin(async move {
///             let (client, _server) = tokio::io::duplex(64 * 1024);
///             Ok(Box::new(client) as BoxIo)
///         })
///     }
/// }
///
/// let ctx = Ctx::new()
///     .with_transport("pipes", Pipes)
///     .with_user_endpoint("pipes", 7u32);
/// assert_eq!(ctx.endpoint_for("example.org").unwrap().to_string(), "pipes:7");
/// ```
pub trait Transport: Send + Sync + 'static {
    /// The value that names one peer of this transport.
    type Endpoint: Clone + Eq + Hash + fmt::Debug + Send + Sync + 'static;

    /// Connects to `endpoint`.
    fn connect(&self, endpoint: &Self::Endpoint) -> BoxFuture<'static, io::Result<BoxIo>>;
}

pub(super) trait DynTransport: Send + Sync {
    fn connect(&self, value: &dyn Any) -> Option<BoxFuture<'static, io::Result<BoxIo>>>;
    fn endpoint_type(&self) -> &'static str;
}

impl<T: Transport> DynTransport for T {
    fn connect(&self, value: &dyn Any) -> Option<BoxFuture<'static, io::Result<BoxIo>>> {
        value
            .downcast_ref::<T::Endpoint>()
            .map(|endpoint| Transport::connect(self, endpoint))
    }
    fn endpoint_type(&self) -> &'static str {
        std::any::type_name::<T::Endpoint>()
    }
}
