//! The static `tenants:` of the settings file as the admin API shows them: connections defined
//! in the file, listed and shown like the store's, read-only (a change goes through the file
//! and a reload).

use serde_json::{Value, json};

use crate::settings::TenantSettings;

/// One `tenants:` entry as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTenant {
    /// Its name (the connection id in the API).
    pub name: String,
    /// Where its SCIM endpoints live.
    pub base_path: String,
    /// Its mapping file.
    pub mapping: String,
    /// Its "SCIM sync active" switch.
    pub enabled: bool,
}

impl FileTenant {
    /// Every tenant of the settings.
    pub fn all(tenants: &[TenantSettings]) -> Vec<Self> {
        tenants
            .iter()
            .map(|tenant| Self {
                name: tenant.name.clone(),
                base_path: tenant.base_path.clone(),
                mapping: tenant.mapping.display().to_string(),
                enabled: tenant.enabled,
            })
            .collect()
    }

    /// Its admin API view: the fields of a connection, `read_only: true`, no tokens (its
    /// credentials are the file's) and no status figures (those are kept for connections).
    pub fn view(&self, public_base_url: &url::Url) -> Value {
        let base = public_base_url.as_str().trim_end_matches('/');
        json!({
            "id": self.name,
            "name": self.name,
            "mapping": self.mapping,
            "enabled": self.enabled,
            "scim_base_url": format!("{base}{}", self.base_path),
            "read_only": true,
            "source": "settings file (tenants:)",
            "variables": {},
            "tokens": [],
            "status": Value::Null,
        })
    }
}

/// The refusal of a write to a tenant of the settings file: what to do instead.
pub fn read_only(name: &str) -> String {
    format!(
        "`{name}` is a tenant of the settings file (tenants:), read-only through the API: change \
         it in the file and reload (SIGHUP)"
    )
}
