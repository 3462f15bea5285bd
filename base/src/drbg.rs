//! HMAC-DRBG over SHA-256 (NIST SP 800-90A Rev. 1, §10.1.2): every random byte peerless uses.
//!
//! Why HMAC-DRBG and not ChaCha20: it needs only HMAC-SHA-256, which every machine already
//! links for STUN, DTLS and SCTP cookies, so it costs no extra flash on a microcontroller; it is
//! a NIST-approved construction with published known-answer vectors (checked in the tests
//! below); and its output for a given seed is fixed by the standard, so a simulation trace is
//! reproducible across versions of this crate. Its speed shows only when a Peer sets up (a
//! connect instantiates four generators and makes about ten requests per side): on a host the
//! HMAC stays keyed between the HMACs under one key, so a request of up to 32 bytes costs 8
//! SHA-256 compressions instead of 12, for the same output (see `Key`).
//!
//! ```text
//!   host seed (32 B, TRNG or OS) --instantiate(label)--> Drbg --fork("ice")--> Drbg for ICE
//!                                                           `--fork("dtls")-> Drbg for DTLS
//! ```

// RustCrypto's HMAC whichever backend the build picks: a host's generator keeps a keyed HMAC
// inline (144 B on x86-64), where an AWS-LC context would be larger, and the output is the same.
use peerless_crypto::rustcrypto::HmacSha256;

/// Length of the seed a host hands in.
pub const SEED_LEN: usize = 32;

const OUT_LEN: usize = 32;
/// SP 800-90A Table 2: at most 2^19 bits per request.
const MAX_BYTES_PER_REQUEST: usize = 1 << 16;

/// A deterministic random bit generator: HMAC-DRBG with SHA-256.
///
/// The same seed and the same sequence of calls give the same bytes: that is what makes a
/// simulation replayable from its seed. It implements the `rand_core` traits the RustCrypto
/// crates take (`TryRng` and `TryCryptoRng`, hence `Rng` and `CryptoRng`).
///
/// The key and chaining value are secret; `Debug` does not show them, and they are wiped
/// when the generator is dropped. It is deliberately not `Clone`: two copies of one state
/// hand out the same "random" bytes twice (the same nonces, the same key shares). Use
/// [`Drbg::fork`] for an independent stream.
///
/// ```compile_fail
/// let rng = peerless_base::Drbg::from_seed(&[0; 32], b"x");
/// let copy = rng.clone(); // a Drbg cannot be cloned
/// ```
// Only under cargo-fuzz's `--cfg fuzzing`, where each input starts from a cloned, prepared
// machine and no two clones ever talk to a real peer.
#[cfg_attr(fuzzing, derive(Clone))]
pub struct Drbg {
    key: Key,
    value: [u8; OUT_LEN],
    reseed_counter: u64,
}

/// The SP 800-90A `Key`. On a host, an HMAC kept keyed with it: every HMAC under one key then
/// costs two SHA-256 compressions instead of four (the pads are hashed once per key, not once
/// per HMAC), for 144 B instead of 32 (the MAC wipes its state on drop). On a microcontroller,
/// where each generator's bytes come out of a tight stack (a Peer holds four to eight), the
/// 32 key bytes, keyed per HMAC. Both give the same output.
#[cfg_attr(fuzzing, derive(Clone))]
struct Key(
    #[cfg(not(target_os = "none"))] HmacSha256,
    #[cfg(target_os = "none")] [u8; OUT_LEN],
);

impl Key {
    fn new(key: &[u8; OUT_LEN]) -> Self {
        #[cfg(not(target_os = "none"))]
        return Key(HmacSha256::new(key));
        #[cfg(target_os = "none")]
        return Key(*key);
    }

    /// An HMAC keyed with this key, to feed one message.
    fn mac(&self) -> HmacSha256 {
        #[cfg(not(target_os = "none"))]
        return self.0.clone();
        #[cfg(target_os = "none")]
        return HmacSha256::new(&self.0);
    }
}

#[cfg(target_os = "none")]
impl Drop for Key {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl Drop for Drbg {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.value);
    }
}

impl core::fmt::Debug for Drbg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Drbg")
            .field("reseed_counter", &self.reseed_counter)
            .finish_non_exhaustive()
    }
}

/// The same as `Debug`: never the state, which would predict every later output.
#[cfg(feature = "defmt")]
impl defmt::Format for Drbg {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Drbg {{ reseed_counter: {=u64}, .. }}",
            self.reseed_counter
        );
    }
}

impl Drbg {
    /// A generator for one machine from the host's 32-byte seed.
    ///
    /// `label` separates the streams of machines seeded alike (it is the SP 800-90A
    /// personalization string): `from_seed(s, b"ice")` and `from_seed(s, b"dtls")` are
    /// unrelated.
    #[must_use]
    pub fn from_seed(seed: &[u8; SEED_LEN], label: &[u8]) -> Self {
        Self::instantiate(seed, &[], label)
    }

    /// SP 800-90A `Instantiate`: the entropy input, a nonce and a personalization string.
    #[must_use]
    pub fn instantiate(entropy: &[u8], nonce: &[u8], personalization: &[u8]) -> Self {
        let mut drbg = Drbg {
            key: Key::new(&[0x00; OUT_LEN]),
            value: [0x01; OUT_LEN],
            reseed_counter: 1,
        };
        drbg.update(&[entropy, nonce, personalization]);
        drbg
    }

    /// SP 800-90A `Reseed` with fresh entropy and optional additional input.
    pub fn reseed(&mut self, entropy: &[u8], additional: &[u8]) {
        self.update(&[entropy, additional]);
        self.reseed_counter = 1;
    }

    /// An independent generator for a sub-machine, keyed from this one's output and `label`.
    #[must_use]
    pub fn fork(&mut self, label: &[u8]) -> Drbg {
        let mut seed = [0u8; SEED_LEN];
        self.fill(&mut seed);
        let child = Drbg::from_seed(&seed, label);
        zeroize::Zeroize::zeroize(&mut seed);
        child
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        self.generate(out, &[]);
    }

    /// SP 800-90A `Generate` with additional input. Requests longer than the standard's
    /// 2^19-bit maximum are served as several requests.
    ///
    /// The standard asks for a reseed after 2^48 requests; at a million requests a second that
    /// is nine years, and a host that runs that long should [`reseed`](Self::reseed).
    pub fn generate(&mut self, out: &mut [u8], additional: &[u8]) {
        for request in out.chunks_mut(MAX_BYTES_PER_REQUEST) {
            if !additional.is_empty() {
                self.update(&[additional]);
            }
            for block in request.chunks_mut(OUT_LEN) {
                self.value = self.hmac(&[&self.value]);
                // `chunks_mut(OUT_LEN)` never yields more than OUT_LEN bytes.
                for (b, v) in block.iter_mut().zip(self.value) {
                    *b = v;
                }
            }
            self.update(&[additional]);
            self.reseed_counter = self.reseed_counter.saturating_add(1);
        }
    }

    /// A uniformly random `u32`.
    pub fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        u32::from_be_bytes(b)
    }

    /// A uniformly random `u64`.
    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_be_bytes(b)
    }

    /// A uniformly random integer in `0..bound` (`0` when `bound` is `0`), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        // Reject the top sliver that would make some residues more likely.
        let zone = u64::MAX - (u64::MAX % bound) - 1;
        loop {
            let x = self.u64();
            if x <= zone {
                return x % bound;
            }
        }
    }

    /// SP 800-90A `HMAC_DRBG_Update`; `provided` is the concatenation of its parts.
    fn update(&mut self, provided: &[&[u8]]) {
        let provided_is_empty = provided.iter().all(|part| part.is_empty());
        for round in [0x00u8, 0x01] {
            let mut key = self.hmac_with(&[&self.value, &[round]], provided);
            self.key = Key::new(&key);
            zeroize::Zeroize::zeroize(&mut key);
            self.value = self.hmac(&[&self.value]);
            if provided_is_empty {
                break;
            }
        }
    }

    fn hmac(&self, parts: &[&[u8]]) -> [u8; OUT_LEN] {
        self.hmac_with(parts, &[])
    }

    fn hmac_with(&self, head: &[&[u8]], tail: &[&[u8]]) -> [u8; OUT_LEN] {
        let mut mac = self.key.mac();
        for part in head.iter().chain(tail) {
            mac.update(part);
        }
        mac.finalize()
    }
}

impl rand_core::TryRng for Drbg {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.fill(dst);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Drbg {}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// NIST CAVP DRBGVS, `drbgvectors_no_reseed/HMAC_DRBG.rsp`, [SHA-256]: instantiate,
    /// generate 1024 bits (discarded), generate 1024 bits (compared).
    fn no_reseed(entropy: &[u8], nonce: &[u8], pers: &[u8], add0: &[u8], add1: &[u8]) -> [u8; 128] {
        let mut drbg = Drbg::instantiate(entropy, nonce, pers);
        let mut out = [0u8; 128];
        drbg.generate(&mut out, add0);
        drbg.generate(&mut out, add1);
        out
    }

    #[test]
    fn nist_no_reseed_ps0_ai0_count0() {
        let out = no_reseed(
            &hex!("ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488"),
            &hex!("659ba96c601dc69fc902940805ec0ca8"),
            &[],
            &[],
            &[],
        );
        assert_eq!(
            out,
            hex!(
                "e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89"
                "d54fbb978a15b5c443c9ec21036d2460b6f73ebad0dc2aba6e624abf07745bc1"
                "07694bb7547bb0995f70de25d6b29e2d3011bb19d27676c07162c8b5ccde0668"
                "961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8"
            )
        );
    }

    #[test]
    fn nist_no_reseed_ps0_ai0_count1() {
        let out = no_reseed(
            &hex!("79737479ba4e7642a221fcfd1b820b134e9e3540a35bb48ffae29c20f5418ea3"),
            &hex!("3593259c092bef4129bc2c6c9e19f343"),
            &[],
            &[],
            &[],
        );
        assert_eq!(
            out,
            hex!(
                "cf5ad5984f9e43917aa9087380dac46e410ddc8a7731859c84e9d0f31bd43655"
                "b924159413e2293b17610f211e09f770f172b8fb693a35b85d3b9e5e63b1dc25"
                "2ac0e115002e9bedfb4b5b6fd43f33b8e0eafb2d072e1a6fee1f159df9b51e6c"
                "8da737e60d5032dd30544ec51558c6f080bdbdab1de8a939e961e06b5f1aca37"
            )
        );
    }

    #[test]
    fn nist_no_reseed_ps0_ai256_count0() {
        let out = no_reseed(
            &hex!("d3cc4d1acf3dde0c4bd2290d262337042dc632948223d3a2eaab87da44295fbd"),
            &hex!("0109b0e729f457328aa18569a9224921"),
            &[],
            &hex!("3c311848183c9a212a26f27f8c6647e40375e466a0857cc39c4e47575d53f1f6"),
            &hex!("fcb9abd19ccfbccef88c9c39bfb3dd7b1c12266c9808992e305bc3cff566e4e4"),
        );
        assert_eq!(
            out,
            hex!(
                "9c7b758b212cd0fcecd5daa489821712e3cdea4467b560ef5ddc24ab47749a1f"
                "1ffdbbb118f4e62fcfca3371b8fbfc5b0646b83e06bfbbab5fac30ea09ea2bc7"
                "6f1ea568c9be0444b2cc90517b20ca825f2d0eccd88e7175538b85d90ab39018"
                "3ca6395535d34473af6b5a5b88f5a59ee7561573337ea819da0dcc3573a22974"
            )
        );
    }

    #[test]
    fn nist_no_reseed_ps256_ai256_count0() {
        let out = no_reseed(
            &hex!("5d3286bc53a258a53ba781e2c4dcd79a790e43bbe0e89fb3eed39086be34174b"),
            &hex!("c5422294b7318952ace7055ab7570abf"),
            &hex!("2dba094d008e150d51c4135bb2f03dcde9cbf3468a12908a1b025c120c985b9d"),
            &hex!("793a7ef8f6f0482beac542bb785c10f8b7b406a4de92667ab168ecc2cf7573c6"),
            &hex!("2238cdb4e23d629fe0c2a83dd8d5144ce1a6229ef41dabe2a99ff722e510b530"),
        );
        assert_eq!(
            out,
            hex!(
                "d04678198ae7e1aeb435b45291458ffde0891560748b43330eaf866b5a6385e7"
                "4c6fa5a5a44bdb284d436e98d244018d6acedcdfa2e9f499d8089e4db86ae89a"
                "6ab2d19cb705e2f048f97fb597f04106a1fa6a1416ad3d859118e079a0c319eb"
                "95686f4cbcce3b5101c7a0b010ef029c4ef6d06cdfac97efb9773891688c37cf"
            )
        );
    }

    /// `drbgvectors_pr_false/HMAC_DRBG.rsp`, [SHA-256], PersonalizationStringLen = 256,
    /// AdditionalInputLen = 256, COUNT = 0: instantiate, reseed, generate, generate.
    #[test]
    fn nist_pr_false_ps256_ai256_count0() {
        let mut drbg = Drbg::instantiate(
            &hex!("cdb0d9117cc6dbc9ef9dcb06a97579841d72dc18b2d46a1cb61e314012bdf416"),
            &hex!("d0c0d01d156016d0eb6b7e9c7c3c8da8"),
            &hex!("6f0fb9eab3f9ea7ab0a719bfa879bf0aaed683307fda0c6d73ce018b6e34faaa"),
        );
        drbg.reseed(
            &hex!("8ec6f7d5a8e2e88f43986f70b86e050d07c84b931bcf18e601c5a3eee3064c82"),
            &hex!("1ab4ca9014fa98a55938316de8ba5a68c629b0741bdd058c4d70c91cda5099b3"),
        );
        let mut out = [0u8; 128];
        drbg.generate(
            &mut out,
            &hex!("16e2d0721b58d839a122852abd3bf2c942a31c84d82fca74211871880d7162ff"),
        );
        drbg.generate(
            &mut out,
            &hex!("53686f042a7b087d5d2eca0d2a96de131f275ed7151189f7ca52deaa78b79fb2"),
        );
        assert_eq!(
            out,
            hex!(
                "dda04a2ca7b8147af1548f5d086591ca4fd951a345ce52b3cd49d47e84aa31a1"
                "83e31fbc42a1ff1d95afec7143c8008c97bc2a9c091df0a763848391f68cb4a3"
                "66ad89857ac725a53b303ddea767be8dc5f605b1b95f6d24c9f06be65a973a08"
                "9320b3cc42569dcfd4b92b62a993785b0301b3fc452445656fce22664827b88f"
            )
        );
    }

    #[test]
    fn same_seed_same_stream_labels_separate_streams() {
        let seed = [7u8; SEED_LEN];
        let (mut a, mut b, mut c) = (
            Drbg::from_seed(&seed, b"ice"),
            Drbg::from_seed(&seed, b"ice"),
            Drbg::from_seed(&seed, b"dtls"),
        );
        let (x, y, z) = (a.u64(), b.u64(), c.u64());
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_ne!(a.fork(b"child").u64(), b.fork(b"other").u64());
    }

    #[test]
    fn long_requests_are_split_not_refused() {
        extern crate std;
        let mut drbg = Drbg::from_seed(&[1; SEED_LEN], b"");
        let mut big = std::vec![0u8; MAX_BYTES_PER_REQUEST * 2 + 5];
        drbg.fill(&mut big);
        assert_eq!(drbg.reseed_counter, 4);
        // Each 64 KiB request starts a fresh chain: no block repeats across the boundary.
        assert_ne!(
            &big[..32],
            &big[MAX_BYTES_PER_REQUEST..MAX_BYTES_PER_REQUEST + 32]
        );
    }

    #[test]
    fn below_stays_in_range() {
        let mut drbg = Drbg::from_seed(&[2; SEED_LEN], b"");
        assert_eq!(drbg.below(0), 0);
        let mut seen = [false; 7];
        for _ in 0..200 {
            let v = drbg.below(7);
            assert!(v < 7);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn serves_rand_core_consumers() {
        use rand_core::{Rng, TryRng};
        let mut drbg = Drbg::from_seed(&[3; SEED_LEN], b"");
        let mut copy = Drbg::from_seed(&[3; SEED_LEN], b"");
        let mut buf = [0u8; 12];
        drbg.fill_bytes(&mut buf);
        let mut expect = [0u8; 12];
        copy.fill(&mut expect);
        assert_eq!(buf, expect);
        assert_eq!(drbg.try_next_u32().unwrap(), copy.u32());
        assert_eq!(drbg.next_u64(), copy.u64());
        assert!(!std::format!("{drbg:?}").contains("key"));
    }

    extern crate std;
}
