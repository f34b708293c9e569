//! Coercing PATCH values to the schema: booleans from strings, bare strings and JSON-encoded
//! objects into complex elements. Part of [`super`]; must not change the resource itself.

use super::*;

impl Ctx<'_> {
    /// The value of a whole attribute, coerced to the schema: booleans from strings, a bare
    /// string or one-element list for a complex single value, `{"value": …}` elements.
    pub(super) fn coerce_attr(
        &mut self,
        step: &Step<'_>,
        attr: &Attribute,
        value: &Value,
    ) -> Result<Option<Value>, Error> {
        if attr.multi_valued {
            let items: Vec<&Value> = match value {
                Value::Null => return Ok(None),
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            let mut out = Vec::new();
            for item in items {
                if let Some(element) = self.coerce_element(step, attr, item)?
                    && !out.contains(&element)
                {
                    out.push(element);
                }
            }
            return Ok((!out.is_empty()).then_some(Value::Array(out)));
        }
        if attr.attr_type == AttrType::Complex {
            return match value {
                Value::Array(items) if items.is_empty() => Ok(None),
                Value::Array(items) if items.len() == 1 => {
                    self.coerce_element(step, attr, &items[0])
                }
                Value::Array(_) => Err(self.invalid(
                    step,
                    format!("{} takes one value, got a list of several", attr.name),
                )),
                other => self.coerce_element(step, attr, other),
            };
        }
        let value = match value {
            Value::Array(items) if items.len() == 1 => &items[0],
            other => other,
        };
        let value = match value {
            Value::Object(object) if object.len() == 1 => get_ci(object, "value").unwrap_or(value),
            other => other,
        };
        coerce_simple(attr.attr_type, value)
            .map_err(|reason| self.invalid(step, format!("{}: {reason}", attr.name)))
    }

    /// One element of a multi-valued attribute (or the value of a complex single-valued one).
    pub(super) fn coerce_element(
        &mut self,
        step: &Step<'_>,
        attr: &Attribute,
        value: &Value,
    ) -> Result<Option<Value>, Error> {
        if attr.attr_type != AttrType::Complex {
            let value = match value {
                Value::Object(object) => get_ci(object, "value").unwrap_or(value),
                other => other,
            };
            return coerce_simple(attr.attr_type, value)
                .map_err(|reason| self.invalid(step, format!("{}: {reason}", attr.name)));
        }
        match value {
            Value::Null => Ok(None),
            Value::String(text) if text.is_empty() => Ok(None),
            Value::String(text) => match json_object(text) {
                Some(object) => self.coerce_object(step, attr, &object, true),
                None if attr.sub_attribute("value").is_some() => {
                    let object = Map::from_iter([("value".to_owned(), value.clone())]);
                    self.coerce_object(step, attr, &object, false)
                }
                None => Err(self.invalid(
                    step,
                    format!(
                        "{} is complex; send an object of its sub-attributes",
                        attr.name
                    ),
                )),
            },
            Value::Object(object) => self.coerce_object(step, attr, object, false),
            other => Err(self.invalid(
                step,
                format!(
                    "{} is complex; send an object of its sub-attributes, got {}",
                    attr.name,
                    short(other)
                ),
            )),
        }
    }

    /// Coerces each key of an element to its sub-attribute; `lenient` for objects Entra encoded
    /// in a JSON string (`{"id":…,"value":…,"displayName":…}`), whose extra keys are dropped.
    pub(super) fn coerce_object(
        &mut self,
        step: &Step<'_>,
        attr: &Attribute,
        object: &Map<String, Value>,
        lenient: bool,
    ) -> Result<Option<Value>, Error> {
        let mut out = Map::new();
        for (key, value) in object {
            // `$ref` is derived by the service provider from `value`; a client's copy (often
            // `null`) is dropped so that the stored manager is always `{"value": …}`.
            if eq_name(key, "$ref") {
                continue;
            }
            let key = if lenient
                && eq_name(key, "displayName")
                && attr.sub_attribute("displayName").is_none()
            {
                "display"
            } else {
                key.as_str()
            };
            let Some(sub) = attr.sub_attribute(key) else {
                if lenient {
                    continue;
                }
                let error = self.unknown_sub(step, attr, key);
                match self.options.unknown_attributes {
                    UnknownPolicy::Reject => return Err(error),
                    UnknownPolicy::Ignore => {
                        self.report.ignored.push(format!("{}.{key}", step.text));
                        continue;
                    }
                }
            };
            if sub.mutability == Mutability::ReadOnly || out.contains_key(&sub.name) {
                continue;
            }
            // Entra encodes `AppRoleAssignmentsComplex` roles as a JSON string in `value`.
            if let (Value::String(text), false) = (value, lenient)
                && eq_name(key, "value")
                && let Some(inner) = json_object(text)
                && let Some(Value::Object(parsed)) = self.coerce_object(step, attr, &inner, true)?
            {
                for (k, v) in parsed {
                    out.entry(k).or_insert(v);
                }
                continue;
            }
            let coerced = coerce_simple(sub.attr_type, value).map_err(|reason| {
                self.invalid(step, format!("{}.{}: {reason}", attr.name, sub.name))
            })?;
            if let Some(coerced) = coerced {
                out.insert(sub.name.clone(), coerced);
            }
        }
        Ok((!out.is_empty()).then_some(Value::Object(out)))
    }
}

/// A JSON object encoded in a string (`"{\"id\":…}"`), if the string is one.
pub(super) fn json_object(text: &str) -> Option<Map<String, Value>> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

/// Coerces a simple value to `attr_type`; `Ok(None)` for `null` and `""` (unassigned, RFC 7643
/// §2.5). Booleans accept any case of the strings `true`/`false`, as Entra sends them.
pub(super) fn coerce_simple(attr_type: AttrType, value: &Value) -> Result<Option<Value>, String> {
    match (attr_type, value) {
        (_, Value::Null) => Ok(None),
        (_, Value::String(text)) if text.is_empty() => Ok(None),
        (AttrType::Boolean, Value::Bool(_)) | (AttrType::Decimal, Value::Number(_)) => {
            Ok(Some(value.clone()))
        }
        (AttrType::Boolean, Value::String(text)) => match text.trim() {
            t if t.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            t if t.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            _ => Err(format!(
                "expected a boolean (true or false), got {}",
                short(value)
            )),
        },
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
            Ok(Some(value.clone()))
        }
        (AttrType::Integer, Value::String(text)) => text
            .trim()
            .parse::<i64>()
            .map(|n| Some(Value::from(n)))
            .map_err(|_| format!("expected an integer, got {}", short(value))),
        (AttrType::Decimal, Value::String(text)) => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(|n| Some(Value::Number(n)))
            .ok_or_else(|| format!("expected a decimal number, got {}", short(value))),
        (
            AttrType::String | AttrType::DateTime | AttrType::Binary | AttrType::Reference,
            Value::String(_),
        ) => Ok(Some(value.clone())),
        // Entra's expressions can yield numbers or booleans for string targets; keep their text.
        (AttrType::String | AttrType::Reference, Value::Number(_) | Value::Bool(_)) => {
            Ok(Some(Value::String(value.to_string())))
        }
        (AttrType::Complex, _) => Err(format!(
            "expected an object of sub-attributes, got {}",
            short(value)
        )),
        (attr_type, _) => Err(format!(
            "expected a {attr_type:?} value, got {}",
            short(value)
        )),
    }
}
