//! A tenant's protection configuration: applications, domains, rules and
//! credential-stuffing settings, and the versions of its rule set. Every write is
//! one transaction that first takes the tenant's rule-set head through the one
//! guard ([`lock::begin`]: 423 while a migration holds the tenant), then changes,
//! then records exactly one new version (`rule_set_versions`, with the settings as
//! they stand after it) and one audit event. Reads need Rules read and refuse a
//! locked tenant too ([`read`]). Rights: Rules read to read, Rules full to write
//! (`authz::require`); the caller has checked visibility (404).

pub mod lock;
pub mod versions;

use crate::auth::{authz, Principal};
use crate::db::models::rules::{
    self as model, Application, Domain, NewVersion, RuleRow, RuleSetVersion,
};
use crate::db::models::Tenant;
use crate::db::transaction::in_transaction;
use crate::domain::activity::Action;
use crate::domain::rules::{
    CredentialStuffing, RuleInput, VersionKind, DOMAIN_ELSEWHERE, NOT_OURS,
};
use crate::domain::{Feature, Level, TenantName};
use crate::error::{AppError, FieldErrors};
use diesel::OptionalExtension;
use diesel_async::AsyncPgConnection;
use std::collections::HashMap;

pub use super::change::Change;

/// What a change's body did: its result, the version's summary (`None`: nothing
/// changed, no version), and the audit event's `after`.
struct Done<T> {
    value: T,
    summary: Option<String>,
    audit: serde_json::Value,
}

/// Runs `body` as one change: Rules full (403), one transaction, the guard,
/// `body` with the new version's number, then the version and the audit event.
async fn run<T>(
    c: &Change<'_>,
    conn: &mut AsyncPgConnection,
    kind: VersionKind,
    action: Action,
    body: impl AsyncFnOnce(&mut AsyncPgConnection, i64) -> Result<Done<T>, AppError>,
) -> Result<T, AppError> {
    authz::require(c.p, c.tenant, Feature::Rules, Level::Full)?;
    let tenant_id = c.tenant.id;
    in_transaction(conn, async |conn| {
        let head = lock::begin(conn, c.p, tenant_id, c.now).await?;
        let next = head + 1;
        let done = body(conn, next).await?;
        if let Some(summary) = &done.summary {
            let settings = model::settings(conn, tenant_id).await?.unwrap_or_default();
            RuleSetVersion::record(
                conn,
                tenant_id,
                NewVersion {
                    version: next,
                    generation: None,
                    actor_user_id: c.actor.user_id,
                    actor_login: &c.actor.login,
                    kind,
                    summary,
                    settings: settings.to_json(),
                },
                c.now,
            )
            .await?;
            let mut event = c.actor.event(action, Some(tenant_id));
            event.after = Some(serde_json::json!({
                "version": next, "summary": summary, "change": done.audit,
            }));
            event.record(conn).await?;
        }
        Ok(done.value)
    })
    .await
}

/// Rules read on `tenant` (403) and not locked (423): the prologue of every read.
pub async fn read(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
) -> Result<(), AppError> {
    authz::require(p, tenant, Feature::Rules, Level::Read)?;
    lock::check(conn, p, tenant.id).await
}

/// Rules full on `tenant` (403) and not locked (423): what a confirmation page
/// checks before asking, the same as the change it leads to.
pub async fn may_change(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
) -> Result<(), AppError> {
    authz::require(p, tenant, Feature::Rules, Level::Full)?;
    lock::check(conn, p, tenant.id).await
}

fn invalid<T>(fields: Result<T, FieldErrors>) -> Result<T, AppError> {
    fields.map_err(AppError::Validation)
}

// ---------------------------------------------------------------- applications

const APPLICATION_TAKEN: &str = "This tenant has an application of this name.";

pub async fn create_application(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    name: Result<TenantName, FieldErrors>,
) -> Result<Application, AppError> {
    run(
        c,
        conn,
        VersionKind::Edit,
        Action::ApplicationCreate,
        async |conn, _| {
            let name = invalid(name)?;
            if Application::name_taken(conn, c.tenant.id, name.as_str(), None).await? {
                return Err(AppError::field("name", APPLICATION_TAKEN));
            }
            let app = Application::insert(conn, c.tenant.id, name.as_str(), c.now).await?;
            Ok(Done {
                summary: Some(format!("{} {}", OBJECT_CHANGES[0], app.name)),
                audit: serde_json::json!({ "application_id": app.id, "name": app.name }),
                value: app,
            })
        },
    )
    .await
}

pub async fn update_application(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
    name: Result<TenantName, FieldErrors>,
) -> Result<Application, AppError> {
    run(c, conn, VersionKind::Edit, Action::ApplicationUpdate, async |conn, _| {
        let old = Application::find(conn, c.tenant.id, id).await?;
        let name = invalid(name)?;
        if Application::name_taken(conn, c.tenant.id, name.as_str(), Some(id)).await? {
            return Err(AppError::field("name", APPLICATION_TAKEN));
        }
        let app = Application::rename(conn, c.tenant.id, id, name.as_str(), c.now).await?;
        Ok(Done {
            summary: Some(format!("{} {} to {}", OBJECT_CHANGES[1], old.name, app.name)),
            audit: serde_json::json!({ "application_id": id, "before": old.name, "name": app.name }),
            value: app,
        })
    })
    .await
}

/// Deletes an application no current rule uses (else 409 naming how many do);
/// its domains are unbound, and older versions' rules lose it.
pub async fn delete_application(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
) -> Result<Application, AppError> {
    run(
        c,
        conn,
        VersionKind::Edit,
        Action::ApplicationDelete,
        async |conn, _| {
            let app = Application::find(conn, c.tenant.id, id).await?;
            let used = RuleRow::count_using_application(conn, c.tenant.id, id).await?;
            if used > 0 {
                return Err(AppError::Conflict(in_use("application", &app.name, used)));
            }
            Application::delete(conn, c.tenant.id, id).await?;
            Ok(Done {
                summary: Some(format!("{} {}", OBJECT_CHANGES[2], app.name)),
                audit: serde_json::json!({ "application_id": id, "name": app.name }),
                value: app,
            })
        },
    )
    .await
}

/// How the summaries of application and domain changes begin (the versions diff
/// finds them by it: versions hold no copy of applications and domains).
const OBJECT_CHANGES: [&str; 6] = [
    "Created application",
    "Renamed application",
    "Deleted application",
    "Created domain",
    "Changed domain",
    "Deleted domain",
];

/// Does a version's summary tell of an application or domain change?
pub fn is_object_change(summary: &str) -> bool {
    OBJECT_CHANGES.iter().any(|p| {
        summary
            .strip_prefix(p)
            .is_some_and(|rest| rest.starts_with(' '))
    })
}

/// A domain's change of application, in words (empty when it keeps its own).
async fn rebinding(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    before: Option<i64>,
    after: Option<i64>,
) -> Result<String, AppError> {
    if before == after {
        return Ok(String::new());
    }
    let mut names = Vec::new();
    for id in [before, after] {
        names.push(match id {
            Some(id) => match Application::find(conn, tenant_id, id).await.optional()? {
                Some(a) => format!("application {}", a.name),
                None => format!("application #{id}"),
            },
            None => "no application".to_string(),
        });
    }
    Ok(format!(" ({} → {})", names[0], names[1]))
}

fn in_use(what: &str, name: &str, rules: i64) -> String {
    format!(
        "The {what} {name} cannot be deleted: {}. Change or delete those rules first.",
        rules_use_it(rules, "")
    )
}

/// "1 rule uses it" / "3 rules use it", with `how` after "it".
fn rules_use_it(rules: i64, how: &str) -> String {
    if rules == 1 {
        format!("1 rule uses it{how}")
    } else {
        format!("{rules} rules use it{how}")
    }
}

/// Why a domain cannot be bound to another application.
fn rebind_refused(name: &str, rules: i64) -> String {
    format!(
        "The domain {name} cannot be bound to this application: {}. Change or delete those rules first.",
        rules_use_it(rules, " with another application")
    )
}

// ---------------------------------------------------------------- domains

/// A domain's fields: a host name (`domain_name::parse_host_name`) and an
/// optional application of the tenant's.
#[derive(Clone, Debug)]
pub struct DomainInput {
    pub name: String,
    pub application_id: Option<i64>,
}

impl DomainInput {
    pub fn parse(name: &str, application_id: Option<i64>) -> Result<Self, FieldErrors> {
        match crate::domain::domain_name::parse_host_name(name) {
            Ok(Some(name)) => Ok(DomainInput {
                name,
                application_id,
            }),
            Ok(None) => Err(FieldErrors::from([(
                "name",
                "Enter a domain name, such as shop.example.com.".to_string(),
            )])),
            Err(e) => Err(FieldErrors::from([("name", e)])),
        }
    }
}

const DOMAIN_TAKEN: &str = "This tenant has this domain already.";

async fn check_domain(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    input: &DomainInput,
    except: Option<i64>,
) -> Result<(), AppError> {
    if let Some(app) = input.application_id {
        if Application::find(conn, tenant_id, app).await.is_err() {
            return Err(AppError::field("application_id", NOT_OURS[0]));
        }
    }
    if Domain::name_taken(conn, tenant_id, &input.name, except).await? {
        return Err(AppError::field("name", DOMAIN_TAKEN));
    }
    Ok(())
}

pub async fn create_domain(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    input: Result<DomainInput, FieldErrors>,
) -> Result<Domain, AppError> {
    run(c, conn, VersionKind::Edit, Action::DomainCreate, async |conn, _| {
        let input = invalid(input)?;
        check_domain(conn, c.tenant.id, &input, None).await?;
        let d = Domain::insert(conn, c.tenant.id, &input.name, input.application_id, c.now).await?;
        Ok(Done {
            summary: Some(format!("{} {}", OBJECT_CHANGES[3], d.name)),
            audit: serde_json::json!({ "domain_id": d.id, "name": d.name, "application_id": d.application_id }),
            value: d,
        })
    })
    .await
}

pub async fn update_domain(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
    input: Result<DomainInput, FieldErrors>,
) -> Result<Domain, AppError> {
    run(
        c,
        conn,
        VersionKind::Edit,
        Action::DomainUpdate,
        async |conn, _| {
            let old = Domain::find(conn, c.tenant.id, id).await?;
            let input = invalid(input)?;
            check_domain(conn, c.tenant.id, &input, Some(id)).await?;
            // Bound to another application, the domain would contradict the rules that
            // name it with theirs (and refuse their every edit). Unbound, it constrains
            // nothing: the rules keep their application.
            if let Some(app) = input
                .application_id
                .filter(|a| old.application_id != Some(*a))
            {
                let used =
                    RuleRow::count_using_domain_elsewhere(conn, c.tenant.id, id, app).await?;
                if used > 0 {
                    return Err(AppError::Conflict(rebind_refused(&old.name, used)));
                }
            }
            let rebound =
                rebinding(conn, c.tenant.id, old.application_id, input.application_id).await?;
            let d = Domain::update(
                conn,
                c.tenant.id,
                id,
                &input.name,
                input.application_id,
                c.now,
            )
            .await?;
            Ok(Done {
                summary: Some(format!("{} {}{rebound}", OBJECT_CHANGES[4], d.name)),
                audit: serde_json::json!({
                    "domain_id": id,
                    "before": { "name": old.name, "application_id": old.application_id },
                    "name": d.name, "application_id": d.application_id,
                }),
                value: d,
            })
        },
    )
    .await
}

/// Deletes a domain no current rule uses (else 409 naming how many do).
pub async fn delete_domain(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    id: i64,
) -> Result<Domain, AppError> {
    run(
        c,
        conn,
        VersionKind::Edit,
        Action::DomainDelete,
        async |conn, _| {
            let d = Domain::find(conn, c.tenant.id, id).await?;
            let used = RuleRow::count_using_domain(conn, c.tenant.id, id).await?;
            if used > 0 {
                return Err(AppError::Conflict(in_use("domain", &d.name, used)));
            }
            Domain::delete(conn, c.tenant.id, id).await?;
            Ok(Done {
                summary: Some(format!("{} {}", OBJECT_CHANGES[5], d.name)),
                audit: serde_json::json!({ "domain_id": id, "name": d.name }),
                value: d,
            })
        },
    )
    .await
}

// ---------------------------------------------------------------- rules

/// The tenant's applications and domains (id → the domain's application), to
/// check rules' ids against.
struct Bindings {
    applications: Vec<i64>,
    domains: HashMap<i64, Option<i64>>,
}

impl Bindings {
    async fn load(conn: &mut AsyncPgConnection, tenant_id: i64) -> Result<Self, AppError> {
        Ok(Bindings {
            applications: Application::all(conn, tenant_id)
                .await?
                .into_iter()
                .map(|a| a.id)
                .collect(),
            domains: Domain::all(conn, tenant_id)
                .await?
                .into_iter()
                .map(|d| (d.id, d.application_id))
                .collect(),
        })
    }

    /// The rule's field errors about its application and domain: not the tenant's
    /// (missing or another tenant's, the same message), or a domain bound to
    /// another application.
    fn check(&self, rule: &RuleInput) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        if let Some(app) = rule.application_id {
            if !self.applications.contains(&app) {
                errors.insert("application_id", NOT_OURS[0].into());
            }
        }
        if let Some(domain) = rule.domain_id {
            match self.domains.get(&domain) {
                None => {
                    errors.insert("domain_id", NOT_OURS[1].into());
                }
                Some(Some(bound)) if rule.application_id.is_some_and(|a| a != *bound) => {
                    errors.insert("domain_id", DOMAIN_ELSEWHERE.into());
                }
                Some(_) => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn rule_json(rule_id: i64, r: &RuleInput) -> serde_json::Value {
    serde_json::json!({ "rule_id": rule_id, "rule": r })
}

pub async fn create_rule(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    input: Result<RuleInput, FieldErrors>,
) -> Result<RuleRow, AppError> {
    run(
        c,
        conn,
        VersionKind::Edit,
        Action::RuleCreate,
        async |conn, next| {
            let input = invalid(input)?;
            Bindings::load(conn, c.tenant.id)
                .await?
                .check(&input)
                .map_err(AppError::Validation)?;
            let row = RuleRow::insert_many(conn, c.tenant.id, &[(None, &input)], next)
                .await?
                .pop()
                .ok_or(AppError::NotFound)?;
            Ok(Done {
                summary: Some(format!(
                    "Created rule #{} ({} {})",
                    row.rule_id, row.kind, row.value
                )),
                audit: rule_json(row.rule_id, &input),
                value: row,
            })
        },
    )
    .await
}

/// Saves rule `rule_id`: its current row is closed and the new content inserted
/// under the same id. Saving unchanged content changes nothing (no version).
pub async fn update_rule(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    rule_id: i64,
    input: Result<RuleInput, FieldErrors>,
) -> Result<RuleRow, AppError> {
    run(c, conn, VersionKind::Edit, Action::RuleUpdate, async |conn, next| {
        let old = RuleRow::find_current(conn, c.tenant.id, rule_id).await?;
        let input = invalid(input)?;
        Bindings::load(conn, c.tenant.id)
            .await?
            .check(&input)
            .map_err(AppError::Validation)?;
        if old.content() == input {
            return Ok(Done {
                value: old,
                summary: None,
                audit: serde_json::Value::Null,
            });
        }
        RuleRow::close(conn, c.tenant.id, &[rule_id], next).await?;
        let row = RuleRow::insert_many(conn, c.tenant.id, &[(Some(rule_id), &input)], next)
            .await?
            .pop()
            .ok_or(AppError::NotFound)?;
        Ok(Done {
            summary: Some(format!("Changed rule #{rule_id}")),
            audit: serde_json::json!({ "rule_id": rule_id, "before": old.content(), "rule": input }),
            value: row,
        })
    })
    .await
}

pub async fn delete_rule(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    rule_id: i64,
) -> Result<RuleRow, AppError> {
    run(
        c,
        conn,
        VersionKind::Edit,
        Action::RuleDelete,
        async |conn, next| {
            let old = RuleRow::find_current(conn, c.tenant.id, rule_id).await?;
            RuleRow::close(conn, c.tenant.id, &[rule_id], next).await?;
            Ok(Done {
                summary: Some(format!(
                    "Deleted rule #{rule_id} ({} {})",
                    old.kind, old.value
                )),
                audit: rule_json(rule_id, &old.content()),
                value: old,
            })
        },
    )
    .await
}

/// Creates every valid rule of `inputs` in one version (kind `batch`), each
/// answered on its own: the rule, or why it was refused. A batch with no valid
/// rule makes no version.
pub async fn create_rules(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    inputs: Vec<Result<RuleInput, FieldErrors>>,
) -> Result<Vec<Result<RuleRow, AppError>>, AppError> {
    run(
        c,
        conn,
        VersionKind::Batch,
        Action::RuleBatch,
        async |conn, next| {
            let bindings = Bindings::load(conn, c.tenant.id).await?;
            let checked: Vec<Result<RuleInput, FieldErrors>> = inputs
                .into_iter()
                .map(|r| r.and_then(|r| bindings.check(&r).map(|()| r)))
                .collect();
            let valid: Vec<(Option<i64>, &RuleInput)> = checked
                .iter()
                .filter_map(|r| r.as_ref().ok().map(|r| (None, r)))
                .collect();
            let n = valid.len();
            let mut rows = RuleRow::insert_many(conn, c.tenant.id, &valid, next)
                .await?
                .into_iter();
            let results: Vec<Result<RuleRow, AppError>> = checked
                .into_iter()
                .map(|r| match r {
                    Ok(_) => rows.next().ok_or(AppError::NotFound),
                    Err(e) => Err(AppError::Validation(e)),
                })
                .collect();
            Ok(Done {
                summary: (n > 0).then(|| format!("Created {n} rules (batch)")),
                audit: serde_json::json!({ "created": n }),
                value: results,
            })
        },
    )
    .await
}

// ---------------------------------------------------------------- settings

/// The tenant's credential-stuffing settings (the defaults until saved).
pub async fn settings(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
) -> Result<CredentialStuffing, AppError> {
    Ok(model::settings(conn, tenant_id).await?.unwrap_or_default())
}

pub async fn save_settings(
    conn: &mut AsyncPgConnection,
    c: &Change<'_>,
    input: Result<CredentialStuffing, FieldErrors>,
) -> Result<CredentialStuffing, AppError> {
    run(
        c,
        conn,
        VersionKind::Edit,
        Action::CredentialStuffingSave,
        async |conn, _| {
            let input = invalid(input)?;
            let old = settings(conn, c.tenant.id).await?;
            if old == input {
                return Ok(Done {
                    value: input,
                    summary: None,
                    audit: serde_json::Value::Null,
                });
            }
            model::save_settings(conn, c.tenant.id, &input, c.now).await?;
            Ok(Done {
                summary: Some("Saved the credential-stuffing settings".into()),
                audit: serde_json::json!({ "before": old, "settings": input }),
                value: input,
            })
        },
    )
    .await
}
