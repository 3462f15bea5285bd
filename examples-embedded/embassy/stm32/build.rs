//! Link with cortex-m-rt's `link.x` (vector table, sections; embassy-stm32's `memory-x`
//! feature supplies `memory.x` for the chip) and, with logs on, defmt's `defmt.x`.
fn main() {
    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    // lld folds functions whose code is identical (monomorphised copies, drop glue): flash
    // only; Rust promises nothing about distinct function addresses.
    println!("cargo:rustc-link-arg-bins=--icf=all");
    if std::env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
}
