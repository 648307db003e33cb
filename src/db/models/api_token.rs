//! Personal API tokens. Only a SHA-256 hash of each token is stored.

use crate::db::schema::{api_tokens, tenants, users};
use crate::domain::text_enum::text_enum;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A token as its owner sees it in the list (never the secret or its hash).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = api_tokens, check_for_backend(Pg))]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub read_only: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// A [`Revocation`] code, set with `revoked_at`.
    pub revoked_reason: Option<String>,
}

text_enum! {
    /// Why a token was revoked.
    pub enum Revocation {
        /// Its owner revoked it.
        Owner = "owner",
        /// An administrator who may change the owner revoked it.
        Administrator = "administrator",
        /// An administrator set a new password for the owner.
        PasswordReset = "password_reset",
        /// The owner was disabled.
        Disabled = "disabled",
        /// The owner logged out everywhere.
        LogoutEverywhere = "logout_everywhere",
    }
}

impl Revocation {
    /// The reason in words, as the token lists show it.
    pub fn label(self) -> &'static str {
        match self {
            Revocation::Owner => "by its owner",
            Revocation::Administrator => "by an administrator",
            Revocation::PasswordReset => "password reset by an administrator",
            Revocation::Disabled => "user disabled",
            Revocation::LogoutEverywhere => "logged out everywhere",
        }
    }
}

pub struct NewApiToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub read_only: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewApiToken<'_> {
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<ApiToken> {
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::user_id.eq(self.user_id),
                api_tokens::name.eq(self.name),
                api_tokens::token_hash.eq(self.token_hash),
                api_tokens::prefix.eq(self.prefix),
                api_tokens::read_only.eq(self.read_only),
                api_tokens::expires_at.eq(self.expires_at),
            ))
            .returning(ApiToken::as_returning())
            .get_result(conn)
            .await
    }
}

/// A token that may be used right now, with its user.
#[derive(Clone, Copy, Debug, Queryable)]
pub struct UsableToken {
    pub id: i64,
    pub user_id: i64,
    pub read_only: bool,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// The user's tokens, newest first.
    pub async fn for_user(
        conn: &mut AsyncPgConnection,
        user_id: i64,
    ) -> QueryResult<Vec<ApiToken>> {
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .order(api_tokens::id.desc())
            .select(ApiToken::as_select())
            .load(conn)
            .await
    }

    /// One of the user's tokens.
    pub async fn find_own(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        id: i64,
    ) -> QueryResult<ApiToken> {
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::user_id.eq(user_id))
            .select(ApiToken::as_select())
            .first(conn)
            .await
    }

    /// Revokes one of the user's tokens (once); returns whether it changed.
    pub async fn revoke(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        id: i64,
        reason: Revocation,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            api_tokens::table
                .filter(api_tokens::id.eq(id))
                .filter(api_tokens::user_id.eq(user_id))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set((
            api_tokens::revoked_at.eq(diesel::dsl::now),
            api_tokens::revoked_reason.eq(reason.as_str()),
        ))
        .execute(conn)
        .await?;
        Ok(n == 1)
    }

    /// Revokes every token of the user not revoked yet (expired ones too, so that
    /// nothing can bring them back); returns the id and name of each.
    pub async fn revoke_all(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        reason: Revocation,
    ) -> QueryResult<Vec<(i64, String)>> {
        diesel::update(
            api_tokens::table
                .filter(api_tokens::user_id.eq(user_id))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set((
            api_tokens::revoked_at.eq(diesel::dsl::now),
            api_tokens::revoked_reason.eq(reason.as_str()),
        ))
        .returning((api_tokens::id, api_tokens::name))
        .get_results(conn)
        .await
    }

    /// The token with this hash if it may be used now: not revoked, not expired, its
    /// user enabled and the user's home tenant enabled. One indexed query per request,
    /// so disabling a user or tenant (or revoking) stops the token at once.
    pub async fn usable(
        conn: &mut AsyncPgConnection,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<Option<UsableToken>> {
        api_tokens::table
            .inner_join(users::table.inner_join(tenants::table))
            .filter(api_tokens::token_hash.eq(token_hash))
            .filter(api_tokens::revoked_at.is_null())
            .filter(
                api_tokens::expires_at
                    .is_null()
                    .or(api_tokens::expires_at.gt(now)),
            )
            .filter(users::enabled.eq(true))
            .filter(tenants::enabled.eq(true))
            .select((
                api_tokens::id,
                api_tokens::user_id,
                api_tokens::read_only,
                api_tokens::last_used_at,
            ))
            .first(conn)
            .await
            .optional()
    }

    super::credential_touch!(api_tokens);
}

#[cfg(test)]
mod tests {
    use super::Revocation;

    #[test]
    fn revocation_codes_round_trip() {
        for &r in Revocation::ALL {
            assert_eq!(r.as_str().parse::<Revocation>(), Ok(r));
            assert!(!r.label().is_empty());
        }
        assert!("bogus".parse::<Revocation>().is_err());
    }
}
