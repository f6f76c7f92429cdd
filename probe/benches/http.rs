//! The cost of a Prometheus scrape: one `GET /metrics` over loopback TCP, for a process with
//! 1000 lock classes (each locked and contended once), answered by the `lockscope-http`
//! thread. A scrape reads each class's counters and histograms once; no lock path does any
//! work for it.
//!
//! `cargo bench -p lockscope --bench http`

use criterion::{Criterion, criterion_group, criterion_main};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const CLASSES: usize = 1000;

fn scrape(c: &mut Criterion) {
    let locks: Vec<lockscope::Mutex<u64>> = (0..CLASSES)
        .map(|i| lockscope::Mutex::named(format!("scrape-class-{i}"), 0))
        .collect();
    for l in &locks {
        *l.lock() += 1;
    }
    let addr = lockscope::http::serve("127.0.0.1:0").expect("serve on loopback");
    let mut size = 0;
    c.bench_function("metrics_scrape_1000_classes", |b| {
        b.iter(|| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
            let mut page = Vec::with_capacity(4 << 20);
            s.read_to_end(&mut page).unwrap();
            size = page.len();
        })
    });
    println!("a /metrics page for {CLASSES} classes: {size} bytes");
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = scrape
}
criterion_main!(benches);
