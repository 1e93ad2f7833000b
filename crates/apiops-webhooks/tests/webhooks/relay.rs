//! A TCP relay on 127.0.0.1 in front of the test PostgreSQL server, so a test can take the
//! server away from the store under it without stopping the server other tests share:
//!
//! - [`Mode::Stopped`] closes every relayed connection and every new one at once, as a server
//!   stopped with `pg_ctl stop -m fast` does (the client sees the connection end);
//! - [`Mode::Frozen`] keeps every connection open but forwards nothing, as a network partition
//!   does (the client waits: only its own timeouts end the wait);
//! - [`Mode::Up`] relays again (connections frozen meanwhile carry on where they stopped).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Up,
    Stopped,
    Frozen,
}

pub(crate) struct Relay {
    pub(crate) addr: SocketAddr,
    mode: watch::Sender<Mode>,
    accepted: watch::Receiver<usize>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Starts relaying 127.0.0.1:<any port> to `upstream`.
    pub(crate) async fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("relay address");
        let (mode, watching) = watch::channel(Mode::Up);
        let (count, accepted) = watch::channel(0usize);
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                count.send_modify(|n| *n += 1);
                if *watching.borrow() == Mode::Stopped {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (from_client, to_server) = (watching.clone(), watching.clone());
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, from_client));
                tokio::spawn(pump(server_read, client_write, to_server));
            }
        });
        Relay {
            addr,
            mode,
            accepted,
            task,
        }
    }

    pub(crate) fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// How many connections the relay has accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        *self.accepted.borrow()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.set(Mode::Stopped);
        self.task.abort();
    }
}

/// Copies `from` to `to` while the relay is up; holds what it read while frozen; returns
/// (closing both halves) when the relay stops or either side closes.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = mode.wait_for(|m| *m == Mode::Stopped) => return,
        };
        match mode.wait_for(|m| *m != Mode::Frozen).await {
            Ok(m) if *m == Mode::Up => {}
            _ => return,
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
