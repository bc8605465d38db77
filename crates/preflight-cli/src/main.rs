//! The preflight binary.
fn main() {}
