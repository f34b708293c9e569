//! What a backend error answer means, by the mapping's `errors:` rules (status, `on`,
//! `contains`, `body`).
//!
//! Pure: the engine passes the answer in and turns the class into its own error.

use crate::mapping::attribute::scalar_text;
use crate::mapping::resource::{ErrorClass, OpName, ResourceMapping};
use crate::mapping::spec::ErrorMeaning;
use serde_json::Value;

impl ResourceMapping {
    /// Whether some error rule names a 2xx status: for products that answer a refused write
    /// with success and say so in the body (RT's `200 ["User x: Name in use"]`), every 2xx
    /// answer is checked against the rules too.
    pub fn has_success_rules(&self) -> bool {
        self.errors.iter().any(|r| (200..300).contains(&r.status))
    }

    /// What a backend error answer to operation `op` means, by the mapping's `errors` rules
    /// (the first rule whose status, `on`, `contains` and `body` match). `contains` looks in
    /// the answer body's JSON text and in the `message` read from it (plain-text bodies are
    /// the message); `body` compares values at JSONPaths of the JSON body.
    pub fn classify_error(
        &self,
        op: OpName,
        status: u16,
        message: &str,
        body: Option<&Value>,
    ) -> Option<ErrorClass> {
        self.classify_error_rule(op, status, message, body)
            .map(|(class, _)| class)
    }

    /// [`ResourceMapping::classify_error`], and whether the matched rule quotes the backend's
    /// message in the SCIM detail (`show_message`).
    pub fn classify_error_rule(
        &self,
        op: OpName,
        status: u16,
        message: &str,
        body: Option<&Value>,
    ) -> Option<(ErrorClass, bool)> {
        let lower = message.to_lowercase();
        let body_text = body.map(|b| b.to_string().to_lowercase());
        self.errors
            .iter()
            .find(|r| {
                r.status == status
                    && (r.on.is_empty() || r.on.contains(&op))
                    && r.contains.as_ref().is_none_or(|c| {
                        let needle = c.to_lowercase();
                        lower.contains(&needle)
                            || body_text.as_ref().is_some_and(|t| t.contains(&needle))
                    })
                    && r.body.iter().all(|(path, want)| {
                        body.and_then(|b| path.first(b))
                            .is_some_and(|got| scalar_text(got) == scalar_text(want))
                    })
            })
            .map(|r| {
                let class = match r.means {
                    ErrorMeaning::Uniqueness => ErrorClass::Uniqueness,
                    ErrorMeaning::InvalidValue => ErrorClass::InvalidValue,
                    ErrorMeaning::NotFound => ErrorClass::NotFound,
                    ErrorMeaning::AlreadyDone => ErrorClass::AlreadyDone,
                };
                (class, r.show_message)
            })
    }
}
