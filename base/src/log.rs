//! The logging shim: `trace!`, `debug!`, `info!`, `warn!`, `error!`.
//!
//! With the `log` feature they forward to the `log` crate, with `defmt` to `defmt`, and with
//! neither they compile to nothing (the arguments are type-checked, never evaluated). Format
//! strings use the subset both backends share: `{}` and `{:?}`. Never pass a secret.

#[cfg(all(feature = "log", feature = "defmt"))]
compile_error!("peerless-base: the `log` and `defmt` features are mutually exclusive");

/// Dispatches a log line at a level to the enabled backend. Not part of the public API.
#[cfg(feature = "log")]
#[doc(hidden)]
#[macro_export]
macro_rules! __log {
    ($level:ident, $($arg:tt)*) => { $crate::__private::log::$level!($($arg)*) };
}

/// Dispatches a log line at a level to the enabled backend. Not part of the public API.
#[cfg(feature = "defmt")]
#[doc(hidden)]
#[macro_export]
macro_rules! __log {
    ($level:ident, $($arg:tt)*) => { $crate::__private::defmt::$level!($($arg)*) };
}

/// With no backend the arguments are type-checked and never evaluated.
#[cfg(not(any(feature = "log", feature = "defmt")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __log {
    ($level:ident, $($arg:tt)*) => {{
        if false {
            let _ = ::core::format_args!($($arg)*);
        }
    }};
}

/// Logs at trace level through the enabled backend; nothing without one.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => { $crate::__log!(trace, $($arg)*) };
}

/// Logs at debug level through the enabled backend; nothing without one.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::__log!(debug, $($arg)*) };
}

/// Logs at info level through the enabled backend; nothing without one.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::__log!(info, $($arg)*) };
}

/// Logs at warn level through the enabled backend; nothing without one.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::__log!(warn, $($arg)*) };
}

/// Logs at error level through the enabled backend; nothing without one.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::__log!(error, $($arg)*) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn macros_accept_the_shared_format_subset() {
        let n = 3;
        let name = "x";
        crate::trace!("{} {:?}", n, name);
        crate::debug!("plain");
        crate::info!("{}", n);
        crate::warn!("{:?}", name);
        crate::error!("{} and {}", n, name);
    }
}
