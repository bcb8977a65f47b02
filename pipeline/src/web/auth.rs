//! The web source's optional bearer token.
//!
//! The bearer token that keeps the server from being open to anyone: compared in constant time
//! (how long a comparison takes says nothing about how much of a guess was right), and never
//! written to a log (its `Debug` says only that a token is set).

/// The token every route but `/health` requires.
#[derive(Clone)]
pub struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Why a request was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization: Bearer ...` header.
    Missing,
    /// A bearer token that is not the server's.
    Wrong,
}

impl Refusal {
    /// Said in the 401 body.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Missing => "missing bearer token (Authorization: Bearer <token>)",
            Refusal::Wrong => "wrong bearer token",
        }
    }
}

impl Token {
    /// A token; `None` for an empty one (an empty token would let anyone in).
    pub fn new(secret: &str) -> Option<Self> {
        (!secret.is_empty()).then(|| Token(secret.as_bytes().to_vec()))
    }

    /// Checks an `Authorization` header's value.
    ///
    /// # Errors
    /// [`Refusal::Missing`] without a bearer token, [`Refusal::Wrong`] for another one.
    pub fn check(&self, header: Option<&[u8]>) -> Result<(), Refusal> {
        let given = header
            .and_then(|h| h.strip_prefix(b"Bearer "))
            .ok_or(Refusal::Missing)?;
        if constant_time_eq(given, &self.0) {
            Ok(())
        } else {
            Err(Refusal::Wrong)
        }
    }
}

/// Whether `a == b`, looking at every byte of the longer one whatever they hold.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let token = Token::new("s3cret").unwrap();
        assert_eq!(token.check(Some(b"Bearer s3cret")), Ok(()));
        assert_eq!(token.check(None), Err(Refusal::Missing));
        assert_eq!(token.check(Some(b"Basic s3cret")), Err(Refusal::Missing));
        for wrong in [
            &b"Bearer s3cre"[..],
            b"Bearer s3cret!",
            b"Bearer S3cret",
            b"Bearer ",
        ] {
            assert_eq!(token.check(Some(wrong)), Err(Refusal::Wrong), "{wrong:?}");
        }
    }

    #[test]
    fn an_empty_token_is_no_token_and_debug_hides_it() {
        assert!(Token::new("").is_none());
        assert_eq!(
            format!("{:?}", Token::new("s3cret").unwrap()),
            "Token(<redacted>)"
        );
    }

    #[test]
    fn equal_only_when_every_byte_and_the_length_agree() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abc\0"));
        assert!(!constant_time_eq(b"", b"\0"));
    }
}
