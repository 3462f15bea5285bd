//! Link with esp-hal's `linkall.x` (memory map, sections, the ROM functions).
fn main() {
    println!("cargo:rustc-link-arg-bins=-Tlinkall.x");
    // lld folds functions whose code is identical (monomorphised copies, drop glue): flash
    // only; Rust promises nothing about distinct function addresses.
    println!("cargo:rustc-link-arg-bins=--icf=all");
    if std::env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
}
