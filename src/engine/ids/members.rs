//! Group members seen through the store: a member's SCIM id → backend id, and back.

use super::Member;
use crate::engine::Error;
use crate::engine::op::Op;
use crate::scim::ResourceKind;
use crate::store::{self, RecordState};

impl Op<'_> {
    /// What the store says about a group member's SCIM id: `Known` backend id (an active user
    /// record), `Unverified` (backend ids: the id is the backend id, but the gateway has no
    /// record, so only the backend can say whether the user exists) or `None` (gateway ids: no
    /// such user).
    pub(crate) async fn member_lookup(&self, member: &str) -> Result<Option<Member>, Error> {
        if member.trim().is_empty() {
            return Ok(None);
        }
        if !self.gateway_ids() {
            let known = self
                .store()
                .get_by_backend_id(self.tenant(), ResourceKind::User.name(), member)
                .await?
                .is_some_and(|r| r.state == RecordState::Active);
            return Ok(Some(if known {
                Member::Known(member.to_owned())
            } else {
                Member::Unverified(member.to_owned())
            }));
        }
        Ok(self
            .store()
            .get(self.tenant(), ResourceKind::User.name(), member)
            .await?
            .filter(|r| r.state == RecordState::Active)
            .and_then(|r| r.backend_id)
            .map(Member::Known))
    }

    /// The SCIM id of a user by its backend id (for group member lists). With gateway ids, a
    /// backend user the gateway has never seen gets a freshly minted id, as an unseen user read
    /// through `GET /Users` does; `None` only when a pending create holds it.
    pub(crate) async fn member_scim_id(&self, backend_id: &str) -> Result<Option<String>, Error> {
        if !self.gateway_ids() {
            return Ok(Some(backend_id.to_owned()));
        }
        let found = self
            .store()
            .get_by_backend_id(self.tenant(), ResourceKind::User.name(), backend_id)
            .await?;
        if let Some(record) = found {
            return Ok((record.state == RecordState::Active).then_some(record.scim_id));
        }
        let mut fresh = store::Record::pending(
            self.tenant(),
            ResourceKind::User.name(),
            uuid::Uuid::new_v4().to_string(),
            None,
        );
        fresh.backend_id = Some(backend_id.to_owned());
        fresh.state = RecordState::Active;
        let scim_id = fresh.scim_id.clone();
        match self.store().insert(fresh).await {
            Ok(()) => {
                tracing::info!("A group member the gateway had not seen got a SCIM id.");
                Ok(Some(scim_id))
            }
            // Another request minted it first: use its id.
            Err(store::Error::Conflict { .. }) => Ok(self
                .store()
                .get_by_backend_id(self.tenant(), ResourceKind::User.name(), backend_id)
                .await?
                .filter(|r| r.state == RecordState::Active)
                .map(|r| r.scim_id)),
            Err(error) => Err(error.into()),
        }
    }
}
