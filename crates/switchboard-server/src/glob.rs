//! Room-name patterns for `--rooms`: `*` matches any run of characters
//! (also none), `?` exactly one, everything else itself, case-sensitively.

use std::fmt;

/// One room-name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
    source: String,
}

impl Glob {
    /// A pattern from its text (every string is a valid pattern).
    pub fn new(pattern: &str) -> Self {
        Self {
            pattern: pattern.chars().collect(),
            source: pattern.to_owned(),
        }
    }

    /// The pattern as it was written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `text` matches the whole pattern.
    ///
    /// Greedy matching with one backtrack point (the last `*`): linear in
    /// practice and never exponential.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let pattern = &self.pattern;
        let (mut p, mut t) = (0usize, 0usize);
        // Where the last `*` was, and the text position it resumes from.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some('*') => {
                    star = Some((p, t));
                    p += 1;
                }
                Some('?') => {
                    p += 1;
                    t += 1;
                }
                Some(c) if *c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    // Let the last `*` swallow one more character.
                    Some((star_p, star_t)) => {
                        p = star_p + 1;
                        t = star_t + 1;
                        star = Some((star_p, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|c| *c == '*')
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The rooms clients may `$join`: a room is allowed when any pattern
/// matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomPatterns(Vec<Glob>);

impl RoomPatterns {
    /// Patterns from their texts.
    pub fn new<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> Self {
        Self(
            patterns
                .into_iter()
                .map(|p| Glob::new(p.as_ref()))
                .collect(),
        )
    }

    /// Whether clients may join `room`.
    pub fn allows(&self, room: &str) -> bool {
        self.0.iter().any(|g| g.matches(room))
    }

    /// The patterns.
    pub fn patterns(&self) -> &[Glob] {
        &self.0
    }
}

impl Default for RoomPatterns {
    /// Every room: `*`.
    fn default() -> Self {
        Self::new(["*"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::new(pattern).matches(text)
    }

    #[test]
    fn literals() {
        assert!(m("lobby", "lobby"));
        assert!(!m("lobby", "lobby2"));
        assert!(!m("lobby", "lobb"));
        assert!(!m("lobby", "Lobby"), "case-sensitive");
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn star() {
        assert!(m("*", ""));
        assert!(m("*", "anything at all"));
        assert!(m("chat-*", "chat-"));
        assert!(m("chat-*", "chat-rust"));
        assert!(!m("chat-*", "chat"));
        assert!(!m("chat-*", "Chat-rust"));
        assert!(m("*-room", "my-room"));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(m("a*b*c", "abcbc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("**", "x"));
        assert!(m("a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaab"));
        assert!(!m("a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaa"));
    }

    #[test]
    fn question_mark() {
        assert!(m("room-?", "room-1"));
        assert!(!m("room-?", "room-"));
        assert!(!m("room-?", "room-12"));
        assert!(m("??", "éü"), "one character, not one byte");
        assert!(m("?*", "a"));
        assert!(!m("?*", ""));
    }

    #[test]
    fn room_patterns() {
        assert!(RoomPatterns::default().allows("whatever"));
        let p = RoomPatterns::new(["public-*", "lobby"]);
        assert!(p.allows("lobby"));
        assert!(p.allows("public-1"));
        assert!(!p.allows("private"));
        assert!(!RoomPatterns::new(Vec::<String>::new()).allows("x"));
        assert_eq!(p.patterns()[0].as_str(), "public-*");
    }
}
