//! Password hashing with Argon2id (RFC 9106), stored as PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
//!
//! The cost parameters come from `AZTH_PASSWORD_HASH` ([`HashParams`]); a
//! stored hash made with other parameters still verifies and is reported by
//! [`needs_rehash`] so the caller can upgrade it after a successful login.
//! Each call costs one full Argon2 run (about 18 ms and 19 MiB at the
//! defaults in an optimised build): run it on the bounded hashing pool.

use std::fmt;
use std::str::FromStr;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq as _;

use super::CryptoError;
use super::token::random_bytes;

/// The Argon2 variant azth writes and verifies.
const ALGORITHM_IDENT: &str = "argon2id";
/// The Argon2 version azth writes and verifies (0x13, the current one).
const VERSION: u32 = 0x13;
/// Salt length in bytes written into new hashes (RFC 9106 §3.1 recommends 16).
const SALT_LEN: usize = 16;
/// Output (tag) length in bytes written into new hashes.
const OUTPUT_LEN: usize = 32;

/// Argon2id cost parameters, written `argon2id:m=19456,t=2,p=1`
/// (`AZTH_PASSWORD_HASH`): `m` memory in KiB, `t` iterations, `p` lanes.
///
/// The default is the OWASP recommendation m=19456 (19 MiB), t=2, p=1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashParams {
    /// Memory cost in KiB, [`HashParams::MIN_M_COST`]..=[`HashParams::MAX_M_COST`],
    /// and at least 8 × `p_cost`.
    pub m_cost: u32,
    /// Number of passes, [`HashParams::MIN_T_COST`]..=[`HashParams::MAX_T_COST`].
    pub t_cost: u32,
    /// Degree of parallelism (lanes), [`HashParams::MIN_P_COST`]..=[`HashParams::MAX_P_COST`].
    pub p_cost: u32,
}

impl HashParams {
    /// Smallest accepted memory cost in KiB (Argon2's own floor for one lane).
    pub const MIN_M_COST: u32 = 8;
    /// Largest accepted memory cost in KiB (1 GiB).
    pub const MAX_M_COST: u32 = 1_048_576;
    /// Smallest accepted number of passes.
    pub const MIN_T_COST: u32 = 1;
    /// Largest accepted number of passes.
    pub const MAX_T_COST: u32 = 10;
    /// Smallest accepted number of lanes.
    pub const MIN_P_COST: u32 = 1;
    /// Largest accepted number of lanes.
    pub const MAX_P_COST: u32 = 16;

    /// Checks the bounds above, so a typo in the configuration fails at start-up
    /// rather than making every login slow or every hash fail.
    pub fn validate(&self) -> Result<(), CryptoError> {
        let check = |name: &str, value: u32, min: u32, max: u32| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(CryptoError::InvalidHashParams(format!("{name} must be between {min} and {max}, got {value}")))
            }
        };
        check("m", self.m_cost, Self::MIN_M_COST, Self::MAX_M_COST)?;
        check("t", self.t_cost, Self::MIN_T_COST, Self::MAX_T_COST)?;
        check("p", self.p_cost, Self::MIN_P_COST, Self::MAX_P_COST)?;
        // Argon2 needs at least 8 KiB of memory per lane (RFC 9106 §3.1).
        if u64::from(self.m_cost) < 8 * u64::from(self.p_cost) {
            return Err(CryptoError::InvalidHashParams(format!(
                "m must be at least 8 KiB per lane (8 × p = {}), got {}",
                8 * u64::from(self.p_cost),
                self.m_cost
            )));
        }
        Ok(())
    }

    /// The parameters as the argon2 crate wants them, with azth's output length.
    fn to_argon2(self) -> Result<Params, CryptoError> {
        self.validate()?;
        Params::new(self.m_cost, self.t_cost, self.p_cost, Some(OUTPUT_LEN))
            .map_err(|_| CryptoError::InvalidHashParams(format!("rejected by Argon2: {self}")))
    }
}

impl Default for HashParams {
    fn default() -> Self {
        Self { m_cost: 19_456, t_cost: 2, p_cost: 1 }
    }
}

impl fmt::Display for HashParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ALGORITHM_IDENT}:m={},t={},p={}", self.m_cost, self.t_cost, self.p_cost)
    }
}

impl FromStr for HashParams {
    type Err = CryptoError;

    /// Parses exactly `argon2id:m=<u32>,t=<u32>,p=<u32>`: each key once, in any
    /// order, decimal digits only, no spaces; then applies [`HashParams::validate`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "expected argon2id:m=<KiB>,t=<passes>,p=<lanes>, e.g. argon2id:m=19456,t=2,p=1";
        let invalid = |why: String| CryptoError::InvalidHashParams(why);
        let Some(list) = s.strip_prefix("argon2id:") else {
            return Err(invalid(format!("only argon2id is supported; {FORM}")));
        };
        let (mut m, mut t, mut p) = (None, None, None);
        for item in list.split(',') {
            let Some((key, value)) = item.split_once('=') else {
                return Err(invalid(format!("{item:?} is not key=value; {FORM}")));
            };
            let slot = match key {
                "m" => &mut m,
                "t" => &mut t,
                "p" => &mut p,
                _ => return Err(invalid(format!("unknown parameter {key:?}; {FORM}"))),
            };
            if slot.is_some() {
                return Err(invalid(format!("parameter {key} is given twice")));
            }
            // `u32::from_str` would also take a leading `+`; allow digits only.
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(format!("{key} must be a decimal number, got {value:?}")));
            }
            let number = value.parse::<u32>().map_err(|_| invalid(format!("{key} is out of range, got {value}")))?;
            *slot = Some(number);
        }
        let missing = |key: &str| invalid(format!("parameter {key} is missing; {FORM}"));
        let params = HashParams {
            m_cost: m.ok_or_else(|| missing("m"))?,
            t_cost: t.ok_or_else(|| missing("t"))?,
            p_cost: p.ok_or_else(|| missing("p"))?,
        };
        params.validate()?;
        Ok(params)
    }
}

/// Argon2 working memory kept from one hash to the next by one hashing
/// worker.
///
/// Each Argon2id run needs `m` KiB (19 MiB at the defaults). Allocated per
/// call, those blocks ended up cached in glibc's per-thread arenas: under a
/// login load the process grew to 540–640 MB (BENCHMARKS.md). A worker that
/// owns one `HashMemory` allocates it once, on its first hash, and reuses it;
/// a stored hash with a larger `m` than configured borrows memory for that
/// call only, so the kept block never grows past the configured size.
///
/// Every block of working memory is reserved with at least
/// [`MAP_AT_LEAST`] bytes of address space (only the pages used count in
/// RSS): glibc serves reservations that large with their own mapping and
/// gives it back to the system when freed, whereas a freed 19 MiB block
/// below that size stayed in the process (glibc raises its mapping threshold
/// to the largest block freed). So a transient hash (start-up, the CLI) and a
/// released worker memory ([`HashMemory::release`]) leave nothing behind.
///
/// The blocks keep Argon2's internal state of the last hash between calls,
/// as freed heap memory did before; they never hold the password itself.
pub struct HashMemory {
    blocks: Vec<Block>,
    keep: usize,
}

impl HashMemory {
    /// Memory for hashes at `params` (nothing is allocated until the first hash).
    pub fn new(params: &HashParams) -> Result<Self, CryptoError> {
        Ok(Self { blocks: Vec::new(), keep: params.to_argon2()?.block_count() })
    }

    /// Memory for one hash, kept by nobody.
    fn transient() -> Self {
        Self { blocks: Vec::new(), keep: 0 }
    }

    /// Bytes currently held.
    pub fn held_bytes(&self) -> usize {
        self.blocks.len() * size_of::<Block>()
    }

    /// Gives the working memory back (the next hash allocates it again).
    pub fn release(&mut self) {
        self.blocks = Vec::new();
    }

    fn hash_into(
        &mut self,
        argon2: &Argon2,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let needed = argon2.params().block_count();
        if needed > self.keep {
            let mut blocks = blocks(needed);
            return argon2.hash_password_into_with_memory(password, salt, out, &mut blocks);
        }
        if self.blocks.len() < needed {
            self.blocks = blocks(needed);
        }
        let blocks = self.blocks.get_mut(..needed).ok_or(argon2::Error::MemoryTooLittle)?;
        argon2.hash_password_into_with_memory(password, salt, out, blocks)
    }
}

/// Smallest address-space reservation for Argon2 working memory: above
/// glibc's largest mapping threshold (32 MiB on 64-bit), so the block is
/// always mapped on its own and unmapped when freed. See [`HashMemory`].
pub const MAP_AT_LEAST: usize = 33 << 20;

/// `count` zeroed blocks in a reservation of at least [`MAP_AT_LEAST`] bytes.
fn blocks(count: usize) -> Vec<Block> {
    let mut blocks = Vec::with_capacity(count.max(MAP_AT_LEAST / size_of::<Block>()));
    blocks.resize(count, Block::new());
    blocks
}

/// Hashes `password` with Argon2id at `params` and a fresh 16-byte random salt,
/// returning the PHC string to store.
pub fn hash_password(password: &[u8], params: &HashParams) -> Result<String, CryptoError> {
    hash_password_with(password, params, &mut HashMemory::transient())
}

/// [`hash_password`] in a worker's reusable `memory`.
pub fn hash_password_with(
    password: &[u8],
    params: &HashParams,
    memory: &mut HashMemory,
) -> Result<String, CryptoError> {
    let argon_params = params.to_argon2()?;
    // SECURITY: the salt comes straight from the OS CSPRNG, one per hash.
    let salt = random_bytes::<SALT_LEN>()?;
    let mut out = [0u8; OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params.clone());
    memory.hash_into(&argon2, password, &salt, &mut out).map_err(|_| CryptoError::Hashing)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(VERSION),
        params: ParamsString::try_from(&argon_params).map_err(|_| CryptoError::Hashing)?,
        salt: Some(Salt::new(&salt).map_err(|_| CryptoError::Hashing)?),
        hash: Some(Output::new(&out).map_err(|_| CryptoError::Hashing)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the stored PHC string `phc`.
///
/// `Ok(false)` for a wrong password; `Err` only when `phc` is malformed or not
/// something azth verifies (another algorithm, another version, parameters
/// outside [`HashParams`]' bounds). Never panics, whatever `phc` holds.
pub fn verify_password(password: &[u8], phc: &str) -> Result<bool, CryptoError> {
    verify_password_with(password, phc, &mut HashMemory::transient())
}

/// [`verify_password`] in a worker's reusable `memory`.
pub fn verify_password_with(password: &[u8], phc: &str, memory: &mut HashMemory) -> Result<bool, CryptoError> {
    let parsed = PasswordHash::new(phc).map_err(|_| CryptoError::MalformedHash)?;
    let params = supported_params(&parsed)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(CryptoError::MalformedHash);
    };
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    // `params` carries the stored output length, so `out` matches `expected`.
    let mut out = vec![0u8; expected.len()];
    memory.hash_into(&argon2, password, salt.as_ref(), &mut out).map_err(|_| CryptoError::MalformedHash)?;
    // SECURITY: constant-time comparison of the recomputed and stored outputs.
    Ok(bool::from(out.as_slice().ct_eq(expected.as_ref())))
}

/// Whether the stored hash should be replaced by a fresh one made with
/// `params`: true when its algorithm, version, cost parameters, salt or output
/// length differ from what [`hash_password`] writes now, or when it does not parse.
///
/// Call it after a successful [`verify_password`], when the plaintext is at hand.
pub fn needs_rehash(phc: &str, params: &HashParams) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return true;
    };
    let Ok(stored) = supported_params(&parsed) else {
        return true;
    };
    parsed.version != Some(VERSION)
        || stored.m_cost() != params.m_cost
        || stored.t_cost() != params.t_cost
        || stored.p_cost() != params.p_cost
        || parsed.salt.as_ref().is_none_or(|salt| salt.len() < SALT_LEN)
        || parsed.hash.as_ref().is_none_or(|hash| hash.len() != OUTPUT_LEN)
}

/// The Argon2 parameters of a parsed PHC string, when azth verifies it.
///
/// SECURITY: the stored string decides how much memory and time verification
/// takes, so its parameters get the same bounds as the configuration; a
/// corrupted or planted row (`m=4294967295`) must not exhaust the server.
fn supported_params(parsed: &PasswordHash) -> Result<Params, CryptoError> {
    if parsed.algorithm.as_str() != ALGORITHM_IDENT {
        return Err(CryptoError::UnsupportedHash("only argon2id is verified"));
    }
    if parsed.version.is_some_and(|version| version != VERSION) {
        return Err(CryptoError::UnsupportedHash("only Argon2 version 19 (0x13) is verified"));
    }
    for (name, _) in parsed.params.iter() {
        if !matches!(name.as_str(), "m" | "t" | "p") {
            return Err(CryptoError::UnsupportedHash("only the parameters m, t and p are verified"));
        }
    }
    // The argon2 crate would fill in defaults for missing ones; azth writes all three.
    if ["m", "t", "p"].iter().any(|name| parsed.params.get(*name).is_none()) {
        return Err(CryptoError::UnsupportedHash("the parameters m, t and p must all be present"));
    }
    let params = Params::try_from(parsed).map_err(|_| CryptoError::MalformedHash)?;
    let bounded = HashParams { m_cost: params.m_cost(), t_cost: params.t_cost(), p_cost: params.p_cost() };
    if bounded.validate().is_err() {
        return Err(CryptoError::UnsupportedHash("cost parameters outside the accepted bounds"));
    }
    Ok(params)
}

/// A real Argon2id hash of a random, forgotten password, for logins whose
/// identifier matches no account.
///
/// SECURITY: API.md requires an unknown identifier to fail "in the same time"
/// as a wrong password. Running [`DummyHash::verify`] costs exactly one
/// [`verify_password`] at the configured parameters, so both paths do the same
/// work. Build one at start-up from the configured [`HashParams`] and share it;
/// accounts still stored with older parameters differ by that cost difference
/// until they are rehashed.
#[derive(Debug, Clone)]
pub struct DummyHash {
    phc: String,
}

impl DummyHash {
    /// Hashes 32 random bytes at `params` (one Argon2 run) and throws the bytes away.
    pub fn new(params: &HashParams) -> Result<Self, CryptoError> {
        let password = random_bytes::<32>()?;
        Ok(Self { phc: hash_password(&password, params)? })
    }

    /// Runs a full verification of `password` against the dummy hash and
    /// returns `false`, always: no password opens an unknown account.
    pub fn verify(&self, password: &[u8]) -> bool {
        self.verify_with(password, &mut HashMemory::transient())
    }

    /// [`DummyHash::verify`] in a worker's reusable `memory`.
    pub fn verify_with(&self, password: &[u8], memory: &mut HashMemory) -> bool {
        // black_box keeps the optimiser from skipping the work whose result is unused.
        let _ = std::hint::black_box(verify_password_with(std::hint::black_box(password), &self.phc, memory));
        false
    }

    /// The dummy PHC string (its parameters are those given to [`DummyHash::new`]).
    pub fn phc(&self) -> &str {
        &self.phc
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    /// Cheap parameters so the tests run fast (0.4 ms per hash optimised).
    const FAST: HashParams = HashParams { m_cost: 1024, t_cost: 1, p_cost: 1 };

    #[test]
    fn round_trip_and_wrong_password() {
        let phc = hash_password(b"correct horse battery staple", &FAST).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{phc}");
        assert!(verify_password(b"correct horse battery staple", &phc).unwrap());
        assert!(!verify_password(b"correct horse battery stapl", &phc).unwrap());
        assert!(!verify_password(b"", &phc).unwrap());
        assert!(!needs_rehash(&phc, &FAST));
    }

    #[test]
    fn agrees_with_the_argon2_crates_own_hasher_and_verifier() {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, FAST.to_argon2().unwrap());
        let mut memory = HashMemory::new(&FAST).unwrap();
        // Ours, checked by theirs.
        let ours = hash_password_with(b"a password of some length", &FAST, &mut memory).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2.verify_password(b"a password of some length", &parsed).is_ok());
        assert!(argon2.verify_password(b"another password", &parsed).is_err());
        // Theirs (same salt), byte for byte, and checked by ours.
        let salt = parsed.salt.unwrap();
        let theirs = argon2.hash_password_with_salt(b"a password of some length", salt.as_ref()).unwrap().to_string();
        assert_eq!(ours, theirs);
        assert!(verify_password_with(b"a password of some length", &theirs, &mut memory).unwrap());
        assert!(!verify_password_with(b"a password of some lengtH", &theirs, &mut memory).unwrap());
    }

    #[test]
    fn a_worker_keeps_one_block_of_the_configured_size() {
        let mut memory = HashMemory::new(&FAST).unwrap();
        assert_eq!(memory.held_bytes(), 0, "nothing before the first hash");
        let phc = hash_password_with(b"first password here", &FAST, &mut memory).unwrap();
        assert_eq!(memory.held_bytes(), 1024 * 1024, "m=1024 KiB");
        for _ in 0..3 {
            assert!(verify_password_with(b"first password here", &phc, &mut memory).unwrap());
        }
        assert_eq!(memory.held_bytes(), 1024 * 1024, "reused, not grown");
        // A stored hash made with more memory borrows it for the call only.
        let bigger = hash_password(b"first password here", &HashParams { m_cost: 4096, ..FAST }).unwrap();
        assert!(verify_password_with(b"first password here", &bigger, &mut memory).unwrap());
        assert_eq!(memory.held_bytes(), 1024 * 1024);
        // A smaller one uses part of the block.
        let smaller = hash_password(b"first password here", &HashParams { m_cost: 64, ..FAST }).unwrap();
        assert!(verify_password_with(b"first password here", &smaller, &mut memory).unwrap());
        assert!(!verify_password_with(b"first password herE", &smaller, &mut memory).unwrap());
        memory.release();
        assert_eq!(memory.held_bytes(), 0);
        assert!(verify_password_with(b"first password here", &phc, &mut memory).unwrap(), "allocated again");
    }

    #[test]
    fn salts_are_random() {
        let a = hash_password(b"same password", &FAST).unwrap();
        let b = hash_password(b"same password", &FAST).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn round_trip_at_default_parameters() {
        let params = HashParams::default();
        let phc = hash_password("pässwörd with ümlauts".as_bytes(), &params).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("pässwörd with ümlauts".as_bytes(), &phc).unwrap());
        assert!(!verify_password(b"passwoerd with uemlauts", &phc).unwrap());
        assert!(!needs_rehash(&phc, &params));
    }

    #[test]
    fn needs_rehash_when_parameters_change() {
        let phc = hash_password(b"pw", &FAST).unwrap();
        assert!(needs_rehash(&phc, &HashParams { m_cost: 2048, ..FAST }));
        assert!(needs_rehash(&phc, &HashParams { t_cost: 2, ..FAST }));
        assert!(needs_rehash(&phc, &HashParams { p_cost: 2, ..FAST }));
        assert!(needs_rehash(&phc, &HashParams::default()));
        assert!(needs_rehash("not a hash", &FAST));
        assert!(needs_rehash("", &FAST));
    }

    #[test]
    fn needs_rehash_for_other_variants_and_short_outputs() {
        let params = Params::new(1024, 1, 1, Some(32)).unwrap();
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params.clone())
            .hash_password_with_salt(b"pw", &[7u8; 16])
            .unwrap()
            .to_string();
        assert!(needs_rehash(&argon2i, &FAST));
        assert_eq!(verify_password(b"pw", &argon2i), Err(CryptoError::UnsupportedHash("only argon2id is verified")));

        let short = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, Some(16)).unwrap())
            .hash_password_with_salt(b"pw", &[7u8; 16])
            .unwrap()
            .to_string();
        assert!(verify_password(b"pw", &short).unwrap(), "still verifies");
        assert!(needs_rehash(&short, &FAST), "but is upgraded");

        let old_version = Argon2::new(Algorithm::Argon2id, Version::V0x10, params)
            .hash_password_with_salt(b"pw", &[7u8; 16])
            .unwrap()
            .to_string();
        assert!(matches!(verify_password(b"pw", &old_version), Err(CryptoError::UnsupportedHash(_))));
        assert!(needs_rehash(&old_version, &FAST));
    }

    #[test]
    fn malformed_or_unsupported_phc_is_an_error_not_a_panic() {
        let good = hash_password(b"pw", &FAST).unwrap();
        let salt_and_hash = good.rsplitn(3, '$').take(2).collect::<Vec<_>>();
        let (hash, salt) = (salt_and_hash[0], salt_and_hash[1]);
        let cases = [
            String::new(),
            "$".into(),
            "$$$$$".into(),
            "argon2id".into(),
            "$argon2id".into(),
            "$argon2id$".into(),
            "$argon2id$v=19".into(),
            "$argon2id$v=19$m=1024,t=1,p=1".into(),
            format!("$argon2id$v=19$m=1024,t=1,p=1${salt}"),
            format!("$argon2id$v=19$m=1024,t=1,p=1${salt}$"),
            format!("$argon2id$v=19$m=1024,t=1,p=1${salt}$!!!"),
            format!("$argon2id$v=19$m=1024,t=1,p=1$!!!${hash}"),
            format!("$argon2id$v=19$m=1024,t=1${salt}${hash}"),
            format!("$argon2id$v=19$m=x,t=1,p=1${salt}${hash}"),
            format!("$argon2id$v=19$m=1024,t=1,p=1,q=3${salt}${hash}"),
            format!("$argon2id$v=19$m=1024,t=1,p=1,keyid=AAAA${salt}${hash}"),
            // Huge costs must be refused before anything is allocated or run.
            format!("$argon2id$v=19$m=4294967295,t=1,p=1${salt}${hash}"),
            format!("$argon2id$v=19$m=1024,t=4294967295,p=1${salt}${hash}"),
            format!("$argon2id$v=19$m=1024,t=1,p=16777215${salt}${hash}"),
            format!("$argon2id$v=19$m=0,t=0,p=0${salt}${hash}"),
            format!("$argon2id$v=99$m=1024,t=1,p=1${salt}${hash}"),
            format!("$argon2d$v=19$m=1024,t=1,p=1${salt}${hash}"),
            format!("$scrypt$ln=16,r=8,p=1${salt}${hash}"),
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".into(),
            "$argon2id$v=19$m=1024,t=1,p=1$\u{0}\u{ffff}$🦀".into(),
            "x".repeat(100_000),
            format!("$argon2id$v=19$m=1024,t=1,p=1${}${hash}", "A".repeat(10_000)),
        ];
        for case in &cases {
            let outcome = verify_password(b"pw", case);
            assert!(outcome.is_err(), "{case:?} gave {outcome:?}");
            assert!(needs_rehash(case, &FAST), "{case:?}");
        }
    }

    #[test]
    fn params_default_display_and_parse_round_trip() {
        let default = HashParams::default();
        assert_eq!(default.to_string(), "argon2id:m=19456,t=2,p=1");
        assert_eq!("argon2id:m=19456,t=2,p=1".parse::<HashParams>().unwrap(), default);
        assert_eq!("argon2id:p=1,t=2,m=19456".parse::<HashParams>().unwrap(), default);
        assert_eq!("argon2id:t=2,p=1,m=19456".parse::<HashParams>().unwrap(), default);
        for params in [
            FAST,
            HashParams { m_cost: 1_048_576, t_cost: 10, p_cost: 16 },
            HashParams { m_cost: 8, t_cost: 1, p_cost: 1 },
        ] {
            assert_eq!(params.to_string().parse::<HashParams>().unwrap(), params);
        }
    }

    #[test]
    fn params_reject_anything_else() {
        let bad = [
            "",
            "argon2id",
            "argon2id:",
            "argon2i:m=19456,t=2,p=1",
            "argon2d:m=19456,t=2,p=1",
            "ARGON2ID:m=19456,t=2,p=1",
            "bcrypt:cost=12",
            " argon2id:m=19456,t=2,p=1",
            "argon2id:m=19456,t=2,p=1 ",
            "argon2id: m=19456,t=2,p=1",
            "argon2id:m=19456, t=2,p=1",
            "argon2id:m=19456;t=2;p=1",
            "argon2id:m=19456,t=2",
            "argon2id:m=19456,p=1",
            "argon2id:t=2,p=1",
            "argon2id:m=19456,t=2,p=1,",
            "argon2id:,m=19456,t=2,p=1",
            "argon2id:m=19456,t=2,p=1,p=1",
            "argon2id:m=19456,m=19456,t=2,p=1",
            "argon2id:m=19456,t=2,p=1,x=1",
            "argon2id:M=19456,t=2,p=1",
            "argon2id:m=,t=2,p=1",
            "argon2id:m==19456,t=2,p=1",
            "argon2id:m=+19456,t=2,p=1",
            "argon2id:m=-1,t=2,p=1",
            "argon2id:m=19.5,t=2,p=1",
            "argon2id:m=0x4c00,t=2,p=1",
            "argon2id:m=99999999999,t=2,p=1",
            "argon2id:m=7,t=2,p=1",
            "argon2id:m=1048577,t=2,p=1",
            "argon2id:m=19456,t=0,p=1",
            "argon2id:m=19456,t=11,p=1",
            "argon2id:m=19456,t=2,p=0",
            "argon2id:m=19456,t=2,p=17",
            "argon2id:m=64,t=1,p=16",
            "argon2id:m=19456,t=2,p=1\n",
        ];
        for case in bad {
            let outcome = case.parse::<HashParams>();
            assert!(matches!(outcome, Err(CryptoError::InvalidHashParams(_))), "{case:?} gave {outcome:?}");
        }
        let message = "argon2id:m=19456,t=2".parse::<HashParams>().unwrap_err().to_string();
        assert!(message.contains("p is missing"), "{message}");
        let message = "argon2id:m=19456,t=20,p=1".parse::<HashParams>().unwrap_err().to_string();
        assert!(message.contains("t must be between 1 and 10"), "{message}");
    }

    #[test]
    fn hashing_with_invalid_params_fails_cleanly() {
        let zero = HashParams { m_cost: 0, t_cost: 0, p_cost: 0 };
        assert!(matches!(hash_password(b"pw", &zero), Err(CryptoError::InvalidHashParams(_))));
        assert!(DummyHash::new(&zero).is_err());
    }

    #[test]
    fn dummy_hash_never_matches_and_costs_like_the_configured_params() {
        let dummy = DummyHash::new(&FAST).unwrap();
        assert!(!needs_rehash(dummy.phc(), &FAST), "same parameters, so the same cost");
        assert!(!dummy.verify(b""));
        assert!(!dummy.verify(b"password"));
        assert!(verify_password(b"anything", dummy.phc()).is_ok_and(|ok| !ok));
    }
}
