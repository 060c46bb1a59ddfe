//! Records and richer owned values (issue 12), end to end inside Rust: the
//! symbols `#[pyo2::export]` generates are called through an `extern "C"`
//! block with the C mirrors `pyo2::abi` documents, built by hand as Python
//! builds them, so Miri checks the wrapper's reads, the copies and that
//! every returned buffer is freed exactly once by its one `drop`.

use core::ffi::{c_char, CStr};
use core::ptr;
use pyo2::abi::{status, OwnedBuf, Slot, Tuple2, Tuple3};
use pyo2::{PyStr, PyVec};

#[path = "common/people.rs"]
mod people;
use people::{buf_text, person_in, PersonIn, PersonOut};

/// A point in the plane.
#[derive(pyo2::Record, Clone, Debug, PartialEq)]
#[repr(C)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(pyo2::Record, Clone, Debug, PartialEq)]
#[repr(C)]
pub struct Segment {
    pub a: Point,
    pub b: Point,
    pub closed: bool,
    pub marks: [u16; 3],
}

/// Someone.
#[derive(pyo2::Record, Clone, Debug, PartialEq)]
pub struct Person {
    pub name: String,
    pub age: u8,
    pub tags: Vec<String>,
}

#[derive(pyo2::Record, Debug, PartialEq)]
pub struct Team {
    pub lead: Option<Person>,
    pub spot: Option<Point>,
}

/// The C mirror of `Team`, as Python lays it out (see `pyo2::abi`);
/// `Person`'s are in `common/people.rs`.
#[repr(C)]
struct TeamIn {
    lead: *const PersonIn,
    spot: *const Point,
}

#[pyo2::export]
fn normalize(points: &mut [Point]) -> f64 {
    let mut longest = 0.0_f64;
    for p in points.iter_mut() {
        let len = (p.x * p.x + p.y * p.y).sqrt();
        longest = longest.max(len);
        p.x /= len;
        p.y /= len;
    }
    longest
}

#[pyo2::export]
fn midpoint(a: &Point, b: Point) -> Point {
    Point {
        x: (a.x + b.x) / 2.0,
        y: (a.y + b.y) / 2.0,
    }
}

#[pyo2::export]
fn oldest(people: &[Person]) -> Option<Person> {
    people.iter().max_by_key(|p| p.age).cloned()
}

#[pyo2::export]
fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

#[pyo2::export]
fn stats(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (mean, v.iter().map(|x| (x - mean).abs()).fold(0.0, f64::max))
}

#[pyo2::export]
fn triangle(n: u32) -> Vec<Vec<i64>> {
    (0..n).map(|i| (0..i64::from(i)).collect()).collect()
}

#[pyo2::export]
fn owned_params(s: String, v: Vec<u32>, x: Option<i64>, name: Option<String>) -> (usize, String) {
    (s.len() + v.len(), format!("{s}{v:?}{x:?}{name:?}"))
}

#[pyo2::export]
fn lists(words: &[&str], rows: &[&[f64]], text: Option<&str>) -> (usize, f64, bool) {
    (
        words.iter().map(|w| w.len()).sum(),
        rows.iter().flat_map(|r| r.iter()).sum(),
        text.is_some(),
    )
}

#[pyo2::export]
fn shift(s: &mut Segment, by: f64) -> Segment {
    s.a.x += by;
    s.marks[0] += 1;
    s.clone()
}

#[pyo2::export]
fn team_size(t: Team) -> Vec<Person> {
    t.lead.into_iter().collect()
}

#[pyo2::export]
fn checked(name: String) -> Result<Person, String> {
    if name.is_empty() {
        return Err("no name".to_owned());
    }
    Ok(Person {
        name,
        age: 1,
        tags: vec!["x".to_owned()],
    })
}

extern "C" {
    #[link_name = "normalize"]
    fn c_normalize(points: *mut PyVec<Point>, slot: *mut Slot) -> i32;
    #[link_name = "midpoint"]
    fn c_midpoint(a: *const Point, b: *const Point, slot: *mut Slot) -> i32;
    #[link_name = "oldest"]
    fn c_oldest(people: *const PyVec<PersonIn>, slot: *mut Slot) -> i32;
    #[link_name = "words"]
    fn c_words(text: *const PyStr, slot: *mut Slot) -> i32;
    #[link_name = "stats"]
    fn c_stats(v: *const PyVec<f64>, slot: *mut Slot) -> i32;
    #[link_name = "triangle"]
    fn c_triangle(n: u32, slot: *mut Slot) -> i32;
    #[link_name = "owned_params"]
    fn c_owned_params(
        s: *const PyStr,
        v: *const PyVec<u32>,
        x: *const i64,
        name: *const PyStr,
        slot: *mut Slot,
    ) -> i32;
    #[link_name = "lists"]
    fn c_lists(
        words: *const PyVec<*const PyStr>,
        rows: *const PyVec<*const PyVec<f64>>,
        text: *const PyStr,
        slot: *mut Slot,
    ) -> i32;
    #[link_name = "shift"]
    fn c_shift(s: *mut Segment, by: f64, slot: *mut Slot) -> i32;
    #[link_name = "team_size"]
    fn c_team_size(t: *const TeamIn, slot: *mut Slot) -> i32;
    #[link_name = "checked"]
    fn c_checked(name: *const PyStr, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_record__Point"]
    fn c_point_record() -> *const c_char;
    #[link_name = "__pyo2_record__Person"]
    fn c_person_record() -> *const c_char;
    #[link_name = "__pyo2_record__Segment"]
    fn c_segment_record() -> *const c_char;
    #[link_name = "__pyo2_record__Team"]
    fn c_team_record() -> *const c_char;
    #[link_name = "__pyo2_sig__oldest"]
    fn c_oldest_sig() -> *const c_char;
    #[link_name = "__pyo2_sig__owned_params"]
    fn c_owned_params_sig() -> *const c_char;
    #[link_name = "__pyo2_sig__lists"]
    fn c_lists_sig() -> *const c_char;
}

fn text(p: *const c_char) -> &'static str {
    // SAFETY: descriptors are NUL-terminated and live as long as the program.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

fn view<T>(data: &mut [T]) -> PyVec<T> {
    // SAFETY: every caller keeps `data` alive and untouched while the view is used.
    unsafe { PyVec::from_raw_parts(data.as_mut_ptr(), data.len()) }
}

/// The texts of an `OwnedBuf` of `String` mirrors.
fn buf_texts(buf: &OwnedBuf) -> Vec<String> {
    // SAFETY: made from a Vec<String>: a buffer of OwnedBufs.
    unsafe { buf.as_slice::<OwnedBuf>() }
        .iter()
        .map(buf_text)
        .collect()
}

fn message(slot: &mut Slot) -> String {
    // SAFETY: on every status but OK and NONE the slot holds a message.
    buf_text(&unsafe { slot.take::<OwnedBuf>() })
}

#[test]
fn record_descriptors_say_the_layout() {
    // SAFETY: descriptor functions take nothing and return static text.
    let (p, person, seg, team) = unsafe {
        (
            c_point_record(),
            c_person_record(),
            c_segment_record(),
            c_team_record(),
        )
    };
    let w = core::mem::size_of::<usize>();
    let point = text(p);
    assert!(
        point.starts_with("pyo2-record 1\nstruct Point plain size=16 align=8 hash="),
        "{point}"
    );
    assert!(
        point.ends_with("\nx: f64 @0\ny: f64 @8\n\nA point in the plane."),
        "{point}"
    );
    let person = text(person);
    let expected_head = format!(
        "pyo2-record 1\nstruct Person owned size={} align={w} in_size={} in_align={w} hash=",
        9 * w,
        5 * w
    );
    assert!(person.starts_with(&expected_head), "{person}");
    assert!(
        person.ends_with(&format!(
            "\nname: String @0 in@0\nage: u8 @{} in@{}\ntags: Vec<String> @{} in@{}\n\nSomeone.",
            4 * w,
            2 * w,
            5 * w,
            3 * w
        )),
        "{person}"
    );
    let seg = text(seg);
    assert!(
        seg.ends_with("\na: Point @0\nb: Point @16\nclosed: bool @32\nmarks: [u16; 3] @34"),
        "{seg}"
    );
    let team = text(team);
    assert!(
        team.ends_with(&format!(
            "\nlead: Option<Person> @0 in@0\nspot: Option<Point> @{} in@{w}",
            4 * w
        )),
        "{team}"
    );
    // SAFETY: as above.
    let sigs = unsafe { (c_oldest_sig(), c_owned_params_sig(), c_lists_sig()) };
    assert_eq!(
        text(sigs.0),
        "pyo2 1\nfn oldest(people: &[Person]) -> Option<Person>"
    );
    assert_eq!(
        text(sigs.1),
        "pyo2 1\nfn owned_params(s: String, v: Vec<u32>, x: Option<i64>, name: Option<String>) -> (usize, String)"
    );
    assert_eq!(
        text(sigs.2),
        "pyo2 1\nfn lists(words: &[&str], rows: &[&[f64]], text: Option<&str>) -> (usize, f64, bool)"
    );
}

#[test]
fn the_hash_depends_on_the_layout_only() {
    use pyo2::abi::{record_text, FieldLayout, RecordLayout};
    let fields = [FieldLayout {
        name: "x",
        describe: |out| out.push_str("f64"),
        offset: 0,
        in_offset: 0,
    }];
    let layout = RecordLayout {
        name: "P",
        plain: true,
        size: 8,
        align: 8,
        in_size: 8,
        in_align: 8,
        fields: &fields,
        doc: "",
    };
    let hash = |l: &RecordLayout<'_>| {
        let t = record_text(l);
        t.split("hash=").nth(1).unwrap()[..16].to_owned()
    };
    let base = hash(&layout);
    assert_eq!(
        base,
        hash(&RecordLayout {
            doc: "Docs don't count.",
            ..layout
        })
    );
    assert_ne!(
        base,
        hash(&RecordLayout {
            name: "Q",
            ..layout
        })
    );
    assert_ne!(base, hash(&RecordLayout { size: 16, ..layout }));
    let moved = [FieldLayout {
        offset: 8,
        ..fields[0]
    }];
    assert_ne!(
        base,
        hash(&RecordLayout {
            fields: &moved,
            ..layout
        })
    );
}

#[test]
fn plain_records_are_lent_and_copied_by_pointer() {
    let mut pts = [Point { x: 3.0, y: 4.0 }, Point { x: 0.0, y: 2.0 }];
    let mut v = view(&mut pts);
    let mut slot = Slot::new();
    // SAFETY: a valid exclusive header, a valid slot.
    assert_eq!(unsafe { c_normalize(&mut v, &mut slot) }, status::OK);
    // SAFETY: OK from a function returning f64.
    assert_eq!(unsafe { slot.take::<f64>() }, 5.0);
    assert_eq!(pts[0], Point { x: 0.6, y: 0.8 });
    let (a, b) = (Point { x: 0.0, y: 0.0 }, Point { x: 2.0, y: 6.0 });
    // SAFETY: valid records, a valid slot.
    assert_eq!(unsafe { c_midpoint(&a, &b, &mut slot) }, status::OK);
    // SAFETY: OK from a function returning a record: an OwnedBuf of one.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    assert_eq!(buf.len(), 1);
    // SAFETY: a buffer of Points.
    let got = unsafe { buf.as_slice::<Point>() };
    assert_eq!(got, &[Point { x: 1.0, y: 3.0 }]);
    drop(buf);
    // SAFETY: null is refused before any use.
    let got = unsafe { c_midpoint(&a, ptr::null(), &mut slot) };
    assert_eq!(got, status::BAD_ARG);
    assert_eq!(message(&mut slot), "parameter `b`: null pointer");
    let mut seg = Segment {
        a: a.clone(),
        b: b.clone(),
        closed: true,
        marks: [1, 2, 3],
    };
    // SAFETY: a valid exclusive record, a valid slot.
    assert_eq!(unsafe { c_shift(&mut seg, 1.5, &mut slot) }, status::OK);
    assert_eq!((seg.a.x, seg.marks), (1.5, [2, 2, 3]));
    // SAFETY: OK from a function returning a record.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a buffer of Segments.
    assert_eq!(unsafe { buf.as_slice::<Segment>() }, &[seg.clone()]);
}

#[test]
fn owned_returns_nest_and_free_once() {
    let mut slot = Slot::new();
    let mut t = *b" the  quick fox ";
    let v = view(&mut t);
    // SAFETY: a valid header, a valid slot.
    assert_eq!(unsafe { c_words(&v, &mut slot) }, status::OK);
    // SAFETY: OK from a function returning Vec<String>.
    let mut buf = unsafe { slot.take::<OwnedBuf>() };
    assert_eq!(buf_texts(&buf), ["the", "quick", "fox"]);
    // Python calls the outer drop once; a second call does nothing.
    type DropFn = Option<unsafe extern "C" fn(*mut OwnedBuf)>;
    // SAFETY: `drop`, a nullable function pointer, is the 4th word of an
    // OwnedBuf (its C layout); `buf` is a valid OwnedBuf.
    let drop = unsafe {
        (&buf as *const OwnedBuf)
            .cast::<usize>()
            .add(3)
            .cast::<DropFn>()
            .read()
    }
    .unwrap();
    // SAFETY: the buffer is valid and exclusive.
    unsafe { drop(&mut buf) };
    assert!(!buf.owns_memory());
    // SAFETY: as above; it now owns nothing.
    unsafe { drop(&mut buf) };

    // SAFETY: a valid slot.
    assert_eq!(unsafe { c_triangle(4, &mut slot) }, status::OK);
    // SAFETY: OK from a function returning Vec<Vec<i64>>.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a buffer of buffers of i64.
    let rows: Vec<Vec<i64>> = unsafe { buf.as_slice::<OwnedBuf>() }
        .iter()
        // SAFETY: each inner buffer holds i64s.
        .map(|b| unsafe { b.as_slice::<i64>() }.to_vec())
        .collect();
    assert_eq!(rows, [vec![], vec![0], vec![0, 1], vec![0, 1, 2]]);

    let mut data = [1.0, 3.0];
    let v = view(&mut data);
    // SAFETY: a valid header, a valid slot.
    assert_eq!(unsafe { c_stats(&v, &mut slot) }, status::OK);
    // SAFETY: OK from a function returning a tuple: an OwnedBuf of one.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a buffer of the tuple's mirror.
    let got = unsafe { buf.as_slice::<Tuple2<f64, f64>>() };
    assert_eq!(got, &[Tuple2(2.0, 1.0)]);
}

#[test]
fn owned_params_are_copied_and_checked() {
    let mut slot = Slot::new();
    let (mut s, mut n) = (*b"ab", *b"zed");
    let (s, n) = (view(&mut s), view(&mut n));
    let mut nums = [7_u32, 8, 9];
    let nums = view(&mut nums);
    let x = 42_i64;
    // SAFETY: valid headers and pointers, a valid slot.
    let got = unsafe { c_owned_params(&s, &nums, &x, &n, &mut slot) };
    assert_eq!(got, status::OK);
    // SAFETY: OK from a function returning (usize, String).
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a buffer of the tuple's mirror.
    let t = &unsafe { buf.as_slice::<Tuple2<usize, OwnedBuf>>() }[0];
    assert_eq!(
        (t.0, buf_text(&t.1)),
        (5, "ab[7, 8, 9]Some(42)Some(\"zed\")".to_owned())
    );
    drop(buf);
    // SAFETY: as above, with nulls for the two options.
    let code = unsafe { c_owned_params(&s, &nums, ptr::null(), ptr::null(), &mut slot) };
    assert_eq!(code, status::OK);
    // SAFETY: as above.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: as above.
    let t = &unsafe { buf.as_slice::<Tuple2<usize, OwnedBuf>>() }[0];
    assert_eq!(buf_text(&t.1), "ab[7, 8, 9]NoneNone");
    drop(buf);
    let mut bad = *b"\xff";
    let bad = view(&mut bad);
    // SAFETY: as above.
    let code = unsafe { c_owned_params(&bad, &nums, ptr::null(), ptr::null(), &mut slot) };
    assert_eq!(code, status::BAD_ARG);
    assert!(message(&mut slot).starts_with("parameter `s`: PyStr is not valid UTF-8"));

    let (mut w1, mut w2) = (*b"abc", *b"de");
    let (w1, w2) = (view(&mut w1), view(&mut w2));
    let mut words = [&w1 as *const PyStr, &w2];
    let words = view(&mut words);
    let (mut r1, mut r2) = ([1.0, 2.0], [3.5]);
    let (r1, r2) = (view(&mut r1), view(&mut r2));
    let mut rows = [&r1 as *const PyVec<f64>, &r2];
    let rows = view(&mut rows);
    // SAFETY: valid headers all the way down, a valid slot.
    let got = unsafe { c_lists(&words, &rows, ptr::null(), &mut slot) };
    assert_eq!(got, status::OK);
    // SAFETY: OK from a function returning (usize, f64, bool).
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a buffer of the tuple's mirror.
    let got = unsafe { buf.as_slice::<Tuple3<usize, f64, bool>>() };
    assert_eq!(got, &[Tuple3(5, 6.5, false)]);
    let mut bad_word = *b"o\xc3";
    let bad_word = view(&mut bad_word);
    let mut words = [&w1 as *const PyStr, &bad_word];
    let words = view(&mut words);
    // SAFETY: as above.
    let code = unsafe { c_lists(&words, &rows, &w1, &mut slot) };
    assert_eq!(code, status::BAD_ARG);
    let m = message(&mut slot);
    assert!(
        m.starts_with("parameter `words`: item [1]: PyStr is not valid UTF-8"),
        "{m}"
    );
}

#[test]
fn owned_records_cross_as_mirrors() {
    let mut slot = Slot::new();
    let (mut n1, mut n2, mut t1, mut t2) = (*b"ada", *b"bob", *b"x", *b"yz");
    let mut tags2 = [view(&mut t1), view(&mut t2)];
    let mut people = [
        person_in(&mut n1, 36, &mut []),
        person_in(&mut n2, 41, &mut tags2),
    ];
    let v = view(&mut people);
    // SAFETY: valid mirrors all the way down, a valid slot.
    assert_eq!(unsafe { c_oldest(&v, &mut slot) }, status::OK);
    // SAFETY: OK from a function returning Option<Person>: one Out mirror.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a buffer of Person's Out mirror.
    let p = &unsafe { buf.as_slice::<PersonOut>() }[0];
    assert_eq!(
        (buf_text(&p.name), p.age, buf_texts(&p.tags)),
        ("bob".to_owned(), 41, vec!["x".to_owned(), "yz".to_owned()])
    );
    drop(buf);
    // SAFETY: a null-pointer empty view, a valid slot.
    let empty = unsafe { PyVec::<PersonIn>::from_raw_parts(ptr::null_mut(), 0) };
    // SAFETY: as above.
    assert_eq!(unsafe { c_oldest(&empty, &mut slot) }, status::NONE);

    let mut bad = *b"\xffq";
    let mut tags_bad = [view(&mut bad)];
    let mut n3 = *b"cy";
    let mut people = [person_in(&mut n3, 1, &mut tags_bad)];
    let v = view(&mut people);
    // SAFETY: as above.
    assert_eq!(unsafe { c_oldest(&v, &mut slot) }, status::BAD_ARG);
    let m = message(&mut slot);
    assert!(
        m.starts_with(
            "parameter `people`: item [0]: field `tags`: item [0]: PyStr is not valid UTF-8"
        ),
        "{m}"
    );

    let mut n4 = *b"dee";
    let lead = person_in(&mut n4, 9, &mut []);
    let spot = Point { x: 1.0, y: 1.0 };
    let team = TeamIn {
        lead: &lead,
        spot: &spot,
    };
    // SAFETY: a valid mirror, a valid slot.
    assert_eq!(unsafe { c_team_size(&team, &mut slot) }, status::OK);
    // SAFETY: OK from a function returning Vec<Person>.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a buffer of Person's Out mirror.
    let ps = unsafe { buf.as_slice::<PersonOut>() };
    assert_eq!((ps.len(), buf_text(&ps[0].name)), (1, "dee".to_owned()));
    drop(buf);
    let team = TeamIn {
        lead: ptr::null(),
        spot: ptr::null(),
    };
    // SAFETY: as above.
    assert_eq!(unsafe { c_team_size(&team, &mut slot) }, status::OK);
    // SAFETY: as above.
    assert_eq!(unsafe { slot.take::<OwnedBuf>() }.len(), 0);

    let mut empty_name = *b"";
    let n = view(&mut empty_name);
    // SAFETY: a valid header, a valid slot.
    assert_eq!(unsafe { c_checked(&n, &mut slot) }, status::ERR);
    assert_eq!(message(&mut slot), "no name");
}
