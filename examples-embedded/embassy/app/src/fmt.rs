//! The application's logging: `defmt` with the `defmt` feature, the `log` crate with `log`,
//! nothing otherwise (arguments are then type-checked, never evaluated).
//!
//! The stack logs through `peerless_base`'s macros to the same backend (the features turn on
//! `peerless/defmt` or `peerless/log`). These are the application's own, so that its lines
//! can format types the stack does not know. Format strings use the subset both backends
//! share: `{}` and `{:?}`.

#[cfg(all(feature = "log", feature = "defmt"))]
compile_error!("peerless-embassy-app: the `log` and `defmt` features are mutually exclusive");

macro_rules! log_at {
    ($level:ident, $($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        defmt::$level!($($arg)*);
        #[cfg(feature = "log")]
        log::$level!($($arg)*);
        #[cfg(not(any(feature = "log", feature = "defmt")))]
        if false {
            let _ = ::core::format_args!($($arg)*);
        }
    }};
}

macro_rules! debug {
    ($($arg:tt)*) => { log_at!(debug, $($arg)*) };
}
macro_rules! info {
    ($($arg:tt)*) => { log_at!(info, $($arg)*) };
}
macro_rules! warn {
    ($($arg:tt)*) => { log_at!(warn, $($arg)*) };
}
macro_rules! error {
    ($($arg:tt)*) => { log_at!(error, $($arg)*) };
}

/// A short name for a refused description (a `&'static str`: no formatting machinery needed
/// on the MCU, where `Display` would pull it in).
pub(crate) fn sdp_error(e: peerless::SdpError) -> &'static str {
    use peerless::SdpError as E;
    match e {
        E::Parse(_) => "unparsable SDP",
        E::NoDataSection => "no data-channel section",
        E::NoFingerprint => "no fingerprint",
        E::BadCredentials => "bad ICE credentials",
        E::BadSetup => "bad a=setup",
        E::WrongState => "wrong signaling state",
        E::TooLarge => "too large",
        E::BufferTooSmall(_) => "buffer too small",
        E::Answer(_) => "answer does not fit our offer",
        E::Jsep(_) => "JSEP rules broken",
        E::Closed => "closed",
        _ => "refused",
    }
}

/// A short name for a refused send.
pub(crate) fn send_error(e: peerless::SendError) -> &'static str {
    match e {
        peerless::SendError::UnknownChannel => "unknown channel",
        peerless::SendError::NotOpen => "channel not open",
        peerless::SendError::Sctp(_) => "refused by SCTP",
        _ => "refused",
    }
}
