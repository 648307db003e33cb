//! The versions of a tenant's rule set: the list, the difference between two, and
//! restoring one. Version 0 is the empty set with the default settings (before any
//! change); version v's rules are the temporal rows valid at v, its settings the
//! snapshot stored with it.

use super::{read, Change, Done};
use crate::auth::{authz, Principal};
use crate::db::models::rules::{head_version, Application, Domain, RuleRow, RuleSetVersion};
use crate::db::models::Tenant;
use crate::domain::activity::Action;
use crate::domain::rules::{
    diff as diff_sets, CredentialStuffing, RuleInput, RuleSetDiff, VersionKind,
};
use crate::domain::{Feature, Level};
use crate::error::AppError;
use diesel_async::AsyncPgConnection;
use std::collections::BTreeMap;

/// A version's content: its rules by rule id and its settings.
pub struct Content {
    pub rules: BTreeMap<i64, RuleInput>,
    pub settings: CredentialStuffing,
}

/// One version as the list shows it, with who made it named for its reader.
pub struct VersionLine {
    pub v: RuleSetVersion,
    pub by: String,
}

/// Who made a version, as `p` may be told (`authz::actor_for`).
fn made_by(p: &Principal, v: &RuleSetVersion, home: Option<&Tenant>) -> String {
    authz::actor_for(p, v.actor_user_id, home, &v.actor_login)
}

/// Page `page_no` (from 1) of the tenant's versions, newest first, and how many
/// there are (Rules read; the caller checked the lock), each naming who made it
/// as `p` may know them.
pub async fn page(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    page_no: i64,
    per_page: i64,
) -> Result<(i64, Vec<VersionLine>), AppError> {
    authz::require(p, tenant, Feature::Rules, Level::Read)?;
    let (total, rows) = RuleSetVersion::list(conn, tenant.id, page_no, per_page).await?;
    let lines = rows
        .into_iter()
        .map(|(v, home)| VersionLine {
            by: made_by(p, &v, home.as_ref()),
            v,
        })
        .collect();
    Ok((total, lines))
}

/// Version `version` of the tenant's rule set (404 past the current one).
pub async fn content(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    version: i64,
) -> Result<Content, AppError> {
    if version < 0 || version > head_version(conn, tenant_id).await? {
        return Err(AppError::NotFound);
    }
    let settings = settings_at(conn, tenant_id, version).await?;
    let rules = RuleRow::at_version(conn, tenant_id, version)
        .await?
        .into_iter()
        .map(|r| (r.rule_id, r.content()))
        .collect();
    Ok(Content { rules, settings })
}

/// The credential-stuffing settings as version `version` left them (version 0:
/// the defaults).
pub async fn settings_at(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    version: i64,
) -> Result<CredentialStuffing, AppError> {
    if version == 0 {
        return Ok(CredentialStuffing::default());
    }
    let v = RuleSetVersion::find(conn, tenant_id, version).await?;
    Ok(CredentialStuffing::from_json(&v.settings))
}

/// What changed from version `from` to version `to` (Rules read, not locked).
pub async fn diff(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    from: i64,
    to: i64,
) -> Result<RuleSetDiff, AppError> {
    read(conn, p, tenant).await?;
    let a = content(conn, tenant.id, from).await?;
    let b = content(conn, tenant.id, to).await?;
    Ok(diff_sets(&a.rules, &b.rules, (&a.settings, &b.settings)))
}

/// The names of the tenant's applications and domains by id, for the diff to name
/// them rather than show ids (Rules read). Applications and domains are not
/// versioned: these are the current names, and an id missing here was deleted.
pub async fn object_names(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
) -> Result<ObjectNames, AppError> {
    read(conn, p, tenant).await?;
    Ok(ObjectNames {
        applications: Application::all(conn, tenant.id)
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect(),
        domains: Domain::all(conn, tenant.id)
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect(),
    })
}

/// A tenant's applications' and domains' current names by id.
#[derive(Clone, Debug, Default)]
pub struct ObjectNames {
    pub applications: BTreeMap<i64, String>,
    pub domains: BTreeMap<i64, String>,
}

impl ObjectNames {
    /// "Shop", or "application 3 (deleted)".
    pub fn application(&self, id: i64) -> String {
        self.applications
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("application {id} (deleted)"))
    }

    /// "shop.example.com", or "domain 3 (deleted)".
    pub fn domain(&self, id: i64) -> String {
        self.domains
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("domain {id} (deleted)"))
    }
}

/// The versions between `from` and `to` (either order) that changed applications
/// or domains, which are not part of a version's content, as (version, summary):
/// the diff names them beside the rules' and settings' differences (at most 200).
pub async fn object_changes(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, String)>, AppError> {
    read(conn, p, tenant).await?;
    let rows =
        RuleSetVersion::edits_between(conn, tenant.id, from.min(to), from.max(to), 200).await?;
    Ok(rows
        .into_iter()
        .filter(|v| super::is_object_change(&v.summary))
        .map(|v| (v.version, v.summary))
        .collect())
}

/// Makes a new version (kind `restore`) equal in content to `version`: the same
/// rules under the same rule ids, the same settings. Rules whose application or
/// domain was deleted since come back unbound. Returns the new version's number
/// (the current one when nothing differs).
pub async fn restore(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    version: i64,
) -> Result<i64, AppError> {
    super::run(
        c,
        conn,
        VersionKind::Restore,
        Action::RuleSetRestore,
        async |conn, next| {
            let target = content(conn, c.tenant.id, version).await?;
            let current: BTreeMap<i64, RuleInput> = RuleRow::current(conn, c.tenant.id)
                .await?
                .into_iter()
                .map(|r| (r.rule_id, r.content()))
                .collect();
            let settings = super::settings(conn, c.tenant.id).await?;
            let d = diff_sets(&current, &target.rules, (&settings, &target.settings));
            if d == RuleSetDiff::default() {
                return Ok(Done {
                    value: next - 1,
                    summary: None,
                    audit: serde_json::Value::Null,
                });
            }
            let closed: Vec<i64> = d
                .removed
                .iter()
                .map(|(id, _)| *id)
                .chain(d.changed.iter().map(|(id, _)| *id))
                .collect();
            RuleRow::close(conn, c.tenant.id, &closed, next).await?;
            let inserted: Vec<(Option<i64>, &RuleInput)> = d
                .added
                .iter()
                .map(|(id, _)| *id)
                .chain(d.changed.iter().map(|(id, _)| *id))
                .filter_map(|id| target.rules.get(&id).map(|r| (Some(id), r)))
                .collect();
            RuleRow::insert_many(conn, c.tenant.id, &inserted, next).await?;
            if !d.settings.is_empty() {
                crate::db::models::rules::save_settings(conn, c.tenant.id, &target.settings, c.now)
                    .await?;
            }
            Ok(Done {
                value: next,
                summary: Some(format!("Restored version {version}")),
                audit: serde_json::json!({
                    "restored": version,
                    "added": d.added.len(), "removed": d.removed.len(), "changed": d.changed.len(),
                    "settings_changed": !d.settings.is_empty(),
                }),
            })
        },
    )
    .await
}
