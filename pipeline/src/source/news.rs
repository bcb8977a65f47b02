//! News items: a headline and body from `fake`, with a sentiment that moves the symbol's price.

use fake::faker::company::en::CatchPhrase;
use fake::faker::lorem::en::Sentences;
use fake::Fake;
use rand::Rng;

/// Headline verbs by sentiment: negative, neutral, positive.
const VERBS: [[&str; 3]; 3] = [
    ["slumps after", "falls on", "misses estimates with"],
    ["announces", "comments on", "unveils"],
    ["surges after", "rallies on", "beats estimates with"],
];

/// Texts drawn once per generator from `fake` (which costs about a microsecond per body), so
/// that each news event only picks from them.
pub struct TextPool {
    phrases: Vec<String>,
    bodies: Vec<String>,
}

/// Texts in a pool.
const POOL: usize = 256;

impl TextPool {
    /// Draws the pool from `rng`.
    pub fn draw(rng: &mut impl Rng) -> Self {
        let phrases = (0..POOL)
            .map(|_| CatchPhrase().fake_with_rng::<String, _>(rng).to_lowercase())
            .collect();
        let bodies = (0..POOL)
            .map(|_| {
                Sentences(2..4)
                    .fake_with_rng::<Vec<String>, _>(rng)
                    .join(" ")
            })
            .collect();
        Self { phrases, bodies }
    }
}

/// A generated news item.
pub struct NewsItem {
    /// One line naming the symbol.
    pub headline: String,
    /// A few sentences.
    pub body: String,
    /// -1 to 1, two decimals.
    pub sentiment: f64,
}

/// Draws a news item about `symbol` from `rng`, its texts from `pool`.
pub fn draw(symbol: &str, pool: &TextPool, rng: &mut impl Rng) -> NewsItem {
    let raw: f64 = rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng);
    let sentiment = super::price::round((raw * 0.5).clamp(-1.0, 1.0), 2);
    let tone = if sentiment < -0.15 {
        0
    } else if sentiment > 0.15 {
        2
    } else {
        1
    };
    let verb = VERBS[tone][rng.random_range(0..3)];
    let phrase = &pool.phrases[rng.random_range(0..pool.phrases.len())];
    let body = &pool.bodies[rng.random_range(0..pool.bodies.len())];
    NewsItem {
        headline: format!("{symbol} {verb} {phrase}"),
        body: body.clone(),
        sentiment,
    }
}
