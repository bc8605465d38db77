//! What the proxy adds to one `tools/call` round trip: a client talking newline-delimited
//! JSON-RPC to an in-process echo server, directly and through the proxy (with a gate that
//! verifies and records in memory).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use preflight_core::testkit::MemoryAuditSink;
use preflight_core::{Decision, Fixed, Gate};
use preflight_mcp::McpProxy;
use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf,
};

/// Answers every request with a tool result; answers `tools/list` with one annotated tool.
async fn echo_server(stream: DuplexStream) {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let request: Value = serde_json::from_str(&line).unwrap();
        let Some(id) = request.get("id") else {
            continue;
        };
        let result = if request["method"] == "tools/list" {
            json!({"tools": [{"name": "echo", "inputSchema": {"type": "object"},
                              "annotations": {"readOnlyHint": true}}]})
        } else {
            json!({"content": [{"type": "text", "text": "ok"}]})
        };
        let response = json!({"jsonrpc": "2.0", "id": id, "result": result});
        write
            .write_all(format!("{response}\n").as_bytes())
            .await
            .unwrap();
    }
}

struct Client {
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    write: WriteHalf<DuplexStream>,
    next: u64,
}

impl Client {
    fn new(stream: DuplexStream) -> Self {
        let (read, write) = tokio::io::split(stream);
        Self {
            lines: BufReader::new(read).lines(),
            write,
            next: 0,
        }
    }

    async fn call(&mut self) {
        self.next += 1;
        let request = json!({"jsonrpc": "2.0", "id": self.next, "method": "tools/call",
                             "params": {"name": "echo", "arguments": {"text": "hi"}}});
        self.write
            .write_all(format!("{request}\n").as_bytes())
            .await
            .unwrap();
        let line = self.lines.next_line().await.unwrap().unwrap();
        assert!(line.contains("\"ok\""), "{line}");
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let mut direct = runtime.block_on(async {
        let (client, server) = tokio::io::duplex(1 << 16);
        tokio::spawn(echo_server(server));
        Client::new(client)
    });

    let mut proxied = runtime.block_on(async {
        let (client, proxy_client_side) = tokio::io::duplex(1 << 16);
        let (proxy_server_side, server) = tokio::io::duplex(1 << 16);
        tokio::spawn(echo_server(server));
        let gate = Gate::builder(Fixed::new(Decision::Allow))
            .with_audit(MemoryAuditSink::new())
            .build()
            .unwrap();
        let (client_in, client_out) = tokio::io::split(proxy_client_side);
        let (server_out, server_in) = tokio::io::split(proxy_server_side);
        tokio::spawn(async move {
            McpProxy::new("bench", gate)
                .run(client_in, client_out, server_out, server_in)
                .await
        });
        Client::new(client)
    });

    let mut group = c.benchmark_group("mcp_tools_call");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("direct", |b| b.iter(|| runtime.block_on(direct.call())));
    group.bench_function("through_proxy", |b| {
        b.iter(|| runtime.block_on(proxied.call()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
