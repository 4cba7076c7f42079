//! The model thread: builds the model, answers REST snapshot requests while it waits for
//! subscribers on every configured market, then steps the model once per
//! `SimConfig::step` of wall time, fans the frames (and new subscribers' snapshots) out
//! and answers REST requests between steps.
//!
//! Runs on the `sim-model` thread. Paces with absolute deadlines (`deadline += step`,
//! [`clock::sleep_until`]), so it does not drift; when behind it runs the late steps back
//! to back without sleeping. The model itself counts steps and never reads the clock, so
//! its frames do not depend on scheduling jitter. Allocates the frames of one step
//! (cold path, a few per market).
//!
//! The model clock starts only when every configured symbol has at least one connection
//! with a subscription, so clients that connect and subscribe before that see the whole
//! history from step 0. Venue time starts at the wall-clock unix ms of that moment. The
//! books exist before (built with the model), so a Binance client can fetch its REST
//! snapshot while other markets are still waiting for subscribers.
//!
//! Pause (for tests comparing books): when the handle asks, the model stops after the
//! next step at which every market sent its depth message, so each client book that
//! followed the stream equals the model's; it answers REST and book requests while
//! paused, and paces from the resume time on (no burst of late steps); venue time
//! moves on by the pause, so it stays close to the wall clock.

use super::SimConfig;
use super::hub::Shared;
use super::market::{Listing, Model};
use crate::runtime::{Clock, clock};
use log::{info, warn};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Poll interval while waiting for the first subscribers.
pub(crate) const SUBSCRIBER_POLL: Duration = Duration::from_millis(1);

/// Runs the model until the simulator stops; `listings` are the configured symbols.
pub(crate) fn run_model(config: &SimConfig, shared: &Arc<Shared>, listings: &[Listing]) {
    let wall = Clock::new();
    let mut model = match Model::new(config, wall.unix_ms_now()) {
        Ok(model) => model,
        Err(e) => {
            warn!("sim: model not started: {e}");
            return;
        }
    };
    if !wait_for_subscribers(shared, listings, &model) {
        return;
    }
    let start_ms = wall.unix_ms_now();
    model.set_start_ms(start_ms);
    info!(
        "sim: model started at venue time {start_ms} (seed {})",
        config.seed
    );
    let mut frames = Vec::with_capacity(64);
    let mut deadline = clock::monotonic_now();
    let started = deadline;
    while !shared.stopping() {
        if shared.pause_requested.load(Ordering::Acquire) && model.depth_flushed() {
            let paused_at = clock::monotonic_now();
            hold_paused(shared, &model);
            deadline = clock::monotonic_now();
            model.shift_start(deadline.duration_since(paused_at));
            continue;
        }
        clock::sleep_until(deadline);
        let (next, held) = config.burst.map_or((config.step, Duration::ZERO), |b| {
            b.pace(deadline.duration_since(started), config.step)
        });
        deadline += next;
        model.hold_back(held);
        if model.step(&mut frames) {
            let (from, record) = model.take_dislocation_changes();
            shared.sync_dislocations(from, record);
        }
        shared.broadcast(&mut frames, &|listing, stream| {
            model.snapshot(listing, stream)
        });
        shared.answer_rest(&|listing, limit| model.rest_depth(listing, limit));
        shared.answer_books(&|listing| model.book_levels(listing));
    }
    model.finish();
    let (from, record) = model.take_dislocation_changes();
    shared.sync_dislocations(from, record);
}

/// Stays paused (answering REST and book requests) until the handle resumes or stops
/// the simulator.
fn hold_paused(shared: &Shared, model: &Model) {
    shared.paused.store(true, Ordering::Release);
    info!("sim: paused");
    while shared.pause_requested.load(Ordering::Acquire) && !shared.stopping() {
        shared.answer_rest(&|listing, limit| model.rest_depth(listing, limit));
        shared.answer_books(&|listing| model.book_levels(listing));
        clock::sleep(SUBSCRIBER_POLL);
    }
    shared.paused.store(false, Ordering::Release);
    info!("sim: resumed");
}

/// Waits until every symbol has a subscribed connection, answering REST requests
/// meanwhile; `false` if stopped first.
fn wait_for_subscribers(shared: &Shared, listings: &[Listing], model: &Model) -> bool {
    while !shared.stopping() {
        shared.answer_rest(&|listing, limit| model.rest_depth(listing, limit));
        shared.answer_books(&|listing| model.book_levels(listing));
        if shared.all_subscribed(listings) {
            return true;
        }
        clock::sleep(SUBSCRIBER_POLL);
    }
    false
}
