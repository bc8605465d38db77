//! Wall-clock timestamps and identifiers, without a date-time dependency.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (UTC).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Self(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    /// This time plus `duration`, saturating.
    pub fn plus(self, duration: Duration) -> Self {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(millis))
    }

    /// Milliseconds since the Unix epoch.
    pub fn as_millis(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A new random 128-bit identifier as 32 lowercase hex digits.
///
/// Unique within and across processes: a per-process random key (from the standard library's
/// randomly keyed hasher, mixed with the clock and the process id) and a counter, through a
/// bijective mixer. Not a secret: never use it as a credential ([`new_secret_id`] is one).
pub fn new_id() -> String {
    ascii_text(&id_digits()).into_owned()
}

/// [`new_id`] as a shared string, in one allocation.
pub fn new_shared_id() -> Arc<str> {
    Arc::from(ascii_text(&id_digits()))
}

/// A new unguessable 128-bit identifier as 32 lowercase hex digits, from the operating
/// system's cryptographically secure generator: for what works as a capability (a permit, an
/// approval request). The bytes are drawn in blocks and served from a per-thread buffer, so an
/// id costs a system call only once in 32. Without a secure generator it panics: an id that
/// could be guessed must never be handed out.
pub fn new_secret_id() -> Arc<str> {
    thread_local! {
        static POOL: std::cell::RefCell<([u8; 512], usize)> =
            const { std::cell::RefCell::new(([0; 512], 512)) };
    }
    let bytes: [u8; 16] = POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (buffer, used) = &mut *pool;
        if *used + 16 > buffer.len() {
            #[allow(clippy::expect_used)]
            getrandom::fill(buffer).expect("the operating system's random generator failed");
            *used = 0;
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&buffer[*used..*used + 16]);
        // A served block is wiped, so that nothing read later from this buffer repeats it.
        buffer[*used..*used + 16].fill(0);
        *used += 16;
        id
    });
    let mut digits = [0u8; 32];
    write_hex(&bytes, &mut digits);
    Arc::from(ascii_text(&digits))
}

/// Compares two secrets (tokens, CSRF values) in time that does not depend on where they
/// first differ.
///
/// ```
/// assert!(preflight_core::same_secret(b"abc", b"abc"));
/// assert!(!preflight_core::same_secret(b"abc", b"abd"));
/// assert!(!preflight_core::same_secret(b"abc", b"abcd"));
/// ```
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Bytes known to be ASCII (hex digits) as text, through the standard library's fast check.
pub(crate) fn ascii_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

fn id_digits() -> [u8; 32] {
    static KEY: OnceLock<(u64, u64)> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (high_key, low_key) = *KEY.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut high = RandomState::new().build_hasher();
        high.write_u128(nanos);
        high.write_u32(std::process::id());
        let mut low = RandomState::new().build_hasher();
        low.write_u64(high.finish());
        (high.finish(), low.finish())
    });
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&mix(high_key ^ count).to_be_bytes());
    bytes[8..].copy_from_slice(&mix(low_key.wrapping_add(count)).to_be_bytes());
    let mut digits = [0u8; 32];
    write_hex(&bytes, &mut digits);
    digits
}

/// Writes `bytes` as lowercase hex digits into `digits`, two per byte.
/// `bytes` as lowercase hex digits, two per byte.
///
/// ```
/// assert_eq!(preflight_core::to_hex(&[0x0f, 0xa0]), "0fa0");
/// ```
pub fn to_hex(bytes: &[u8]) -> String {
    let mut digits = vec![0u8; bytes.len() * 2];
    write_hex(bytes, &mut digits);
    ascii_text(&digits).into_owned()
}

/// The bytes that hex digits `text` spell (either case), or `None` for anything else: an odd
/// length, a sign, a space, a character that is not a hex digit.
///
/// ```
/// assert_eq!(preflight_core::from_hex("0fA0"), Some(vec![0x0f, 0xa0]));
/// assert_eq!(preflight_core::from_hex("+f+f"), None);
/// ```
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

pub(crate) fn write_hex(bytes: &[u8], digits: &mut [u8]) {
    for (pair, byte) in digits.chunks_exact_mut(2).zip(bytes) {
        pair[0] = b"0123456789abcdef"[usize::from(byte >> 4)];
        pair[1] = b"0123456789abcdef"[usize::from(byte & 0xf)];
    }
}

/// SplitMix64's finaliser: a bijection on u64, so distinct counters give distinct ids.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod secret_id_tests {
    use super::new_secret_id;

    #[test]
    fn secret_ids_are_hex_distinct_and_far_apart() {
        let mut seen = std::collections::HashSet::new();
        let mut previous: Option<u128> = None;
        for _ in 0..20_000 {
            let id = new_secret_id();
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            let value = u128::from_str_radix(&id, 16).unwrap();
            if let Some(previous) = previous {
                // Consecutive ids share no structure: about half their bits differ.
                assert!(
                    (previous ^ value).count_ones() > 24,
                    "{previous:032x} {value:032x}"
                );
            }
            previous = Some(value);
            assert!(seen.insert(id), "a repeated id");
        }
        let other: Vec<_> = std::thread::spawn(|| (0..1000).map(|_| new_secret_id()).collect())
            .join()
            .unwrap();
        assert!(other.into_iter().all(|id| !seen.contains(&id)));
    }
}

#[cfg(test)]
mod hex_tests {
    use super::{from_hex, to_hex};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn hex_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes.clone()));
            prop_assert_eq!(from_hex(&to_hex(&bytes).to_uppercase()), Some(bytes));
        }

        /// Only hex digits, two per byte, are read: anything else is refused, never a panic.
        #[test]
        fn only_hex_digits_are_read(text in "\\PC{0,40}") {
            let digits = text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit());
            prop_assert_eq!(from_hex(&text).is_some(), digits);
        }
    }
}
