//! Properties of the market-data generator, for any seed and any reasonable settings.

use std::collections::HashMap;

use proptest::prelude::*;
use tickflow_pipeline::event::{parse_record, MarketEvent};
use tickflow_pipeline::source::session::in_stock_session;
use tickflow_pipeline::source::{event_id, ForcedJump, Generator, GeneratorConfig, Mix};

fn config(seed: u64, events: u64, start_ms: i64, stock_share: f64, gap: f64) -> GeneratorConfig {
    let news = (1.0 - stock_share) / 4.0;
    GeneratorConfig {
        seed,
        events,
        start_ms,
        mean_gap_ms: gap,
        mix: Mix {
            forex: 1.0 - stock_share - news,
            stock_price: stock_share,
            stock_news: news,
        },
        ..GeneratorConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn quotes_are_positive_with_bid_below_ask_and_pass_validation(
        seed in any::<u64>(), share in 0.0f64..0.9, gap in 1.0f64..60_000.0,
    ) {
        for event in Generator::new(config(seed, 400, 1_795_444_200_000, share, gap)) {
            prop_assert!(event.validate().is_ok(), "{:?}: {:?}", event, event.validate());
            match &event {
                MarketEvent::Forex(e) => prop_assert!(0.0 < e.bid && e.bid < e.mid && e.mid < e.ask),
                MarketEvent::StockPrice(e) => {
                    prop_assert!(0.0 < e.bid && e.bid < e.ask);
                    prop_assert!(e.bid <= e.price && e.price <= e.ask);
                }
                MarketEvent::StockNews(e) => prop_assert!((-1.0..=1.0).contains(&e.sentiment)),
            }
        }
    }

    #[test]
    fn timestamps_increase_per_instrument_and_stocks_trade_in_session(
        seed in any::<u64>(), start in 1_700_000_000_000i64..1_900_000_000_000, gap in 1.0f64..600_000.0,
    ) {
        let cfg = config(seed, 300, start, 0.5, gap);
        let session = cfg.session_utc_minutes;
        let mut last: HashMap<String, i64> = HashMap::new();
        for event in Generator::new(cfg) {
            let t = event.created_at();
            if let Some(prev) = last.insert(event.instrument().to_string(), t) {
                prop_assert!(t > prev, "{} went from {} to {}", event.instrument(), prev, t);
            }
            if !matches!(event, MarketEvent::Forex(_)) {
                prop_assert!(in_stock_session(t, session), "stock event at {} is outside the session", t);
            }
        }
    }

    #[test]
    fn same_seed_gives_a_byte_identical_stream(seed in any::<u64>()) {
        let bytes = |seed| -> Vec<u8> {
            Generator::new(config(seed, 200, 1_795_444_200_000, 0.5, 10.0))
                .flat_map(|e| e.to_json())
                .collect()
        };
        prop_assert_eq!(bytes(seed), bytes(seed));
        prop_assert_ne!(bytes(seed), bytes(seed.wrapping_add(1)));
    }

    #[test]
    fn every_event_round_trips_through_json(seed in any::<u64>()) {
        for event in Generator::new(config(seed, 100, 1_795_444_200_000, 0.4, 10.0)) {
            prop_assert_eq!(parse_record(&event.to_json()).unwrap(), event);
        }
    }
}

fn any_event() -> impl Strategy<Value = MarketEvent> {
    use tickflow_pipeline::event::{ForexRate, StockNews, StockPrice};
    let id = any::<u128>().prop_map(uuid::Uuid::from_u128);
    let num = prop_oneof![
        any::<f64>(),
        -1e6f64..1e6,
        Just(0.1),
        Just(1e21),
        Just(-0.0)
    ];
    prop_oneof![
        (
            id.clone(),
            any::<i64>(),
            any::<String>(),
            num.clone(),
            num.clone(),
            num.clone()
        )
            .prop_map(|(event_uuid, created_at, pair, bid, ask, mid)| {
                MarketEvent::Forex(ForexRate {
                    event_uuid,
                    created_at,
                    pair: pair.into(),
                    bid,
                    ask,
                    mid,
                })
            }),
        (
            id.clone(),
            any::<i64>(),
            any::<String>(),
            num.clone(),
            num.clone(),
            any::<u64>()
        )
            .prop_map(|(event_uuid, created_at, symbol, price, bid, volume)| {
                MarketEvent::StockPrice(StockPrice {
                    event_uuid,
                    created_at,
                    symbol: symbol.into(),
                    price,
                    bid,
                    ask: bid,
                    volume,
                })
            }),
        (
            id,
            any::<i64>(),
            any::<String>(),
            any::<String>(),
            ".*",
            num
        )
            .prop_map(
                |(event_uuid, created_at, symbol, headline, body, sentiment)| {
                    MarketEvent::StockNews(StockNews {
                        event_uuid,
                        created_at,
                        symbol: symbol.into(),
                        headline,
                        body,
                        sentiment,
                    })
                }
            ),
    ]
}

proptest! {
    #[test]
    fn the_fast_json_writer_matches_serde_json_byte_for_byte(event in any_event()) {
        prop_assert_eq!(
            String::from_utf8(event.to_json()).unwrap(),
            serde_json::to_string(&event).unwrap()
        );
    }
}

proptest! {
    #[test]
    fn event_ids_are_uuid_v8_and_tell_positions_apart(
        tag in any::<[u8; 8]>(),
        a in 0u64..1 << 62,
        b in 0u64..1 << 62,
    ) {
        let (ida, idb) = (event_id(tag, a), event_id(tag, b));
        prop_assert_eq!(ida.get_version_num(), 8);
        prop_assert_eq!(ida.get_variant(), uuid::Variant::RFC4122);
        prop_assert_eq!(ida == idb, a == b);
        prop_assert_eq!(ida.as_u128() < idb.as_u128(), a < b);
    }
}

#[test]
fn different_seeds_draw_different_id_spaces() {
    let first = |seed| {
        Generator::new(config(seed, 1, 1_795_444_200_000, 0.5, 10.0))
            .next()
            .map(|e| e.id())
    };
    assert_ne!(first(1), first(2));
    assert_eq!(first(1), first(1));
}

#[test]
fn generates_exactly_the_requested_count_with_unique_ids() {
    let events: Vec<_> = Generator::new(config(1, 5_000, 1_795_444_200_000, 0.5, 10.0)).collect();
    assert_eq!(events.len(), 5_000);
    let ids: std::collections::HashSet<_> = events.iter().map(MarketEvent::id).collect();
    assert_eq!(ids.len(), 5_000);
}

#[test]
fn a_forced_jump_moves_the_next_quote_by_about_that_much() {
    let mut cfg = config(3, 2_000, 1_795_444_200_000, 1.0, 10.0);
    cfg.mix = Mix {
        forex: 0.0,
        stock_price: 1.0,
        stock_news: 0.0,
    };
    cfg.stocks.truncate(1); // only AAPL, so every event is an AAPL quote
    cfg.jumps.rate_per_day = 0.0;
    cfg.forced_jumps = vec![ForcedJump {
        at_event: 1_000,
        instrument: "AAPL".into(),
        pct: 10.0,
    }];
    let prices: Vec<f64> = Generator::new(cfg)
        .map(|e| match e {
            MarketEvent::StockPrice(p) => p.price,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let change = prices[1_000] / prices[999] - 1.0;
    assert!(
        (0.09..0.11).contains(&change),
        "change at the jump: {change}"
    );
    let before = prices[998] / prices[997] - 1.0;
    assert!(before.abs() < 0.01, "an ordinary tick moved {before}");
}

#[test]
fn first_events_for_seed_7_are_stable() {
    let events: Vec<serde_json::Value> = Generator::new(GeneratorConfig::default())
        .take(8)
        .map(|e| serde_json::from_slice(&e.to_json()).unwrap())
        .collect();
    insta::assert_json_snapshot!(events);
}
