//! What a RESP server parses by hand: decimal integers as Redis reads them, and the words of
//! an inline command. Everything else is cut by the read delimiter.

use std::ops::Range;

use super::args::Args;

/// A signed decimal integer as Redis' `string2ll` reads it: an optional `-`, then digits with
/// no leading zero (but `0` itself), no `+`, no spaces, within `i64`.
#[inline]
pub(crate) fn integer(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix(b"-") {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    match digits {
        [] => return None,
        [b'0'] if !negative => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    // Without leading zeros, more than 19 digits are out of range, and 19 fit in a `u64`
    // whatever they are: one test of the length instead of two overflow checks a digit (5
    // instructions of a `SET`, whose lengths have five digits, benches/engine_instructions.sh).
    if digits.len() > 19 {
        return None;
    }
    let mut magnitude: u64 = 0;
    for &byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        magnitude = magnitude * 10 + u64::from(digit);
    }
    if negative {
        // i64::MIN's magnitude is one past i64::MAX.
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// An inline command's quotes do not close, or a closing quote is followed by something other
/// than a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unbalanced;

/// The words of an inline command, as Redis' `sdssplitargs` splits them, pushed to `words`:
/// separated by spaces, with `"double quotes"` (escapes `\n \r \t \b \a \\ \" \xHH`) and
/// `'single quotes'` (escape `\'`). As in C, a NUL byte ends the line. Quoted words are
/// decoded on the way. On `Unbalanced`, `words` holds the words before the fault.
pub(crate) fn split_inline(line: &[u8], words: &mut Args) -> Result<(), Unbalanced> {
    let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    let text = &line[..end];
    let mut at = 0;
    loop {
        while text.get(at).is_some_and(|b| is_c_space(*b)) {
            at += 1;
        }
        if at == text.len() {
            return Ok(());
        }
        at = match text[at] {
            b'"' => {
                let (word, next) = double_quoted(text, at + 1)?;
                words.push(&word);
                next
            }
            b'\'' => {
                let (word, next) = single_quoted(text, at + 1)?;
                words.push(&word);
                next
            }
            _ => {
                let (word, next) = bare(text, at);
                words.push(&text[word]);
                next
            }
        };
    }
}

/// The words of an inline command that quotes nothing, as slices of the line, split as
/// [`split_inline`] splits them: their count, or `None` when the line has a byte that
/// `split_inline` treats apart (a quote, a NUL, `\v` or `\f`) or more words than `words`
/// holds (for `split_inline` to split). Without those bytes, words are what lies between
/// spaces, tabs, CRs and LFs. Copying the words out costs an inline `PING` more than the
/// rest of its reading.
pub(crate) fn plain_words<'a, const N: usize>(
    line: &'a [u8],
    words: &mut [&'a [u8]; N],
) -> Option<usize> {
    let mut count = 0;
    let mut start = 0;
    // One pass over the line, a separator or a byte set apart at a time.
    for (at, &byte) in line.iter().enumerate() {
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' => {
                if at > start {
                    *words.get_mut(count)? = &line[start..at];
                    count += 1;
                }
                start = at + 1;
            }
            b'"' | b'\'' | 0 | 0x0b | 0x0c => return None,
            _ => {}
        }
    }
    if line.len() > start {
        *words.get_mut(count)? = &line[start..];
        count += 1;
    }
    Some(count)
}

/// A word without quotes, from `at`; it ends at a space, tab, CR or LF (not at `\v` or `\f`,
/// which only separate words before one starts: Redis' quirk). Quotes inside it are kept.
/// Returns where the word lies and where to go on.
fn bare(line: &[u8], mut at: usize) -> (Range<usize>, usize) {
    let start = at;
    while let Some(&byte) = line.get(at) {
        if matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
            return (start..at, at + 1);
        }
        at += 1;
    }
    (start..at, at)
}

/// The body of a `"..."` word starting after the quote; returns it and where to go on.
fn double_quoted(line: &[u8], mut at: usize) -> Result<(Vec<u8>, usize), Unbalanced> {
    let mut word = Vec::new();
    loop {
        let &byte = line.get(at).ok_or(Unbalanced)?;
        match (byte, line.get(at + 1).copied()) {
            (b'\\', Some(b'x'))
                if line.get(at + 2).is_some_and(u8::is_ascii_hexdigit)
                    && line.get(at + 3).is_some_and(u8::is_ascii_hexdigit) =>
            {
                word.push(hex(line[at + 2]) * 16 + hex(line[at + 3]));
                at += 4;
            }
            (b'\\', Some(escaped)) => {
                word.push(match escaped {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
                at += 2;
            }
            (b'"', after) => return closed(word, after, at),
            _ => {
                word.push(byte);
                at += 1;
            }
        }
    }
}

/// The body of a `'...'` word starting after the quote; only `\'` is an escape.
fn single_quoted(line: &[u8], mut at: usize) -> Result<(Vec<u8>, usize), Unbalanced> {
    let mut word = Vec::new();
    loop {
        let &byte = line.get(at).ok_or(Unbalanced)?;
        match (byte, line.get(at + 1).copied()) {
            (b'\\', Some(b'\'')) => {
                word.push(b'\'');
                at += 2;
            }
            (b'\'', after) => return closed(word, after, at),
            _ => {
                word.push(byte);
                at += 1;
            }
        }
    }
}

/// A closing quote at `at` must end the line or be followed by a space.
fn closed(word: Vec<u8>, after: Option<u8>, at: usize) -> Result<(Vec<u8>, usize), Unbalanced> {
    match after {
        None => Ok((word, at + 1)),
        Some(byte) if is_c_space(byte) => Ok((word, at + 2)),
        Some(_) => Err(Unbalanced),
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &[u8]) -> Result<Vec<Vec<u8>>, Unbalanced> {
        let mut words = Args::default();
        split_inline(line, &mut words)?;
        Ok(words.with_slices(|words| words.iter().map(|w| w.to_vec()).collect()))
    }

    fn words(line: &str) -> Vec<String> {
        split(line.as_bytes())
            .unwrap()
            .into_iter()
            .map(|w| String::from_utf8(w).unwrap())
            .collect()
    }

    #[test]
    fn integers_are_read_as_redis_reads_them() {
        assert_eq!(integer(b"0"), Some(0));
        assert_eq!(integer(b"-12"), Some(-12));
        assert_eq!(integer(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(integer(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            "",
            "-",
            "+1",
            "01",
            "-0",
            " 1",
            "1 ",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "99999999999999999999",
            "1x",
            "1/",
            "1:",
        ] {
            assert_eq!(integer(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn inline_words_split_on_spaces_and_keep_quoted_spaces() {
        assert_eq!(words("  set  k   v "), ["set", "k", "v"]);
        assert_eq!(words("set \"a b\" 'c d'"), ["set", "a b", "c d"]);
        assert_eq!(words("a\tb"), ["a", "b"]);
        assert!(words(" \t ").is_empty());
    }

    #[test]
    fn double_quotes_decode_escapes_and_hex() {
        assert_eq!(words(r#""\x41\n\\\"" x"#), ["A\n\\\"", "x"]);
        assert_eq!(
            words(r#""\x4g""#),
            ["x4g"],
            "not hex: the backslash escapes the x"
        );
        assert_eq!(words(r"'it\'s'"), ["it's"]);
    }

    #[test]
    fn unbalanced_or_glued_quotes_are_refused() {
        for bad in ["\"open", "'open", "\"a\"b", "'a'b", "\"trailing\\"] {
            assert_eq!(split(bad.as_bytes()), Err(Unbalanced), "{bad:?}");
        }
    }

    #[test]
    fn plain_words_are_split_as_split_inline_splits_them() {
        for line in [
            &b"  set  k   v "[..],
            b"a\tb c",
            b"PING",
            b"",
            b"  ",
            b"a\rb\nc\r\n",
        ] {
            let mut words = [&b""[..]; 4];
            let count = plain_words(line, &mut words).unwrap();
            assert_eq!(
                words[..count].to_vec(),
                split(line).unwrap(),
                "{}",
                line.escape_ascii()
            );
        }
        let mut two = [&b""[..]; 2];
        assert_eq!(
            plain_words(b"a b c", &mut two),
            None,
            "more words than room"
        );
        for apart in [&b"a \"b\""[..], b"it's", b"a\0b", b"a\x0bc", b"\x0c x"] {
            assert_eq!(
                plain_words(apart, &mut two),
                None,
                "{}",
                apart.escape_ascii()
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_words_are_split_inline_s_words_for_any_line(
            line in proptest::collection::vec(
                proptest::sample::select(&b"ab \t\r\n\x0b\x0c\"'\0x"[..]),
                0..24,
            )
        ) {
            let mut words = [&b""[..]; 8];
            if let Some(count) = plain_words(&line, &mut words) {
                proptest::prop_assert_eq!(words[..count].to_vec(), split(&line).unwrap());
            }
        }
    }

    #[test]
    fn a_nul_byte_ends_the_line_as_in_c() {
        assert_eq!(split(b"ping\0junk \"").unwrap(), [b"ping".to_vec()]);
    }
}
