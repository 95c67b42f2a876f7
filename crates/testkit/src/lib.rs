//! qkv's test and benchmark helpers, in one place (`publish = false`).
//!
//! The tests of every qkv crate, the criterion benches and `qkv bench` take their helpers from
//! here instead of each keeping a copy:
//!
//! | need | module |
//! |---|---|
//! | seeded random inputs | [`rng`] |
//! | the per-ISA test loops, failing when `QKV_REQUIRE_*ISAS` names a skipped ISA | [`isa`] |
//! | the shapes every benchmark measures (criterion and `qkv bench` alike) | [`shapes`] |
//! | unfused attention, the fused kernel's benchmark comparison | [`unfused`] |
//! | random encoder layers and stacks, the tiny BERT (feature `encoder`) | `layers` |
//! | temp dirs, fixture and model directories (`QKV_MODEL_DIR`, `QKV_REQUIRE_MODEL`) | [`dirs`] |
//! | a global allocator that counts live bytes and their peak | [`alloc`] |
//! | checks of written PNG/SVG figures (feature `figures`) | `figures` |
//! | bit-level comparisons | [`bits`] |
//!
//! The helpers panic on failure: they run inside tests, where a panic is the failure report.
//!
//! ```
//! let x = qkv_testkit::rng::rand_vec(8, 1);
//! assert_eq!(x, qkv_testkit::rng::rand_vec(8, 1)); // seeded: the same every run
//! for isa in qkv_testkit::isa::host_isas("doc example") {
//!     assert!(isa.is_available());
//! }
//! ```

pub mod alloc;
pub mod bits;
pub mod dirs;
#[cfg(feature = "figures")]
pub mod figures;
pub mod isa;
#[cfg(feature = "encoder")]
pub mod layers;
pub mod rng;
pub mod shapes;
pub mod unfused;
