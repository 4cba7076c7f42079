//! Fuzz target: a run of frames of one venue's market (the first byte picks it) decoded
//! and applied to a fresh book engine: no panic, and after each frame no valid book is
//! crossed or holds a level at or below zero.
#![no_main]

use edgeline_fuzz::check_book_run;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    check_book_run(input);
});
