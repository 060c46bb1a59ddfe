//! [`PyVec`], the borrowed `{ptr, len}` view that crosses the C ABI.

use core::fmt;
use core::marker::PhantomData;
use core::mem::{align_of, offset_of, size_of};
use core::ops::{Deref, DerefMut, Index, IndexMut};
use core::slice::{self, SliceIndex};

use crate::Error;

/// A borrowed view of a buffer of `T` that the Python side owns for the
/// duration of one call.
///
/// Python builds a `PyVec` for every list, `str`, `bytes` or buffer it passes
/// and hands Rust a reference to it (`&PyVec<T>` or `&mut PyVec<T>`). The view
/// dereferences to `[T]`, so everything a slice can do a `PyVec` can do:
/// index with any range, iterate, sort, sum. What Rust writes through a
/// `&mut PyVec<T>` is written back into the Python list after the call.
///
/// A `PyVec` owns nothing and has no capacity: it can't grow or shrink, and
/// dropping it frees nothing. Its elements outlive it only as long as the
/// call that lent them.
///
/// # C layout
///
/// ```c
/// typedef struct {
///     T      *ptr;  /* may be NULL when len == 0 */
///     size_t  len;  /* number of elements, not bytes */
/// } PyVec_T;
/// ```
///
/// A null `ptr` with `len == 0` is a valid empty view.
///
/// # Examples
///
/// ```
/// use pyo2::PyVec;
///
/// #[no_mangle]
/// pub extern "C" fn double_all(v: &mut PyVec<f64>) -> f64 {
///     v.iter_mut().for_each(|x| *x *= 2.0);
///     v.iter().sum()
/// }
/// # let mut data = [1.0, 2.5];
/// # // SAFETY: `data` is a live local array of 2 elements.
/// # let mut v = unsafe { PyVec::from_raw_parts(data.as_mut_ptr(), 2) };
/// # assert_eq!(double_all(&mut v), 7.0);
/// ```
///
/// The slice a `PyVec` lends can't outlive the borrow of the view:
///
/// ```compile_fail
/// fn keep(v: &pyo2::PyVec<i64>) -> &'static [i64] {
///     &v[..]
/// }
/// ```
#[repr(C)]
pub struct PyVec<T> {
    // SAFETY: invariant of the type, established by `from_raw_parts` (the only
    // constructor): either `ptr` is null, or `ptr` is aligned for `T` and valid
    // for reads and writes of `len` initialised `T`s, not accessed through any
    // other pointer while a borrow of this `PyVec` is alive. `len * size_of::<T>()`
    // is at most `isize::MAX`.
    ptr: *mut T,
    len: usize,
    _elements: PhantomData<T>,
}

// Compile-time pin of the C layout that the Python side mirrors.
const _: () = assert!(size_of::<PyVec<u8>>() == 2 * size_of::<usize>());
const _: () = assert!(align_of::<PyVec<u8>>() == align_of::<usize>());
const _: () = assert!(offset_of!(PyVec<u64>, ptr) == 0);
const _: () = assert!(offset_of!(PyVec<u64>, len) == size_of::<usize>());

/// A Python `str` (as UTF-8), `bytes` or `bytearray` passed to Rust.
///
/// It is exactly a [`PyVec<u8>`]; [`as_str`](PyVec::as_str) reads it as text.
pub type PyStr = PyVec<u8>;

impl<T> PyVec<T> {
    /// Makes a view of `len` elements starting at `ptr`.
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - `ptr` is null and `len` is 0, or `ptr` is non-null and aligned for `T`;
    /// - `ptr` is valid for reads and writes of `len` consecutive, initialised
    ///   values of `T`, and `len * size_of::<T>()` is at most `isize::MAX`;
    /// - for as long as the returned view (or anything borrowed from it) is
    ///   used, that memory stays allocated and is not read or written through
    ///   any other pointer, just as if the view were a `&mut [T]`.
    ///
    /// ```
    /// let mut data = vec![1_u32, 2, 3];
    /// // SAFETY: `data` outlives `v` and is only used through `v` meanwhile.
    /// let v = unsafe { pyo2::PyVec::from_raw_parts(data.as_mut_ptr(), data.len()) };
    /// assert_eq!(v.iter().sum::<u32>(), 6);
    /// ```
    pub const unsafe fn from_raw_parts(ptr: *mut T, len: usize) -> Self {
        PyVec {
            ptr,
            len,
            _elements: PhantomData,
        }
    }

    /// The element pointer and the number of elements of the header at `p`,
    /// read through the raw pointer: no reference to the header or to its
    /// elements is formed. `(null, 0)` when the header's `ptr` is null,
    /// whatever its `len` says (as [`len`](Self::len)).
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - `p` is non-null, aligned and valid for reads of one `PyVec<T>`
    ///   header.
    pub(crate) unsafe fn raw_parts(p: *const PyVec<T>) -> (*const T, usize) {
        // SAFETY:
        // - `p` is non-null, aligned and valid for reads of a header (the
        //   caller's guarantee), so both field reads are in bounds and aligned;
        // - the fields are read by value through place expressions on the raw
        //   pointer (a raw pointer and a `usize`, valid for every bit
        //   pattern), so no reference is created.
        let (ptr, len) = unsafe { ((*p).ptr, (*p).len) };
        if ptr.is_null() {
            (ptr, 0)
        } else {
            (ptr, len)
        }
    }

    /// The number of elements in the view.
    pub fn len(&self) -> usize {
        if self.ptr.is_null() {
            0
        } else {
            self.len
        }
    }

    /// `true` when the view has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements as a shared slice (what `Deref` gives).
    pub fn as_slice(&self) -> &[T] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY:
        // - `ptr` is non-null, and by the type invariant aligned and valid for
        //   reads of `len` initialised `T`s whose total size fits in `isize`;
        // - the returned slice borrows `self`, so it can't outlive the view, and
        //   nothing writes the memory while the shared borrow is alive.
        unsafe { slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The elements as a mutable slice (what `DerefMut` gives).
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        if self.ptr.is_null() {
            return &mut [];
        }
        // SAFETY:
        // - `ptr` is non-null, and by the type invariant aligned and valid for
        //   reads and writes of `len` initialised `T`s whose total size fits in `isize`;
        // - the returned slice borrows `self` mutably, so it is the only access
        //   to that memory for as long as it lives.
        unsafe { slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// A raw pointer to the first element; null or dangling when the view is empty.
    pub fn as_ptr(&self) -> *const T {
        self.ptr
    }

    /// A raw mutable pointer to the first element; null or dangling when the view is empty.
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr
    }

    /// Copies the elements into an owned `Vec`.
    pub fn to_vec(&self) -> Vec<T>
    where
        T: Clone,
    {
        self.as_slice().to_vec()
    }

    /// An iterator over shared references to the elements.
    pub fn iter(&self) -> slice::Iter<'_, T> {
        self.as_slice().iter()
    }

    /// An iterator over mutable references to the elements.
    pub fn iter_mut(&mut self) -> slice::IterMut<'_, T> {
        self.as_mut_slice().iter_mut()
    }
}

impl PyVec<u8> {
    /// The bytes as a `&str`, checked to be valid UTF-8.
    ///
    /// A Python `str` always arrives as valid UTF-8; `bytes` may not.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUtf8`] when the bytes are not UTF-8.
    ///
    /// ```
    /// let mut bytes = *b"caf\xc3\xa9";
    /// // SAFETY: `bytes` is a live local array of 5 bytes.
    /// let s = unsafe { pyo2::PyStr::from_raw_parts(bytes.as_mut_ptr(), 5) };
    /// assert_eq!(s.as_str(), Ok("café"));
    /// ```
    pub fn as_str(&self) -> Result<&str, Error> {
        Ok(core::str::from_utf8(self.as_slice())?)
    }

    /// The bytes as a `&str`, without checking that they are UTF-8.
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - the bytes are valid UTF-8 (always true when Python passed a `str`).
    pub unsafe fn as_str_unchecked(&self) -> &str {
        // SAFETY: the caller guarantees the bytes are valid UTF-8.
        unsafe { core::str::from_utf8_unchecked(self.as_slice()) }
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<T> Deref for PyVec<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> DerefMut for PyVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl<T> AsRef<[T]> for PyVec<T> {
    fn as_ref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> AsMut<[T]> for PyVec<T> {
    fn as_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl<T, I: SliceIndex<[T]>> Index<I> for PyVec<T> {
    type Output = I::Output;

    fn index(&self, index: I) -> &I::Output {
        self.as_slice().index(index)
    }
}

impl<T, I: SliceIndex<[T]>> IndexMut<I> for PyVec<T> {
    fn index_mut(&mut self, index: I) -> &mut I::Output {
        self.as_mut_slice().index_mut(index)
    }
}

impl<'a, T> IntoIterator for &'a PyVec<T> {
    type Item = &'a T;
    type IntoIter = slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut PyVec<T> {
    type Item = &'a mut T;
    type IntoIter = slice::IterMut<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<T: fmt::Debug> fmt::Debug for PyVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: PartialEq<U>, U> PartialEq<PyVec<U>> for PyVec<T> {
    fn eq(&self, other: &PyVec<U>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: PartialEq<U>, U> PartialEq<[U]> for PyVec<T> {
    fn eq(&self, other: &[U]) -> bool {
        self.as_slice() == other
    }
}

impl<T: PartialEq<U>, U, const N: usize> PartialEq<[U; N]> for PyVec<T> {
    fn eq(&self, other: &[U; N]) -> bool {
        self.as_slice() == other
    }
}

impl<T: Eq> Eq for PyVec<T> {}

// SAFETY: a `PyVec<T>` is used exactly like the `&mut [T]` it lends out, so
// sending it to another thread is sound under the same bound as `&mut [T]: Send`.
unsafe impl<T: Send> Send for PyVec<T> {}

// SAFETY: `&PyVec<T>` only lends `&[T]` (mutation needs `&mut PyVec<T>`), so
// sharing it is sound under the same bound as `&[T]: Send`, i.e. `T: Sync`.
unsafe impl<T: Sync> Sync for PyVec<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ptr;

    fn view<T>(data: &mut [T]) -> PyVec<T> {
        // SAFETY: every test keeps `data` alive and untouched while the view is used.
        unsafe { PyVec::from_raw_parts(data.as_mut_ptr(), data.len()) }
    }

    #[test]
    fn null_with_zero_len_is_an_empty_view() {
        // SAFETY: null with length 0 is the documented empty view.
        let mut v = unsafe { PyVec::<i64>::from_raw_parts(ptr::null_mut(), 0) };
        assert!(v.is_empty());
        assert_eq!(v.len(), 0);
        assert_eq!(v.as_slice(), &[] as &[i64]);
        assert_eq!(v.as_mut_slice(), &mut [] as &mut [i64]);
        assert_eq!(v.iter().count(), 0);
        assert_eq!(v.to_vec(), Vec::<i64>::new());
        assert_eq!(format!("{v:?}"), "[]");
    }

    #[test]
    fn null_pointer_never_yields_elements_even_with_a_length() {
        // A misbehaving caller passing {NULL, 5} must not make us read address 0.
        // SAFETY: the view is only queried through the null-checked accessors.
        let v = unsafe { PyVec::<u8>::from_raw_parts(ptr::null_mut(), 5) };
        assert_eq!(v.len(), 0);
        assert!(v.as_slice().is_empty());
    }

    #[test]
    fn reads_and_writes_go_to_the_borrowed_buffer() {
        let mut data = [1_i64, 2, 3, 4, 5];
        {
            let mut v = view(&mut data);
            assert_eq!(v.len(), 5);
            assert_eq!(v.iter().sum::<i64>(), 15);
            v[0] = 6;
            v[1..3].copy_from_slice(&[20, 30]);
            for x in &mut v {
                *x += 1;
            }
            assert_eq!(v.to_vec(), vec![7, 21, 31, 5, 6]);
            assert_eq!(v, [7, 21, 31, 5, 6]);
            assert_eq!(v.as_ptr(), v.as_slice().as_ptr());
        }
        assert_eq!(data, [7, 21, 31, 5, 6]);
    }

    #[test]
    fn slice_methods_come_through_deref() {
        let mut data = [3.5_f64, -1.0, 2.0];
        let mut v = view(&mut data);
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(&v[..], &[-1.0, 2.0, 3.5]);
        assert_eq!(v.first(), Some(&-1.0));
        assert_eq!(
            v.iter().rev().copied().collect::<Vec<_>>(),
            [3.5, 2.0, -1.0]
        );
        assert_eq!(format!("{v:?}"), "[-1.0, 2.0, 3.5]");
    }

    #[test]
    #[should_panic(expected = "index out of bounds")]
    fn indexing_past_the_end_panics_instead_of_reading() {
        let mut data = [1_u8, 2];
        let v = view(&mut data);
        let _ = v[2];
    }

    #[test]
    fn nested_views_of_views() {
        let mut a = [1_i64, 2];
        let mut b = [3_i64];
        {
            let mut inner = [view(&mut a), view(&mut b)];
            let mut outer_elems: Vec<&mut PyVec<i64>> = inner.iter_mut().collect();
            let mut outer = view(&mut outer_elems[..]);
            outer[1][0] = 30;
            outer.swap(0, 1);
            assert_eq!(outer[0].to_vec(), vec![30]);
            assert_eq!(outer.iter().map(|v| v.len()).sum::<usize>(), 3);
        }
        assert_eq!(b, [30]);
    }

    #[test]
    fn as_str_checks_utf8() {
        let mut good = *"héllo".as_bytes().first_chunk::<6>().unwrap();
        let s = view(&mut good);
        assert_eq!(s.as_str(), Ok("héllo"));
        // SAFETY: the bytes were just checked to be UTF-8.
        assert_eq!(unsafe { s.as_str_unchecked() }, "héllo");

        let mut bad = [b'a', 0xff];
        let s = view(&mut bad);
        let err = s.as_str().unwrap_err();
        assert_eq!(err.valid_up_to(), Some(1));
        assert_eq!(s.as_bytes(), &[b'a', 0xff]);
    }

    #[test]
    fn layout_matches_the_c_typedef() {
        assert_eq!(size_of::<PyVec<u8>>(), 2 * size_of::<usize>());
        assert_eq!(size_of::<PyVec<f64>>(), size_of::<PyVec<u8>>());
        assert_eq!(size_of::<PyVec<&mut PyVec<i64>>>(), size_of::<PyVec<u8>>());
        assert_eq!(align_of::<PyVec<u16>>(), align_of::<usize>());
        assert_eq!(offset_of!(PyVec<u16>, ptr), 0);
        assert_eq!(offset_of!(PyVec<u16>, len), size_of::<usize>());
        // A reference to a PyVec is a thin pointer: it is what crosses as a parameter.
        assert_eq!(size_of::<&PyVec<i64>>(), size_of::<usize>());
    }

    #[test]
    fn send_and_sync_follow_the_element_type() {
        fn assert_send<S: Send>() {}
        fn assert_sync<S: Sync>() {}
        assert_send::<PyVec<i64>>();
        assert_sync::<PyVec<i64>>();
        assert_send::<&mut PyVec<&mut PyVec<f64>>>();
    }
}
