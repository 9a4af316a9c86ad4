//! HMAC secrets that are long enough but guessable: the defaults of
//! tutorials and sample configurations, placeholders never replaced, and
//! short patterns repeated up to the length a key needs.
//!
//! Such a secret is the first an attacker tries: offline, against one
//! captured token, with no rate limit. A secret is refused here when:
//!
//! - written as text and read as its letters and digits alone, lowercased
//!   (`JWT_SECRET` and `jwt-secret` read `jwtsecret`), it is a well-known
//!   secret or a repetition of one (`secretsecretsecret…`), or it holds a
//!   placeholder (`changeme`, `replace-me`, `your-secret`);
//! - it repeats a pattern of at most half its length that is shorter than
//!   the key needs (one character 32 times, `abcabc…`): such a secret is no
//!   stronger than the pattern;
//! - it has fewer than [`MIN_DISTINCT`] distinct bytes.
//!
//! A random secret of the length a key needs (32 random bytes, or
//! `openssl rand -base64 48`) meets none of these but by a chance far below
//! one in a million.

/// Secrets from tutorials, frameworks' samples and JWT debuggers, as letters
/// and digits lowercased.
const WELL_KNOWN: &[&str] = &[
    // jwt.io's defaults, old and new.
    "your256bitsecret",
    "your384bitsecret",
    "your512bitsecret",
    "astringsecretatleast256bitslong",
    // The usual words.
    "secret",
    "secrets",
    "secretkey",
    "secretkey123",
    "secret123",
    "s3cr3t",
    "s3cret",
    "mysecret",
    "mysecretkey",
    "mysupersecretkey",
    "supersecret",
    "supersecretkey",
    "topsecret",
    "thisismysecret",
    "thisisasecret",
    "thisismysecretkey",
    "notasecret",
    "yoursecretkey",
    "jwt",
    "jwtsecret",
    "jwtsecretkey",
    "jwtkey",
    "jwttoken",
    "jwttokensecret",
    "tokensecret",
    "accesstokensecret",
    "refreshtokensecret",
    "authsecret",
    "appsecret",
    "meow",
    "meowjwt",
    "changeme",
    "changeit",
    "password",
    "passw0rd",
    "password123",
    "default",
    "defaultsecret",
    "test",
    "testsecret",
    "testkey",
    "dev",
    "devsecret",
    "development",
    "key",
    "token",
    "admin",
    "qwerty",
    "123456",
    "abc123",
    "letmein",
    "hello",
    "helloworld",
    "foobar",
    "example",
    "insecure",
    // express-jwt and express-session samples.
    "shhhhh",
    "shhhhhared",
    "shhhhharedsecret",
    "keyboardcat",
    // Spring Boot tutorials.
    "404e635266556a586e3272357538782f413f4428472b4b6250645367566b5970",
    "5367566b59703373367639792f423f4528482b4d6251655468576d5a71347437",
    "bezkoderspring",
    "bezkodersecretkey",
];

/// Placeholders: a secret that holds one was never replaced.
const PLACEHOLDERS: &[&str] = &[
    "changeme",
    "changethis",
    "replaceme",
    "replacethis",
    "yoursecret",
    "yourjwtsecret",
];

/// The fewest distinct bytes a secret may have. A random secret of 32
/// characters, even of decimal digits alone, has fewer by a chance below
/// one in ten million.
pub(super) const MIN_DISTINCT: usize = 6;

/// Why `secret` is guessable, or `None`. `needed` is the length in bytes the
/// key needs (the hash output); the caller has checked the length itself.
pub(super) fn weakness(secret: &[u8], needed: usize) -> Option<&'static str> {
    // Only a secret written as text is read as words: the letters and
    // digits scattered through random bytes could spell a short one.
    let text = secret.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
    let words: Vec<u8> = secret
        .iter()
        .filter(|b| text && b.is_ascii_alphanumeric())
        .map(u8::to_ascii_lowercase)
        .collect();
    if !words.is_empty() {
        let root = &words[..repeat_period(&words).unwrap_or(words.len())];
        if WELL_KNOWN
            .iter()
            .any(|known| known.as_bytes() == words || known.as_bytes() == root)
        {
            return Some("a well-known default secret");
        }
        if PLACEHOLDERS
            .iter()
            .any(|p| words.windows(p.len()).any(|w| w == p.as_bytes()))
        {
            return Some("a placeholder never replaced");
        }
    }
    if repeat_period(secret).is_some_and(|p| p < needed) {
        return Some("a short pattern repeated");
    }
    let mut seen = [false; 256];
    for &b in secret {
        seen[usize::from(b)] = true;
    }
    if seen.iter().filter(|s| **s).count() < MIN_DISTINCT {
        return Some("made of too few distinct characters");
    }
    None
}

/// The length of the shortest pattern that `s` repeats at least twice
/// (the last repetition may be cut short), or `None` when it repeats none.
fn repeat_period(s: &[u8]) -> Option<usize> {
    // The prefix function: `border[i]` is the length of the longest proper
    // prefix of `s[..=i]` that is also its suffix; the shortest period of
    // `s` is its length less the longest border.
    let mut border = vec![0usize; s.len()];
    for i in 1..s.len() {
        let mut k = border[i - 1];
        while k > 0 && s[i] != s[k] {
            k = border[k - 1];
        }
        if s[i] == s[k] {
            k += 1;
        }
        border[i] = k;
    }
    let period = s.len() - border.last().copied().unwrap_or(0);
    (!s.is_empty() && 2 * period <= s.len()).then_some(period)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortest_repeated_pattern_is_found() {
        assert_eq!(repeat_period(b"aaaa"), Some(1));
        assert_eq!(repeat_period(b"abab"), Some(2));
        assert_eq!(repeat_period(b"abcabcab"), Some(3));
        assert_eq!(repeat_period(b"secretsecretsecretsecretsecretse"), Some(6));
        // A pattern seen once and a half is not repeated.
        assert_eq!(repeat_period(b"abcab"), None);
        assert_eq!(repeat_period(b"abca"), None);
        assert_eq!(repeat_period(b"a"), None);
        assert_eq!(repeat_period(b""), None);
    }

    #[test]
    fn every_listed_secret_is_written_as_it_is_compared() {
        for s in WELL_KNOWN.iter().chain(PLACEHOLDERS) {
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
                "{s}"
            );
        }
    }

    #[test]
    fn a_random_secret_whose_ends_match_is_not_a_repeat() {
        // A random secret's last bytes equal its first ones often enough
        // (one in 256 for a byte): that is not a pattern repeated.
        let mut secret: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(73)).collect();
        secret[31] = secret[0];
        assert_eq!(weakness(&secret, 32), None);
        secret[30] = secret[0];
        secret[31] = secret[1];
        assert_eq!(weakness(&secret, 32), None);
    }

    #[test]
    fn a_binary_secret_is_not_read_as_the_word_its_letters_spell() {
        // Random bytes hold a few letters and digits here and there; these
        // spell `key`, a listed word, and `a`, `a`, a repeat.
        let mut secret: Vec<u8> = (0u8..32).map(|i| 0x80 | i).collect();
        secret[3] = b'k';
        secret[11] = b'E';
        secret[17] = b'y';
        assert_eq!(weakness(&secret, 32), None);
        secret[3] = b'a';
        secret[11] = b'a';
        secret[17] = b'a';
        assert_eq!(weakness(&secret, 32), None);
        // The same letters in a text secret are the word.
        assert_eq!(
            weakness(b"k!#$%&()*+,-./:;<=>?@e[]^_{|}~y!#$%", 32),
            Some("a well-known default secret")
        );
    }
}
