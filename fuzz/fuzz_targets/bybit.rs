//! Fuzz target: one frame through the Bybit decoders (spot and perp): no panic, events
//! only on success and all of them possible, the fast path agreeing with the generic one.
#![no_main]

use std::sync::OnceLock;

use edgeline::types::Venue;
use edgeline_fuzz::{Markets, check_frame};
use libfuzzer_sys::fuzz_target;

static MARKETS: OnceLock<Markets> = OnceLock::new();

fuzz_target!(|frame: &[u8]| {
    check_frame(MARKETS.get_or_init(Markets::new), Venue::Bybit, frame);
});
