//! The logging shim: `trace!`, `debug!`, `info!`, `warn!`, `error!`.
//!
//! With the `log` feature they forward to the `log` crate, with `defmt` to `defmt`, and with
//! neither they compile to nothing (the arguments are type-checked, never evaluated). Format
//! strings use the subset both backends share: `{}` and `{:?}`. Never pass a secret.
//!
//! **With both features on, `defmt` wins**: the lines go to `defmt` and `log` stays silent.
//! Cargo unifies features across a build, so a firmware that asks for `defmt` can find `log`
//! switched on by some other dependency; its lines then still reach the probe it reads. (A
//! host binary that turns on `defmt` needs a `defmt` global logger to link.)

/// Dispatches a log line at a level to the enabled backend. Not part of the public API.
#[cfg(all(feature = "log", not(feature = "defmt")))]
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

    /// With the `log` feature the shim reaches the `log` crate's logger, level and text intact.
    #[cfg(all(feature = "log", not(feature = "defmt")))]
    #[test]
    fn forwards_to_the_log_crate() {
        extern crate std;
        use std::string::{String, ToString};
        use std::sync::Mutex;

        static LINES: Mutex<std::vec::Vec<String>> = Mutex::new(std::vec::Vec::new());
        struct Capture;
        impl log::Log for Capture {
            fn enabled(&self, _: &log::Metadata<'_>) -> bool {
                true
            }
            fn log(&self, record: &log::Record<'_>) {
                let line = std::format!("{} {}", record.level(), record.args());
                LINES.lock().unwrap().push(line);
            }
            fn flush(&self) {}
        }
        static CAPTURE: Capture = Capture;
        log::set_logger(&CAPTURE).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        crate::warn!("consent lost after {} s", 30);
        crate::trace!("{:?}", "x");
        let lines = LINES.lock().unwrap();
        assert_eq!(
            lines.as_slice(),
            [
                "WARN consent lost after 30 s".to_string(),
                "TRACE \"x\"".to_string()
            ]
        );
    }
}
