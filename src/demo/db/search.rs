//! The user searches of the demo API's list call, as a product's admin console offers them:
//! exact username and email (served from the indexes), username prefix, email substring, display
//! name, family name and creation time. Every search given must hold (they are ANDed).
//!
//! Pure matching over the stored users; the query parameters are parsed in `handler`.

use time::OffsetDateTime;

use super::{Db, Page, page_of};
use crate::demo::model::{Status, User};

/// The searches of one `GET /api/v1/users` (`None`: not searched on).
#[derive(Debug, Clone, Default)]
pub(crate) struct UserSearch {
    /// `username`: the login, exactly, ignoring case.
    pub(crate) username: Option<String>,
    /// `username_prefix`: logins starting with this, ignoring case.
    pub(crate) username_prefix: Option<String>,
    /// `email`: the work email, exactly, ignoring case.
    pub(crate) email: Option<String>,
    /// `email_contains`: the work or the home email contains this, ignoring case.
    pub(crate) email_contains: Option<String>,
    /// `display_name`: exactly, ignoring case.
    pub(crate) display_name: Option<String>,
    /// `last_name`: the family name, exactly, ignoring case.
    pub(crate) last_name: Option<String>,
    /// `created_after`: created strictly after this instant.
    pub(crate) created_after: Option<OffsetDateTime>,
    /// `status`: one status.
    pub(crate) status: Option<Status>,
}

fn same(stored: Option<&str>, wanted: &str) -> bool {
    stored.is_some_and(|s| s.to_lowercase() == wanted.to_lowercase())
}

fn holds(stored: Option<&str>, part: &str) -> bool {
    stored.is_some_and(|s| s.to_lowercase().contains(&part.to_lowercase()))
}

impl UserSearch {
    /// Whether `user` satisfies every search given.
    pub(crate) fn matches(&self, user: &User) -> bool {
        let f = &user.fields;
        self.username
            .as_deref()
            .is_none_or(|u| same(Some(&f.username), u))
            && self
                .username_prefix
                .as_deref()
                .is_none_or(|p| f.username.to_lowercase().starts_with(&p.to_lowercase()))
            && self
                .email
                .as_deref()
                .is_none_or(|e| same(f.email.as_deref(), e))
            && self.email_contains.as_deref().is_none_or(|part| {
                holds(f.email.as_deref(), part) || holds(f.home_email.as_deref(), part)
            })
            && self
                .display_name
                .as_deref()
                .is_none_or(|d| same(f.display_name.as_deref(), d))
            && self
                .last_name
                .as_deref()
                .is_none_or(|l| same(Some(&f.last_name), l))
            && self.created_after.is_none_or(|at| user.created_at > at)
            && self.status.is_none_or(|s| f.status == s)
    }
}

impl Db {
    /// Users in id order that satisfy `search`. An exact username or email is looked up in its
    /// index; the other searches go through the users, as a small product's database would.
    pub(crate) fn search_users(
        &self,
        search: &UserSearch,
        offset: usize,
        limit: usize,
    ) -> Page<&User> {
        let candidates: Box<dyn Iterator<Item = &User>> = if let Some(username) = &search.username {
            Box::new(
                self.user_id_by_username(username)
                    .and_then(|id| self.users.get(&id))
                    .into_iter(),
            )
        } else if let Some(email) = &search.email {
            Box::new(
                self.emails
                    .get(&email.to_lowercase())
                    .into_iter()
                    .flatten()
                    .filter_map(|id| self.users.get(id)),
            )
        } else if let Some(status) = search.status {
            Box::new(
                self.status_set(status)
                    .iter()
                    .filter_map(|id| self.users.get(id)),
            )
        } else {
            Box::new(self.users.values())
        };
        let only_status = search.username.is_none()
            && search.email.is_none()
            && search.username_prefix.is_none()
            && search.email_contains.is_none()
            && search.display_name.is_none()
            && search.last_name.is_none()
            && search.created_after.is_none();
        if only_status {
            // Counted from the index, without going through the users.
            let total = search
                .status
                .map_or(self.users.len(), |s| self.status_set(s).len());
            return page_of(candidates, total, offset, limit);
        }
        let found: Vec<&User> = candidates.filter(|user| search.matches(user)).collect();
        let total = found.len();
        page_of(found.into_iter(), total, offset, limit)
    }
}
