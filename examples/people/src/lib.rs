//! A `Person { name, age, tags }` between Python and Rust, twice: the way it
//! was done before records (a JSON string each way, parsed by hand), and as a
//! `#[derive(pyo2::Record)]`. `people.py` beside this crate runs both.

/// A person, with owned fields: an owned record (no `#[repr]`), copied
/// through its mirrors at the call.
#[derive(pyo2::Record, Clone, Debug, PartialEq)]
pub struct Person {
    pub name: String,
    pub age: u8,
    pub tags: Vec<String>,
}

/// A point in the plane: a plain record (`#[repr(C)]`, scalars only), which a
/// numpy structured array passes without a copy.
#[derive(pyo2::Record, Clone, Copy, Debug)]
#[repr(C)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

// --- With records ---------------------------------------------------------

/// The oldest person (the first of equals), or `None` for no one.
#[pyo2::export]
fn oldest(people: &[Person]) -> Option<Person> {
    oldest_of(people).cloned()
}

/// Scales the points to unit length in place; returns the longest length before.
#[pyo2::export]
fn normalize(points: &mut [Point]) -> f64 {
    let mut longest = 0.0_f64;
    for p in points.iter_mut() {
        let len = p.x.hypot(p.y);
        longest = longest.max(len);
        if len > 0.0 {
            p.x /= len;
            p.y /= len;
        }
    }
    longest
}

// --- Without records: JSON strings by hand ---------------------------------

/// The oldest person of a JSON list of `{"name": ..., "age": ..., "tags": [...]}`
/// objects, as a JSON object (`null` for no one; `{"error": ...}` for bad JSON).
#[pyo2::export]
fn oldest_json(people_json: &str) -> String {
    match json::parse_people(people_json) {
        Ok(people) => oldest_of(&people).map_or_else(|| "null".to_owned(), json::person),
        Err(e) => format!("{{\"error\": {}}}", json::string(&e)),
    }
}

fn oldest_of(people: &[Person]) -> Option<&Person> {
    let mut best: Option<&Person> = None;
    for p in people {
        if best.is_none_or(|b| p.age > b.age) {
            best = Some(p);
        }
    }
    best
}

/// The tiny JSON reader and writer the hand-written version needs: just
/// enough for a list of people (no serde).
mod json {
    use super::Person;

    pub fn parse_people(text: &str) -> Result<Vec<Person>, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let mut people = Vec::new();
        p.expect(b'[')?;
        if !p.eat(b']') {
            loop {
                people.push(p.person()?);
                if p.eat(b']') {
                    break;
                }
                p.expect(b',')?;
            }
        }
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing characters at {}", p.i));
        }
        Ok(people)
    }

    pub fn person(p: &Person) -> String {
        let tags: Vec<String> = p.tags.iter().map(|t| string(t)).collect();
        format!(
            "{{\"name\": {}, \"age\": {}, \"tags\": [{}]}}",
            string(&p.name),
            p.age,
            tags.join(", ")
        )
    }

    pub fn string(s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
                self.i += 1;
            }
        }

        fn eat(&mut self, c: u8) -> bool {
            self.ws();
            let found = self.s.get(self.i) == Some(&c);
            if found {
                self.i += 1;
            }
            found
        }

        fn expect(&mut self, c: u8) -> Result<(), String> {
            if self.eat(c) {
                Ok(())
            } else {
                Err(format!("expected '{}' at {}", char::from(c), self.i))
            }
        }

        fn person(&mut self) -> Result<Person, String> {
            let (mut name, mut age, mut tags) = (None, None, None);
            self.expect(b'{')?;
            loop {
                let key = self.string()?;
                self.expect(b':')?;
                match key.as_str() {
                    "name" => name = Some(self.string()?),
                    "age" => age = Some(self.age()?),
                    "tags" => tags = Some(self.strings()?),
                    other => return Err(format!("unknown key {other:?}")),
                }
                if self.eat(b'}') {
                    break;
                }
                self.expect(b',')?;
            }
            Ok(Person {
                name: name.ok_or("missing \"name\"")?,
                age: age.ok_or("missing \"age\"")?,
                tags: tags.unwrap_or_default(),
            })
        }

        fn age(&mut self) -> Result<u8, String> {
            self.ws();
            let start = self.i;
            while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            std::str::from_utf8(&self.s[start..self.i])
                .ok()
                .and_then(|digits| digits.parse().ok())
                .ok_or_else(|| format!("expected an age (0..=255) at {start}"))
        }

        fn strings(&mut self) -> Result<Vec<String>, String> {
            let mut out = Vec::new();
            self.expect(b'[')?;
            if !self.eat(b']') {
                loop {
                    out.push(self.string()?);
                    if self.eat(b']') {
                        break;
                    }
                    self.expect(b',')?;
                }
            }
            Ok(out)
        }

        /// A string with the escapes `\"`, `\\`, `\/`, `\n`, `\t` and `\uXXXX`
        /// (no surrogate pairs: enough for this example).
        fn string(&mut self) -> Result<String, String> {
            self.expect(b'"')?;
            let mut out = Vec::new();
            loop {
                let Some(&c) = self.s.get(self.i) else {
                    return Err("unterminated string".to_owned());
                };
                self.i += 1;
                match c {
                    b'"' => break,
                    b'\\' => {
                        let e = *self.s.get(self.i).ok_or("unterminated string")?;
                        self.i += 1;
                        match e {
                            b'"' | b'\\' | b'/' => out.push(e),
                            b'n' => out.push(b'\n'),
                            b't' => out.push(b'\t'),
                            b'u' => {
                                let hex = self.s.get(self.i..self.i + 4).ok_or("bad \\u escape")?;
                                self.i += 4;
                                let code = std::str::from_utf8(hex)
                                    .ok()
                                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                                    .and_then(char::from_u32)
                                    .ok_or("bad \\u escape")?;
                                out.extend_from_slice(code.encode_utf8(&mut [0; 4]).as_bytes());
                            }
                            _ => return Err(format!("bad escape at {}", self.i - 1)),
                        }
                    }
                    _ => out.push(c),
                }
            }
            String::from_utf8(out).map_err(|e| e.to_string())
        }
    }
}
