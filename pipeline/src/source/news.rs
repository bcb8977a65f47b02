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

/// A generated news item.
pub struct NewsItem {
    /// One line naming the symbol.
    pub headline: String,
    /// A few sentences.
    pub body: String,
    /// -1 to 1, two decimals.
    pub sentiment: f64,
}

/// Draws a news item about `symbol` from `rng`.
pub fn draw(symbol: &str, rng: &mut impl Rng) -> NewsItem {
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
    let phrase: String = CatchPhrase().fake_with_rng(rng);
    let sentences: Vec<String> = Sentences(2..4).fake_with_rng(rng);
    NewsItem {
        headline: format!("{symbol} {verb} {}", phrase.to_lowercase()),
        body: sentences.join(" "),
        sentiment,
    }
}
