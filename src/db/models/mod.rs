//! Rows and the queries that read and write them.

pub mod api_token;
pub mod audit;
pub mod audit_log;
pub mod cloud;
pub mod grant;
pub mod idempotency;
pub mod instance;
pub mod invitation;
pub mod migration_view;
pub mod network;
pub mod outbox;
pub mod principal;
pub mod quota_alert;
pub mod report_subscription;
pub mod role;
pub mod rule_migration;
pub mod rules;
pub mod session;
pub mod tenant;
pub mod throttle;
pub mod usage;
pub mod usage_stats;
pub mod user;
pub mod user_limit;

pub use audit::AuditEvent;
pub use grant::Grant;
pub use tenant::{Tenant, TenantListRow, Visibility};
pub use user::User;

/// Maps the enums stored in text columns: written as their `as_str`, read back
/// through `FromStr` (the columns' CHECK constraints hold the same values).
macro_rules! stored_as_text {
    ($($ty:ty),* $(,)?) => {$(
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $ty {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(value)?;
                Ok(text.parse::<$ty>()?)
            }
        }
    )*};
}

stored_as_text!(
    crate::domain::GrantRole,
    crate::domain::Scope,
    crate::domain::UserSource,
    crate::domain::invitation::InvitationState,
    crate::domain::stats::ReportScope,
    crate::domain::stats::UsageMailRefusal,
    crate::domain::rules::RuleKind,
    crate::domain::rules::RuleAction,
    crate::domain::rules::VersionKind,
    crate::domain::resources::CloudProvider,
    crate::domain::resources::CloudVisibility,
    crate::domain::resources::InstanceStatus,
    outbox::OutboxStatus,
    outbox::MailTransport,
);

/// `touch` of a credential table (API tokens, ingestion keys): records a use at
/// `now` in `last_used_at`. Callers do it at most once a minute per credential
/// (`auth::tokens::use_worth_recording`).
macro_rules! credential_touch {
    ($table:ident) => {
        pub async fn touch(
            conn: &mut diesel_async::AsyncPgConnection,
            id: i64,
            now: chrono::DateTime<chrono::Utc>,
        ) -> diesel::QueryResult<usize> {
            diesel::update($table::table.find(id))
                .set($table::last_used_at.eq(now))
                .execute(conn)
                .await
        }
    };
}
pub(crate) use credential_touch;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
diesel::define_sql_function!(fn unnest(a: diesel::sql_types::Array<diesel::sql_types::BigInt>) -> diesel::sql_types::BigInt);
diesel::define_sql_function!(fn array_length(a: diesel::sql_types::Array<diesel::sql_types::BigInt>, dim: diesel::sql_types::Integer) -> diesel::sql_types::Nullable<diesel::sql_types::Integer>);

/// Escapes LIKE wildcards so user input matches literally.
pub fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
