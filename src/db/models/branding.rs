//! A tenant's own branding row (`tenant_branding`, NULL fields inherit) and the
//! effective branding of a tenant: per field, the value of the nearest tenant on its
//! path (itself first, then up to the root) that sets it — one statement over
//! `tenant_paths`, however deep the tree. The session load reads the acting
//! tenant's the same way (`db::models::principal`), so no page pays a statement
//! for its header.

use crate::db::schema::tenant_branding;
use crate::domain::branding::DEFAULT_PRODUCT_NAME;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// `(array_agg(… ORDER BY u.ord DESC) FILTER (WHERE b.<field> IS NOT NULL))[1]`:
/// of the path's rows that set `field`, the deepest one's `expr`.
macro_rules! nearest {
    (@own $field:literal) => {
        concat!(
            "(array_agg(b.",
            $field,
            " ORDER BY u.ord DESC) FILTER (WHERE b.",
            $field,
            " IS NOT NULL))[1]"
        )
    };
    ($field:literal, $expr:literal) => {
        concat!(
            "(array_agg(",
            $expr,
            " ORDER BY u.ord DESC) FILTER (WHERE b.",
            $field,
            " IS NOT NULL))[1]"
        )
    };
}

/// The branding rows that take effect on a path (`u` its element): those of tenants
/// whose governing plan includes `custom_branding`, or that no plan governs. A
/// tenant whose plan lacks it keeps its own values (they show again when its plan
/// allows them) but resolution passes over them to what is above, for every reader
/// alike: pages, login pages, mail, print and the logo served.
macro_rules! branding_in_effect {
    () => {
        concat!(
            "tenant_branding b ON b.tenant_id = u.id AND COALESCE((SELECT pl.custom_branding \
             FROM plans pl WHERE pl.id = ",
            $crate::governing_plan_id!("u"),
            "), true)"
        )
    };
}

/// The path of the tenant `$tenant` (an SQL expression) with each tenant's
/// branding row in effect ([`branding_in_effect!`]), `u.ord` its depth (1 the
/// root): what [`nearest!`] aggregates.
macro_rules! path_branding {
    ($($tenant:tt)+) => {
        concat!(
            " FROM tenant_paths p CROSS JOIN LATERAL unnest(p.path) WITH ORDINALITY AS u(id, ord) \
             JOIN ",
            $crate::db::models::branding::branding_in_effect!(),
            " WHERE p.tenant_id = ",
            $($tenant)+
        )
    };
}

/// What the frame of a page shows of the acting tenant's effective branding (as a
/// record for the session load): product name, colour, support email and page, and
/// the tenant whose logo applies with its ETag.
macro_rules! frame_branding_sql {
    ($($tenant:tt)+) => {
        concat!(
            "ARRAY(SELECT ROW(",
            $($tenant)+,
            ", ",
            $crate::db::models::branding::nearest!("product_name", "b.product_name"),
            ", ",
            $crate::db::models::branding::nearest!("primary_color", "b.primary_color"),
            ", ",
            $crate::db::models::branding::nearest!("support_email", "b.support_email"),
            ", ",
            $crate::db::models::branding::nearest!("support_url", "b.support_url"),
            ", ",
            $crate::db::models::branding::nearest!("logo_etag", "b.tenant_id"),
            ", ",
            $crate::db::models::branding::nearest!("logo_etag", "b.logo_etag"),
            ")",
            $crate::db::models::branding::path_branding!($($tenant)+),
            ")"
        )
    };
}
pub(crate) use branding_in_effect;
pub(crate) use frame_branding_sql;
pub(crate) use nearest;
pub(crate) use path_branding;

/// The session load's record of [`frame_branding_sql!`]: the tenant it is for, then
/// the fields.
pub type FrameRecord = (
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

/// The effective branding as a page's frame, a login page or a mail shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Brand {
    pub product_name: Option<String>,
    /// `#rrggbb`.
    pub primary_color: Option<String>,
    pub support_email: Option<String>,
    pub support_url: Option<String>,
    /// The tenant this branding is for (whose logo URL serves the logo in effect on
    /// its path, wherever it is stored), and the logo's ETag.
    pub logo: Option<(i64, String)>,
}

impl Brand {
    /// The record of [`frame_branding_sql!`], with the tenant it is for.
    pub fn from_record(r: FrameRecord) -> Option<(i64, Brand)> {
        let brand = Brand {
            product_name: r.1,
            primary_color: r.2,
            support_email: r.3,
            support_url: r.4,
            logo: r.0.zip(r.6),
        };
        Some((r.0?, brand))
    }

    /// The product name, or the installation's own.
    pub fn name(&self) -> &str {
        self.product_name.as_deref().unwrap_or(DEFAULT_PRODUCT_NAME)
    }

    /// Where the logo is served (`/branding/logo/{etag}`: by its content's hash,
    /// naming no tenant — neither the one viewed nor the ancestor that stores it;
    /// a new logo is a new URL, so it may be cached for long).
    pub fn logo_url(&self) -> Option<String> {
        self.logo
            .as_ref()
            .map(|(_, etag)| format!("/branding/logo/{etag}"))
    }

    /// The style sheet that paints the primary colour (`/branding/theme/rrggbb.css`):
    /// no inline style, so the console's CSP stays as it is.
    pub fn theme_url(&self) -> Option<String> {
        self.primary_color
            .as_ref()
            .map(|c| format!("/branding/theme/{}.css", c.trim_start_matches('#')))
    }

    /// Whom to contact, as an error page and a mail's signature name them: the
    /// support email, else the support page.
    pub fn support(&self) -> Option<&str> {
        self.support_email
            .as_deref()
            .or(self.support_url.as_deref())
    }

    /// The effective branding of `tenant_id` (the installation's own if it has no path).
    pub async fn of(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<Brand> {
        Ok(Effective::of(conn, tenant_id).await?.brand())
    }
}

/// A field's effective value and the tenant it comes from (id and name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inherited {
    pub value: Option<String>,
    pub from: Option<(i64, String)>,
}

/// Every field's effective value with its source: what the branding page and the
/// API show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effective {
    /// The tenant this is the branding of.
    pub tenant_id: i64,
    pub product_name: Inherited,
    pub primary_color: Inherited,
    pub support_email: Inherited,
    pub support_url: Inherited,
    /// The logo's ETag as value, and the tenant it is stored on.
    pub logo: Inherited,
    /// The logo's MIME type.
    pub logo_mime: Option<String>,
}

#[derive(QueryableByName)]
struct EffectiveRow {
    #[diesel(sql_type = Nullable<Text>)]
    product_name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    product_name_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    product_name_from: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    primary_color: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    primary_color_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    primary_color_from: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    support_email: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    support_email_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    support_email_from: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    support_url: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    support_url_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    support_url_from: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    logo_etag: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    logo_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    logo_from: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    logo_mime: Option<String>,
}

/// Each field with the id and name of the tenant it comes from.
macro_rules! with_source {
    ($field:literal) => {
        concat!(
            nearest!(@own $field),
            " AS ",
            $field,
            ", ",
            nearest!($field, "b.tenant_id"),
            " AS ",
            $field,
            "_id, ",
            nearest!($field, "n.name"),
            " AS ",
            $field,
            "_from"
        )
    };
}

const EFFECTIVE_SQL: &str = concat!(
    "SELECT ",
    with_source!("product_name"),
    ", ",
    with_source!("primary_color"),
    ", ",
    with_source!("support_email"),
    ", ",
    with_source!("support_url"),
    ", ",
    nearest!("logo_etag", "b.logo_etag"),
    " AS logo_etag, ",
    nearest!("logo_etag", "b.tenant_id"),
    " AS logo_id, ",
    nearest!("logo_etag", "n.name"),
    " AS logo_from, ",
    nearest!("logo_etag", "b.logo_mime"),
    " AS logo_mime FROM tenant_paths p CROSS JOIN LATERAL unnest(p.path) WITH ORDINALITY AS u(id, ord) \
     JOIN ",
    branding_in_effect!(),
    " JOIN tenants n ON n.id = u.id WHERE p.tenant_id = $1"
);

impl Effective {
    /// The effective branding of `tenant_id`, in one statement.
    pub async fn of(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<Effective> {
        let r: EffectiveRow = diesel::sql_query(EFFECTIVE_SQL)
            .bind::<BigInt, _>(tenant_id)
            .get_result(conn)
            .await?;
        let field = |value, id: Option<i64>, name| Inherited {
            value,
            from: id.zip(name),
        };
        Ok(Effective {
            tenant_id,
            product_name: field(r.product_name, r.product_name_id, r.product_name_from),
            primary_color: field(r.primary_color, r.primary_color_id, r.primary_color_from),
            support_email: field(r.support_email, r.support_email_id, r.support_email_from),
            support_url: field(r.support_url, r.support_url_id, r.support_url_from),
            logo: field(r.logo_etag, r.logo_id, r.logo_from),
            logo_mime: r.logo_mime,
        })
    }

    /// What a frame, a login page or a mail shows of it.
    pub fn brand(&self) -> Brand {
        Brand {
            product_name: self.product_name.value.clone(),
            primary_color: self.primary_color.value.clone(),
            support_email: self.support_email.value.clone(),
            support_url: self.support_url.value.clone(),
            logo: self.logo.value.clone().map(|etag| (self.tenant_id, etag)),
        }
    }
}

/// A tenant's own branding row: what it sets itself (`None`: inherited).
#[derive(Clone, Debug, Default, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = tenant_branding, check_for_backend(Pg))]
pub struct OwnBranding {
    pub product_name: Option<String>,
    pub primary_color: Option<String>,
    pub support_email: Option<String>,
    pub support_url: Option<String>,
    pub logo: Option<Vec<u8>>,
    pub logo_mime: Option<String>,
    pub logo_etag: Option<String>,
}

impl OwnBranding {
    /// The tenant's own row, locked for the change (a default one, inserted, if it
    /// had none), so that two changes of its fields apply one after the other.
    pub async fn lock(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        now: DateTime<Utc>,
    ) -> QueryResult<OwnBranding> {
        diesel::insert_into(tenant_branding::table)
            .values((
                tenant_branding::tenant_id.eq(tenant_id),
                tenant_branding::updated_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        tenant_branding::table
            .find(tenant_id)
            .for_update()
            .select(OwnBranding::as_select())
            .get_result(conn)
            .await
    }

    /// The tenant's own row as stored (empty when it has none), in effect or not.
    pub async fn of(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<OwnBranding> {
        Ok(tenant_branding::table
            .find(tenant_id)
            .select(OwnBranding::as_select())
            .first(conn)
            .await
            .optional()?
            .unwrap_or_default())
    }

    /// Writes every column of the tenant's row.
    pub async fn write(
        &self,
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        now: DateTime<Utc>,
    ) -> QueryResult<usize> {
        diesel::update(tenant_branding::table.find(tenant_id))
            .set((
                tenant_branding::product_name.eq(&self.product_name),
                tenant_branding::primary_color.eq(&self.primary_color),
                tenant_branding::support_email.eq(&self.support_email),
                tenant_branding::support_url.eq(&self.support_url),
                tenant_branding::logo.eq(&self.logo),
                tenant_branding::logo_mime.eq(&self.logo_mime),
                tenant_branding::logo_etag.eq(&self.logo_etag),
                tenant_branding::updated_at.eq(now),
            ))
            .execute(conn)
            .await
    }

    /// A logo as served by its ETag (`domain::logo::Logo::etag`, a hash of its
    /// bytes): bytes, MIME type and ETag; any tenant's that stores it.
    pub async fn logo_by_etag(
        conn: &mut AsyncPgConnection,
        etag: &str,
    ) -> QueryResult<Option<ServedLogo>> {
        let row: Option<LogoRow> = diesel::sql_query(
            "SELECT logo, logo_mime, logo_etag FROM tenant_branding \
             WHERE logo_etag = $1 AND logo IS NOT NULL AND logo_mime IS NOT NULL LIMIT 1",
        )
        .bind::<Text, _>(etag)
        .get_result(conn)
        .await
        .optional()?;
        Ok(row.and_then(|r| {
            Some(ServedLogo {
                bytes: r.logo?,
                mime: r.logo_mime?,
                etag: r.logo_etag?,
            })
        }))
    }
}

#[derive(QueryableByName)]
struct LogoRow {
    #[diesel(sql_type = Nullable<diesel::sql_types::Binary>)]
    logo: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    logo_mime: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    logo_etag: Option<String>,
}

/// A logo as it is served: its bytes, MIME type and ETag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedLogo {
    pub bytes: Vec<u8>,
    pub mime: String,
    pub etag: String,
}
