//! `RTCIceTransport`, `RTCDtlsTransport` and `RTCSctpTransport` as the Peer shows them, before
//! and after connecting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Pair, certs, peer};
use peerless::{ChannelInit, DtlsTransportState, IceGatheringState, IceState, SctpTransportState};

#[test]
fn before_any_description_every_transport_is_new() {
    let (ca, _) = certs();
    let p = peer(ca, 1);
    let ice = p.ice_transport();
    assert_eq!(ice.state, IceState::New);
    assert_eq!(ice.gathering_state, IceGatheringState::New);
    assert_eq!(ice.selected_pair, None);
    let dtls = p.dtls_transport();
    assert_eq!(dtls.state, DtlsTransportState::New);
    assert_eq!(
        (dtls.role, dtls.remote_fingerprint, dtls.failure),
        (None, None, None)
    );
    // As the browser's `sctp` is null until a description negotiates it.
    assert!(p.sctp_transport().is_none());
}

#[test]
fn a_connected_pair_shows_roles_the_pair_the_fingerprint_and_the_sctp_limits() {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    let ch = pair
        .a
        .create_data_channel("chat", ChannelInit::default())
        .unwrap();
    pair.signal();
    assert_eq!(
        pair.a.sctp_transport().unwrap().state,
        SctpTransportState::Connecting
    );
    assert_eq!(pair.a.sctp_transport().unwrap().max_channels, None);
    assert!(pair.run_until(Duration::from_secs(10), |p| p.a.is_open(ch)));

    let (ia, ib) = (pair.a.ice_transport(), pair.b.ice_transport());
    assert!(matches!(
        ia.state,
        IceState::Connected | IceState::Completed
    ));
    assert_eq!(ia.gathering_state, IceGatheringState::Complete);
    // The offerer controls (RFC 8445 §6.1.1).
    assert_eq!(ia.role, peerless::ice::Role::Controlling);
    assert_eq!(ib.role, peerless::ice::Role::Controlled);
    let (local, remote) = ia.selected_pair.unwrap();
    assert_eq!(ib.selected_pair, Some((remote, local)));

    // The answerer is active (RFC 8829 §5.3.1): A is the DTLS server.
    let (da, db) = (pair.a.dtls_transport(), pair.b.dtls_transport());
    assert_eq!(da.state, DtlsTransportState::Connected);
    assert_eq!(da.role, Some(peerless_dtls::Role::Server));
    assert_eq!(db.role, Some(peerless_dtls::Role::Client));
    assert_eq!(da.failure, None);
    assert_eq!(
        da.remote_fingerprint.unwrap().to_string(),
        pair.b.local_fingerprint()
    );

    let sa = pair.a.sctp_transport().unwrap();
    assert_eq!(sa.state, SctpTransportState::Connected);
    assert_eq!(sa.max_channels, Some(32));
    // Both sides announce what their receive area holds: the smaller is the limit.
    let smaller = pair
        .a
        .local_max_message_size()
        .min(pair.b.local_max_message_size()) as u64;
    assert_eq!(sa.max_message_size, Some(smaller));

    pair.a.close();
    assert_eq!(
        pair.a.sctp_transport().unwrap().state,
        SctpTransportState::Closed
    );
}
