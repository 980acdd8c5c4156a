//! Rewriting a whole JSON response in one pass from the upstream's bytes to the evaluator's, without building
//! a tree of it: a `serde_json::Value` costs up to 32 bytes per element, so a hostile answer of small elements
//! (`[0,0,0,…]`) would take twenty times its size in memory; transcoding holds only the input and the output.
//!
//! On the way, at the top level only: `model` becomes the evaluator's name for the model, `system_fingerprint`
//! is dropped and `usage` is read; everywhere: every string and every key is scrubbed.

use crate::relay::Usage;
use crate::scrub::Scrubber;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};
use std::cell::Cell;
use std::fmt;

/// Rewrites `bytes`, which must hold one JSON object; `None` when they do not.
pub fn rewrite_object(bytes: &[u8], alias: &str, scrubber: &Scrubber) -> Option<(Vec<u8>, Usage)> {
    let context = Context {
        scrubber,
        alias,
        counts: Default::default(),
    };
    let mut input = serde_json::Deserializer::from_slice(bytes);
    let mut out = Vec::with_capacity(bytes.len());
    let mut output = serde_json::Serializer::new(&mut out);
    Transcode::new(&mut input, Place::Top, &context)
        .serialize(&mut output)
        .ok()?;
    input.end().ok()?;
    let [prompt, input_tokens, completion, output_tokens] = context.counts.map(Cell::into_inner);
    let usage = Usage {
        input_tokens: prompt.or(input_tokens),
        output_tokens: completion.or(output_tokens),
    };
    Some((out, usage))
}

/// Where a value sits, for the few places treated specially.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The document: must be an object.
    Top,
    /// The top-level `usage` object.
    Usage,
    /// A count in `usage`, by its slot in `Context::counts`.
    Count(usize),
    Other,
}

/// The usage counts read, by name; the first of each pair wins, as in `Usage::read`.
const COUNTS: [&str; 4] = [
    "prompt_tokens",
    "input_tokens",
    "completion_tokens",
    "output_tokens",
];

struct Context<'c> {
    scrubber: &'c Scrubber,
    alias: &'c str,
    counts: [Cell<Option<u64>>; 4],
}

/// A value still to be read from `D`, written to whatever serializer it is given.
struct Transcode<'c, D> {
    input: Cell<Option<D>>,
    place: Place,
    context: &'c Context<'c>,
}

impl<'c, D> Transcode<'c, D> {
    fn new(input: D, place: Place, context: &'c Context<'c>) -> Self {
        Transcode {
            input: Cell::new(Some(input)),
            place,
            context,
        }
    }
}

impl<'de, D: Deserializer<'de>> Serialize for Transcode<'_, D> {
    fn serialize<S: Serializer>(&self, output: S) -> Result<S::Ok, S::Error> {
        let input = self
            .input
            .take()
            .ok_or_else(|| ser::Error::custom("a value was written twice"))?;
        input
            .deserialize_any(Copier {
                output,
                place: self.place,
                context: self.context,
            })
            .map_err(ser::Error::custom)
    }
}

/// Writes each value it visits to `output`.
struct Copier<'c, S> {
    output: S,
    place: Place,
    context: &'c Context<'c>,
}

impl<S> Copier<'_, S> {
    /// Only an object may be the document.
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.place == Place::Top {
            Err(E::custom("the response is not a JSON object"))
        } else {
            Ok(())
        }
    }
}

impl<'de, S: Serializer> Visitor<'de> for Copier<'_, S> {
    type Value = S::Ok;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<S::Ok, E> {
        self.scalar()?;
        self.output.serialize_bool(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<S::Ok, E> {
        self.scalar()?;
        self.output.serialize_i64(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<S::Ok, E> {
        self.scalar()?;
        if let Place::Count(slot) = self.place
            && let Some(count) = self.context.counts.get(slot)
        {
            count.set(Some(v));
        }
        self.output.serialize_u64(v).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<S::Ok, E> {
        self.scalar()?;
        self.output.serialize_f64(v).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<S::Ok, E> {
        self.scalar()?;
        self.output
            .serialize_str(&self.context.scrubber.scrub(v))
            .map_err(E::custom)
    }

    fn visit_unit<E: de::Error>(self) -> Result<S::Ok, E> {
        self.scalar()?;
        self.output.serialize_unit().map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<S::Ok, A::Error> {
        self.scalar()?;
        let mut seq = self.output.serialize_seq(None).map_err(de::Error::custom)?;
        while items
            .next_element_seed(Element {
                seq: &mut seq,
                context: self.context,
            })?
            .is_some()
        {}
        seq.end().map_err(de::Error::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<S::Ok, A::Error> {
        let context = self.context;
        let mut map = self.output.serialize_map(None).map_err(de::Error::custom)?;
        while let Some(key) = entries.next_key::<String>()? {
            let place = match (self.place, key.as_str()) {
                (Place::Top, "model") => {
                    entries.next_value::<IgnoredAny>()?;
                    map.serialize_entry("model", context.alias)
                        .map_err(de::Error::custom)?;
                    continue;
                }
                (Place::Top, "system_fingerprint") => {
                    entries.next_value::<IgnoredAny>()?;
                    continue;
                }
                (Place::Top, "usage") => Place::Usage,
                (Place::Usage, name) => COUNTS
                    .iter()
                    .position(|c| *c == name)
                    .map_or(Place::Other, Place::Count),
                _ => Place::Other,
            };
            map.serialize_key(&*context.scrubber.scrub(&key))
                .map_err(de::Error::custom)?;
            entries.next_value_seed(Entry {
                map: &mut map,
                place,
                context,
            })?;
        }
        map.end().map_err(de::Error::custom)
    }
}

/// Reads an array's next element into the output array.
struct Element<'a, 'c, T> {
    seq: &'a mut T,
    context: &'c Context<'c>,
}

impl<'de, T: SerializeSeq> DeserializeSeed<'de> for Element<'_, '_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, input: D) -> Result<(), D::Error> {
        self.seq
            .serialize_element(&Transcode::new(input, Place::Other, self.context))
            .map_err(de::Error::custom)
    }
}

/// Reads an object's next value into the output object.
struct Entry<'a, 'c, T> {
    map: &'a mut T,
    place: Place,
    context: &'c Context<'c>,
}

impl<'de, T: SerializeMap> DeserializeSeed<'de> for Entry<'_, '_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, input: D) -> Result<(), D::Error> {
        self.map
            .serialize_value(&Transcode::new(input, self.place, self.context))
            .map_err(de::Error::custom)
    }
}
