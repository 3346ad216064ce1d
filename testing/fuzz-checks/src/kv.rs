use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use pants_core::{Context, Frame, Handler};

/// The most bytes a value may have.
pub const MAX_VALUE: usize = 1024;

/// One connection of a tiny key-value server in the shape of memcached's text protocol:
///
/// - `set <key> <bytes>\r\n<data>\r\n` stores `data` and answers `STORED\r\n`;
/// - `get <key>\r\n` answers `VALUE <key> <bytes>\r\n<data>\r\nEND\r\n`, or `END\r\n`;
/// - any other line answers `ERROR\r\n`.
///
/// A length over `MAX_VALUE`, or a body not ended by `\r\n`, answers a `CLIENT_ERROR` and
/// closes the connection.
pub struct Kv {
    /// The values, shared by every connection of the server.
    store: Rc<RefCell<HashMap<Bytes, Bytes>>>,
    /// The key of the `set` whose body comes next.
    setting: Option<Bytes>,
}

impl Kv {
    /// The factory of a server's connections: they share one store.
    pub fn server() -> impl FnMut() -> Kv {
        let store = Rc::new(RefCell::new(HashMap::new()));
        move || Kv {
            store: store.clone(),
            setting: None,
        }
    }

    fn command(&mut self, cx: &mut Context<'_>, line: &[u8]) {
        let mut words = line.split(|&b| b == b' ').filter(|word| !word.is_empty());
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some(b"get"), Some(key), None, None) => {
                let reply = match self.store.borrow().get(key) {
                    Some(value) => {
                        let head = format!("VALUE {} {}\r\n", key.escape_ascii(), value.len());
                        [head.as_bytes(), value, b"\r\nEND\r\n"].concat()
                    }
                    None => b"END\r\n".to_vec(),
                };
                let _ = cx.write(reply);
            }
            (Some(b"set"), Some(key), Some(len), None) => match parse_len(len) {
                Some(len) if len <= MAX_VALUE => {
                    self.setting = Some(Bytes::copy_from_slice(key));
                    // The body and its `\r\n`, as one frame.
                    let _ = cx.set_read_delimiter(len + 2);
                }
                _ => {
                    let _ = cx.write("CLIENT_ERROR bad length\r\n");
                    cx.close();
                }
            },
            _ => {
                let _ = cx.write("ERROR\r\n");
            }
        }
    }

    fn store_body(&mut self, cx: &mut Context<'_>, key: Bytes, body: &[u8]) {
        let _ = cx.set_read_delimiter("\r\n");
        match body.strip_suffix(b"\r\n") {
            Some(value) => {
                let value = Bytes::copy_from_slice(value);
                self.store.borrow_mut().insert(key, value);
                let _ = cx.write("STORED\r\n");
            }
            None => {
                let _ = cx.write("CLIENT_ERROR bad data chunk\r\n");
                cx.close();
            }
        }
    }
}

impl Handler for Kv {
    fn on_connect(&mut self, cx: &mut Context<'_>) {
        let _ = cx.set_read_delimiter("\r\n");
    }

    fn on_read(&mut self, cx: &mut Context<'_>, frame: Frame<'_>) {
        match self.setting.take() {
            Some(key) => self.store_body(cx, key, &frame),
            None => self.command(cx, &frame),
        }
    }
}

/// A length in decimal digits only.
fn parse_len(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}
