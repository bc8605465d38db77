//! Benchmark crate; see benches/.
