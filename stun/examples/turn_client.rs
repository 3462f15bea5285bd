//! A STUN/TURN client over a real UDP socket, driven through [`ClientTransaction`]: the
//! client side of `scripts/interop/ice-stun-coturn.sh` (coturn as the independent server).
//!
//! ```text
//! cargo run -p peerless-stun --example turn_client -- <server ip:port> <user> <password>
//!   Binding                      -> XOR-MAPPED-ADDRESS is our socket
//!   Allocate (no credentials)    -> 401 with REALM and NONCE
//!   Allocate (long-term, MD5)    -> XOR-RELAYED-ADDRESS, LIFETIME; response integrity checked
//!   CreatePermission, ChannelBind for a second local socket (the "peer")
//!   ChannelData client -> peer and peer -> client through the relay; Send indication too
//!   Refresh LIFETIME 0           -> allocation released
//! ```

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant as StdInstant};

use peerless_base::Instant;
use peerless_stun::{
    Attribute, ChannelData, Class, ClientTransaction, ErrorCode, Message, Method, RetransmitConfig,
    TransactionId, TxEvent, long_term_key_md5,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

struct Client {
    socket: UdpSocket,
    server: SocketAddr,
    start: StdInstant,
    next_tid: u8,
}

impl Client {
    fn now(&self) -> Instant {
        Instant::from_micros(self.start.elapsed().as_micros() as u64)
    }

    fn tid(&mut self) -> TransactionId {
        self.next_tid = self.next_tid.wrapping_add(1);
        let mut tid = [0x5au8; 12];
        tid[0] = self.next_tid;
        tid[1..9].copy_from_slice(&(self.start.elapsed().as_nanos() as u64).to_be_bytes());
        TransactionId(tid)
    }

    /// One request through a client transaction; the response's bytes.
    fn transact(&mut self, request: &[u8]) -> Result<Vec<u8>> {
        let mut tx = ClientTransaction::<1500>::start(
            self.now(),
            request,
            self.socket.local_addr()?,
            self.server,
            RetransmitConfig::default(),
        )
        .map_err(|e| format!("{e:?}"))?;
        let mut buf = [0u8; 1500];
        loop {
            while let Some(t) = tx.poll_transmit(&mut buf)? {
                self.socket.send_to(t.payload, t.destination)?;
            }
            match tx.poll_event() {
                Some(TxEvent::Response(msg)) => return Ok(msg.as_bytes().to_vec()),
                Some(TxEvent::TimedOut) => return Err("transaction timed out".into()),
                _ => {}
            }
            let wait = tx
                .poll_timeout()
                .map(|t| {
                    Duration::from_micros(t.as_micros().saturating_sub(self.now().as_micros()))
                })
                .unwrap_or(Duration::from_millis(10))
                .max(Duration::from_millis(1));
            self.socket.set_read_timeout(Some(wait))?;
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let now = self.now();
                    tx.handle_packet(now, from, &buf[..n]);
                }
                Err(_) => {
                    let now = self.now();
                    tx.handle_timeout(now);
                }
            }
        }
    }
}

fn check(cond: bool, what: &str) -> Result<()> {
    if cond {
        println!("ok: {what}");
        Ok(())
    } else {
        Err(format!("FAILED: {what}").into())
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, server, user, password] = args.as_slice() else {
        return Err("usage: turn_client <server ip:port> <user> <password>".into());
    };
    let server: SocketAddr = server.parse()?;
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let local = socket.local_addr()?;
    let mut c = Client {
        socket,
        server,
        start: StdInstant::now(),
        next_tid: 0,
    };
    let mut buf = [0u8; 1500];

    // Binding.
    let tid = c.tid();
    let n = Message::builder(Class::Request, Method::BINDING, tid)
        .fingerprint()
        .emit(&mut buf)?;
    let resp = c.transact(&buf[..n])?;
    let msg = Message::parse(&resp)?;
    check(msg.class() == Class::Success, "Binding success")?;
    check(
        msg.xor_mapped_address() == Some(local),
        "XOR-MAPPED-ADDRESS is our socket",
    )?;
    check(
        msg.check_fingerprint() != Some(false),
        "Binding response FINGERPRINT",
    )?;

    // Allocate without credentials: 401 with the realm and a nonce.
    let tid = c.tid();
    let n = Message::builder(Class::Request, Method::ALLOCATE, tid)
        .attr(Attribute::RequestedTransport(17))
        .fingerprint()
        .emit(&mut buf)?;
    let resp = c.transact(&buf[..n])?;
    let msg = Message::parse(&resp)?;
    check(
        msg.class() == Class::Error
            && msg.error_code().map(|e| e.code) == Some(ErrorCode::UNAUTHENTICATED),
        "Allocate without credentials: 401",
    )?;
    let realm = msg.realm().ok_or("no REALM")?.to_string();
    let nonce = msg.nonce().ok_or("no NONCE")?.to_string();
    println!("   realm {realm:?}, nonce {nonce:?}");
    let key = long_term_key_md5(user, &realm, password);

    // Allocate with long-term credentials.
    let authed = |b: peerless_stun::Builder<'_>, key: &[u8; 16], buf: &mut [u8]| {
        b.username(user)
            .realm(&realm)
            .nonce(&nonce)
            .integrity_sha1(key)
            .fingerprint()
            .emit(buf)
    };
    let tid = c.tid();
    let n = authed(
        Message::builder(Class::Request, Method::ALLOCATE, tid)
            .attr(Attribute::RequestedTransport(17)),
        &key,
        &mut buf,
    )?;
    let resp = c.transact(&buf[..n])?;
    let msg = Message::parse(&resp)?;
    check(
        msg.class() == Class::Success,
        "Allocate with long-term credentials: success",
    )?;
    check(
        msg.verify_integrity(&key),
        "Allocate response MESSAGE-INTEGRITY (MD5 long-term key)",
    )?;
    check(
        msg.check_fingerprint() == Some(true),
        "Allocate response FINGERPRINT",
    )?;
    let relayed = msg.xor_relayed_address().ok_or("no XOR-RELAYED-ADDRESS")?;
    check(msg.lifetime().is_some_and(|l| l > 0), "LIFETIME")?;
    println!("   relayed address {relayed}");

    // A peer: a second socket of ours.
    let peer = UdpSocket::bind("127.0.0.1:0")?;
    let peer_addr = peer.local_addr()?;
    peer.set_read_timeout(Some(Duration::from_secs(2)))?;

    let tid = c.tid();
    let n = authed(
        Message::builder(Class::Request, Method::CREATE_PERMISSION, tid)
            .attr(Attribute::XorPeerAddress(peer_addr)),
        &key,
        &mut buf,
    )?;
    let msg_bytes = c.transact(&buf[..n])?;
    let msg = Message::parse(&msg_bytes)?;
    check(
        msg.class() == Class::Success && msg.verify_integrity(&key),
        "CreatePermission",
    )?;

    let tid = c.tid();
    let n = authed(
        Message::builder(Class::Request, Method::CHANNEL_BIND, tid)
            .attr(Attribute::ChannelNumber(0x4000))
            .attr(Attribute::XorPeerAddress(peer_addr)),
        &key,
        &mut buf,
    )?;
    let msg_bytes = c.transact(&buf[..n])?;
    let msg = Message::parse(&msg_bytes)?;
    check(
        msg.class() == Class::Success && msg.verify_integrity(&key),
        "ChannelBind 0x4000",
    )?;

    // ChannelData client -> peer.
    let n = ChannelData {
        channel: 0x4000,
        data: b"hello through the channel",
    }
    .emit(false, &mut buf)?;
    c.socket.send_to(&buf[..n], server)?;
    let (m, from) = peer.recv_from(&mut buf)?;
    check(
        &buf[..m] == b"hello through the channel" && from == relayed,
        "ChannelData reached the peer from the relay",
    )?;

    // Peer -> client: arrives as ChannelData on the bound channel.
    peer.send_to(b"reply from the peer", relayed)?;
    c.socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    let (m, _) = c.socket.recv_from(&mut buf)?;
    let cd = ChannelData::parse(&buf[..m]).map_err(|e| format!("{e:?}"))?;
    check(
        cd.channel == 0x4000 && cd.data == b"reply from the peer",
        "peer data came back as ChannelData",
    )?;

    // A Send indication (DATA + XOR-PEER-ADDRESS) works beside the channel.
    let tid = c.tid();
    let n = Message::builder(Class::Indication, Method::SEND, tid)
        .attr(Attribute::XorPeerAddress(peer_addr))
        .attr(Attribute::Data(b"sent as an indication"))
        .fingerprint()
        .emit(&mut buf)?;
    c.socket.send_to(&buf[..n], server)?;
    let (m, _) = peer.recv_from(&mut buf)?;
    check(
        &buf[..m] == b"sent as an indication",
        "Send indication reached the peer",
    )?;

    // Release.
    let tid = c.tid();
    let n = authed(
        Message::builder(Class::Request, Method::REFRESH, tid).attr(Attribute::Lifetime(0)),
        &key,
        &mut buf,
    )?;
    let msg_bytes = c.transact(&buf[..n])?;
    let msg = Message::parse(&msg_bytes)?;
    check(
        msg.class() == Class::Success && msg.verify_integrity(&key),
        "Refresh LIFETIME 0 released the allocation",
    )?;
    println!("turn_client: OK");
    Ok(())
}
