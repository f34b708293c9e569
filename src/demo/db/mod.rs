//! The demo API's in-memory database: users and teams with the indexes that keep every lookup the
//! gateway makes cheap at 100,000 users (username → id, email → ids, team name → id, status sets,
//! user → teams), and the cross-record rules (unique usernames and team names, existing members).
//! A user's `manager` is a reference as the client gave it (free text), not checked here.
//!
//! No locking and no HTTP here: the server holds a `Db` behind a lock and turns its answers and
//! errors into responses.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::error::Error;
use super::model::{Status, Team, User, UserFields, now};
use super::quirks::Quirks;

mod search;
mod teams;
pub(crate) use search::UserSearch;
#[cfg(test)]
mod tests;

/// One page of a listing: the records in id order and how many match in total.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) total: usize,
}

/// Users and teams, with their indexes kept in step by every write.
#[derive(Debug)]
pub(crate) struct Db {
    users: BTreeMap<u64, User>,
    next_user_id: u64,
    /// Lowercased username → user id.
    usernames: HashMap<String, u64>,
    /// Lowercased email → ids of the users holding it (emails are not unique).
    emails: HashMap<String, BTreeSet<u64>>,
    active: BTreeSet<u64>,
    disabled: BTreeSet<u64>,
    /// User id → ids of the teams it belongs to.
    user_teams: HashMap<u64, BTreeSet<u64>>,
    teams: BTreeMap<u64, Team>,
    next_team_id: u64,
    /// Lowercased team name → team id.
    team_names: HashMap<String, u64>,
    /// The next `n` tried for a seeded `user{n}@example.com`.
    next_seed: u64,
    /// The behaviour switches (duplicates and reused ids apply here).
    quirks: Quirks,
    /// Ids of deleted users and teams, most recent last, for `reuse_ids`.
    freed_users: Vec<u64>,
    freed_teams: Vec<u64>,
}

impl Default for Db {
    fn default() -> Self {
        Self {
            users: BTreeMap::new(),
            next_user_id: 1,
            usernames: HashMap::new(),
            emails: HashMap::new(),
            active: BTreeSet::new(),
            disabled: BTreeSet::new(),
            user_teams: HashMap::new(),
            teams: BTreeMap::new(),
            next_team_id: 1,
            team_names: HashMap::new(),
            next_seed: 1,
            quirks: Quirks::default(),
            freed_users: Vec::new(),
            freed_teams: Vec::new(),
        }
    }
}

fn page_of<T>(iter: impl Iterator<Item = T>, total: usize, offset: usize, limit: usize) -> Page<T> {
    Page {
        items: iter.skip(offset).take(limit).collect(),
        total,
    }
}

impl Db {
    /// The behaviour switches in force.
    pub(crate) fn quirks(&self) -> Quirks {
        self.quirks
    }

    /// Sets the behaviour switches (records already there stay as they are).
    pub(crate) fn set_quirks(&mut self, quirks: Quirks) {
        self.quirks = quirks;
    }

    /// The id for a new record: the most recently freed one with `reuse_ids`, else the next.
    fn new_id(reuse: bool, freed: &mut Vec<u64>, next: &mut u64) -> u64 {
        if reuse && let Some(id) = freed.pop() {
            return id;
        }
        let id = *next;
        *next += 1;
        id
    }

    /// One user by id.
    pub(crate) fn user(&self, id: u64) -> Option<&User> {
        self.users.get(&id)
    }

    /// How many users exist.
    pub(crate) fn user_count(&self) -> usize {
        self.users.len()
    }

    /// The id of the user with this username, ignoring case.
    pub(crate) fn user_id_by_username(&self, username: &str) -> Option<u64> {
        self.usernames.get(&username.to_lowercase()).copied()
    }

    /// Users in id order, optionally only those with `username` and/or `email` (any case) and/or
    /// one status (the tests' shorthand for [`Db::search_users`]).
    #[cfg(test)]
    pub(crate) fn list_users(
        &self,
        username: Option<&str>,
        email: Option<&str>,
        status: Option<Status>,
        offset: usize,
        limit: usize,
    ) -> Page<&User> {
        let search = UserSearch {
            username: username.map(str::to_owned),
            email: email.map(str::to_owned),
            status,
            ..UserSearch::default()
        };
        self.search_users(&search, offset, limit)
    }

    fn status_set(&self, status: Status) -> &BTreeSet<u64> {
        match status {
            Status::Active => &self.active,
            Status::Disabled => &self.disabled,
        }
    }

    fn status_set_mut(&mut self, status: Status) -> &mut BTreeSet<u64> {
        match status {
            Status::Active => &mut self.active,
            Status::Disabled => &mut self.disabled,
        }
    }

    /// Creates a user from a POST body.
    pub(crate) fn create_user(&mut self, body: &Map<String, Value>) -> Result<&User, Error> {
        let mut fields = UserFields::default();
        fields.apply(body)?;
        self.check_user(None, &fields)?;
        let id = Self::new_id(
            self.quirks.reuse_ids,
            &mut self.freed_users,
            &mut self.next_user_id,
        );
        let at = now();
        self.index_user(id, &fields);
        let user = User {
            id,
            full_name: fields.full_name(),
            fields,
            created_at: at,
            updated_at: at,
        };
        Ok(self.users.entry(id).or_insert(user))
    }

    /// Replaces every writable field of a user (PUT): fields absent from `body` get defaults.
    pub(crate) fn replace_user(
        &mut self,
        id: u64,
        body: &Map<String, Value>,
    ) -> Result<&User, Error> {
        let previous = self
            .users
            .get(&id)
            .ok_or(Error::NotFound("user"))?
            .fields
            .manager
            .clone();
        let mut fields = UserFields::default();
        fields.apply_over(body, previous.as_deref())?;
        self.store_user(id, fields)
    }

    /// Changes only the writable fields present in `body` (PATCH).
    pub(crate) fn patch_user(
        &mut self,
        id: u64,
        body: &Map<String, Value>,
    ) -> Result<&User, Error> {
        let mut fields = self
            .users
            .get(&id)
            .ok_or(Error::NotFound("user"))?
            .fields
            .clone();
        fields.apply(body)?;
        self.store_user(id, fields)
    }

    /// Checks `fields` against the other records and writes them over user `id`.
    fn store_user(&mut self, id: u64, mut fields: UserFields) -> Result<&User, Error> {
        self.check_user(Some(id), &fields)?;
        let Some(old) = self.users.get(&id).map(|user| user.fields.clone()) else {
            return Err(Error::NotFound("user"));
        };
        fields.follow_names(&old);
        self.unindex_user(id, &old);
        self.index_user(id, &fields);
        let user = self.users.get_mut(&id).ok_or(Error::NotFound("user"))?;
        if user.fields != fields {
            user.full_name = fields.full_name();
            user.fields = fields;
            user.updated_at = now();
        }
        Ok(user)
    }

    /// The rules between a user's new fields and the rest: a username no other user has.
    fn check_user(&self, id: Option<u64>, fields: &UserFields) -> Result<(), Error> {
        fields.validate()?;
        if let Some(owner) = self.user_id_by_username(&fields.username)
            && Some(owner) != id
            && !self.quirks.duplicates
        {
            return Err(Error::Conflict("username taken"));
        }
        Ok(())
    }

    fn index_user(&mut self, id: u64, fields: &UserFields) {
        // With duplicates the index keeps the first holder of a username.
        self.usernames
            .entry(fields.username.to_lowercase())
            .or_insert(id);
        if let Some(email) = &fields.email {
            self.emails
                .entry(email.to_lowercase())
                .or_default()
                .insert(id);
        }
        self.status_set_mut(fields.status).insert(id);
    }

    fn unindex_user(&mut self, id: u64, fields: &UserFields) {
        let key = fields.username.to_lowercase();
        if self.usernames.get(&key) == Some(&id) {
            self.usernames.remove(&key);
            if self.quirks.duplicates {
                // Another user with the same username (accepted as a duplicate) takes over.
                let next = self.users.iter().find(|(other, user)| {
                    **other != id && user.fields.username.to_lowercase() == key
                });
                if let Some((other, _)) = next {
                    self.usernames.insert(key, *other);
                }
            }
        }
        if let Some(email) = &fields.email {
            let key = email.to_lowercase();
            if let Some(ids) = self.emails.get_mut(&key) {
                ids.remove(&id);
                if ids.is_empty() {
                    self.emails.remove(&key);
                }
            }
        }
        self.status_set_mut(fields.status).remove(&id);
    }

    /// Deletes a user and its team memberships. Users naming it as `manager` keep that text: a
    /// free-text reference is the client's to change.
    pub(crate) fn delete_user(&mut self, id: u64) -> Result<(), Error> {
        let user = self.users.remove(&id).ok_or(Error::NotFound("user"))?;
        self.unindex_user(id, &user.fields);
        self.freed_users.push(id);
        let at = now();
        for team in self.user_teams.remove(&id).unwrap_or_default() {
            if let Some(team) = self.teams.get_mut(&team) {
                team.members.remove(&id);
                team.updated_at = at;
            }
        }
        Ok(())
    }

    /// Creates `count` users with username and email `user{n}@example.com` (skipping any `n`
    /// whose username is taken) without the per-request checks; returns how many were created.
    pub(crate) fn seed_users(&mut self, count: usize) -> usize {
        let at = now();
        let mut created = 0;
        while created < count {
            let n = self.next_seed;
            self.next_seed += 1;
            let username = format!("user{n}@example.com");
            if self.usernames.contains_key(&username) {
                continue;
            }
            let id = self.next_user_id;
            self.next_user_id += 1;
            let fields = UserFields {
                email: Some(username.clone()),
                username,
                first_name: "User".to_owned(),
                last_name: n.to_string(),
                display_name: Some(format!("User {n}")),
                ..UserFields::default()
            };
            self.index_user(id, &fields);
            self.users.insert(
                id,
                User {
                    id,
                    full_name: fields.full_name(),
                    fields,
                    created_at: at,
                    updated_at: at,
                },
            );
            created += 1;
        }
        created
    }
}
