//! Edge strategies: the perp-vs-spot basis tracker and its opportunity records.

pub mod opportunity;
