//! What happens to a message after it left: a provider's delivery report
//! (46elks' `whendelivered` today; any SMS or e-mail provider's door calls
//! the same).

use crate::{Env, Error};

/// What a provider reports about a message it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Handed on towards the phone, not yet confirmed.
    Sent,
    Delivered,
    Failed,
}

impl Delivery {
    /// The provider's word for it (46elks': `sent`, `delivered`, `failed`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sent" => Some(Delivery::Sent),
            "delivered" => Some(Delivery::Delivered),
            "failed" => Some(Delivery::Failed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Sent => "sent",
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
        }
    }
}

/// Records the provider's report on message `id` (the provider's own id
/// for it is `provider_id`). [`Error::NotFound`] if there is no such
/// message in the tenant.
pub async fn record_delivery(
    env: Env<'_>,
    id: &str,
    provider_id: &str,
    delivery: Delivery,
) -> Result<(), Error> {
    if env
        .store
        .record_delivery(id, provider_id, delivery.as_str(), env.now)
        .await?
    {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}
