//! Compile-time tests of `#[derive(Connector)]`: what must compile (`ui/pass`, each also run)
//! and the error each mistake gets (`ui/fail`, one mistake per file, with its `.stderr`).
//!
//! The `.stderr` snapshots hold rustc's own wording, which drifts between releases: they are
//! checked on the compiler that made them (rustc 1.95) and skipped elsewhere, with the reason
//! printed by the test harness (as serde and thiserror gate theirs). Run them with
//! `cargo +1.95 test --test ui` (on another compiler, `-- --include-ignored` runs them too, and
//! shows where its wording differs). Regenerate them with
//! `TRYBUILD=overwrite cargo +1.95 test --test ui` and review the diff like code.

// Before `#[test]`, which reads `ignore` when it expands.
#[rustversion::attr(
    not(stable(1.95)),
    ignore = "the UI snapshots are made with rustc 1.95; run `cargo +1.95 test --test ui`"
)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}

/// `ui/pass/no-lint-noise.rs` once more, as a module of this test: trybuild only runs rustc, so
/// this is how `cargo clippy --all-targets` gets to check the expansion under `clippy::pedantic`.
/// It holds no snapshot, so it runs on every compiler.
#[path = "ui/pass/no-lint-noise.rs"]
pub mod no_lint_noise;

#[test]
fn expansion_is_lint_clean() {
    no_lint_noise::main();
}
