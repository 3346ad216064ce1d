//! TLS for the reference servers and clients: rustls 0.23 with the ring provider, configured
//! as pants' `TlsServer::from_pem_files` and `TlsClient::with_ca_file` do, so that the same
//! handshake and cipher suite are measured on both sides.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::process::exit;
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The ring provider, as pants names it (rustls 0.23.48 deprecates it for lacking
/// post-quantum key exchange; pants uses it all the same, and so must its yardstick).
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// A server serving the chain in PEM file `cert` with the key in PEM file `key`.
pub fn server_config(cert: &Path, key: &Path) -> io::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(io::Error::other)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(io::Error::other)?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(io::Error::other)?;
    Ok(Arc::new(config))
}

/// A client trusting the certificates in PEM file `ca`.
pub fn client_config(ca: &Path) -> io::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(io::Error::other)? {
        roots
            .add(cert.map_err(io::Error::other)?)
            .map_err(io::Error::other)?;
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Parses `--listen ADDR --cert FILE --key FILE` (a TLS server's flags), with `default` for
/// the address; exits with a usage message on anything else.
pub fn server_args(name: &str, default: &str) -> (SocketAddr, Arc<ServerConfig>) {
    let usage = || -> ! {
        eprintln!("usage: {name} [--listen HOST:PORT] --cert FILE --key FILE");
        exit(2)
    };
    let (mut listen, mut cert, mut key) = (default.to_owned(), None, None);
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--listen" => listen = value,
            "--cert" => cert = Some(value),
            "--key" => key = Some(value),
            _ => usage(),
        }
    }
    let (Some(cert), Some(key)) = (cert, key) else {
        usage()
    };
    let addr = listen.parse().unwrap_or_else(|_| usage());
    let config = server_config(Path::new(&cert), Path::new(&key)).unwrap_or_else(|err| {
        eprintln!("{name}: TLS: {err}");
        exit(1)
    });
    (addr, config)
}
