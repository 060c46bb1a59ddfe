//! The crate's error type.

use core::str::Utf8Error;

/// Everything that can go wrong in `pyo2`'s safe API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes of a [`PyStr`](crate::PyStr) are not valid UTF-8.
    ///
    /// ```
    /// let mut bytes = *b"ab\xffc";
    /// // SAFETY: `bytes` is a live local array of 4 bytes.
    /// let s = unsafe { pyo2::PyStr::from_raw_parts(bytes.as_mut_ptr(), 4) };
    /// let err = s.as_str().unwrap_err();
    /// assert_eq!(err.to_string(), "PyStr is not valid UTF-8: invalid utf-8 sequence of 1 bytes from index 2");
    /// ```
    #[error("PyStr is not valid UTF-8: {0}")]
    InvalidUtf8(#[from] Utf8Error),
}

impl Error {
    /// For [`Error::InvalidUtf8`], the length of the longest valid UTF-8 prefix.
    pub fn valid_up_to(&self) -> Option<usize> {
        match self {
            Error::InvalidUtf8(e) => Some(e.valid_up_to()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_error_names_the_offending_byte() {
        let bad = std::hint::black_box([b'o', b'k', 0xC3]);
        let err: Error = core::str::from_utf8(&bad).unwrap_err().into();
        assert_eq!(err.valid_up_to(), Some(2));
        assert!(err.to_string().contains("index 2"), "{err}");
        assert!(err.to_string().starts_with("PyStr is not valid UTF-8"));
    }
}
