//! How fast the market-data generator makes events.
//!
//! Generator throughput: events per second on one core, with and without serialisation.
//! `cargo bench -p tickflow-pipeline` (issue target: >= 5M events/s, serialisation included).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tickflow_pipeline::source::{Generator, GeneratorConfig};

const EVENTS: u64 = 200_000;

fn generator(c: &mut Criterion) {
    let config = GeneratorConfig {
        events: EVENTS,
        ..GeneratorConfig::default()
    };
    let mut group = c.benchmark_group("generator");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    group.bench_function("generate", |b| {
        b.iter(|| {
            Generator::new(config.clone())
                .map(|e| e.created_at())
                .sum::<i64>()
        })
    });
    group.bench_function("generate+serialise", |b| {
        b.iter(|| {
            let mut buf = Vec::with_capacity(512);
            Generator::new(config.clone())
                .map(|e| {
                    buf.clear();
                    e.write_json(&mut buf);
                    buf.len()
                })
                .sum::<usize>()
        })
    });
    let no_news = GeneratorConfig {
        mix: tickflow_pipeline::source::Mix {
            forex: 0.5,
            stock_price: 0.5,
            stock_news: 0.0,
        },
        ..config.clone()
    };
    group.bench_function("generate, no news", |b| {
        b.iter(|| {
            Generator::new(no_news.clone())
                .map(|e| e.created_at())
                .sum::<i64>()
        })
    });
    group.finish();
}

criterion_group!(benches, generator);
criterion_main!(benches);
