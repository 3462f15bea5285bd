//! Puts the linker script for the target's memory map where the runtime crate's `link.x` finds it.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "none" {
        let memory = match arch.as_str() {
            "arm" if env::var_os("CARGO_FEATURE_MEDIA").is_some() => "memory-stm32f405-media.x",
            "arm" => "memory-stm32f405.x",
            "riscv32" => "memory-riscv32-virt.x",
            other => panic!("no memory map for target arch {other}"),
        };
        fs::copy(memory, out.join("memory.x")).expect("copy memory map");
        println!("cargo:rustc-link-search={}", out.display());
        // cortex-m-rt's link.x includes memory.x itself; riscv-rt's expects it named first.
        if arch == "riscv32" {
            println!("cargo:rustc-link-arg=-Tmemory.x");
        }
        println!("cargo:rustc-link-arg=-Tlink.x");
        // lld folds functions whose code is identical (monomorphised copies that differ only
        // in type, drop glue, trivial wrappers): flash only, no behaviour Rust relies on (it
        // promises nothing about function addresses being distinct).
        println!("cargo:rustc-link-arg=--icf=all");
    }
    println!("cargo:rerun-if-changed=memory-stm32f405.x");
    println!("cargo:rerun-if-changed=memory-riscv32-virt.x");
    println!("cargo:rerun-if-changed=memory-stm32f405-media.x");
    println!("cargo:rerun-if-changed=build.rs");
}
