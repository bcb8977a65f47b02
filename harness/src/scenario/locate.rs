//! Positions in a TOML source: byte offsets to line:column, and key paths to the key's place.

use std::ops::Range;

use toml::de::{DeArray, DeTable};

/// 1-based line and column of byte `offset` in `source` (columns count characters).
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The span of the key at `path` (`["generate", "mix", "forex"]`; array elements by index,
/// `["expect", "partitions", "1", "glob"]`), or of the deepest part of it that exists.
pub fn key_span(source: &str, path: &[&str]) -> Option<Range<usize>> {
    let root = DeTable::parse(source).ok()?;
    let mut table: &DeTable = root.get_ref();
    let mut array: Option<&DeArray> = None;
    let mut found: Option<Range<usize>> = None;
    for segment in path {
        let value = if let Some(items) = array.take() {
            let item = items.get(segment.parse::<usize>().ok()?)?;
            found = Some(item.span());
            item
        } else {
            let (key, value) = table
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == *segment)?;
            found = Some(key.span());
            value
        };
        if let Some(t) = value.get_ref().as_table() {
            table = t;
        } else if let Some(items) = value.get_ref().as_array() {
            array = Some(items);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "[scenario]\nname = \"x\"\n\n[generate]\nevents = 5\nmix = { forex = 0.2, stock_price = 0.2, stock_news = 0.2 }\n\n[[expect.partitions]]\nglob = \"a/**\"\n\n[[expect.partitions]]\nglob = \"[\"\n";

    #[test]
    fn finds_keys_in_tables_inline_tables_and_arrays_of_tables() {
        let at = |path: &[&str]| key_span(DOC, path).map(|s| line_col(DOC, s.start));
        assert_eq!(at(&["generate", "events"]), Some((5, 1)));
        assert_eq!(at(&["generate", "mix", "stock_news"]), Some((6, 41)));
        assert_eq!(at(&["expect", "partitions", "1", "glob"]), Some((12, 1)));
        assert_eq!(at(&["nope"]), None);
    }

    #[test]
    fn columns_count_characters() {
        // bytes: a \n é(2) é(2) then the space at offset 6
        assert_eq!(line_col("a\néé = 1", 4), (2, 2));
        assert_eq!(line_col("a\néé = 1", 6), (2, 3));
        assert_eq!(line_col("abc", 0), (1, 1));
    }
}
