//! A TCP proxy on loopback that a test can stop (closing its port and every connection
//! through it) and start again on the same port: a database that goes away and returns.

use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The proxy: forwards 127.0.0.1:`port` to `upstream` while running.
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    running: Option<Running>,
}

struct Running {
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free loopback port.
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut proxy = Self {
            addr: listener.local_addr().unwrap(),
            upstream: upstream.parse().unwrap(),
            running: None,
        };
        proxy.run(listener);
        proxy
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Closes the port and cuts every connection through it.
    pub fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        running.stop.store(true, Ordering::SeqCst);
        running.accept.join().unwrap();
        for conn in running.conns.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }

    /// Opens the same port again.
    pub fn resume(&mut self) {
        let listener = TcpListener::bind(self.addr).unwrap();
        self.run(listener);
    }

    fn run(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (stop2, conns2, upstream) = (Arc::clone(&stop), Arc::clone(&conns), self.upstream);
        let accept = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => forward(client, upstream, &conns2),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(e) => panic!("proxy accept: {e}"),
                }
            }
        });
        self.running = Some(Running {
            stop,
            conns,
            accept,
        });
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Pipes `client` to a new connection to `upstream`, both ways, on two threads.
fn forward(client: TcpStream, upstream: SocketAddr, conns: &Mutex<Vec<TcpStream>>) {
    client.set_nonblocking(false).unwrap();
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let mut held = conns.lock().unwrap();
    held.push(client.try_clone().unwrap());
    held.push(server.try_clone().unwrap());
    for (mut from, mut to) in [
        (client.try_clone().unwrap(), server.try_clone().unwrap()),
        (server, client),
    ] {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Both);
        });
    }
}
