//! A backend object as the SCIM resource the client sees: the mapping's translation plus `id`,
//! `schemas` and `meta` (`resourceType`, `created`, `lastModified`, `location`).
//!
//! The SCIM id comes from the id policy: the backend id itself (`ids: backend`) or the id the
//! gateway minted and keeps in its store (`ids: gateway`). Timestamps come from the store record
//! (written when the gateway created or changed the resource); a resource the gateway never
//! wrote has no timestamps in `meta`.

use serde_json::{Map, Value, json};

use super::Error;
use super::ids::Record;
use super::op::Op;

impl Op<'_> {
    /// The backend id of a backend object, or a [`Error::BadAnswer`] for `label`.
    pub(crate) fn backend_id_of(&self, label: &str, backend: &Value) -> Result<String, Error> {
        self.resource
            .backend_id(backend)
            .ok_or_else(|| Error::BadAnswer {
                operation: label.to_owned(),
                missing: "the resource id".to_owned(),
            })
    }

    /// The SCIM resource for `backend` with the stored attributes and timestamps of `record`;
    /// `scim_id` is the id the client addresses it by.
    pub(crate) fn view(
        &self,
        scim_id: &str,
        backend: &Value,
        record: Option<&Record>,
    ) -> Result<Value, Error> {
        let empty = Map::new();
        let stored = record.map_or(&empty, |r| &r.stored);
        let mut resource = self.resource.to_scim(backend, stored)?;
        let resource_type = self.resource_type().to_owned();
        let Value::Object(object) = &mut resource else {
            return Err(Error::Mapping(crate::mapping::Error::NotAnObject));
        };
        let mut meta = Map::new();
        meta.insert("resourceType".into(), json!(resource_type));
        if let Some(record) = record {
            meta.insert("created".into(), json!(record.created));
            meta.insert("lastModified".into(), json!(record.last_modified));
        }
        meta.insert(
            "location".into(),
            json!(format!(
                "{}/{}s/{}",
                self.engine.options.base_url,
                resource_type,
                url_segment(scim_id)
            )),
        );
        // Into the translated object itself: a `Map` keeps its keys sorted, so rebuilding it
        // to put `id` first changed nothing but cost a map rebuild per resource.
        object.insert("id".into(), json!(scim_id));
        object.insert("meta".into(), Value::Object(meta));
        Ok(resource)
    }
}

/// Percent-encodes an id for use as one URL path segment.
fn url_segment(id: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(id, SEGMENT).to_string()
}
