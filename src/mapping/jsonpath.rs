//! [`JsonPath`]: a compiled mapping JSONPath, evaluated without the general engine when it is
//! a plain chain of steps.
//!
//! Almost every JSONPath in a mapping is `$.email`, `$.name.last`, `$.items[*]` or `$.users[0]`.
//! `jsonpath_rust::query::js_path_process` answers those too, but builds a normalised path
//! string for every node it visits (a `format!` per step), which was ~10 % of the CPU of a
//! `GET /Users/{id}` (measured with callgrind, see `docs/benchmarks.md`). A path made only of
//! name, index and wildcard steps is therefore walked directly here; anything else (filters,
//! slices, descendants, unions) goes to `js_path_process`. Both give the same nodes in the same
//! order (`tests` compares them). Pure: no I/O.

use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

/// One step of a plain path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// `.name` / `['name']`: the member of an object.
    Name(String),
    /// `[i]`: the element of an array; negative counts from the end.
    Index(i64),
    /// `[*]` / `.*`: every element of an array or member value of an object, in order.
    All,
}

/// A JSONPath compiled once at mapping load.
#[derive(Debug, Clone)]
pub(crate) struct JsonPath {
    query: JpQuery,
    /// The steps, when the path is plain (see the module doc).
    plain: Option<Vec<Step>>,
}

impl JsonPath {
    /// Wraps a parsed query, recognising a plain path.
    pub(crate) fn new(query: JpQuery) -> Self {
        let plain = query
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Selector(Selector::Name(name)) => Some(Step::Name(name.clone())),
                Segment::Selector(Selector::Index(index)) => Some(Step::Index(*index)),
                Segment::Selector(Selector::Wildcard) => Some(Step::All),
                _ => None,
            })
            .collect();
        Self { query, plain }
    }

    /// Every node the path selects in `root`, in document order (nulls included).
    pub(crate) fn select<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let Some(steps) = &self.plain else {
            return js_path_process(&self.query, root)
                .map(|found| found.into_iter().map(|r| r.val).collect())
                .unwrap_or_default();
        };
        // The common case, one node per step: no vectors until the end.
        if !steps.contains(&Step::All) {
            return walk_one(steps, root).into_iter().collect();
        }
        let mut nodes = vec![root];
        for step in steps {
            let mut next = Vec::with_capacity(nodes.len());
            for node in nodes {
                match step {
                    Step::All => match node {
                        Value::Array(items) => next.extend(items.iter()),
                        Value::Object(members) => next.extend(members.values()),
                        _ => {}
                    },
                    _ => next.extend(one_step(step, node)),
                }
            }
            nodes = next;
        }
        nodes
    }

    /// The first non-null node the path selects.
    pub(crate) fn first<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        if let Some(steps) = &self.plain
            && !steps.contains(&Step::All)
        {
            return walk_one(steps, root).filter(|v| !v.is_null());
        }
        self.select(root).into_iter().find(|v| !v.is_null())
    }
}

/// Follows name and index steps from `root`.
fn walk_one<'a>(steps: &[Step], root: &'a Value) -> Option<&'a Value> {
    steps
        .iter()
        .try_fold(root, |node, step| one_step(step, node))
}

/// One name or index step.
fn one_step<'a>(step: &Step, node: &'a Value) -> Option<&'a Value> {
    match (step, node) {
        (Step::Name(name), Value::Object(members)) => members.get(name),
        (Step::Index(index), Value::Array(items)) => {
            let at = if *index < 0 {
                usize::try_from(index.unsigned_abs())
                    .ok()
                    .and_then(|back| items.len().checked_sub(back))
            } else {
                usize::try_from(*index).ok()
            };
            at.and_then(|at| items.get(at))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use jsonpath_rust::parser::parse_json_path;
    use serde_json::json;

    use super::*;

    fn both(path: &str, doc: &Value) -> (Vec<Value>, Vec<Value>) {
        let query = parse_json_path(path).unwrap();
        let general: Vec<Value> = js_path_process(&query, doc)
            .unwrap()
            .into_iter()
            .map(|r| r.val.clone())
            .collect();
        let compiled = JsonPath::new(query);
        let fast = compiled.select(doc).into_iter().cloned().collect();
        (general, fast)
    }

    #[test]
    fn plain_paths_select_what_the_general_engine_selects() {
        let doc = json!({
            "id": 7, "email": "a@example.com", "none": null,
            "name": {"first": "Ann", "last": "Lee"},
            "items": [{"id": 1, "tags": ["x", "y"]}, {"id": 2, "tags": []}, {"id": null}],
            "meta": {"b": 1, "a": 2},
            "user": {"profile": {"emails": ["p@x", "q@x"]}}
        });
        let paths = [
            "$",
            "$.id",
            "$.email",
            "$.none",
            "$.missing",
            "$.name.last",
            "$.name.last.deeper",
            "$['name']['first']",
            "$.items[*]",
            "$.items[*].id",
            "$.items[*].tags[*]",
            "$.items[0].tags[1]",
            "$.items[-1].id",
            "$.items[-4]",
            "$.items[9]",
            "$.meta.*",
            "$.*",
            "$.user.profile.emails[0]",
            "$.email[0]",
            "$.items.id",
            // Not plain: answered by the general engine either way.
            "$..id",
            "$.items[?@.id == 2].id",
            "$.items[0:2].id",
            "$.items[0,1].id",
        ];
        for path in paths {
            let (general, fast) = both(path, &doc);
            assert_eq!(general, fast, "path {path}");
        }
    }

    #[test]
    fn first_skips_nulls_and_plainness_is_recognised() {
        let path = JsonPath::new(parse_json_path("$.items[*].id").unwrap());
        let doc = json!({"items": [{"id": null}, {"id": 3}]});
        assert_eq!(path.first(&doc), Some(&json!(3)));
        let path = JsonPath::new(parse_json_path("$.user.id").unwrap());
        assert!(path.plain.is_some());
        assert_eq!(path.first(&json!({"user": {"id": null}})), None);
        assert_eq!(path.first(&json!({"user": {"id": "u"}})), Some(&json!("u")));
        let filter = JsonPath::new(parse_json_path("$.items[?@.id == 3]").unwrap());
        assert!(filter.plain.is_none());
        assert_eq!(filter.first(&doc), Some(&json!({"id": 3})));
    }
}
