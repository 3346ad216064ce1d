//! Addresses of channels: IP, Unix paths, Linux abstract names, and host names to resolve.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

/// Where a channel listens, connects or sends: parsed from and shown as
/// `127.0.0.1:80`, `[::1]:80`, `unix:/run/app.sock`, `unix:@abstract-name` or `host.example:80`.
///
/// ```
/// use pants_core::Addr;
///
/// let v6: Addr = "[::1]:8080".parse()?;
/// assert_eq!(v6.to_string(), "[::1]:8080");
/// let unix: Addr = "unix:/tmp/app.sock".parse()?;
/// assert!(unix.is_unix());
/// let host: Addr = "localhost:6379".parse()?;
/// assert_eq!(host, Addr::Host { host: "localhost".into(), port: 6379 });
/// # Ok::<(), pants_core::AddrParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Addr {
    /// An IPv4 or IPv6 socket address.
    Ip(SocketAddr),
    /// A Unix socket at a file-system path.
    Unix(PathBuf),
    /// A Linux abstract Unix socket name (no file; shown with a leading `@`).
    Abstract(Vec<u8>),
    /// A host name and port, resolved by the driver without blocking its event loop.
    Host {
        /// The host name.
        host: String,
        /// The port.
        port: u16,
    },
}

impl Addr {
    /// True for Unix paths and abstract names.
    pub fn is_unix(&self) -> bool {
        matches!(self, Addr::Unix(_) | Addr::Abstract(_))
    }

    /// The port, for IP addresses and host names.
    pub fn port(&self) -> Option<u16> {
        match self {
            Addr::Ip(addr) => Some(addr.port()),
            Addr::Host { port, .. } => Some(*port),
            _ => None,
        }
    }

    /// The IP socket address, when this is one.
    pub fn as_ip(&self) -> Option<SocketAddr> {
        match self {
            Addr::Ip(addr) => Some(*addr),
            _ => None,
        }
    }
}

impl From<SocketAddr> for Addr {
    fn from(addr: SocketAddr) -> Self {
        Addr::Ip(addr)
    }
}

impl From<(IpAddr, u16)> for Addr {
    fn from((ip, port): (IpAddr, u16)) -> Self {
        Addr::Ip(SocketAddr::new(ip, port))
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Ip(addr) => addr.fmt(f),
            Addr::Unix(path) => write!(f, "unix:{}", path.display()),
            Addr::Abstract(name) => write!(f, "unix:@{}", name.escape_ascii()),
            Addr::Host { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// A string that is not an address; says what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrParseError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for AddrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid address {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for AddrParseError {}

impl From<AddrParseError> for std::io::Error {
    fn from(err: AddrParseError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, err)
    }
}

impl FromStr for Addr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, AddrParseError> {
        let err = |reason| AddrParseError {
            input: input.to_owned(),
            reason,
        };
        if let Some(rest) = input.strip_prefix("unix:") {
            if let Some(name) = rest.strip_prefix('@') {
                return Ok(Addr::Abstract(name.as_bytes().to_vec()));
            }
            if rest.is_empty() {
                return Err(err("a Unix address needs a path after `unix:`"));
            }
            return Ok(Addr::Unix(PathBuf::from(rest)));
        }
        if let Ok(addr) = input.parse::<SocketAddr>() {
            return Ok(Addr::Ip(addr));
        }
        let Some((host, port)) = input.rsplit_once(':') else {
            return Err(err("expected HOST:PORT, [V6]:PORT or unix:PATH"));
        };
        let port = port
            .parse()
            .map_err(|_| err("the port must be a number from 0 to 65535"))?;
        let valid_host = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if !valid_host {
            return Err(err("expected HOST:PORT, [V6]:PORT or unix:PATH"));
        }
        Ok(Addr::Host {
            host: host.to_owned(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) {
        assert_eq!(text.parse::<Addr>().unwrap().to_string(), text);
    }

    #[test]
    fn every_form_round_trips_through_display() {
        for text in [
            "127.0.0.1:80",
            "[::1]:443",
            "unix:/run/x.sock",
            "unix:@name",
            "example.org:6379",
        ] {
            round_trip(text);
        }
    }

    #[test]
    fn forms_parse_to_their_kind() {
        assert!(matches!("0.0.0.0:0".parse(), Ok(Addr::Ip(_))));
        assert_eq!("unix:@a".parse(), Ok(Addr::Abstract(b"a".to_vec())));
        assert_eq!("[::1]:9".parse::<Addr>().unwrap().port(), Some(9));
        assert!("unix:/p".parse::<Addr>().unwrap().is_unix());
    }

    #[test]
    fn malformed_addresses_say_what_was_expected() {
        for text in [
            "",
            "no-port",
            "host:99999",
            "unix:",
            ":80",
            "bad host:1",
            "[::1]",
        ] {
            let err = text.parse::<Addr>().unwrap_err();
            assert!(
                err.to_string().contains("expected")
                    || err.to_string().contains("port")
                    || err.to_string().contains("path"),
                "{text}: {err}"
            );
        }
    }
}
