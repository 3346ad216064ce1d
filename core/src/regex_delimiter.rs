//! The regular-expression delimiter (feature `regex`).

use regex::bytes::Regex;

use crate::error::DelimiterError;

/// A compiled delimiter pattern, and its longest match when it has one.
pub(crate) struct RegexDelimiter {
    regex: Regex,
    /// `None` for a pattern whose matches may be of any length (`\s\s+`): the read limit then
    /// bounds them, since no match is searched for beyond it.
    max_len: Option<usize>,
}

impl RegexDelimiter {
    /// Compiles `pattern`, refusing patterns that can match the empty string.
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
        let regex = Regex::new(pattern).map_err(|err| DelimiterError::Regex(err.to_string()))?;
        Ok(Self {
            regex,
            max_len: properties.maximum_len(),
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    /// The longest match the pattern can produce, in bytes (at least 1), or `limit` when its
    /// matches are unbounded. A search with a longest match resumes where a match may still
    /// start; without one it starts over within the limit.
    pub(crate) fn max_len(&self, limit: usize) -> usize {
        self.max_len.unwrap_or(limit).max(1)
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
    fn unbounded_patterns_are_bounded_by_the_limit() {
        let pattern = RegexDelimiter::new(r"\s\s+").unwrap();
        assert_eq!(pattern.max_len(100), 100);
    }

    #[test]
    fn bounded_patterns_know_their_longest_match() {
        assert_eq!(RegexDelimiter::new(r"\r?\n").unwrap().max_len(100), 2);
        assert_eq!(RegexDelimiter::new(r"\n{1,8}").unwrap().max_len(100), 8);
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(matches!(
            RegexDelimiter::new("(").err(),
            Some(DelimiterError::Regex(_))
        ));
    }
}
