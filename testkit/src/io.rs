//! Small tokio helpers the tests of several crates share: a bound on a test
//! step, a response head read byte by byte, and the echo protocol the
//! upgrade tests switch to.

use std::{future::Future, time::Duration};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long one read of [`read_head`] or [`round_trip`] may take.
const STEP: Duration = Duration::from_secs(10);

/// Bounds a test step so that a bug fails the test instead of hanging it.
pub async fn within<F: Future>(secs: u64, fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .expect("test step timed out")
}

/// The echo protocol of the upgrade tests: writes back every byte read, in
/// upper case, until the peer closes or an I/O error.
pub async fn upper_echo<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        buf[..n].make_ascii_uppercase();
        if stream.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

/// Reads a response head up to its blank line, byte by byte so that nothing
/// after it is consumed; each byte must come within 10 s.
pub async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tokio::time::timeout(STEP, stream.read_exact(&mut byte))
            .await
            .expect("the response head within 10 s")
            .expect("the response head");
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("a UTF-8 response head")
}

/// Writes `text`, then reads as many bytes back, within 10 s.
pub async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, text: &[u8]) -> Vec<u8> {
    stream.write_all(text).await.expect("write");
    let mut echoed = vec![0u8; text.len()];
    tokio::time::timeout(STEP, stream.read_exact(&mut echoed))
        .await
        .expect("the echo within 10 s")
        .expect("the echo");
    echoed
}
