//! A raw HTTP/1.1 client over one TCP connection: the corpus must be able to send what no HTTP
//! library would (invalid UTF-8 in the target, bare CR/LF, overlong headers, lying framing).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// How long one exchange may take before the test calls it a hang.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long to wait for an answer before telling the server that no more bytes come.
const HALF_CLOSE_AFTER: Duration = Duration::from_secs(2);

/// What came back for one raw request.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status, or `None` when the server closed without answering.
    pub(crate) status: Option<u16>,
    /// Header lines, names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// The first value of header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The bytes of a request: `method target HTTP/1.1`, `Host`, the given headers (raw bytes),
/// `Content-Length` of `body` unless a header already frames it, `Connection: close`, then body.
pub(crate) fn request(
    method: &[u8],
    target: &[u8],
    headers: &[(&str, Vec<u8>)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 256);
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    let framed = headers.iter().any(|(name, _)| {
        name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
    });
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if !framed {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Sends `bytes` on a fresh connection and reads until the server closes it.
pub(crate) async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Answer {
    tokio::time::timeout(EXCHANGE_TIMEOUT, exchange_inner(addr, bytes))
        .await
        .unwrap_or_else(|_| panic!("no answer within {EXCHANGE_TIMEOUT:?}"))
}

async fn exchange_inner(addr: SocketAddr, bytes: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer (413, 431) and close before reading everything: a failed write is
    // not a failure of the test, the answer decides.
    let _ = stream.write_all(bytes).await;
    let mut raw = Vec::new();
    // No half-close at first: hyper drops a connection whose client half-closed. Only when the
    // server is still waiting (a body shorter than announced) does EOF tell it no more comes.
    let first = tokio::time::timeout(HALF_CLOSE_AFTER, stream.read_to_end(&mut raw)).await;
    if first.is_err() {
        let _ = stream.shutdown().await;
        let _ = stream.read_to_end(&mut raw).await;
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Answer {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Answer {
            status: None,
            headers: Vec::new(),
            body: Vec::new(),
        };
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = input.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&input[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        input = &input[line_end + 2..];
        if size == 0 || input.len() < size {
            break;
        }
        out.extend_from_slice(&input[..size]);
        input = input.get(size + 2..).unwrap_or_default();
    }
    out
}
