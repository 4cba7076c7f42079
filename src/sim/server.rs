//! The simulator's listening socket (WebSocket and REST share it): accepts connections
//! and gives each its thread.
//!
//! Runs on the `sim-accept` thread. The listener is non-blocking and polled every
//! [`ACCEPT_POLL`], so the loop sees the stop flag promptly; at stop it joins every
//! connection thread it started. Allocates one thread per connection, at most
//! [`CONNECTIONS_MAX`] at a time (more are refused and logged).

use super::connection::{self, Routes};
use super::hub::{CONNECTIONS_MAX, Shared};
use super::tls::Identity;
use crate::runtime::clock;
use log::warn;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Sleep between two accept attempts when none is pending: the longest a new client
/// waits to be accepted, and the longest stop waits for this thread.
pub(crate) const ACCEPT_POLL: Duration = Duration::from_millis(2);

/// Accepts connections until the simulator stops, then joins their threads.
/// In TLS mode (`identity`), every connection speaks TLS.
pub(crate) fn run_accept(
    listener: &TcpListener,
    shared: &Arc<Shared>,
    routes: &Routes,
    identity: Option<&Identity>,
) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stopping() {
        match listener.accept() {
            Ok((stream, peer)) => {
                connections.retain(|h| !h.is_finished());
                if connections.len() >= CONNECTIONS_MAX {
                    warn!("sim: refused {peer}: {CONNECTIONS_MAX} connections already open");
                    continue;
                }
                if let Some(handle) = spawn_connection(stream, peer, shared, routes, identity) {
                    connections.push(handle);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => clock::sleep(ACCEPT_POLL),
            Err(e) => {
                warn!("sim: accept failed: {e}");
                clock::sleep(ACCEPT_POLL);
            }
        }
    }
    for handle in connections {
        if handle.join().is_err() {
            warn!("sim: a connection thread panicked");
        }
    }
}

fn spawn_connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    routes: &Routes,
    identity: Option<&Identity>,
) -> Option<JoinHandle<()>> {
    let shared = Arc::clone(shared);
    let routes = routes.clone();
    let identity = identity.cloned();
    let spawned = thread::Builder::new()
        .name(format!("sim-conn-{}", peer.port()))
        .spawn(move || connection::serve(stream, peer, &shared, &routes, identity.as_ref()));
    match spawned {
        Ok(handle) => Some(handle),
        Err(e) => {
            warn!("sim: cannot spawn a thread for {peer}: {e}");
            None
        }
    }
}
