//! TLS: versions, ALPN, refusal of TLS 1.1, certificate reload.

use std::time::Duration;

use rustls::version::{TLS12, TLS13};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::*;

const HEALTHZ: &str = "https://localhost/healthz";

#[tokio::test]
async fn tls13_and_tls12_both_serve_over_h2_and_http11() {
    let dir = temp_dir();
    write_cert(&dir);
    let server = start(tls_settings(&dir, Duration::from_secs(60)), vec![]).await;
    let addr = server.local_addr();

    let cases: [(
        &'static rustls::SupportedProtocolVersion,
        &[u8],
        http::Version,
    ); 4] = [
        (&TLS13, b"h2", http::Version::HTTP_2),
        (&TLS13, b"http/1.1", http::Version::HTTP_11),
        (&TLS12, b"h2", http::Version::HTTP_2),
        (&TLS12, b"http/1.1", http::Version::HTTP_11),
    ];
    for (version, alpn, http_version) in cases {
        let outcome = send_tls(
            addr,
            &[version],
            &[alpn],
            empty(http::Request::get(HEALTHZ)),
        )
        .await;
        assert_eq!(outcome.version, version.version);
        assert_eq!(outcome.alpn.as_deref(), Some(alpn));
        assert_eq!(outcome.reply.version, http_version);
        assert_eq!(outcome.reply.status, 200);
    }
    // A client offering both gets h2, the server's preference.
    let outcome = send_tls(
        addr,
        &[&TLS13],
        &[b"http/1.1", b"h2"],
        empty(http::Request::get(HEALTHZ)),
    )
    .await;
    assert_eq!(outcome.alpn.as_deref(), Some(&b"h2"[..]));
    server.shutdown().await.expect("shutdown");
}

/// A ClientHello without `supported_versions`, as a TLS 1.1 (`[3, 2]`) or TLS 1.2 (`[3, 3]`)
/// client sends it; same suites and extensions, so only the version differs.
fn client_hello(version: [u8; 2]) -> Vec<u8> {
    fn extension(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut out = kind.to_be_bytes().to_vec();
        out.extend_from_slice(&u16::try_from(data.len()).expect("len").to_be_bytes());
        out.extend_from_slice(data);
        out
    }
    let mut sni = vec![0x00, 0x0c, 0x00, 0x00, 0x09];
    sni.extend_from_slice(b"localhost");
    let mut extensions = extension(0x0000, &sni);
    extensions.extend(extension(0x000a, &[0x00, 0x04, 0x00, 0x1d, 0x00, 0x17])); // groups
    extensions.extend(extension(0x000b, &[0x01, 0x00])); // ec_point_formats: uncompressed
    extensions.extend(extension(0x000d, &[0x00, 0x04, 0x04, 0x03, 0x08, 0x04])); // sig algs

    let mut hello = version.to_vec();
    hello.extend_from_slice(&[0x42; 32]); // random
    hello.push(0); // empty session id
    // ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-RSA-AES128-GCM-SHA256, ECDHE-ECDSA-AES128-SHA
    hello.extend_from_slice(&[0x00, 0x06, 0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x09]);
    hello.extend_from_slice(&[0x01, 0x00]); // null compression
    hello.extend_from_slice(&u16::try_from(extensions.len()).expect("len").to_be_bytes());
    hello.extend_from_slice(&extensions);

    let mut handshake = vec![0x01, 0x00]; // ClientHello, 24-bit length
    handshake.extend_from_slice(&u16::try_from(hello.len()).expect("len").to_be_bytes());
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, 0x03, 0x01]; // handshake record, TLS 1.0 record version
    record.extend_from_slice(&u16::try_from(handshake.len()).expect("len").to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Sends a raw ClientHello and returns the server's first bytes (until close or 2 s).
async fn first_answer(addr: std::net::SocketAddr, hello: &[u8]) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(hello).await.expect("write hello");
    let mut answer = vec![0; 7];
    let mut read = 0;
    while read < answer.len() {
        match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut answer[read..])).await {
            Ok(Ok(n)) if n > 0 => read += n,
            _ => break,
        }
    }
    answer.truncate(read);
    answer
}

#[tokio::test]
async fn a_tls11_client_is_refused_while_the_same_hello_as_tls12_is_answered() {
    let dir = temp_dir();
    write_cert(&dir);
    let server = start(tls_settings(&dir, Duration::from_secs(60)), vec![]).await;
    let addr = server.local_addr();

    // Control: the identical hello claiming TLS 1.2 gets a ServerHello (handshake record).
    let answer = first_answer(addr, &client_hello([3, 3])).await;
    assert_eq!(
        answer.first(),
        Some(&0x16),
        "TLS 1.2 hello not answered: {answer:02x?}"
    );

    // TLS 1.1: a fatal alert, never a ServerHello.
    let answer = first_answer(addr, &client_hello([3, 2])).await;
    assert_eq!(
        answer.first(),
        Some(&0x15),
        "expected an alert record: {answer:02x?}"
    );
    assert_eq!(
        answer.get(5),
        Some(&2),
        "expected a fatal alert: {answer:02x?}"
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_certificate_is_reloaded_when_the_files_change_and_a_bad_one_is_ignored() {
    let dir = temp_dir();
    let first = write_cert(&dir);
    let server = start(tls_settings(&dir, Duration::from_millis(100)), vec![]).await;
    let addr = server.local_addr();
    let served = || async {
        send_tls(
            addr,
            &[&TLS13],
            &[b"http/1.1"],
            empty(http::Request::get(HEALTHZ)),
        )
        .await
        .server_cert
    };
    assert_eq!(served().await, first);

    // mtime granularity on some file systems is coarse: make sure the new files look newer.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = write_cert(&dir);
    assert_ne!(first, second);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while served().await != second {
        assert!(
            tokio::time::Instant::now() < deadline,
            "new certificate never served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A broken key file is refused and the working certificate stays.
    std::fs::write(dir.join("key.pem"), "not a key").expect("write");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(served().await, second);
    server.shutdown().await.expect("shutdown");
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_the_certificate_at_once() {
    // Install a SIGHUP handler for this process first, so the signal can never kill it.
    let _guard =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).expect("handler");
    let dir = temp_dir();
    let first = write_cert(&dir);
    // A long interval: only SIGHUP can explain a reload within the test.
    let server = start(tls_settings(&dir, Duration::from_secs(3600)), vec![]).await;
    let addr = server.local_addr();
    let served = || async {
        send_tls(
            addr,
            &[&TLS12],
            &[b"h2"],
            empty(http::Request::get(HEALTHZ)),
        )
        .await
        .server_cert
    };
    assert_eq!(served().await, first);
    let second = write_cert(&dir);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let status = std::process::Command::new("kill")
            .args(["-HUP", &std::process::id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        tokio::time::sleep(Duration::from_millis(100)).await;
        if served().await == second {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "SIGHUP did not reload"
        );
    }
    server.shutdown().await.expect("shutdown");
}
