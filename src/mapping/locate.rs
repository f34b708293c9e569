//! Where each key and value of a mapping file is: a tree of source positions read from the YAML,
//! used to point semantic problems (a bad JSONPath inside a string) at their line and column.
//!
//! It knows nothing of the mapping format; it only answers "where is `users.id`?" and "which key
//! path is at line 12, column 5?".

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A YAML node with the position of its value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Located {
    /// 1-based line and column of the value.
    pub(crate) line: u64,
    pub(crate) column: u64,
    /// Child entries: map keys (or `[i]` for sequence items) with the key's position.
    children: Vec<(String, u64, u64, Self)>,
}

/// The raw tree as deserialised (positions are attached by `Spanned`).
#[derive(Debug, Default)]
struct Tree(Vec<(String, u64, u64, Located)>);

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TreeVisitor;
        impl<'de> Visitor<'de> for TreeVisitor {
            type Value = Tree;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any YAML value")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
                    let value: Spanned<Tree> = map.next_value()?;
                    out.push((
                        key.value.0,
                        key.referenced.line(),
                        key.referenced.column(),
                        Located::from_spanned(value),
                    ));
                }
                Ok(Tree(out))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
                let mut out = Vec::new();
                let mut index = 0;
                while let Some(value) = seq.next_element::<Spanned<Tree>>()? {
                    let (line, column) = (value.referenced.line(), value.referenced.column());
                    out.push((
                        format!("[{index}]"),
                        line,
                        column,
                        Located::from_spanned(value),
                    ));
                    index += 1;
                }
                Ok(Tree(out))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Tree, E> {
                Ok(Tree::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Tree, E> {
                Ok(Tree::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Tree, E> {
                Ok(Tree::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Tree, E> {
                Ok(Tree::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Tree, E> {
                Ok(Tree::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
                Ok(Tree::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Tree, E> {
                Ok(Tree::default())
            }
        }
        deserializer.deserialize_any(TreeVisitor)
    }
}

/// A map key rendered as text whatever its YAML type (`true:` in a `map` table).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyText;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_owned()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".to_owned()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

impl Located {
    fn from_spanned(value: Spanned<Tree>) -> Self {
        Self {
            line: value.referenced.line(),
            column: value.referenced.column(),
            children: value.value.0,
        }
    }

    /// Reads the position tree of a YAML document; `None` when it does not parse (the typed
    /// pass reports that error).
    pub(crate) fn parse(yaml: &str, options: serde_saphyr::Options) -> Option<Self> {
        let tree: Spanned<Tree> = serde_saphyr::from_str_with_options(yaml, options).ok()?;
        Some(Self::from_spanned(tree))
    }

    /// The position of the value at `path` (keys, `[i]` for items); the deepest existing
    /// ancestor's position when the path does not exist.
    pub(crate) fn find(&self, path: &[String]) -> (u64, u64) {
        let mut node = self;
        for part in path {
            match node.children.iter().find(|(k, ..)| k == part) {
                Some((.., child)) => node = child,
                None => break,
            }
        }
        (node.line, node.column)
    }

    /// The position of the key at the end of `path` (rather than its value).
    pub(crate) fn find_key(&self, path: &[String]) -> (u64, u64) {
        let Some((last, parent)) = path.split_last() else {
            return (self.line, self.column);
        };
        let mut node = self;
        for part in parent {
            match node.children.iter().find(|(k, ..)| k == part) {
                Some((.., child)) => node = child,
                None => return (node.line, node.column),
            }
        }
        node.children
            .iter()
            .find(|(k, ..)| k == last)
            .map_or((node.line, node.column), |(_, l, c, _)| (*l, *c))
    }

    /// The key path of the last key or item that starts at or before `(line, column)`.
    pub(crate) fn path_at(&self, line: u64, column: u64) -> Vec<String> {
        let mut out = Vec::new();
        let mut node = self;
        loop {
            let next = node
                .children
                .iter()
                .filter(|(_, l, c, _)| (*l, *c) <= (line, column))
                .max_by_key(|(_, l, c, _)| (*l, *c));
            match next {
                Some((k, .., child)) => {
                    out.push(k.clone());
                    node = child;
                }
                None => return out,
            }
        }
    }
}
