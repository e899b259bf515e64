//! `kizuki serve` over HTTPS, as a real process on a loopback port, with a certificate made
//! at test time and a rustls client that trusts only that certificate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

struct Certificate {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
}

fn certificate() -> Certificate {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    Certificate {
        _dir: dir,
        cert,
        key,
        der: made.cert.der().clone(),
    }
}

fn temp_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kizuki.db").display());
    (dir, url)
}

fn kizuki_serve(db: &str, tls: &[&Path]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kizuki"));
    cmd.args(["--database", db, "serve", "--listen", "127.0.0.1:0"])
        .env("KIZUKI_LOG", "warn")
        .env_remove("KIZUKI_CONFIG")
        .env_remove("KIZUKI_TLS_CERT")
        .env_remove("KIZUKI_TLS_KEY");
    if let Some(cert) = tls.first() {
        cmd.arg("--tls-cert").arg(cert);
    }
    if let Some(key) = tls.get(1) {
        cmd.arg("--tls-key").arg(key);
    }
    cmd
}

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(db: &str, cert: &Certificate) -> Self {
        let mut child = kizuki_serve(db, &[&cert.cert, &cert.key])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            assert!(Instant::now() < deadline, "server did not start");
            let line = lines.next().unwrap().unwrap();
            if let Some(rest) = line.strip_prefix("Kizuki listening on https://") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, addr }
    }

    fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn client_config(cert: &Certificate, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

fn connect(addr: &str, config: Arc<ClientConfig>) -> StreamOwned<ClientConnection, TcpStream> {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let conn = ClientConnection::new(config, ServerName::try_from("localhost").unwrap()).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).unwrap();
    }
    tls
}

/// One HTTP/1.1 GET over TLS: (status, lower-cased head, body).
fn https_get(addr: &str, cert: &Certificate, path: &str) -> (u16, String, String) {
    let mut tls = connect(addr, client_config(cert, &[b"http/1.1"]));
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        // A peer that closes without close_notify; the response is complete all the same.
        Err(e) if e.kind() == ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => panic!("reading the response: {e}"),
    }
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure, got: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn serves_https_with_hsts_and_survives_bad_clients() {
    let (_dir, db) = temp_db();
    let cert = certificate();
    let server = Server::start(&db, &cert);

    let (status, head, body) = https_get(&server.addr, &cert, "/healthz");
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(body.contains("sqlite"), "{body}");
    assert!(
        head.contains("strict-transport-security: max-age=63072000; includesubdomains"),
        "{head}"
    );
    assert!(
        head.contains("content-security-policy: default-src 'none';"),
        "{head}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    let (status, head, _) = https_get(&server.addr, &cert, "/no/such/route");
    assert_eq!(status, 404);
    assert!(head.contains("strict-transport-security"), "{head}");

    // ALPN offers HTTP/2 first; TLS 1.2 and 1.3 both work.
    let tls = connect(
        &server.addr,
        client_config(&cert, &[b"h2".as_slice(), b"http/1.1".as_slice()]),
    );
    assert_eq!(tls.conn.alpn_protocol(), Some(b"h2".as_slice()));
    assert_eq!(
        tls.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    drop(tls);
    let mut roots = RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    let tls12 =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let tls = connect(&server.addr, Arc::new(tls12));
    assert_eq!(
        tls.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    drop(tls);

    // Plain HTTP to the TLS port gets no HTTP answer...
    let mut plain = TcpStream::connect(&server.addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP was answered: {}",
        String::from_utf8_lossy(&answer)
    );
    // ...and a client that connects and never speaks holds up no one.
    let _silent = TcpStream::connect(&server.addr).unwrap();
    // An untrusted client (wrong root) fails its own handshake only.
    let other = certificate();
    let tcp = TcpStream::connect(&server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let conn = ClientConnection::new(
        client_config(&other, &[b"http/1.1"]),
        ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut untrusting = StreamOwned::new(conn, tcp);
    assert!(untrusting.write_all(b"GET / HTTP/1.1\r\n\r\n").is_err());
    drop(untrusting);

    let (status, _, _) = https_get(&server.addr, &cert, "/healthz");
    assert_eq!(status, 200, "the listener kept serving");
    assert!(server.stop().success(), "SIGTERM leads to a clean exit");
}

#[test]
fn a_missing_or_wrong_key_stops_start_up_with_a_clear_error() {
    let (dir, db) = temp_db();
    let cert = certificate();
    let missing = dir.path().join("missing-key.pem");
    let err = failed(&kizuki_serve(&db, &[&cert.cert, &missing]).output().unwrap());
    assert!(
        err.contains(missing.to_str().unwrap()) && err.contains("private key"),
        "{err}"
    );

    // The key of another certificate.
    let other = certificate();
    let err = failed(
        &kizuki_serve(&db, &[&cert.cert, &other.key])
            .output()
            .unwrap(),
    );
    assert!(err.contains(cert.cert.to_str().unwrap()), "{err}");
    assert!(err.contains(other.key.to_str().unwrap()), "{err}");

    // Garbage where the certificate should be.
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let err = failed(&kizuki_serve(&db, &[&garbage, &cert.key]).output().unwrap());
    assert!(err.contains(garbage.to_str().unwrap()), "{err}");

    // Only one of the two.
    let err = failed(&kizuki_serve(&db, &[&cert.cert]).output().unwrap());
    assert!(err.contains("--tls-key"), "{err}");
    let err = failed(
        &kizuki_serve(&db, &[])
            .env("KIZUKI_TLS_KEY", &cert.key)
            .output()
            .unwrap(),
    );
    assert!(err.contains("--tls-cert"), "{err}");
}
