//! A compiled `product_keys:` section: the `auth.introspect` request that checks a product's
//! own API key, what its answer must hold, and the header that carries the key to the backend.
//! Pure: renders and reads, never sends.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::Error;
use super::jsonpath::JsonPath;
use super::template::{RenderedRequest, RequestTemplate, Template, Vars};

/// The placeholder that stands for the key in `product_keys.value`.
pub(crate) const KEY: &str = "key";

/// How a product-issued key is checked and passed on.
#[derive(Debug, Clone)]
pub struct ProductKeys {
    pub(crate) header: String,
    pub(crate) value: Template,
    pub(crate) introspect: RequestTemplate,
    pub(crate) expect: Vec<(String, JsonPath, Template)>,
    pub(crate) cache: Duration,
}

impl ProductKeys {
    /// The header (name, value) that carries `key` to the backend.
    pub fn credential(&self, key: &str, variables: &BTreeMap<String, String>) -> (String, String) {
        let vars = Vars::new().with_connection(variables).with(KEY, key);
        (self.header.clone(), self.value.render_raw(&vars))
    }

    /// The `auth.introspect` request for a connection with `variables` (the key goes in the
    /// header [`ProductKeys::credential`] gives).
    pub fn introspect(
        &self,
        variables: &BTreeMap<String, String>,
    ) -> Result<RenderedRequest, Error> {
        self.introspect
            .render(&Vars::new().with_connection(variables))
    }

    /// Whether an introspect answer accepts the key for the connection with `variables`: every
    /// `expect` field holds its value (compared as text).
    pub fn accepts(&self, answer: Option<&Value>, variables: &BTreeMap<String, String>) -> bool {
        let vars = Vars::new().with_connection(variables);
        self.expect.iter().all(|(_, path, want)| {
            let want = want.render_raw(&vars);
            answer
                .and_then(|answer| path.first(answer))
                .and_then(scalar_text)
                .is_some_and(|got| got == want)
        })
    }

    /// How long an introspect outcome is reused.
    pub fn cache(&self) -> Duration {
        self.cache
    }
}

/// A string, number or boolean as text (`42`, `true`); nothing for other values.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use std::collections::BTreeMap;

    fn load(section: &str) -> Result<crate::mapping::Mapping, String> {
        let text = format!(
            "version: 1\nbackend: {{ base_url: \"http://127.0.0.1:9/\" }}\n\
             connection_variables: {{ workspace_id: {{}} }}\n{section}\
             users:\n  id: \"$.id\"\n  operations:\n    create: {{ method: POST, path: /u }}\n    \
             get: {{ method: GET, path: \"/u/{{id}}\" }}\n    list: {{ method: GET, path: /u, items: \"$[*]\" }}\n    \
             replace: {{ method: PUT, path: \"/u/{{id}}\" }}\n    delete: {{ method: DELETE, path: \"/u/{{id}}\" }}\n  \
             attributes:\n    userName: \"$.login\"\n"
        );
        crate::mapping::load("k.yaml", &text, &|_: &str| None).map_err(|p| p.render())
    }

    #[test]
    fn a_product_keys_section_renders_its_check_and_reads_its_answer() {
        let mapping = load(
            "product_keys:\n  header: Authorization\n  value: \"Bearer {key}\"\n  \
             introspect: { method: GET, path: \"/api/{conn.workspace_id}/whoami\" }\n  \
             expect: { \"$.workspace.id\": \"{conn.workspace_id}\" }\n",
        )
        .unwrap();
        let keys = mapping.product_keys().unwrap();
        let vars = BTreeMap::from([("workspace_id".to_owned(), "4 2".to_owned())]);
        assert_eq!(
            keys.credential("k-1", &vars),
            ("Authorization".to_owned(), "Bearer k-1".to_owned())
        );
        let request = keys.introspect(&vars).unwrap();
        assert_eq!(request.path_and_query, "/api/4%202/whoami");
        assert!(keys.accepts(Some(&json!({"workspace": {"id": "4 2"}})), &vars));
        assert!(!keys.accepts(Some(&json!({"workspace": {"id": "7"}})), &vars));
        assert!(!keys.accepts(Some(&json!({})), &vars));
        assert!(!keys.accepts(None, &vars));
        let numeric = BTreeMap::from([("workspace_id".to_owned(), "42".to_owned())]);
        assert!(keys.accepts(Some(&json!({"workspace": {"id": 42}})), &numeric));
        assert_eq!(keys.cache(), std::time::Duration::from_secs(30));
    }

    #[test]
    fn check_refuses_a_product_keys_section_that_cannot_work() {
        let cases = [
            ("  header: \"X Key\"\n", "not a valid HTTP header name"),
            (
                "  header: X-Key\n  value: \"Bearer\"\n",
                "does not use `{key}`",
            ),
            (
                "  header: X-Key\n  value: \"{nope} {key}\"\n",
                "unknown placeholder `{nope}`",
            ),
            (
                "  header: X-Key\n  expect: { \"$.ws\": \"{conn.other}\" }\n",
                "`{conn.other}` is not declared",
            ),
            (
                "  header: X-Key\n  cache_seconds: 86400\n",
                "more than 3600",
            ),
            (
                "  header: X-Key\n  expect: { \"$.ws[\": \"x\" }\n",
                "invalid JSONPath",
            ),
        ];
        for (lines, problem) in cases {
            let section =
                format!("product_keys:\n{lines}  introspect: {{ method: GET, path: /whoami }}\n");
            let problems = load(&section).unwrap_err();
            assert!(problems.contains(problem), "{problem}: {problems}");
        }
    }
}
