//! Compile-time tests of `#[derive(Connector)]`: what must compile (`ui/pass`, each also run)
//! and the error each mistake gets (`ui/fail`, one mistake per file, with its `.stderr`).
//!
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test --test ui` and review the diff
//! like code; the toolchain is pinned in `rust-toolchain.toml` so that they do not drift.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}

/// `ui/pass/no-lint-noise.rs` once more, as a module of this test: trybuild only runs rustc, so
/// this is how `cargo clippy --all-targets` gets to check the expansion under `clippy::pedantic`.
#[path = "ui/pass/no-lint-noise.rs"]
pub mod no_lint_noise;

#[test]
fn expansion_is_lint_clean() {
    no_lint_noise::main();
}
