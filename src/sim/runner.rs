//! The model thread: waits for subscribers on both markets, then steps the model once per
//! `SimConfig::step` of wall time and fans the frames out.
//!
//! Runs on the `sim-model` thread. Paces with absolute deadlines (`deadline += step`,
//! [`clock::sleep_until`]), so it does not drift; when behind it runs the late steps back
//! to back without sleeping. The model itself counts steps and never reads the clock, so
//! its frames do not depend on scheduling jitter. Allocates the frames of one step
//! (cold path, at most five per step).
//!
//! The model clock starts only when both the spot and the perp market have at least one
//! connection with a subscription, so clients that connect and subscribe before that see
//! the whole history from step 0 (including each market's full initial book in its first
//! depth message). Venue time starts at the wall-clock unix ms of that moment.

use super::SimConfig;
use super::hub::Shared;
use super::market::Model;
use crate::runtime::{Clock, clock};
use log::{info, warn};
use std::sync::Arc;
use std::time::Duration;

/// Poll interval while waiting for the first subscribers.
pub(crate) const SUBSCRIBER_POLL: Duration = Duration::from_millis(1);

/// Runs the model until the simulator stops.
pub(crate) fn run_model(config: &SimConfig, shared: &Arc<Shared>) {
    if !wait_for_subscribers(shared) {
        return;
    }
    let start_ms = Clock::new().unix_ms_now();
    let mut model = match Model::new(config, start_ms) {
        Ok(model) => model,
        Err(e) => {
            warn!("sim: model not started: {e}");
            return;
        }
    };
    info!(
        "sim: model started at venue time {start_ms} (seed {})",
        config.seed
    );
    let mut frames = Vec::with_capacity(8);
    let mut deadline = clock::monotonic_now();
    while !shared.stopping() {
        clock::sleep_until(deadline);
        deadline += config.step;
        if model.step(&mut frames) {
            shared.sync_dislocations(model.dislocations());
        }
        shared.broadcast(&mut frames);
    }
    model.finish();
    shared.sync_dislocations(model.dislocations());
}

/// Waits until both markets have a subscribed connection; `false` if stopped first.
fn wait_for_subscribers(shared: &Shared) -> bool {
    while !shared.stopping() {
        if shared.both_markets_subscribed() {
            return true;
        }
        clock::sleep(SUBSCRIBER_POLL);
    }
    false
}
