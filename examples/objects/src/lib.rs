//! PyO3's two most copied class programs, `MyClass` (a `#[pyclass]` with
//! fields, `#[new]`, methods and a getter) and `PyClassIter` (a `#[pyclass]`
//! whose `__next__` returns `Option`), ported to pyo2, plus the two kinds of
//! callback: a scoped `&mut dyn FnMut` and a stored `pyo2::Callback`.
//! `objects.py` beside this crate drives it from Python.

use std::sync::Mutex;

/// A number with a name (PyO3's `MyClass`).
#[pyo2::class]
pub struct MyClass {
    num: i32,
    name: String,
}

#[pyo2::methods]
impl MyClass {
    /// `MyClass(num, name)`; the name must not be empty.
    #[new]
    fn new(num: i32, name: &str) -> Result<Self, String> {
        if name.is_empty() {
            return Err("a MyClass needs a name".to_owned());
        }
        Ok(MyClass {
            num,
            name: name.to_owned(),
        })
    }

    /// `num + 10`.
    fn method(&self) -> i32 {
        self.num + 10
    }

    /// Adds `by` to `num` (exclusive access) and logs it; returns the new `num`.
    fn increment(&mut self, by: i32) -> i32 {
        self.num += by;
        log(&format!("{} is now {}", self.name, self.num));
        self.num
    }

    #[getter]
    fn num(&self) -> i32 {
        self.num
    }

    #[getter]
    fn name(&self) -> String {
        self.name.clone()
    }

    /// A static method: the `num` a default `MyClass` would have.
    fn default_num() -> i32 {
        42
    }
}

/// Counts 1 to 5 (PyO3's `PyClassIter`).
#[pyo2::class]
#[derive(Default)]
pub struct PyClassIter {
    count: usize,
}

#[pyo2::methods]
impl PyClassIter {
    #[new]
    fn new() -> Self {
        PyClassIter::default()
    }

    /// PyO3's `__next__`, unchanged: the next count, `None` at the end.
    fn next(&mut self) -> Option<usize> {
        if self.count < 5 {
            self.count += 1;
            Some(self.count)
        } else {
            None
        }
    }

    /// The counts still to come, as a Python iterator.
    fn rest(&self) -> pyo2::Iter<usize> {
        pyo2::Iter::new(self.count + 1..=5)
    }
}

/// 1, 2, …, `n` as a Python iterator: no class needed.
#[pyo2::export]
fn count_to(n: usize) -> pyo2::Iter<usize> {
    pyo2::Iter::new(1..=n)
}

/// Calls `on_hit(index, word)` for each word of `text` longer than `min_len`
/// until it returns false; returns how many it called it for. The callback
/// is valid during this call only.
#[pyo2::export]
fn scan(text: &str, min_len: usize, on_hit: &mut dyn FnMut(usize, &str) -> bool) -> usize {
    let mut hits = 0;
    for (i, word) in text.split_whitespace().enumerate() {
        if word.chars().count() > min_len {
            hits += 1;
            if !on_hit(i, word) {
                break;
            }
        }
    }
    hits
}

type Logger = pyo2::Callback<dyn Fn(&str) + Send + Sync>;

/// The logger Rust keeps between calls (a Python callable).
static LOGGER: Mutex<Option<Logger>> = Mutex::new(None);

fn log(message: &str) {
    // Clone it out of the lock: the callable may call back into this library.
    let logger = LOGGER.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(logger) = logger {
        logger(message);
    }
}

/// Keeps `logger` for later calls (dropping the previous one).
#[pyo2::export]
fn set_logger(logger: pyo2::Callback<dyn Fn(&str) + Send + Sync>) {
    let old = LOGGER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .replace(logger);
    drop(old);
}

/// Drops the stored logger, so Python's callable is released; whether there was one.
#[pyo2::export]
fn clear_logger() -> bool {
    let old = LOGGER.lock().unwrap_or_else(|e| e.into_inner()).take();
    old.is_some()
}

/// Logs `message` from `n` Rust threads at once.
#[pyo2::export]
fn log_from_threads(message: &str, n: usize) {
    std::thread::scope(|s| {
        for t in 0..n {
            s.spawn(move || log(&format!("{message} (thread {t})")));
        }
    });
}
