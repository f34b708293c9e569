//! Row codecs shared by the SQLite and PostgreSQL stores, so the two cannot drift.
//!
//! Both databases keep the same columns in the same spelling: times as whole microseconds
//! since the epoch (`BIGINT`/`INTEGER`), JSON read and written as text (PostgreSQL casts it to
//! and from `jsonb` in SQL), [`RecordState`] as `pending`/`active`. A store reads the raw
//! column values of a row into a [`RecordRow`] or [`AuditRow`] and decodes it here, and
//! encodes with [`micros`] and [`json_text`]. Plain data, no I/O and no SQL: the statements
//! stay with each store.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{AuditEntry, Error, Record, RecordState};

/// `time` as whole microseconds since the epoch (the stored form of every timestamp).
pub(super) fn micros(time: OffsetDateTime) -> i64 {
    i64::try_from(time.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// A stored microsecond timestamp read back; `None` when out of range.
pub(super) fn from_micros(value: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1_000).ok()
}

/// `value` as the JSON text a store writes (shadow, snapshot, audit attributes, …).
pub(super) fn json_text(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|error| Error::Database {
        operation: "encode",
        reason: error.to_string(),
    })
}

/// The raw columns of one `records` row, in the order both stores select them.
pub(super) struct RecordRow {
    /// `tenant`.
    pub tenant: String,
    /// `kind`.
    pub kind: String,
    /// `scim_id`.
    pub scim_id: String,
    /// `backend_id`.
    pub backend_id: Option<String>,
    /// `unique_key`.
    pub unique_key: Option<String>,
    /// `shadow`, as JSON text.
    pub shadow: String,
    /// `snapshot`, as JSON text.
    pub snapshot: Option<String>,
    /// `created`, in microseconds.
    pub created: i64,
    /// `last_modified`, in microseconds.
    pub last_modified: i64,
    /// `state`.
    pub state: String,
}

impl RecordRow {
    /// The record this row holds; a bad stored value is [`Error::Corrupt`] naming the field.
    pub(super) fn decode(self) -> Result<Record, Error> {
        let corrupt = |what| Error::Corrupt {
            what,
            scim_id: self.scim_id.clone(),
        };
        let shadow = serde_json::from_str::<Map<String, Value>>(&self.shadow)
            .map_err(|_| corrupt("shadow"))?;
        let snapshot = match &self.snapshot {
            Some(text) => Some(serde_json::from_str(text).map_err(|_| corrupt("snapshot"))?),
            None => None,
        };
        let created = from_micros(self.created).ok_or_else(|| corrupt("created"))?;
        let last_modified =
            from_micros(self.last_modified).ok_or_else(|| corrupt("last_modified"))?;
        let state = RecordState::parse(&self.state).ok_or_else(|| corrupt("state"))?;
        Ok(Record {
            tenant: self.tenant,
            kind: self.kind,
            scim_id: self.scim_id,
            backend_id: self.backend_id,
            unique_key: self.unique_key,
            shadow,
            snapshot,
            created,
            last_modified,
            state,
        })
    }
}

/// The raw columns of one `audit` row, in the order both stores select them.
pub(super) struct AuditRow {
    /// `seq`.
    pub seq: i64,
    /// `at`, in microseconds.
    pub at: i64,
    /// `tenant`.
    pub tenant: String,
    /// `credential`.
    pub credential: String,
    /// `request_id`.
    pub request_id: String,
    /// `operation`.
    pub operation: String,
    /// `kind`.
    pub kind: String,
    /// `scim_id`.
    pub scim_id: Option<String>,
    /// `attributes`, as JSON text (an array of names).
    pub attributes: String,
    /// `status`, as the database's integer.
    pub status: i64,
    /// `outcome`.
    pub outcome: String,
}

impl AuditRow {
    /// The entry this row holds; a bad stored value is [`Error::Corrupt`] naming the field.
    pub(super) fn decode(self) -> Result<AuditEntry, Error> {
        let corrupt = |what| Error::Corrupt {
            what,
            scim_id: format!("audit entry {}", self.seq),
        };
        let at = from_micros(self.at).ok_or_else(|| corrupt("audit time"))?;
        let attributes = serde_json::from_str::<Vec<String>>(&self.attributes)
            .map_err(|_| corrupt("audit attributes"))?;
        let status = u16::try_from(self.status).map_err(|_| corrupt("audit status"))?;
        Ok(AuditEntry {
            seq: self.seq,
            at,
            tenant: self.tenant,
            credential: self.credential,
            request_id: self.request_id,
            operation: self.operation,
            kind: self.kind,
            scim_id: self.scim_id,
            attributes,
            status,
            outcome: self.outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_row() -> RecordRow {
        RecordRow {
            tenant: "t1".to_owned(),
            kind: "User".to_owned(),
            scim_id: "u1".to_owned(),
            backend_id: Some("b1".to_owned()),
            unique_key: None,
            shadow: r#"{"externalId":"E1"}"#.to_owned(),
            snapshot: None,
            created: 1_800_000_000_000_001,
            last_modified: 1_800_000_000_000_002,
            state: "active".to_owned(),
        }
    }

    #[test]
    fn a_record_row_round_trips_through_the_encoders() {
        let record = record_row().decode().unwrap();
        assert_eq!(micros(record.created), 1_800_000_000_000_001);
        assert_eq!(micros(record.last_modified), 1_800_000_000_000_002);
        assert_eq!(json_text(&record.shadow).unwrap(), r#"{"externalId":"E1"}"#);
        assert_eq!(record.state.as_str(), "active");
    }

    #[test]
    fn a_bad_record_value_is_corrupt_naming_its_field() {
        type Spoil = fn(&mut RecordRow);
        let cases: [(&str, Spoil); 4] = [
            ("shadow", |row| row.shadow = "[1]".to_owned()),
            ("snapshot", |row| row.snapshot = Some("{".to_owned())),
            ("created", |row| row.created = i64::MAX),
            ("state", |row| row.state = "gone".to_owned()),
        ];
        for (field, spoil) in cases {
            let mut row = record_row();
            spoil(&mut row);
            let error = row.decode().unwrap_err();
            assert!(
                matches!(error, Error::Corrupt { what, ref scim_id } if what == field && scim_id == "u1"),
                "{field}: {error:?}"
            );
        }
    }

    /// Both stores read an out-of-range audit status as corrupt (SQLite used to fail the
    /// read with a driver conversion error instead).
    #[test]
    fn an_out_of_range_audit_status_is_corrupt() {
        let row = AuditRow {
            seq: 7,
            at: 0,
            tenant: "t1".to_owned(),
            credential: "entra".to_owned(),
            request_id: "r1".to_owned(),
            operation: "create".to_owned(),
            kind: "User".to_owned(),
            scim_id: None,
            attributes: "[]".to_owned(),
            status: 70_000,
            outcome: "success".to_owned(),
        };
        let error = row.decode().unwrap_err();
        assert!(
            matches!(error, Error::Corrupt { what: "audit status", ref scim_id } if scim_id == "audit entry 7"),
            "{error:?}"
        );
    }
}
