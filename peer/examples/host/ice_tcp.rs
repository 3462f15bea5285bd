//! ICE over TCP for the std host (RFC 6544, passive): a TcpListener whose address is the
//! Peer's passive TCP candidate, and the connections browsers' active candidates open to it.
//!
//! ```text
//!  accept (non-blocking) --> Conn { stream, remote, FrameReader }
//!  read: bytes --FrameReader::next--> datagram --peer.handle_packet(now, remote, local, ..)
//!        end of stream or error --> peer.tcp_connection_closed(local, remote), dropped
//!  flush: Transmit with peer.is_tcp_source(source) --> frame_header ++ payload on the
//!         connection from its destination (none: dropped, as a lost datagram)
//! ```
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use peerless::Peer;
use peerless_base::Instant;
use peerless_ice::{FrameReader, frame_header};

/// One frame's room: any datagram a 16-bit length can announce.
const FRAME: usize = 65_537;

struct Conn {
    stream: TcpStream,
    remote: SocketAddr,
    reader: Box<FrameReader<FRAME>>,
}

/// The listener and its accepted connections.
pub(crate) struct IceTcp {
    listener: TcpListener,
    /// The listener's address: the passive candidate.
    pub(crate) local: SocketAddr,
    conns: Vec<Conn>,
    /// Connections accepted so far, and datagrams sent and received over them.
    pub(crate) accepted: u64,
    pub(crate) sent: u64,
    pub(crate) received: u64,
    /// Transmits for a connection that is gone (or never came).
    pub(crate) unroutable: u64,
}

impl IceTcp {
    /// Listens on `addr` (a concrete IP: it becomes the candidate).
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        Ok(IceTcp {
            listener,
            local,
            conns: Vec::new(),
            accepted: 0,
            sent: 0,
            received: 0,
            unroutable: 0,
        })
    }

    /// Accepts new connections and hands in every whole datagram that arrived.
    pub(crate) fn poll<
        S: peerless::Area,
        const K: usize,
        const C: usize,
        const D: usize,
        const L: usize,
        const R: usize,
        const T: usize,
    >(
        &mut self,
        now: Instant,
        peer: &mut Peer<S, K, C, D, L, R, T>,
    ) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((stream, remote)) => {
                    stream.set_nodelay(true)?;
                    stream.set_nonblocking(true)?;
                    eprintln!("cli: ICE-TCP connection from {remote}");
                    self.accepted += 1;
                    self.conns.push(Conn {
                        stream,
                        remote,
                        reader: Box::new(FrameReader::new()),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let mut chunk = [0u8; 16384];
        let mut i = 0;
        while i < self.conns.len() {
            let c = &mut self.conns[i];
            let mut closed = false;
            loop {
                match c.stream.read(&mut chunk) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => {
                        let mut input = &chunk[..n];
                        while let Some(d) = c.reader.next(&mut input) {
                            let mut d = d.to_vec();
                            self.received += 1;
                            peer.handle_packet(now, c.remote, self.local, &mut d);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            if closed {
                eprintln!("cli: ICE-TCP connection from {} closed", c.remote);
                peer.tcp_connection_closed(self.local, c.remote);
                self.conns.remove(i);
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    /// Sends one datagram on the connection from `destination`, framed (RFC 4571).
    pub(crate) fn send(&mut self, destination: SocketAddr, payload: &[u8]) -> io::Result<()> {
        let Some(c) = self.conns.iter_mut().find(|c| c.remote == destination) else {
            self.unroutable += 1;
            return Ok(());
        };
        let header = frame_header(payload.len()).map_err(io::Error::other)?;
        let mut framed = Vec::with_capacity(payload.len() + 2);
        framed.extend_from_slice(&header);
        framed.extend_from_slice(payload);
        let mut bytes = &framed[..];
        while !bytes.is_empty() {
            match c.stream.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_micros(200));
                }
                // A broken connection: the read side reports the close.
                Err(_) => return Ok(()),
            }
        }
        self.sent += 1;
        Ok(())
    }
}
