//! The deterministic, streaming event generator.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::config::{ForcedJump, GeneratorConfig};
use super::price::{round, PricePath};
use super::{news, session};
use crate::event::{EventKind, ForexRate, MarketEvent, StockNews, StockPrice};

/// Yields `config.events` market events, one at a time: nothing is held but the instruments'
/// state, so a million events cost no more memory than ten.
///
/// A market clock advances by exponential gaps (at least 1 ms) from `start_ms`; each event picks
/// its kind by the mix and an instrument of that kind. Outside the stock session a stock draw
/// becomes a forex event (forex trades 24/5); with no pairs, or while forex is closed too, the
/// clock jumps to the next open.
pub struct Generator {
    config: GeneratorConfig,
    rng: ChaCha8Rng,
    produced: u64,
    clock_ms: i64,
    stocks: Vec<PricePath>,
    pairs: Vec<PricePath>,
    /// Forced jumps sorted by position, consumed from the front.
    forced: std::vec::IntoIter<ForcedJump>,
    next_forced: Option<ForcedJump>,
    /// News texts, drawn once from a generator of their own (seeded from `seed`).
    news: news::TextPool,
    /// Instrument names, shared by every event that names them.
    stock_names: Vec<Arc<str>>,
    pair_names: Vec<Arc<str>>,
    /// The first half of every event id, drawn from `seed`.
    id_tag: [u8; 8],
}

/// The first half of every event id a generator of `seed` makes.
pub fn id_tag(seed: u64) -> [u8; 8] {
    ChaCha8Rng::seed_from_u64(seed ^ 0x6964_7321).random()
}

/// The position of the event `id` made by a generator whose ids start with `tag` ([`id_tag`]);
/// `None` for an id of any other making.
pub fn position_of(tag: [u8; 8], id: Uuid) -> Option<u64> {
    let bytes = id.as_bytes();
    let first = event_id(tag, 0);
    (bytes[..8] == first.as_bytes()[..8])
        .then(|| u64::from_be_bytes(bytes[8..].try_into().expect("8 bytes")) & ((1 << 62) - 1))
}

/// The id of the event at `position` of a scenario whose ids start with `tag`: the tag, then
/// the position big-endian, with UUIDv8's version and variant bits set (they take 4 bits of the
/// tag and the position's top 2 bits, so positions are unique below 2^62).
pub fn event_id(tag: [u8; 8], position: u64) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&tag);
    bytes[8..].copy_from_slice(&position.to_be_bytes());
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

impl Generator {
    /// A generator for `config`; call [`GeneratorConfig::check`] first for readable errors.
    pub fn new(config: GeneratorConfig) -> Self {
        let mut forced = config.forced_jumps.clone();
        forced.sort_by_key(|j| j.at_event);
        let mut forced = forced.into_iter();
        let next_forced = forced.next();
        let mut text_rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x6e65_7773);
        let id_tag = id_tag(config.seed);
        Self {
            id_tag,
            news: news::TextPool::draw(&mut text_rng),
            stock_names: config
                .stocks
                .iter()
                .map(|s| Arc::from(s.name.as_str()))
                .collect(),
            pair_names: config
                .pairs
                .iter()
                .map(|s| Arc::from(s.name.as_str()))
                .collect(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            produced: 0,
            clock_ms: config.start_ms,
            stocks: config.stocks.iter().map(PricePath::new).collect(),
            pairs: config.pairs.iter().map(PricePath::new).collect(),
            forced,
            next_forced,
            config,
        }
    }

    /// How many events are left.
    pub fn remaining(&self) -> u64 {
        self.config.events - self.produced
    }

    fn apply_forced_jumps(&mut self) {
        while let Some(jump) = self.next_forced.take_if(|j| j.at_event <= self.produced) {
            let path = self
                .config
                .stocks
                .iter()
                .position(|s| s.name == jump.instrument)
                .map(|i| &mut self.stocks[i])
                .or_else(|| {
                    let i = self
                        .config
                        .pairs
                        .iter()
                        .position(|s| s.name == jump.instrument)?;
                    Some(&mut self.pairs[i])
                });
            if let Some(path) = path {
                path.jump(jump.pct);
            }
            self.next_forced = self.forced.next();
        }
    }

    /// A kind drawn by the mix; never a kind without instruments (a mix that sums to 1 only
    /// within rounding could otherwise land past its last share).
    fn pick_kind(&mut self) -> EventKind {
        let u: f64 = self.rng.random();
        let mix = self.config.mix;
        let kind = if u < mix.forex {
            EventKind::Forex
        } else if u < mix.forex + mix.stock_price {
            EventKind::StockPrice
        } else {
            EventKind::StockNews
        };
        match kind {
            EventKind::Forex if self.pairs.is_empty() => EventKind::StockPrice,
            EventKind::StockPrice | EventKind::StockNews if self.stocks.is_empty() => {
                EventKind::Forex
            }
            kind => kind,
        }
    }

    /// The id of the event at the current position: a UUIDv8 of the scenario's id tag and the
    /// position, so ids are unique across `--partition`ed generators by construction and sort
    /// by position, as Snowflake-style ids do. Random v4 ids would be 16 incompressible bytes per
    /// event: two thirds of the compressed bytes Kinesis carries in the 1M-event run.
    fn next_id(&self) -> Uuid {
        event_id(self.id_tag, self.produced)
    }

    fn forex(&mut self) -> MarketEvent {
        self.clock_ms = session::next_forex_time(self.clock_ms);
        let i = self.rng.random_range(0..self.pairs.len());
        let event_uuid = self.next_id();
        let path = &mut self.pairs[i];
        path.step(self.clock_ms, &self.config.jumps, &mut self.rng);
        let name = &self.pair_names[i];
        let decimals = if name.contains("JPY") { 3 } else { 5 };
        let (bid, ask) = path.quote(decimals);
        MarketEvent::Forex(ForexRate {
            event_uuid,
            created_at: self.clock_ms,
            pair: name.clone(),
            bid,
            ask,
            mid: round((bid + ask) / 2.0, decimals + 1),
        })
    }

    fn stock_price(&mut self) -> MarketEvent {
        self.clock_ms = session::next_stock_time(self.clock_ms, self.config.session_utc_minutes);
        let i = self.rng.random_range(0..self.stocks.len());
        let event_uuid = self.next_id();
        let path = &mut self.stocks[i];
        path.step(self.clock_ms, &self.config.jumps, &mut self.rng);
        let (bid, ask) = path.quote(2);
        let volume = self.rng.random_range(1..=50u64) * 100;
        MarketEvent::StockPrice(StockPrice {
            event_uuid,
            created_at: self.clock_ms,
            symbol: self.stock_names[i].clone(),
            price: round(path.mid, 2).clamp(bid, ask),
            bid,
            ask,
            volume,
        })
    }

    fn stock_news(&mut self) -> MarketEvent {
        self.clock_ms = session::next_stock_time(self.clock_ms, self.config.session_utc_minutes);
        let i = self.rng.random_range(0..self.stocks.len());
        let event_uuid = self.next_id();
        let symbol = self.stock_names[i].clone();
        let item = news::draw(&symbol, &self.news, &mut self.rng);
        self.stocks[i].nudge(item.sentiment * self.config.news_impact_pct / 100.0);
        MarketEvent::StockNews(StockNews {
            event_uuid,
            created_at: self.clock_ms,
            symbol,
            headline: item.headline,
            body: item.body,
            sentiment: item.sentiment,
        })
    }
}

impl Iterator for Generator {
    type Item = MarketEvent;

    fn next(&mut self) -> Option<MarketEvent> {
        if self.produced >= self.config.events {
            return None;
        }
        self.apply_forced_jumps();
        let mut kind = self.pick_kind();
        // Stocks do not trade outside their session, forex does: off-session stock draws become
        // forex events, so the market clock only jumps when nothing is open.
        let session = self.config.session_utc_minutes;
        if kind != EventKind::Forex
            && !self.pairs.is_empty()
            && !session::in_stock_session(self.clock_ms, session)
        {
            kind = EventKind::Forex;
        }
        let event = match kind {
            EventKind::Forex => self.forex(),
            EventKind::StockPrice => self.stock_price(),
            EventKind::StockNews => self.stock_news(),
        };
        let u: f64 = self.rng.random();
        let gap = -self.config.mean_gap_ms * (1.0 - u).ln();
        self.clock_ms = self.clock_ms.saturating_add((gap.round() as i64).max(1));
        self.produced += 1;
        Some(event)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.remaining()).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Mix;

    #[test]
    fn an_id_gives_back_its_position_and_only_its_generator_s() {
        let config = GeneratorConfig {
            events: 300,
            seed: 77,
            ..GeneratorConfig::default()
        };
        let tag = id_tag(77);
        for (i, event) in Generator::new(config).enumerate() {
            assert_eq!(position_of(tag, event.id()), Some(i as u64));
        }
        assert_eq!(
            position_of(tag, event_id(tag, (1 << 61) + 5)),
            Some((1 << 61) + 5)
        );
        assert_eq!(position_of(id_tag(78), event_id(tag, 3)), None);
        assert_eq!(position_of(tag, Uuid::new_v4()), None);
    }

    #[test]
    fn a_draw_past_the_shares_never_picks_a_kind_without_instruments() {
        // Half of the draws land past the forex share (a mix that sums to 1 within rounding
        // does so rarely): with no stocks they stay forex, with no pairs they stay stocks.
        let half = GeneratorConfig {
            events: 2_000,
            mix: Mix {
                forex: 0.5,
                stock_price: 0.0,
                stock_news: 0.0,
            },
            ..GeneratorConfig::default()
        };
        let no_stocks = GeneratorConfig {
            stocks: Vec::new(),
            ..half.clone()
        };
        assert!(Generator::new(no_stocks).all(|e| e.kind() == EventKind::Forex));
        let no_pairs = GeneratorConfig {
            pairs: Vec::new(),
            ..half
        };
        assert!(Generator::new(no_pairs).all(|e| e.kind() != EventKind::Forex));
    }

    #[test]
    fn the_market_clock_saturates_instead_of_overflowing() {
        let config = GeneratorConfig {
            events: 50,
            start_ms: i64::MAX - 1_000,
            mean_gap_ms: 1e300,
            ..GeneratorConfig::default()
        };
        assert_eq!(Generator::new(config).count(), 50);
    }
}
