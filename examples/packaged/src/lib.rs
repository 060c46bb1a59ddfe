//! The Rust half of the `wordtools` Python package: plain functions marked
//! `#[pyo2::export]`, built into the package's wheel by setuptools-rust.

/// Number of whitespace-separated words.
#[pyo2::export]
fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// The longest word, or `None` for a text without words.
#[pyo2::export]
fn longest_word(text: &str) -> Option<String> {
    text.split_whitespace()
        .max_by_key(|w| w.chars().count())
        .map(str::to_owned)
}
