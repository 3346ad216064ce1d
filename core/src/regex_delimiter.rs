//! The regular-expression delimiter (feature `regex`).

use regex::bytes::Regex;

use crate::error::DelimiterError;

/// A compiled delimiter pattern with a known maximum match length.
pub(crate) struct RegexDelimiter {
    regex: Regex,
    max_len: usize,
}

impl RegexDelimiter {
    /// Compiles `pattern`, refusing patterns that can match the empty string or have no
    /// maximum match length.
    pub(crate) fn new(pattern: &str) -> Result<Self, DelimiterError> {
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(pattern)
            .map_err(|err| DelimiterError::Regex(err.to_string()))?;
        let properties = hir.properties();
        if properties.minimum_len() == Some(0) {
            return Err(DelimiterError::EmptyMatch);
        }
        let max_len = properties
            .maximum_len()
            .ok_or(DelimiterError::UnboundedMatch)?;
        let regex = Regex::new(pattern).map_err(|err| DelimiterError::Regex(err.to_string()))?;
        Ok(Self {
            regex,
            max_len: max_len.max(1),
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    /// The longest match the pattern can produce, in bytes (at least 1).
    pub(crate) fn max_len(&self) -> usize {
        self.max_len
    }

    /// The first match starting at or after `start`, as `(start, end)`.
    pub(crate) fn find_at(&self, haystack: &[u8], start: usize) -> Option<(usize, usize)> {
        self.regex
            .find_at(haystack, start)
            .map(|m| (m.start(), m.end()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_matching_empty_are_refused() {
        for pattern in ["", "a*", "^", r"\b", "x?"] {
            assert_eq!(
                RegexDelimiter::new(pattern).err(),
                Some(DelimiterError::EmptyMatch)
            );
        }
    }

    #[test]
    fn unbounded_patterns_are_refused() {
        assert_eq!(
            RegexDelimiter::new(r"\n+").err(),
            Some(DelimiterError::UnboundedMatch)
        );
    }

    #[test]
    fn bounded_patterns_know_their_longest_match() {
        assert_eq!(RegexDelimiter::new(r"\r?\n").unwrap().max_len(), 2);
        assert_eq!(RegexDelimiter::new(r"\n{1,8}").unwrap().max_len(), 8);
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(matches!(
            RegexDelimiter::new("(").err(),
            Some(DelimiterError::Regex(_))
        ));
    }
}
