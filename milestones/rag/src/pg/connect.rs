//! Connecting to PostgreSQL: the store URL, its TLS mode, and the rustls
//! connector that mode asks for.
//!
//! The URL is libpq's (`postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=...`)
//! and `sslmode` means what it means for libpq (PostgreSQL docs, "SSL Support",
//! table "SSL Mode Descriptions"):
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default) | if the server offers it, else plain | not checked |
//! | `require` | always (fails if the server has none) | not checked, unless `sslrootcert` is given: then as `verify-ca` |
//! | `verify-ca` | always | signed by a trusted root |
//! | `verify-full` | always | signed by a trusted root **and** issued for the host in the URL |
//!
//! Only `verify-full` protects against a machine in the middle; `require`
//! only against eavesdropping. Trusted roots are the PEM certificates of
//! `sslrootcert=PATH`, or without it (or with libpq's `sslrootcert=system`)
//! Mozilla's root programme as compiled into `webpki-roots`. TLS is rustls
//! with the *ring* provider; neither OpenSSL nor native-tls is linked.
//!
//! libpq's `allow` mode and client certificates (`sslcert`, `sslkey`) are
//! refused with an explanation rather than silently ignored. Every message
//! shows the URL without its password ([`roadmap_common::redact::redact_url`]).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{RagError, Result};
use roadmap_common::redact::redact_url;

/// libpq's `sslmode` (the ones this store supports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// TLS when the server offers it, unverified; plain otherwise (libpq's default).
    Prefer,
    /// TLS or fail; the certificate is not checked.
    Require,
    /// TLS or fail; the certificate chain must end at a trusted root.
    VerifyCa,
    /// TLS or fail; chain to a trusted root and a name matching the host.
    VerifyFull,
}

impl SslMode {
    /// The `sslmode=` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where the trusted roots for `verify-ca` / `verify-full` come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCerts {
    /// Mozilla's root programme (`webpki-roots`): a server with a public certificate.
    WebPki,
    /// The PEM certificates in this file (`sslrootcert=PATH`): a private CA or a self-signed server.
    File(PathBuf),
}

/// A parsed store URL: the connection settings and how to secure them.
#[derive(Debug, Clone)]
pub struct PgTarget {
    /// Host, port, user, password, database and the other libpq parameters.
    pub config: postgres::Config,
    /// The TLS mode in force (after `require` + `sslrootcert` became `verify-ca`).
    pub ssl_mode: SslMode,
    /// The trusted roots (used by the verifying modes).
    pub roots: RootCerts,
    /// The URL without its password, for messages.
    pub shown_url: String,
}

const URL_FORM: &str = "postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=verify-full]";

/// Parses a store URL, taking out what `postgres::Config` does not know
/// (`sslmode` beyond `require`, `sslrootcert`) and refusing TLS settings this
/// store does not implement.
pub fn parse_url(url: &str) -> Result<PgTarget> {
    let shown_url = redact_url(url);
    if !super::is_postgres_url(url) {
        return Err(RagError::Invalid(format!(
            "`{shown_url}` is not a PostgreSQL URL: expected {URL_FORM}"
        )));
    }
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut ssl_mode = SslMode::Prefer;
    let mut root_file: Option<PathBuf> = None;
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                ssl_mode = match value {
                    "disable" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    "allow" => {
                        return Err(RagError::Invalid(format!(
                            "sslmode=allow in {shown_url} is not supported (it tries plain first, then TLS): \
                             use sslmode=prefer, or sslmode=verify-full to be protected"
                        )))
                    }
                    other => {
                        return Err(RagError::Invalid(format!(
                            "sslmode={other} in {shown_url}: expected one of disable, prefer, require, \
                             verify-ca, verify-full"
                        )))
                    }
                }
            }
            "sslrootcert" => {
                if value.is_empty() {
                    return Err(RagError::Invalid(format!(
                        "sslrootcert= in {shown_url} is empty: give the path of a PEM file with the CA \
                         certificate(s), or `system` for the built-in public roots"
                    )));
                }
                root_file = (value != "system").then(|| PathBuf::from(percent_decode(value)));
            }
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "sslcrldir" | "sslsni"
            | "ssl_min_protocol_version" | "ssl_max_protocol_version" | "sslcompression" => {
                return Err(RagError::Invalid(format!(
                    "`{key}` in {shown_url} is not supported by this store (it speaks TLS with \
                     server authentication only: sslmode and sslrootcert); remove it"
                )));
            }
            _ => kept.push(pair),
        }
    }
    if ssl_mode == SslMode::Require && root_file.is_some() {
        // libpq: "if a root CA file exists, the behavior of sslmode=require
        // will be the same as that of verify-ca".
        ssl_mode = SslMode::VerifyCa;
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: postgres::Config = rest.parse().map_err(|e: postgres::Error| {
        RagError::Invalid(format!(
            "`{shown_url}` is not a PostgreSQL URL ({}); expected {URL_FORM}",
            roadmap_common::redact::redact_text(&e.to_string())
        ))
    })?;
    // What the wire protocol does with the mode; the verification is ours.
    config.ssl_mode(match ssl_mode {
        SslMode::Disable => postgres::config::SslMode::Disable,
        SslMode::Prefer => postgres::config::SslMode::Prefer,
        _ => postgres::config::SslMode::Require,
    });
    Ok(PgTarget {
        config,
        ssl_mode,
        roots: root_file.map_or(RootCerts::WebPki, RootCerts::File),
        shown_url,
    })
}

/// `%XX` escapes decoded (a path in a URL query may carry them, e.g. `%2F`).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl PgTarget {
    /// The rustls client configuration for this target's mode, or `None`
    /// for `sslmode=disable`.
    pub fn tls_config(&self) -> Result<Option<rustls::ClientConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| RagError::Invalid(format!("setting up TLS: {e}")))?;
        let verifier: Arc<dyn ServerCertVerifier> = match self.ssl_mode {
            SslMode::Disable => return Ok(None),
            SslMode::Prefer | SslMode::Require => Arc::new(Unverified(provider)),
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let webpki = WebPkiServerVerifier::builder_with_provider(
                    Arc::new(self.root_store()?),
                    provider,
                )
                .build()
                .map_err(|e| RagError::Invalid(format!("setting up TLS verification: {e}")))?;
                if self.ssl_mode == SslMode::VerifyCa {
                    Arc::new(ChainOnly(webpki)) as Arc<dyn ServerCertVerifier>
                } else {
                    webpki as Arc<dyn ServerCertVerifier>
                }
            }
        };
        Ok(Some(
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth(),
        ))
    }

    /// The trusted roots: the `sslrootcert` file's certificates or webpki's.
    fn root_store(&self) -> Result<RootCertStore> {
        match &self.roots {
            RootCerts::WebPki => Ok(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            }),
            RootCerts::File(path) => {
                let bad = |reason: String| {
                    RagError::Invalid(format!(
                        "sslrootcert={} in {}: {reason}; give a PEM file with the server's CA certificate(s)",
                        path.display(),
                        self.shown_url
                    ))
                };
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .map_err(|e| bad(e.to_string()))?
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| bad(e.to_string()))?;
                if certs.is_empty() {
                    return Err(bad("no `BEGIN CERTIFICATE` block in it".into()));
                }
                let mut store = RootCertStore::empty();
                let (_, rejected) = store.add_parsable_certificates(certs);
                if store.is_empty() {
                    return Err(bad(format!(
                        "none of its {rejected} certificate(s) could be parsed"
                    )));
                }
                Ok(store)
            }
        }
    }

    /// Connects: plain for `disable`, through rustls otherwise.
    pub fn connect(&self) -> std::result::Result<postgres::Client, ConnectError> {
        match self.tls_config().map_err(ConnectError::Setup)? {
            None => self
                .config
                .connect(postgres::NoTls)
                .map_err(ConnectError::Pg),
            Some(tls) => self
                .config
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
                .map_err(ConnectError::Pg),
        }
    }
}

/// Why [`PgTarget::connect`] failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The TLS set-up (root file, provider) failed before any connection.
    Setup(RagError),
    /// The connection or the authentication failed.
    Pg(postgres::Error),
}

/// `prefer` and `require`: the certificate is not checked (libpq's meaning),
/// but the handshake's signatures are, so the session keys are the server's.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must end at a trusted root; the name may differ.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str) -> SslMode {
        parse_url(url).unwrap().ssl_mode
    }

    #[test]
    fn sslmode_is_read_from_the_url_and_defaults_to_prefer() {
        assert_eq!(mode("postgres://u:p@h/db"), SslMode::Prefer);
        assert_eq!(
            mode("postgres://u:p@h/db?sslmode=disable"),
            SslMode::Disable
        );
        assert_eq!(
            mode("postgresql://u@h:5433/db?sslmode=require"),
            SslMode::Require
        );
        assert_eq!(
            mode("postgres://h/db?connect_timeout=3&sslmode=verify-ca"),
            SslMode::VerifyCa
        );
        assert_eq!(
            mode("postgres://h/db?sslmode=verify-full"),
            SslMode::VerifyFull
        );
    }

    #[test]
    fn the_wire_mode_follows_and_other_parameters_survive() {
        let t = parse_url("postgres://alice:pw@db.example:6543/rag?sslmode=verify-full&connect_timeout=7&application_name=x").unwrap();
        assert_eq!(t.config.get_ssl_mode(), postgres::config::SslMode::Require);
        assert_eq!(
            t.config.get_connect_timeout(),
            Some(&std::time::Duration::from_secs(7))
        );
        assert_eq!(t.config.get_application_name(), Some("x"));
        assert_eq!(t.config.get_user(), Some("alice"));
        assert_eq!(t.config.get_password(), Some(&b"pw"[..]));
        assert_eq!(t.config.get_dbname(), Some("rag"));
        assert_eq!(t.config.get_ports(), &[6543]);
        assert_eq!(t.roots, RootCerts::WebPki);
        let t = parse_url("postgres://h/db?sslmode=disable").unwrap();
        assert_eq!(t.config.get_ssl_mode(), postgres::config::SslMode::Disable);
        let t = parse_url("postgres://h/db").unwrap();
        assert_eq!(t.config.get_ssl_mode(), postgres::config::SslMode::Prefer);
    }

    #[test]
    fn require_with_a_root_file_verifies_the_chain_like_libpq() {
        let t = parse_url("postgres://h/db?sslmode=require&sslrootcert=%2Fetc%2Fpg%2Froot.crt")
            .unwrap();
        assert_eq!(t.ssl_mode, SslMode::VerifyCa);
        assert_eq!(t.roots, RootCerts::File(PathBuf::from("/etc/pg/root.crt")));
        let t = parse_url("postgres://h/db?sslmode=verify-full&sslrootcert=system").unwrap();
        assert_eq!(t.roots, RootCerts::WebPki);
    }

    #[test]
    fn bad_tls_settings_are_refused_with_the_fix_and_without_the_password() {
        for (url, needle) in [
            (
                "postgres://u:hunter2@h/db?sslmode=verify",
                "expected one of disable, prefer",
            ),
            (
                "postgres://u:hunter2@h/db?sslmode=allow",
                "use sslmode=prefer",
            ),
            ("postgres://u:hunter2@h/db?sslcert=/c.pem", "`sslcert`"),
            ("postgres://u:hunter2@h/db?sslrootcert=", "PEM file"),
            ("mysql://u:hunter2@h/db", "not a PostgreSQL URL"),
            ("postgres://u:hunter2@h:notaport/db", "not a PostgreSQL URL"),
        ] {
            let e = parse_url(url).unwrap_err().to_string();
            assert!(e.contains(needle), "{url}: {e}");
            assert!(!e.contains("hunter2"), "{url}: password in `{e}`");
        }
    }

    #[test]
    fn modes_build_the_tls_they_promise() {
        assert!(parse_url("postgres://h/db?sslmode=disable")
            .unwrap()
            .tls_config()
            .unwrap()
            .is_none());
        for m in ["prefer", "require", "verify-ca", "verify-full"] {
            let t = parse_url(&format!("postgres://h/db?sslmode={m}")).unwrap();
            assert!(t.tls_config().unwrap().is_some(), "{m}");
        }
        // A root file that is missing or holds no certificate: a clear error, before connecting.
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.pem");
        let e = parse_url(&format!(
            "postgres://h/db?sslmode=verify-full&sslrootcert={}",
            missing.display()
        ))
        .unwrap()
        .tls_config()
        .unwrap_err()
        .to_string();
        assert!(e.contains("none.pem") && e.contains("PEM file"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = parse_url(&format!(
            "postgres://h/db?sslmode=verify-full&sslrootcert={}",
            empty.display()
        ))
        .unwrap()
        .tls_config()
        .unwrap_err()
        .to_string();
        assert!(e.contains("empty.pem") && e.contains("PEM file"), "{e}");
    }

    #[test]
    fn percent_escapes_decode() {
        assert_eq!(percent_decode("%2Ftmp%2Fa%20b.pem"), "/tmp/a b.pem");
        assert_eq!(percent_decode("plain%"), "plain%");
        assert_eq!(percent_decode("x%zz"), "x%zz");
        assert_eq!(percent_decode("é%é"), "é%é");
    }
}
