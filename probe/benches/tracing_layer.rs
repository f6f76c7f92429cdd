//! What lockscope's tracing layer adds to a span: one span created, entered and left three
//! times (a request future polled three times under `.instrument`), then closed, through a
//! `tracing_subscriber` registry with a layer that does nothing (the spans a service already
//! has, going to logs or OpenTelemetry), with and without lockscope's layer beside it.
//!
//! ```text
//! cargo bench -p lockscope --features tracing --bench tracing_layer
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

/// A layer that keeps every span enabled and does nothing with it.
struct Spans;

impl<S: tracing::Subscriber> Layer<S> for Spans {}

fn span_entered_three_times() {
    let span = tracing::info_span!("GET /orders/{id}");
    for _ in 0..3 {
        let _in = span.enter();
    }
}

fn layer(c: &mut Criterion) {
    let mut g = c.benchmark_group("span + 3 enters");
    let plain = tracing_subscriber::registry().with(Spans);
    tracing::subscriber::with_default(plain, || {
        g.bench_function("registry", |b| b.iter(span_entered_three_times));
    });
    let scoped = tracing_subscriber::registry()
        .with(Spans)
        .with(lockscope::tracing::layer());
    tracing::subscriber::with_default(scoped, || {
        g.bench_function("registry + lockscope layer", |b| {
            b.iter(span_entered_three_times)
        });
    });
    g.finish();
}

criterion_group!(benches, layer);
criterion_main!(benches);
