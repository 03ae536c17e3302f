//! Pictures: people's profile pictures.

use tillit_domain::{PersonId, Timestamp};

use crate::{Pool, Result, StoreError, TenantStore};

impl TenantStore<'_> {
    one_query! {
        /// Saves a profile picture (already checked and re-encoded by the caller).
        pub async fn save_picture(
            &self,
            person: &PersonId,
            content_type: &str,
            hash: &str,
            bytes: &[u8],
            now: Timestamp,
        ) -> Result<()> = write q::save_picture;

        /// A person's profile picture: content type, hash and bytes.
        pub async fn picture(
            &self,
            person: &PersonId,
        ) -> Result<Option<(String, String, Vec<u8>)>> = read q::picture;

        pub async fn picture_hash(
            &self,
            person: &PersonId,
        ) -> Result<Option<String>> = read q::picture_hash;
    }
}
