//! Rows and the queries that read and write them.

pub mod api_token;
pub mod audit;
pub mod audit_log;
pub mod branding;
pub mod cloud;
pub mod grant;
pub mod idempotency;
pub mod instance;
pub mod invitation;
pub mod migration_view;
pub mod network;
pub mod outbox;
pub mod plan;
pub mod policy;
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

/// The queries every tenant-owned row with an `id` has, each scoped by tenant (an
/// id from another tenant is simply not found), written once for every family
/// (rules, network, resources; the policies next):
///
/// - `tenant_owned!(Ty, table)`: `page` (by id after a cursor), `find`, `lock`
///   (FOR UPDATE: a change or delete of it) and `delete`;
/// - `tenant_owned!(Ty, table, name = column)`: those and `name_taken` (another of
///   the tenant's rows has the name, in any case);
/// - `tenant_owned!(@named Ty, table, column)`: `name_taken` alone;
/// - `tenant_owned!(@sorted Ty, table, Filter, Key { Variant => (expr, |after| value), … })`:
///   `list` (a list page's count and rows of `Self::filtered(tenant, &Filter)`) and
///   `sorted` (the API's keyset page), each in an `Order<Key>`: by the variant's
///   `expr` (compared with an `After`'s `value`) or by id, ties by id ([`keyset!`]).
macro_rules! tenant_owned {
    ($ty:ty, $table:ident) => {
        impl $ty {
            /// A page of the tenant's rows by id, after `after`.
            pub async fn page(
                conn: &mut AsyncPgConnection,
                tenant_id: i64,
                after: Option<i64>,
                limit: i64,
            ) -> QueryResult<Vec<Self>> {
                $table::table
                    .filter($table::tenant_id.eq(tenant_id))
                    .filter($table::id.gt(after.unwrap_or(0)))
                    .order($table::id)
                    .limit(limit)
                    .select(Self::as_select())
                    .load(conn)
                    .await
            }

            pub async fn find(
                conn: &mut AsyncPgConnection,
                tenant_id: i64,
                id: i64,
            ) -> QueryResult<Self> {
                $table::table
                    .filter($table::tenant_id.eq(tenant_id))
                    .filter($table::id.eq(id))
                    .select(Self::as_select())
                    .first(conn)
                    .await
            }

            /// The row locked FOR UPDATE until the transaction ends (its change or
            /// delete: rows about to refer to it wait, then find it gone).
            pub async fn lock(
                conn: &mut AsyncPgConnection,
                tenant_id: i64,
                id: i64,
            ) -> QueryResult<Self> {
                $table::table
                    .filter($table::tenant_id.eq(tenant_id))
                    .filter($table::id.eq(id))
                    .select(Self::as_select())
                    .for_update()
                    .first(conn)
                    .await
            }

            pub async fn delete(
                conn: &mut AsyncPgConnection,
                tenant_id: i64,
                id: i64,
            ) -> QueryResult<usize> {
                diesel::delete(
                    $table::table
                        .filter($table::tenant_id.eq(tenant_id))
                        .filter($table::id.eq(id)),
                )
                .execute(conn)
                .await
            }
        }
    };
    ($ty:ty, $table:ident, name = $name:ident) => {
        $crate::db::models::tenant_owned!($ty, $table);
        $crate::db::models::tenant_owned!(@named $ty, $table, $name);
    };
    (@named $ty:ty, $table:ident, $name:ident) => {
        impl $ty {
            /// Whether another of the tenant's rows (not `except`) has this name,
            /// in any case.
            pub async fn name_taken(
                conn: &mut AsyncPgConnection,
                tenant_id: i64,
                name: &str,
                except: Option<i64>,
            ) -> QueryResult<bool> {
                diesel::select(diesel::dsl::exists(
                    $table::table
                        .filter($table::tenant_id.eq(tenant_id))
                        .filter($crate::db::models::lower($table::$name).eq(name.to_lowercase()))
                        .filter($table::id.ne(except.unwrap_or(0))),
                ))
                .get_result(conn)
                .await
            }
        }
    };
    (@sorted $ty:ty, $table:ident, $filter:ty, $key:ident {
        $($variant:ident => ($expr:expr, |$a:ident| $value:expr),)*
    }) => {
        impl $ty {
            /// `q` in `order`, from right after `after` on.
            fn ordered(
                q: $table::BoxedQuery<'static, Pg>,
                order: $crate::domain::sorting::Order<$key>,
                after: Option<&$crate::domain::sorting::After>,
            ) -> $table::BoxedQuery<'static, Pg> {
                let desc = order.descending;
                match order.key {
                    None => $crate::db::models::keyset!(
                        q, $table::id, $table::id, desc, after.map(|a| (a.id, a.id))
                    ),
                    $(Some($key::$variant) => $crate::db::models::keyset!(
                        q, $expr, $table::id, desc, after.map(|$a| ($value, $a.id))
                    ),)*
                }
            }

            /// The tenant's rows matching `f`: how many, and page `page_no` (from 1)
            /// of `per_page` in `order`.
            pub async fn list(
                conn: &mut AsyncPgConnection,
                tenant_id: i64,
                f: &$filter,
                order: $crate::domain::sorting::Order<$key>,
                page_no: i64,
                per_page: i64,
            ) -> QueryResult<(i64, Vec<Self>)> {
                let total = Self::filtered(tenant_id, f)
                    .count()
                    .get_result(conn)
                    .await?;
                let rows = Self::ordered(Self::filtered(tenant_id, f), order, None)
                    .offset((page_no - 1) * per_page)
                    .limit(per_page)
                    .select(Self::as_select())
                    .load(conn)
                    .await?;
                Ok((total, rows))
            }

            /// At most `limit` of the tenant's rows in `order`, right after `after`
            /// (the API's pages).
            pub async fn sorted(
                conn: &mut AsyncPgConnection,
                tenant_id: i64,
                order: $crate::domain::sorting::Order<$key>,
                after: Option<&$crate::domain::sorting::After>,
                limit: i64,
            ) -> QueryResult<Vec<Self>> {
                Self::ordered(Self::filtered(tenant_id, &<$filter>::default()), order, after)
                    .limit(limit)
                    .select(Self::as_select())
                    .load(conn)
                    .await
            }
        }
    };
}
pub(crate) use tenant_owned;

/// `$q` (a boxed query) ordered by `$expr` then `$id`, descending when `$desc`, and
/// when `$after` is `Some((value, id))` only the rows after that one in this order:
/// `expr > value OR (expr = value AND id > id)` (reversed for descending). The
/// tie on id makes every order total, so a keyset page starts exactly where the
/// last one ended.
macro_rules! keyset {
    ($q:expr, $expr:expr, $id:expr, $desc:expr, $after:expr) => {{
        let mut q = $q;
        if let Some((value, id)) = $after {
            q = if $desc {
                q.filter($expr.lt(value.clone()).or($expr.eq(value).and($id.lt(id))))
            } else {
                q.filter($expr.gt(value.clone()).or($expr.eq(value).and($id.gt(id))))
            };
        }
        if $desc {
            q.order(($expr.desc(), $id.desc()))
        } else {
            q.order(($expr.asc(), $id.asc()))
        }
    }};
}
pub(crate) use keyset;

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
    crate::domain::policy::PolicyKind,
    crate::domain::policy::Enforcement,
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
