//! HTTPS served by Kizuki itself: rustls with the `ring` provider, TLS 1.2 and 1.3 only, ALPN
//! `h2` and `http/1.1`.
//!
//! [`TlsListener`] is an [`axum::serve::Listener`]: a background task accepts TCP connections
//! and runs each handshake in its own task, with a time limit, so one slow or broken client
//! neither blocks the others nor stops the listener. Only finished handshakes reach axum.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A client has this long to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many handshakes run at once; further connections wait in the kernel's backlog.
const MAX_PENDING_HANDSHAKES: usize = 1024;
/// Finished handshakes waiting for axum to pick them up.
const ACCEPTED_QUEUE: usize = 64;

/// Why the certificate or key could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("TLS certificate {}: no PEM certificate found (expected `-----BEGIN CERTIFICATE-----`)", path.display())]
    NoCertificate { path: PathBuf },
    #[error("TLS certificate {}: {message}", path.display())]
    BadCertificate { path: PathBuf, message: String },
    #[error("TLS private key {}: no PEM private key found (expected PKCS#8, PKCS#1 or SEC1 `-----BEGIN ... PRIVATE KEY-----`)", path.display())]
    NoKey { path: PathBuf },
    #[error("TLS private key {}: {message}", path.display())]
    BadKey { path: PathBuf, message: String },
    #[error("TLS certificate {} and private key {} cannot be used together: {message}", cert.display(), key.display())]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
}

/// A loaded certificate chain and key, ready to serve HTTPS.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("TlsConfig")
            .field("alpn", &["h2", "http/1.1"])
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let cert_pem = std::fs::read(cert).map_err(|source| TlsError::Read {
            what: "certificate",
            path: cert.to_owned(),
            source,
        })?;
        let key_pem = std::fs::read(key).map_err(|source| TlsError::Read {
            what: "private key",
            path: key.to_owned(),
            source,
        })?;
        Self::from_pem(&cert_pem, cert, &key_pem, key)
    }

    /// Like [`TlsConfig::from_pem_files`], from bytes; the paths are only used in errors.
    pub fn from_pem(
        cert_pem: &[u8],
        cert_path: &Path,
        key_pem: &[u8],
        key_path: &Path,
    ) -> Result<Self, TlsError> {
        let certs = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::BadCertificate {
                path: cert_path.to_owned(),
                message: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate {
                path: cert_path.to_owned(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
                path: key_path.to_owned(),
            },
            other => TlsError::BadKey {
                path: key_path.to_owned(),
                message: other.to_string(),
            },
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Mismatch {
                cert: cert_path.to_owned(),
                key: key_path.to_owned(),
                message: e.to_string(),
            })?
            .with_no_client_auth()
            // Checks that the key is usable and belongs to the leaf certificate.
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Mismatch {
                cert: cert_path.to_owned(),
                key: key_path.to_owned(),
                message: e.to_string(),
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// The rustls configuration (for tests and custom listeners).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }
}

/// Accepts TCP connections and hands axum only those whose TLS handshake succeeded.
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    acceptor: tokio::task::AbortHandle,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl TlsListener {
    /// Starts accepting on `listener`. Must be called inside a Tokio runtime.
    pub fn new(listener: TcpListener, tls: &TlsConfig) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (tx, accepted) = mpsc::channel(ACCEPTED_QUEUE);
        let acceptor = TlsAcceptor::from(tls.server_config());
        let task = tokio::spawn(accept_loop(listener, acceptor, tx));
        Ok(Self {
            accepted,
            local_addr,
            acceptor: task.abort_handle(),
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // Stop accepting (and release the port) once axum lets go of the listener.
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(conn) => conn,
            // The accept loop never ends on its own; if it was aborted, accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    accepted: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let slots = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                accept_error(e).await;
                continue;
            }
        };
        if accepted.is_closed() {
            return;
        }
        // Small JSON answers should leave at once, not wait for Nagle's algorithm.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let acceptor = acceptor.clone();
        let accepted = accepted.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
            drop(slot);
            match handshake {
                Ok(Ok(tls)) => {
                    // Fails only when the server is shutting down; the connection is dropped.
                    let _ = accepted.send((tls, peer)).await;
                }
                // A client's failure is the client's: log quietly, keep serving everyone else.
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// Per-connection errors are the client's; others (out of file descriptors) call for a pause.
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    #[test]
    fn a_matching_pair_loads_with_alpn_h2_first() {
        let (cert, key) = self_signed();
        let tls = TlsConfig::from_pem(
            cert.as_bytes(),
            Path::new("cert.pem"),
            key.as_bytes(),
            Path::new("key.pem"),
        )
        .unwrap();
        assert_eq!(
            tls.server_config().alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(!format!("{tls:?}").contains("PRIVATE"));
    }

    #[test]
    fn errors_name_the_file() {
        let (cert, key) = self_signed();
        let (_, other_key) = self_signed();
        let load = |c: &str, k: &str| {
            TlsConfig::from_pem(
                c.as_bytes(),
                Path::new("/etc/kizuki/cert.pem"),
                k.as_bytes(),
                Path::new("/etc/kizuki/key.pem"),
            )
            .unwrap_err()
            .to_string()
        };
        let err = load("not a certificate", &key);
        assert!(err.contains("/etc/kizuki/cert.pem"), "{err}");
        let err = load(&cert, "not a key");
        assert!(err.contains("/etc/kizuki/key.pem"), "{err}");
        // The key of another certificate is refused at start-up, not at the first handshake.
        let err = load(&cert, &other_key);
        assert!(
            err.contains("/etc/kizuki/cert.pem") && err.contains("/etc/kizuki/key.pem"),
            "{err}"
        );
        // A key where the certificate belongs.
        let err = load(&key, &key);
        assert!(err.contains("/etc/kizuki/cert.pem"), "{err}");

        let missing = TlsConfig::from_pem_files(
            Path::new("/nonexistent/cert.pem"),
            Path::new("/nonexistent/key.pem"),
        )
        .unwrap_err()
        .to_string();
        assert!(missing.contains("/nonexistent/cert.pem"), "{missing}");
    }
}
