//! Sessions: who is logged in, stored by the hash of their token.

use tillit_domain::session::{ProviderLogin, SessionRecord};
use tillit_domain::{PersonId, Timestamp};

use crate::{Pool, Result, StoreError, TenantStore};

impl TenantStore<'_> {
    one_query! {
        pub async fn create_session(
            &self,
            token_hash: &str,
            person: &PersonId,
            now: Timestamp,
            expires_at: Timestamp,
        ) -> Result<()> = write q::insert_session;

        /// A session from an e-ID login, which the provider may end.
        pub async fn create_provider_session(
            &self,
            token_hash: &str,
            person: &PersonId,
            now: Timestamp,
            expires_at: Timestamp,
            login: &ProviderLogin,
        ) -> Result<()> = write q::insert_provider_session;

        /// Ends the sessions of a provider's session; their token hashes.
        pub async fn end_provider_session(
            &self,
            method: &str,
            sid: &str,
        ) -> Result<Vec<String>> = write q::delete_sessions_of_provider_session;

        /// Ends every session of a provider's subject; their token hashes.
        pub async fn end_provider_subject(
            &self,
            method: &str,
            subject: &str,
        ) -> Result<Vec<String>> = write q::delete_sessions_of_provider_subject;

        pub async fn session(
            &self,
            token_hash: &str,
        ) -> Result<Option<SessionRecord>> = read q::session_by_token_hash;

        pub async fn touch_session(
            &self,
            token_hash: &str,
            now: Timestamp,
            expires_at: Timestamp,
        ) -> Result<()> = write q::touch_session;

        pub async fn delete_session(
            &self,
            token_hash: &str,
        ) -> Result<()> = write q::delete_session;

        /// Ends every session of one person.
        pub async fn end_sessions_of(
            &self,
            id: &PersonId,
        ) -> Result<u64> = write q::delete_sessions_of;

        pub async fn delete_expired_sessions(
            &self,
            now: Timestamp,
        ) -> Result<u64> = write q::delete_expired_sessions;
    }
}
