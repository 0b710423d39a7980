//! Model-based conformance testing: random scenarios, the rules written a second time as a
//! model, and scripted origins that record what they received.
//!
//! The model ([`model::expect`]) is a plain function from a [`scenario::Scenario`] to what
//! the servers must see and how each call must end. It knows nothing of the library: it is
//! written from the README's rules, so that a rule the library gets wrong disagrees with it
//! instead of being copied into it. `tests/conformance.rs` runs the real session.

pub mod generate;
pub mod model;
pub mod scenario;
pub mod server;
