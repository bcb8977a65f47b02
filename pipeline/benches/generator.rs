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
        b.iter(|| Generator::new(config.clone()).map(|e| e.created_at()).sum::<i64>())
    });
    group.bench_function("generate+serialise", |b| {
        b.iter(|| Generator::new(config.clone()).map(|e| e.to_json().len()).sum::<usize>())
    });
    group.finish();
}

criterion_group!(benches, generator);
criterion_main!(benches);
