//! Property tests and the deterministic network simulator for peerless.
//!
//! [`sim`] runs any number of sans-IO machines on a virtual network in virtual time: loss
//! (random and bursty), duplication, delay and jitter (hence reordering), an MTU, a bandwidth
//! bottleneck with a tail-drop queue, NATs with the RFC 4787 mapping and filtering behaviours
//! (full cone to symmetric) and mapping lifetimes, nodes with several addresses, and NAT
//! rebinding, all drawn from one seed. The clock jumps straight to the next
//! deadline or delivery, so a minute of protocol time costs microseconds, and the same seed
//! always gives the same packet trace (its hash is [`sim::Network::trace_hash`]).
//!
//! It depends on nothing but `peerless-base`, so every protocol crate takes it as a
//! dev-dependency and keeps its own simulation tests in `<crate>/tests/` (named by the behaviour
//! they test, e.g. `ice/tests/connect.rs`), each wrapping its machine in a [`sim::Node`];
//! scenarios that span crates (the Peer) live with the Peer.

pub mod sim;
