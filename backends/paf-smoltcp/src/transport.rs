//! The stack as a paf transport: a [`Ctx`](paf_core::Ctx) that names it
//! reaches a `SocketAddr` on the stack's network, from async clients
//! (paf-hyper) and blocking ones (paf-ureq) alike; TLS, when the context
//! asks for it, is layered on top by the context as on any stream.

use std::{io, net::SocketAddr};

use paf_core::{
    ctx::{BlockingIo, BlockingTransport, BoxIo, Transport},
    BoxFuture,
};

use crate::Stack;

impl Transport for Stack {
    type Endpoint = SocketAddr;

    fn connect(&self, endpoint: &SocketAddr) -> BoxFuture<'static, io::Result<BoxIo>> {
        let stack = self.clone();
        let addr = *endpoint;
        Box::pin(async move {
            let stream = stack.connect(addr).await?;
            Ok(Box::new(stream) as BoxIo)
        })
    }
}

impl BlockingTransport for Stack {
    type Endpoint = SocketAddr;

    fn connect(&self, endpoint: &SocketAddr) -> io::Result<Box<dyn BlockingIo>> {
        let stream = self.connect_blocking(*endpoint)?;
        Ok(Box::new(stream))
    }
}
