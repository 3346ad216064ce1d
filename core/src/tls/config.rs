//! How a stream speaks TLS: rustls' own configurations, wrapped with the conveniences a
//! server or client needs most (a certificate chain and key from PEM, roots from PEM or
//! `webpki-roots`, the server's name from the address).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use super::StartTlsError;
use super::session::Session;
use crate::addr::Addr;

/// A TLS server's settings: every connection a [`Listen`](crate::Listen) with them accepts
/// speaks TLS.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("pants-doc-tls-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// # std::fs::write(dir.join("cert.pem"), cert.cert.pem())?;
/// # std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem())?;
/// use pants_core::TlsServer;
///
/// let tls = TlsServer::from_pem_files(dir.join("cert.pem"), dir.join("key.pem"))?
///     .with_alpn(&[b"http/1.1"]);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsServer {
    config: Arc<ServerConfig>,
}

impl TlsServer {
    /// From rustls' own server configuration.
    pub fn new(config: impl Into<Arc<ServerConfig>>) -> Self {
        Self {
            config: config.into(),
        }
    }

    /// Serves the certificate chain in `cert_pem` (the server's own first) with the private
    /// key in `key_pem` (PKCS #8, PKCS #1 or SEC1), no client authentication, TLS 1.2 and
    /// 1.3 with the ring provider.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> io::Result<Self> {
        let chain = certificates_from_pem(cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|err| invalid(format!("no private key in the PEM: {err}")))?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|err| invalid(err.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|err| invalid(format!("the certificate and key do not serve: {err}")))?;
        Ok(Self::new(config))
    }

    /// [`from_pem`](Self::from_pem) with the PEM read from files; an error names them.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        Self::from_pem(&read(cert)?, &read(key)?).map_err(|err| {
            let files = format!("certificate {}, key {}", cert.display(), key.display());
            io::Error::new(err.kind(), format!("{err} ({files})"))
        })
    }

    /// Offers these application protocols with ALPN, in order of preference.
    pub fn with_alpn(mut self, protocols: &[&[u8]]) -> Self {
        Arc::make_mut(&mut self.config).alpn_protocols = owned(protocols);
        self
    }

    /// rustls' configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    pub(crate) fn session(&self) -> Result<Session, StartTlsError> {
        Session::server(self.config.clone())
    }
}

impl fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServer")
            .field("alpn", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

/// A TLS client's settings: the roots it trusts, and the server's name, taken from the
/// connect address unless set.
///
/// Verification is on unless the loudly named
/// [`dangerous_accept_any_certificate`](Self::dangerous_accept_any_certificate) is used.
///
/// ```
/// use pants_core::TlsClient;
///
/// let tls = TlsClient::webpki_roots().with_alpn(&[b"http/1.1"]);
/// let named = TlsClient::webpki_roots().server_name("example.com")?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    server_name: Option<ServerName<'static>>,
}

impl TlsClient {
    /// From rustls' own client configuration.
    pub fn new(config: impl Into<Arc<ClientConfig>>) -> Self {
        Self {
            config: config.into(),
            server_name: None,
        }
    }

    /// Trusts the Mozilla roots that the `webpki-roots` crate ships.
    pub fn webpki_roots() -> Self {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self::with_roots(roots)
    }

    /// Trusts the certificates in `pem` (a CA bundle, or a self-signed server's own
    /// certificate).
    pub fn with_ca_pem(pem: &[u8]) -> io::Result<Self> {
        let mut roots = RootCertStore::empty();
        for cert in certificates_from_pem(pem)? {
            roots
                .add(cert)
                .map_err(|err| invalid(format!("a CA certificate was refused: {err}")))?;
        }
        Ok(Self::with_roots(roots))
    }

    /// [`with_ca_pem`](Self::with_ca_pem) with the PEM read from a file; an error names it.
    pub fn with_ca_file(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        Self::with_ca_pem(&read(path)?)
            .map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", path.display())))
    }

    /// Trusts the system's roots: the bundle named by `SSL_CERT_FILE` (or else the first of
    /// the usual bundle files that exists), and the certificate files in `SSL_CERT_DIR`. As
    /// OpenSSL and rustls-native-certs do, a certificate of the system's that rustls cannot
    /// use is skipped, not fatal; an error says that no usable root was found.
    pub fn system_roots() -> io::Result<Self> {
        const BUNDLES: [&str; 4] = [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/cert.pem",
            "/etc/ssl/ca-bundle.pem",
        ];
        let bundle = match std::env::var_os("SSL_CERT_FILE") {
            Some(file) => Some(PathBuf::from(file)),
            None => BUNDLES.iter().map(PathBuf::from).find(|path| path.exists()),
        };
        let dir = std::env::var_os("SSL_CERT_DIR").map(PathBuf::from);
        Ok(Self::with_roots(usable_roots(
            bundle.as_deref(),
            dir.as_deref(),
        )?))
    }

    /// **Turns certificate verification off**: any server, with any certificate, for any
    /// name, is accepted, and a man in the middle reads everything. For tests against a
    /// throw-away certificate only.
    pub fn dangerous_accept_any_certificate() -> Self {
        let verifier = Arc::new(AcceptAnyCertificate(provider()));
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Self::new(config)
    }

    /// Verifies the server as `name` (a DNS name or an IP address) rather than as the host
    /// of the connect address.
    pub fn server_name(mut self, name: &str) -> io::Result<Self> {
        let name = ServerName::try_from(name.to_owned())
            .map_err(|err| invalid(format!("not a server name: {name:?}: {err}")))?;
        self.server_name = Some(name);
        Ok(self)
    }

    /// Offers these application protocols with ALPN, in order of preference.
    pub fn with_alpn(mut self, protocols: &[&[u8]]) -> Self {
        Arc::make_mut(&mut self.config).alpn_protocols = owned(protocols);
        self
    }

    /// rustls' configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    fn with_roots(roots: RootCertStore) -> Self {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self::new(config)
    }

    /// The server name to verify: the one set, else the host of `addr` (a host name or an IP
    /// address).
    pub(crate) fn name_or(mut self, addr: Option<&Addr>) -> Self {
        if self.server_name.is_none() {
            self.server_name = match addr {
                Some(Addr::Host { host, .. }) => ServerName::try_from(host.clone()).ok(),
                Some(Addr::Ip(ip)) => Some(ServerName::from(ip.ip())),
                _ => None,
            };
        }
        self
    }

    pub(crate) fn session(&self) -> Result<Session, StartTlsError> {
        let name = self
            .server_name
            .clone()
            .ok_or(StartTlsError::NoServerName)?;
        Session::client(self.config.clone(), name)
    }
}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClient")
            .field("server_name", &self.server_name)
            .field("alpn", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

/// The side of TLS a stream takes when it starts TLS ([`Stream::start_tls`](crate::channel::Stream::start_tls),
/// [`ChannelMut::start_tls`](crate::ChannelMut::start_tls)).
#[derive(Debug, Clone)]
pub enum Tls {
    /// The client: it sends the first handshake message.
    Client(TlsClient),
    /// The server.
    Server(TlsServer),
}

impl Tls {
    pub(crate) fn session(&self) -> Result<Session, StartTlsError> {
        match self {
            Tls::Client(client) => client.session(),
            Tls::Server(server) => server.session(),
        }
    }
}

impl From<TlsClient> for Tls {
    fn from(client: TlsClient) -> Self {
        Tls::Client(client)
    }
}

impl From<TlsServer> for Tls {
    fn from(server: TlsServer) -> Self {
        Tls::Server(server)
    }
}

/// The ring provider, named explicitly: a process that also links aws-lc-rs has no default.
/// (rustls 0.23.48 deprecates it for lacking post-quantum key exchange, which only its
/// aws-lc-rs provider has; DESIGN.md section 10 chose ring, which builds with no C toolchain
/// beyond cc. A user wanting post-quantum key exchange passes their own config.)
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// ALPN protocol names as rustls keeps them.
fn owned(protocols: &[&[u8]]) -> Vec<Vec<u8>> {
    protocols.iter().map(|p| p.to_vec()).collect()
}

fn certificates_from_pem(pem: &[u8]) -> io::Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| invalid(format!("a certificate in the PEM is malformed: {err}")))?;
    if chain.is_empty() {
        return Err(invalid("no certificate in the PEM".into()));
    }
    Ok(chain)
}

/// The roots rustls can use out of a `bundle` file and the files of a `dir` (see
/// [`TlsClient::system_roots`]).
fn usable_roots(bundle: Option<&Path>, dir: Option<&Path>) -> io::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    if let Some(bundle) = bundle {
        add_usable(&mut roots, &read(bundle)?);
    }
    if let Some(dir) = dir {
        for entry in std::fs::read_dir(dir)?.flatten() {
            // Hashed links and bundles alike; what is not PEM holds no certificate.
            if let Ok(pem) = std::fs::read(entry.path()) {
                add_usable(&mut roots, &pem);
            }
        }
    }
    if roots.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no usable system CA certificate found (set SSL_CERT_FILE or SSL_CERT_DIR)",
        ));
    }
    Ok(roots)
}

/// Adds the certificates of `pem` that rustls can use as roots; skips the rest.
fn add_usable(roots: &mut RootCertStore, pem: &[u8]) {
    roots.add_parsable_certificates(CertificateDer::pem_slice_iter(pem).flatten());
}

fn read(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", path.display())))
}

fn invalid(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// The verifier of [`TlsClient::dangerous_accept_any_certificate`]: signatures are still
/// checked (the handshake needs them), the certificate and name are not.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory for one test, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("pants-roots-{}-{name}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn a_certificate() -> String {
        let names = vec!["localhost".to_owned()];
        rcgen::generate_simple_self_signed(names)
            .unwrap()
            .cert
            .pem()
    }

    /// PEM armour around bytes that are no certificate.
    const MALFORMED: &str = "-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n";

    #[test]
    fn a_bundle_with_a_certificate_rustls_refuses_keeps_the_others() {
        let scratch = Scratch::new("bundle");
        let bundle = scratch.file(
            "bundle.pem",
            format!("{MALFORMED}{}", a_certificate()).as_bytes(),
        );
        let roots = usable_roots(Some(&bundle), None).unwrap();
        assert_eq!(roots.len(), 1);
    }

    #[test]
    fn a_certificate_directory_adds_its_certificates_and_skips_other_files() {
        let scratch = Scratch::new("dir");
        scratch.file("one.pem", a_certificate().as_bytes());
        scratch.file("two.crt", a_certificate().as_bytes());
        scratch.file("README", b"not a certificate");
        let roots = usable_roots(None, Some(&scratch.0)).unwrap();
        assert_eq!(roots.len(), 2);
    }

    #[test]
    fn nothing_usable_is_a_not_found_error() {
        let scratch = Scratch::new("none");
        let bundle = scratch.file("bundle.pem", MALFORMED.as_bytes());
        let err = usable_roots(Some(&bundle), None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        let missing = scratch.0.join("missing.pem");
        assert_eq!(
            usable_roots(Some(&missing), None).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn pem_files_that_hold_the_wrong_thing_are_named_in_the_error() {
        let scratch = Scratch::new("swapped");
        let pair = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = scratch.file("cert.pem", pair.cert.pem().as_bytes());
        let key = scratch.file("key.pem", pair.signing_key.serialize_pem().as_bytes());
        assert!(TlsServer::from_pem_files(&cert, &key).is_ok());
        let err = TlsServer::from_pem_files(&key, &cert).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let message = err.to_string();
        assert!(message.contains("no certificate in the PEM"), "{message}");
        assert!(
            message.contains(&*key.to_string_lossy()) && message.contains(&*cert.to_string_lossy()),
            "{message}"
        );
        let err = TlsClient::with_ca_file(&key).unwrap_err();
        assert!(
            err.to_string().starts_with(&*key.to_string_lossy()),
            "{err}"
        );
    }
}
