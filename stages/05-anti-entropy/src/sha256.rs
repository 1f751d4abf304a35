//! SHA-256 that counts: the hasher a replica uses for its tree, so the grader can see how much
//! hashing an update did.
//!
//! It is `sha2::Sha256` with a counter: every [`Sha256::finalize`] (and so every
//! [`Sha256::digest`]) adds one to a per-thread count that the grader reads before and after an
//! `insert`. That is how a case bounds the work of an update ("one leaf and the `depth` nodes
//! above it, never a rebuild") without timing anything: the count is exact and the same on
//! every machine. Hashing with `sha2` directly still gives the right hashes, but the grader
//! then sees no hashing at all and says so.

use std::cell::Cell;

use sha2::Digest;

thread_local! {
    static COMPUTED: Cell<u64> = const { Cell::new(0) };
}

/// How many hashes this thread has finished with [`Sha256`] so far.
pub fn hashes_computed() -> u64 {
    COMPUTED.with(Cell::get)
}

/// A SHA-256 computation in progress: `new`, `update` as often as needed, `finalize`.
///
/// ```
/// use anti_entropy::Sha256;
/// let mut h = Sha256::new();
/// h.update(b"ab");
/// h.update(b"c");
/// assert_eq!(h.finalize(), Sha256::digest(b"abc"));
/// ```
#[derive(Clone, Default)]
pub struct Sha256(sha2::Sha256);

impl Sha256 {
    /// A fresh computation (of the empty string, until `update`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: impl AsRef<[u8]>) {
        self.0.update(bytes);
    }

    /// The 32-byte digest of everything fed; counts one hash.
    pub fn finalize(self) -> [u8; 32] {
        COMPUTED.with(|c| c.set(c.get() + 1));
        self.0.finalize().into()
    }

    /// The digest of `bytes` in one call; counts one hash.
    pub fn digest(bytes: impl AsRef<[u8]>) -> [u8; 32] {
        let mut h = Self::new();
        h.update(bytes);
        h.finalize()
    }
}
