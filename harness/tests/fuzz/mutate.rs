//! Mutations that turn valid inputs into broken and hostile ones.
//!
//! Mutations of byte strings: what turns a corpus of valid inputs into the broken, hostile and
//! extreme inputs a parser must survive.

use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Numbers that break arithmetic: zero, signs, the edges of every integer width, floats that
/// overflow, underflow or are not numbers.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "-0.0",
    "1e-300",
    "1e300",
    "-1e308",
    "1.7976931348623157e308",
    "nan",
    "inf",
    "-inf",
    "127",
    "255",
    "65535",
    "4294967295",
    "4294967296",
    "2147483648",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "2305843009213693952",
    "0.9999995",
    "1.0000001",
];

/// Tokens that break structure.
const TOKENS: &[&str] = &[
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=",
    ":",
    "\n",
    "\r\n",
    "\\",
    "\0",
    "\u{feff}",
    "é",
    "\u{10ffff}",
    "[[",
    "]]",
    "{}",
    "[]",
    "null",
    "true",
    "\"\"",
    "/",
    "..",
    "%",
    "=",
    "event_type=",
    "/dt=",
    "/hour=",
    "zstd:",
    "{\"b64\":\"",
    "\u{fffe}",
];

/// Applies random mutations to `input` (one, half the time: a single change keeps the rest of
/// a valid input valid, so it reaches past validation), drawing splices from `corpus`. Numbers
/// are swapped most often: that is how values a run cannot handle get in.
pub fn mutate(input: &[u8], corpus: &[Vec<u8>], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut data = input.to_vec();
    let rounds = if rng.random_bool(0.5) {
        1
    } else {
        rng.random_range(2..=4)
    };
    for _ in 0..rounds {
        match rng.random_range(0..10) {
            0..=3 => replace_number(&mut data, rng),
            4 => insert(&mut data, TOKENS.choose(rng).unwrap().as_bytes(), rng),
            5 if !data.is_empty() => {
                let i = rng.random_range(0..data.len());
                data[i] ^= 1 << rng.random_range(0..8);
            }
            6 if !data.is_empty() => {
                let i = rng.random_range(0..data.len());
                let end = (i + rng.random_range(1..=16)).min(data.len());
                data.drain(i..end);
            }
            7 if !data.is_empty() => {
                let i = rng.random_range(0..data.len());
                let end = (i + rng.random_range(1..=64)).min(data.len());
                let copy = data[i..end].to_vec();
                insert(&mut data, &copy, rng);
            }
            8 => {
                if let Some(other) = corpus.choose(rng).filter(|o| !o.is_empty()) {
                    let i = rng.random_range(0..other.len());
                    let end = (i + rng.random_range(1..=128)).min(other.len());
                    insert(&mut data, &other[i..end], rng);
                }
            }
            _ => {
                let bytes: Vec<u8> = (0..rng.random_range(1..=8)).map(|_| rng.random()).collect();
                insert(&mut data, &bytes, rng);
            }
        }
    }
    data
}

fn insert(data: &mut Vec<u8>, bytes: &[u8], rng: &mut ChaCha8Rng) {
    let at = rng.random_range(0..=data.len());
    data.splice(at..at, bytes.iter().copied());
}

/// Replaces one number of the input (a run of digits, with its sign, point and exponent) by
/// one of [`NUMBERS`]; inserts one when there is none.
fn replace_number(data: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    let starts: Vec<usize> = (0..data.len())
        .filter(|&i| data[i].is_ascii_digit() && (i == 0 || !is_number_byte(data[i - 1])))
        .collect();
    let value = NUMBERS.choose(rng).unwrap().as_bytes();
    let Some(&start) = starts.choose(rng) else {
        insert(data, value, rng);
        return;
    };
    let start = if start > 0 && data[start - 1] == b'-' {
        start - 1
    } else {
        start
    };
    let mut end = start + 1;
    while end < data.len() && is_number_byte(data[end]) {
        end += 1;
    }
    data.splice(start..end, value.iter().copied());
}

fn is_number_byte(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'_' | b'+' | b'-')
}

/// Integers at the edges of every width, and the ones near them.
const INTEGERS: &[i64] = &[
    0,
    1,
    -1,
    2,
    255,
    1_024,
    65_535,
    4_294_967_295,
    4_294_967_296,
    2_305_843_009_213_693_952,
    i64::MAX,
    i64::MIN,
    i64::MAX / 1_000 + 1,
];

/// Floats that overflow, underflow, or are not numbers.
const FLOATS: &[f64] = &[
    0.0,
    -0.0,
    -1.0,
    1e-300,
    5e-324,
    1e300,
    f64::MAX,
    f64::MIN,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.999_999_5,
    1.000_000_1,
    100.0,
    -100.0,
];

/// Strings that break names, paths, globs and times.
const STRINGS: &[&str] = &[
    "",
    " ",
    "../../etc/passwd",
    "a/b",
    "[",
    "{a,",
    "**",
    "é\u{0}\u{feff}",
    "2026-13-45T25:61:61Z",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "-262143-01-01T00:00:00Z",
    "zstd",
    "none",
    "original",
    "full",
    "objects",
    "csv",
    "jsonl",
];

/// Parses `input` as TOML and replaces one value (anywhere, in tables and arrays) with an edge
/// value of its own type or, now and then, of another type; or removes one key. `None` when the
/// input is not TOML.
pub fn toml_value(input: &[u8], rng: &mut ChaCha8Rng) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(input).ok()?;
    let mut doc: toml::Table = text.parse().ok()?;
    let mut leaves = 0;
    count_leaves(&toml::Value::Table(doc.clone()), &mut leaves);
    if leaves == 0 {
        return None;
    }
    let target = rng.random_range(0..leaves);
    let mut seen = 0;
    let mut root = toml::Value::Table(std::mem::take(&mut doc));
    edit_leaf(&mut root, target, &mut seen, rng);
    toml::to_string(&root).ok().map(String::into_bytes)
}

fn count_leaves(value: &toml::Value, n: &mut usize) {
    match value {
        toml::Value::Table(t) => t.values().for_each(|v| count_leaves(v, n)),
        toml::Value::Array(a) => {
            *n += 1; // the array itself can be emptied or grown
            a.iter().for_each(|v| count_leaves(v, n));
        }
        _ => *n += 1,
    }
}

/// Walks to leaf number `target` and changes it; returns whether it did.
fn edit_leaf(
    value: &mut toml::Value,
    target: usize,
    seen: &mut usize,
    rng: &mut ChaCha8Rng,
) -> bool {
    match value {
        toml::Value::Table(t) => {
            let keys: Vec<String> = t.keys().cloned().collect();
            for key in keys {
                let leaf = !matches!(t[&key], toml::Value::Table(_) | toml::Value::Array(_));
                if leaf && *seen == target && rng.random_bool(0.1) {
                    t.remove(&key); // a key left out: its default must hold up too
                    return true;
                }
                if edit_leaf(t.get_mut(&key).expect("listed"), target, seen, rng) {
                    return true;
                }
            }
            false
        }
        toml::Value::Array(a) => {
            if *seen == target {
                if rng.random_bool(0.5) || a.is_empty() {
                    a.clear();
                } else {
                    let copy = a[rng.random_range(0..a.len())].clone();
                    a.extend(std::iter::repeat_n(copy, rng.random_range(1..=3)));
                }
                return true;
            }
            *seen += 1;
            a.iter_mut().any(|v| edit_leaf(v, target, seen, rng))
        }
        leaf => {
            if *seen != target {
                *seen += 1;
                return false;
            }
            *leaf = edge_value(leaf, rng);
            true
        }
    }
}

fn edge_value(like: &toml::Value, rng: &mut ChaCha8Rng) -> toml::Value {
    let kind = if rng.random_bool(0.85) {
        match like {
            toml::Value::Integer(_) => 0,
            toml::Value::Float(_) => 1,
            toml::Value::String(_) => 2,
            _ => 3,
        }
    } else {
        rng.random_range(0..4)
    };
    match kind {
        0 => toml::Value::Integer(*INTEGERS.choose(rng).unwrap()),
        1 => toml::Value::Float(*FLOATS.choose(rng).unwrap()),
        2 => toml::Value::String(STRINGS.choose(rng).unwrap().to_string()),
        _ => toml::Value::Boolean(rng.random()),
    }
}
