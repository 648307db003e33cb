//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations and
//! the DTOs (utoipa), served at `GET /api/v1/openapi.json` without a token.

use super::activity::{ActivityChange, ActivityEvent, ActivityEventPage};
use super::batch::{BatchRequest, BatchResponse, BatchResult, Operation};
use super::branding::{
    BrandingBody, BrandingFieldJson, BrandingJson, BrandingKeptJson, BrandingSourceJson, LogoFile,
};
use super::bulk::{BulkFilter, BulkItem, BulkOutcome, BulkRequest, BulkResponse, BulkScope};
use super::migrations::{MigrationJson, MigrationPage, StartMigration};
use super::network::{
    DeviceBody, DeviceJson, DevicePage, DevicePatch, ResolverBody, ResolverJson, ResolverPage,
    ResolverPatch, SubnetBody, SubnetJson, SubnetPage, SubnetPatch,
};
use super::plans::{PlanBody, PlanJson, PlanPage, PlanPatch, SavedPlanJson};
use super::policies::{
    EffectiveKind, EffectivePolicies, EffectiveReason, PolicyBody, PolicyChanged, PolicyJson,
    PolicyPage, PolicyPatch, ShadowedPolicy,
};
use super::resources::{
    CloudBody, CloudJson, CloudPage, CloudPatch, InstanceBody, InstanceJson, InstancePage,
    InstancePatch, LimitSource, TenantUsageJson, UsageMeasureJson,
};
use super::rules::{
    ApplicationBody, ApplicationJson, ApplicationPage, DomainBody, DomainJson, DomainPage,
    DomainPatch, NodeCredentialStuffing, NodeRule, RuleBatch, RuleBody, RuleJson, RulePage,
    RulePatch, RuleSetJson,
};
use super::stats::{StatsItem, StatsPage};
use super::tenants::{
    ApproveDomain, CreateTenant, EffectiveLimitJson, EffectiveLimitsJson, MoveTenant,
    SavedTenantJson, TenantJson, TenantPage, TenantPlanJson, UpdateTenant,
};
use super::usage::{TenantRefJson, UsageAnswer, UsageBatch, UsageEventJson, UsageRejection};
use crate::domain::domain_name::DomainStatus;
use crate::domain::policy::{ClearedCounts, Enforcement, PolicyKind};
use crate::domain::resources::{CloudProvider, CloudVisibility, InstanceStatus};
use crate::domain::rules::{RuleAction, RuleKind};
use crate::domain::sorting::{
    CloudSort, DeviceSort, InstanceSort, ResolverSort, SortDir, SubnetSort,
};
use crate::domain::usage;
use crate::error::Blocker;
use crate::web::error_response::ProblemDocument;
use crate::web::routes::{route, Route};
use actix_web::HttpResponse;
use serde_json::{json, Value};
use utoipa::openapi::path::{HttpMethod, Operation as Op};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

pub fn routes() -> Vec<Route> {
    vec![route!(GET "/api/v1/openapi.json" => document)]
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tenantry Manage Tenants API",
        description = "Manage the tenant tree: list, read, create, update, move and delete tenants, \
                       one by one or in batches. Authenticate with a personal API token \
                       (`Authorization: Bearer …`, created at /profile/tokens). Errors are \
                       `application/problem+json` (RFC 9457) with a stable `type` per kind.",
        version = "1"
    ),
    paths(
        super::tenants::list,
        super::tenants::create,
        super::tenants::show,
        super::tenants::update,
        super::tenants::delete,
        super::tenants::move_tenant,
        super::tenants::verify_domain,
        super::tenants::approve_domain,
        super::activity::list,
        super::stats::list,
        super::batch::batch,
        super::bulk::bulk,
        super::usage::ingest,
        super::rules::list_applications,
        super::rules::create_application,
        super::rules::show_application,
        super::rules::update_application,
        super::rules::delete_application,
        super::rules::list_domains,
        super::rules::create_domain,
        super::rules::show_domain,
        super::rules::update_domain,
        super::rules::delete_domain,
        super::rules::list_rules,
        super::rules::create_rule,
        super::rules::batch_rules,
        super::rules::show_rule,
        super::rules::update_rule,
        super::rules::delete_rule,
        super::rules::ruleset,
        super::migrations::start,
        super::migrations::list,
        super::migrations::show,
        super::migrations::rollback,
        super::migrations::retry,
        super::resources::list_clouds,
        super::resources::create_cloud,
        super::resources::show_cloud,
        super::resources::update_cloud,
        super::resources::delete_cloud,
        super::resources::show_usage,
        super::resources::list_instances,
        super::resources::create_instance,
        super::resources::show_instance,
        super::resources::update_instance,
        super::resources::delete_instance,
        super::network::list_resolvers,
        super::network::create_resolver,
        super::network::show_resolver,
        super::network::update_resolver,
        super::network::delete_resolver,
        super::network::list_devices,
        super::network::create_device,
        super::network::show_device,
        super::network::update_device,
        super::network::delete_device,
        super::network::list_subnets,
        super::network::create_subnet,
        super::network::show_subnet,
        super::network::update_subnet,
        super::network::delete_subnet,
        super::policies::list_policies,
        super::policies::create_policy,
        super::policies::effective_policies,
        super::policies::show_policy,
        super::policies::update_policy,
        super::policies::delete_policy,
        super::policies::override_policy,
        super::branding::show,
        super::branding::update,
        super::branding::put_logo,
        super::branding::delete_logo,
        super::plans::list,
        super::plans::create,
        super::plans::show,
        super::plans::replace,
        super::plans::patch,
        super::plans::delete,
    ),
    components(schemas(
        TenantJson, TenantPlanJson, EffectiveLimitsJson, EffectiveLimitJson, SavedTenantJson, TenantPage, CreateTenant, UpdateTenant, MoveTenant, BatchRequest,
        Operation, BatchResult, BatchResponse, ProblemDocument, Blocker, DomainStatus,
        ApproveDomain, ActivityEvent, ActivityEventPage, ActivityChange, BulkRequest, BulkFilter,
        BulkScope, BulkResponse, BulkItem, BulkOutcome, UsageBatch, UsageEventJson, TenantRefJson,
        UsageAnswer, UsageRejection, StatsItem, StatsPage, ApplicationJson, ApplicationBody,
        ApplicationPage, DomainJson, DomainBody, DomainPatch, DomainPage, RuleJson, RuleBody,
        RulePatch, RuleBatch, RulePage, RuleSetJson, NodeRule, NodeCredentialStuffing, RuleKind,
        RuleAction, MigrationJson, MigrationPage, StartMigration, CloudJson, CloudBody, CloudPatch,
        CloudPage, TenantUsageJson, UsageMeasureJson, LimitSource, InstanceJson, InstanceBody, InstancePatch, InstancePage, CloudProvider,
        CloudVisibility, InstanceStatus, ResolverJson, ResolverBody,
        ResolverPatch, ResolverPage, DeviceJson, DeviceBody, DevicePatch, DevicePage, SubnetJson,
        SubnetBody, SubnetPatch, SubnetPage, PolicyJson, PolicyBody, PolicyPatch, PolicyPage,
        PolicyChanged, ClearedCounts, EffectivePolicies, EffectiveKind, EffectiveReason, ShadowedPolicy,
        PolicyKind, Enforcement, BrandingJson, BrandingFieldJson, BrandingSourceJson, BrandingKeptJson,
        BrandingBody, LogoFile, PlanJson, SavedPlanJson, PlanBody, PlanPatch, PlanPage, InstanceSort, CloudSort,
        ResolverSort, DeviceSort, SubnetSort, SortDir
    )),
    modifiers(&Security, &Problems),
    tags(
        (name = "tenants", description = "The tenant tree"),
        (name = "rules", description = "A tenant's applications, domains, rules and the rule set nodes fetch"),
        (name = "resources", description = "A tenant's clouds (its own and those shared with it) and instances, within limits"),
        (name = "resources", description = "A tenant's resources: DNS resolvers, the devices that use them and the subnets they serve"),
        (name = "policies", description = "A tenant's policies and those it inherits from the tenants above it"),
        (name = "branding", description = "A tenant's product name, logo, colour and support contact, inherited down the tree"),
        (name = "plans", description = "Plans: the limits and options of the tenants on each (root Owners and Administrators only)"),
        (name = "usage", description = "Usage ingestion, with an ingestion key (created at /usage/keys) \
                                          instead of a personal API token; usage statistics, with a \
                                          personal API token")
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Adds the problem answers every operation may give, so clients (and schema
/// checkers) know each status and its `application/problem+json` body.
struct Problems;

impl Modify for Problems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ProblemDocument")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops: [(HttpMethod, &mut Option<Op>); 5] = [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Patch, &mut item.patch),
                (HttpMethod::Delete, &mut item.delete),
            ];
            for (method, op) in ops {
                let Some(op) = op.as_mut() else { continue };
                let mut codes = vec![
                    ("400", "Bad request: a malformed parameter or body (`errors` names a field of the wrong type or value)"),
                    ("401", "No usable token (missing, unknown, expired, revoked, or its user or tenant disabled)"),
                    ("403", "Visible, but the token's user may not do this (or a read-only token)"),
                    ("404", "No such tenant, or one the token's user may not see"),
                    ("405", "Method not allowed on this resource"),
                    ("409", "Conflict: try again (another change holds the tenants), or the delete is blocked"),
                    ("500", "Internal error (logged)"),
                    ("503", "The database cannot be reached"),
                ];
                if locks(path) {
                    codes.push(("423", "The tenant's rule configuration is locked by a rule-set migration (problem `locked`); nothing was read or changed"));
                }
                if method == HttpMethod::Get && has_param(op, "cursor") {
                    codes.push((
                        "422",
                        if has_param(op, "sort") {
                            "A `cursor` this list cannot continue from (`errors.cursor` says why: \
                             none of its `next_cursor`s, one read in another list, another \
                             tenant's list or another order — it names that order), or a `sort` \
                             or `dir` the list does not take (`errors.sort`, `errors.dir`)"
                        } else {
                            "A `cursor` this list cannot continue from (`errors.cursor` says why: \
                             none of its `next_cursor`s, or one read in another list or another \
                             tenant's list)"
                        },
                    ));
                }
                if method != HttpMethod::Get {
                    codes.push(("413", "The body is too large"));
                    codes.push(("415", "The body is not JSON"));
                    codes.push(("422", "Invalid values (see `errors`), a cycle, too many operations, or a reused Idempotency-Key"));
                }
                for (code, description) in codes {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| problem(description).into());
                }
            }
        }
    }
}

/// Whether `op` takes the query parameter `name` (a list's `cursor`: every cursor
/// the list cannot continue from answers 422, `tenants::refused_cursor`).
fn has_param(op: &Op, name: &str) -> bool {
    op.parameters.iter().flatten().any(|p| p.name == name)
}

/// Whether the operations of `path` answer 423 while a rule-set migration holds the
/// tenant: a tenant's applications, domains, rules and rule set, every operation
/// (reads too, `services::rules::read`), and the start of a migration.
fn locks(path: &str) -> bool {
    ["applications", "domains", "rules", "ruleset"]
        .iter()
        .any(|part| {
            let under = format!("/api/v1/tenants/{{id}}/{part}");
            path == under || path.starts_with(&format!("{under}/"))
        })
}

/// The OpenAPI document (JSON).
pub async fn document() -> HttpResponse {
    match serde_json::to_string(&document_json()) {
        Ok(body) => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("Cache-Control", "no-cache"))
            .body(body),
        Err(e) => crate::error::AppError::Unexpected(anyhow::Error::new(e)).problem_response(),
    }
}

// ---------------------------------------------------------------- constraints and names

/// White space as the server trims it (Rust's `char::is_whitespace`), as a regex class body.
const WS: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Control characters (`char::is_control`), as a regex class body.
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// Control characters but tab, line feed and carriage return.
const CONTROL_BUT_LINES: &str = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f";

/// `TenantName`: 1–100 characters once trimmed, no control characters.
fn name_pattern() -> String {
    format!("^[{WS}]*[^{WS}{CONTROL}](?:[^{CONTROL}]{{0,98}}[^{WS}{CONTROL}])?[{WS}]*$")
}

/// `Description`: at most 1,000 characters once trimmed, no control characters but
/// line breaks and tabs.
fn description_pattern() -> String {
    let c = CONTROL_BUT_LINES;
    format!("^[{WS}]*(?:[^{WS}{c}](?:[^{c}]{{0,998}}[^{WS}{c}])?)?[{WS}]*$")
}

/// `Subdomain`: a DNS label of lower-case letters, digits and hyphens, 1–63
/// characters once trimmed, no hyphen first or last, nor in the third and fourth
/// place (reserved names are excluded with `not`).
fn subdomain_pattern() -> String {
    let label = concat!(
        "[a-z0-9](?:[a-z0-9-]?[a-z0-9])?",
        "|[a-z0-9][a-z0-9-]{2}[a-z0-9]",
        "|[a-z0-9][a-z0-9-](?:[a-z0-9][a-z0-9-]|-[a-z0-9])[a-z0-9-]{0,58}[a-z0-9]",
    );
    format!("^[{WS}]*(?:{label})[{WS}]*$")
}

/// `parse_custom_domain`: empty (none), or two or more DNS labels, the last not all
/// digits, in any case, trailing dots ignored.
fn custom_domain_pattern() -> String {
    format!("^[{WS}]*(?:{})?\\.*[{WS}]*$", host_name())
}

/// Two or more DNS labels, the last not all digits, in any case.
fn host_name() -> String {
    dns_labels("")
}

/// Two or more DNS labels of letters, digits, hyphens (not first nor last) and
/// the characters `extra`, the last not all digits, in any case.
fn dns_labels(extra: &str) -> String {
    let (a, an) = (format!("A-Za-z{extra}"), format!("A-Za-z0-9{extra}"));
    let label = format!("[{an}](?:[{an}-]{{0,61}}[{an}])?");
    let top = format!(
        "[{a}](?:[{an}-]{{0,61}}[{an}])?|[0-9]{{1,61}}(?:[{a}]|[{a}-][{an}-]{{0,60}}[{an}])"
    );
    format!("(?:{label}\\.)+(?:{top})")
}

/// `parse_dns_name` (a line of an allow or deny list), not empty: a host name
/// whose labels may also hold underscores, trailing dots ignored.
fn dns_name_pattern() -> String {
    format!("^[{WS}]*{}\\.*[{WS}]*$", dns_labels("_"))
}

/// A rule's path (`rules::parse_path`): empty (none), or `/` then at most 999
/// characters without white space or control characters, around white space.
fn rule_path_pattern() -> String {
    format!("^[{WS}]*(?:/[^{WS}{CONTROL}]{{0,999}})?[{WS}]*$")
}

/// `parse_host_name`, not empty: two or more DNS labels, the last not all digits,
/// in any case, trailing dots ignored.
fn host_name_pattern() -> String {
    format!("^[{WS}]*{}\\.*[{WS}]*$", host_name())
}

/// A device's identifier (`network::parse_identifier`): 1–100 characters without
/// white space or control characters, around white space.
fn identifier_pattern() -> String {
    format!("^[{WS}]*[^{WS}{CONTROL}]{{1,100}}[{WS}]*$")
}

/// An IPv4 address as `std::net` reads one: four decimal octets, no leading zeros.
fn ipv4() -> String {
    let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    format!("{octet}(?:\\.{octet}){{3}}")
}

/// An IPv6 address as `std::net` reads one: eight groups of 1–4 hex digits, the
/// last two as an IPv4 address if wished, or fewer around one `::` standing for at
/// least one group (an IPv4 address only at the end).
fn ipv6() -> String {
    let h = "[0-9A-Fa-f]{1,4}";
    let v4 = ipv4();
    let mut forms = vec![format!("(?:{h}:){{7}}{h}"), format!("(?:{h}:){{6}}{v4}")];
    for head in 0..=7usize {
        let head_part = match head {
            0 => String::new(),
            n => format!("(?:{h}:){{{}}}{h}", n - 1),
        };
        let room = 7 - head;
        let mut tails = Vec::new();
        if room >= 1 {
            tails.push(format!("(?:{h}:){{0,{}}}{h}", room - 1));
        }
        if room >= 2 {
            tails.push(format!("(?:{h}:){{0,{}}}{v4}", room - 2));
        }
        let tail = if tails.is_empty() {
            String::new()
        } else {
            format!("(?:{})?", tails.join("|"))
        };
        forms.push(format!("{head_part}::{tail}"));
    }
    format!("(?:{})", forms.join("|"))
}

/// `network::parse_address`: one IPv4 or IPv6 address, around white space.
fn address_pattern() -> String {
    format!("^[{WS}]*(?:{}|{})[{WS}]*$", ipv4(), ipv6())
}

/// `network::parse_network`: an address, `/` and a prefix length without leading
/// zeros (0–32, 0–128), around white space. Host bits set are refused apart.
fn network_pattern() -> String {
    let p4 = "(?:3[0-2]|[12][0-9]|[0-9])";
    let p6 = "(?:12[0-8]|1[01][0-9]|[1-9][0-9]|[0-9])";
    format!("^[{WS}]*(?:{}/{p4}|{}/{p6})[{WS}]*$", ipv4(), ipv6())
}

/// A cursor as the server writes it: `after:<id>` in unpadded URL-safe base64, the
/// id at most 18 digits (each three digits encode to one of these four-character groups).
fn cursor_pattern() -> String {
    let (three, last) = digit_groups();
    format!("^YWZ0ZXI6(?:{three}){{0,5}}{last}$")
}

/// The cursor of the list inside one tenant at `path` (`tenants::encode_tenant_cursor`):
/// `after:`, the list's place in three digits (one group, fixed per list), the
/// tenant's id in 18 digits (six groups), then the row's id as above.
fn tenant_cursor_pattern(path: &str) -> String {
    use base64::Engine;
    let (three, last) = digit_groups();
    let list = super::tenants::ListOf::at(path, 0).list;
    let list = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{list:03}"));
    format!("^YWZ0ZXI6{list}(?:{three}){{6}}(?:{three}){{0,5}}{last}$")
}

/// The sort keys of the sortable list at `path` (`domain::sorting`), if it is one.
fn sort_keys(path: &str) -> Option<Vec<&'static str>> {
    use crate::domain::sorting::{
        CloudSort, DeviceSort, InstanceSort, ResolverSort, SortKey, SubnetSort,
    };
    fn names<K: SortKey>() -> Option<Vec<&'static str>> {
        Some(K::KEYS.iter().map(|k| k.name()).collect())
    }
    match path.rsplit('/').next()? {
        "instances" => names::<InstanceSort>(),
        "clouds" => names::<CloudSort>(),
        "resolvers" => names::<ResolverSort>(),
        "devices" => names::<DeviceSort>(),
        "subnets" => names::<SubnetSort>(),
        _ => None,
    }
}

/// The cursor of the sortable list at `path` (`owned::encode_sorted`): its cursor
/// of a row's id ([`tenant_cursor_pattern`]), then, past the order by id ascending,
/// `.key.dir.value` with the row's value in unpadded URL-safe base64.
fn sorted_cursor_pattern(path: &str, keys: &[&str]) -> String {
    let by_id = tenant_cursor_pattern(path);
    let by_id = by_id.trim_end_matches('$');
    format!(
        "{by_id}(?:\\.(?:id|{})\\.(?:asc|desc)\\.[A-Za-z0-9_-]*)?$",
        keys.join("|")
    )
}

/// Three digits in base64, and the last one to three digits of a number.
fn digit_groups() -> (String, String) {
    let lead = "(?:[MN][DTjz]|O[DT])";
    let three = format!("{lead}[AEIMQUYcgk][w-z0-5]");
    let two = format!("{lead}[AEIMQUYcgk]");
    let one = "(?:[MN][AQgw]|O[AQ])";
    let last = format!("(?:{three}|{two}|{one})");
    (three, last)
}

/// `label::parse_exact`: at most 20 labels, each in its exact form.
fn labels_constraints() -> Value {
    use crate::domain::label::{MAX_LEN, MAX_PER_TENANT, PATTERN};
    json!({
        "maxItems": MAX_PER_TENANT,
        "items": {"type": "string", "pattern": PATTERN, "maxLength": MAX_LEN},
    })
}

/// An id: a positive 64-bit integer.
fn id_constraints() -> Value {
    json!({"minimum": 1, "maximum": i64::MAX})
}

/// What the server enforces on request fields, by property name, for every request
/// body schema that has the property (JSON Schema cannot be derived from the parsers;
/// unit tests hold these against them).
fn body_constraints() -> Vec<(&'static str, Value)> {
    vec![
        ("name", json!({"pattern": name_pattern()})),
        ("description", json!({"pattern": description_pattern()})),
        (
            "subdomain",
            json!({"pattern": subdomain_pattern(), "not": {"enum": crate::domain::subdomain::RESERVED}}),
        ),
        ("custom_domain", json!({"pattern": custom_domain_pattern()})),
        ("parent_id", id_constraints()),
        ("id", id_constraints()),
        ("tenant_role_id", id_constraints()),
        (
            "operations",
            json!({"minItems": 1, "maxItems": super::batch::MAX_OPERATIONS}),
        ),
        ("labels", labels_constraints()),
        (
            "ids",
            json!({
                "minItems": 1,
                "maxItems": crate::services::tenants::bulk::MAX_SELECTION,
                "items": {"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX},
            }),
        ),
        ("label", label_constraints()),
        ("q", json!({"maxLength": 100})),
        ("parent", id_constraints()),
        ("within", id_constraints()),
        (
            "monthly_query_quota",
            json!({"minimum": 0, "maximum": i64::MAX}),
        ),
        (
            "max_users",
            json!({"minimum": 0, "maximum": crate::domain::user_limit::MAX}),
        ),
        (
            "batch_id",
            json!({"minLength": 1, "maxLength": usage::BATCH_ID_MAX, "pattern": "^[!-~]+$"}),
        ),
        ("events", json!({"maxItems": usage::MAX_EVENTS})),
        (
            "rules",
            json!({"minItems": 1, "maxItems": super::batch::MAX_OPERATIONS}),
        ),
        ("application_id", id_constraints()),
        ("domain_id", id_constraints()),
        ("target", id_constraints()),
        ("applications", mapping_constraints()),
        ("domains", mapping_constraints()),
        ("resolver_id", id_constraints()),
        ("identifier", json!({"pattern": identifier_pattern()})),
        ("address", json!({"pattern": address_pattern()})),
        ("cidr", json!({"pattern": network_pattern()})),
        ("policy_id", id_constraints()),
        ("path", json!({"pattern": rule_path_pattern()})),
        ("threshold", json!({"minimum": 1, "maximum": 10000})),
        ("cloud_id", id_constraints()),
        (
            "storage_limit_gb",
            json!({"minimum": 0, "maximum": crate::domain::resources::MAX_SIZE_GB * 1000}),
        ),
        (
            "memory_limit_gb",
            json!({"minimum": 0, "maximum": crate::domain::resources::MAX_SIZE_GB * 1000}),
        ),
        (
            "max_instances",
            json!({"minimum": 0, "maximum": crate::domain::resources::MAX_SIZE_GB * 1000}),
        ),
        ("owner_id", id_constraints()),
        (
            "storage_gb",
            json!({"minimum": 0, "maximum": crate::domain::resources::MAX_SIZE_GB}),
        ),
        (
            "memory_gb",
            json!({"minimum": 0, "maximum": crate::domain::resources::MAX_SIZE_GB}),
        ),
        (
            "assigned_tenant_ids",
            json!({
                "maxItems": 1000,
                "items": {"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX},
            }),
        ),
        ("window_minutes", json!({"minimum": 1, "maximum": 1440})),
        (
            "queries",
            json!({"minimum": 0, "maximum": usage::MAX_COUNT}),
        ),
        (
            "blocked",
            json!({"minimum": 0, "maximum": usage::MAX_COUNT}),
        ),
    ]
}

/// A migration's mapping: at most `MAX_MAPPED` source ids (keys written plainly)
/// to target ids or `null`.
fn mapping_constraints() -> Value {
    use super::migrations::{MAX_MAPPED, SOURCE_ID_PATTERN};
    json!({
        "type": "object",
        "maxProperties": MAX_MAPPED,
        "propertyNames": {"type": "string", "pattern": SOURCE_ID_PATTERN},
        "additionalProperties": {
            "type": ["integer", "null"], "format": "int64", "minimum": 1, "maximum": i64::MAX,
        },
    })
}

/// One label, in its exact form (`label::parse_exact`).
fn label_constraints() -> Value {
    json!({
        "pattern": crate::domain::label::PATTERN,
        "maxLength": crate::domain::label::MAX_LEN,
    })
}

/// Request body schemas (the API's answers are described as they are).
const REQUEST_SCHEMAS: &[&str] = &[
    "CreateTenant",
    "UpdateTenant",
    "MoveTenant",
    "BatchRequest",
    "CreateOperation",
    "UpdateOperation",
    "MoveOperation",
    "DeleteOperation",
    "BulkDisable",
    "BulkEnable",
    "BulkMove",
    "BulkAddLabel",
    "BulkRemoveLabel",
    "BulkFilter",
    "UsageBatch",
    "UsageEvent",
    "ApplicationBody",
    "DomainBody",
    "DomainPatch",
    "RuleBody",
    "RulePatch",
    "RuleBatch",
    "StartMigration",
    "CloudBody",
    "CloudPatch",
    "InstanceBody",
    "InstancePatch",
    "ResolverBody",
    "ResolverPatch",
    "DeviceBody",
    "DevicePatch",
    "SubnetBody",
    "SubnetPatch",
    "PolicyBody",
    "PolicyPatch",
    "PlanBody",
    "PlanPatch",
];

/// Schema names as a generated client shows them: `utoipa`'s name, the name given
/// (`ProblemDocument` lives in `error`, without `utoipa` naming).
const RENAMED: &[(&str, &str)] = &[("BTreeMap", "FieldErrors")];

/// The batch operations, in `Operation`'s order, each a named schema.
const OPERATIONS: &[&str] = &[
    "CreateOperation",
    "UpdateOperation",
    "MoveOperation",
    "DeleteOperation",
];

/// The bulk actions, in `BulkRequest`'s order, each a named schema.
const BULK_ACTIONS: &[&str] = &[
    "BulkDisable",
    "BulkEnable",
    "BulkMove",
    "BulkAddLabel",
    "BulkRemoveLabel",
];

/// The OpenAPI document as served: `ApiDoc` with readable schema names and every
/// constraint the server enforces on what it reads.
pub fn document_json() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    name_operations(&mut doc);
    for (from, to) in RENAMED {
        rename_schema(&mut doc, from, to);
    }
    let schemas = &mut doc["components"]["schemas"];
    if let Some(errors) = schemas.get_mut("FieldErrors") {
        errors["description"] = json!("Field name -> what is wrong with its value.");
    }
    for name in REQUEST_SCHEMAS {
        let Some(properties) = schemas[*name]["properties"].as_object_mut() else {
            continue;
        };
        for (field, constraints) in body_constraints() {
            if let (Some(property), Some(constraints)) =
                (properties.get_mut(field), constraints.as_object())
            {
                // A switch of the same name (`PlanBody.custom_domain`) is no text.
                if property["type"] == "boolean" {
                    continue;
                }
                for (k, v) in constraints {
                    property[k] = v.clone();
                }
            }
        }
    }
    // A domain's name is a host name, not a display name.
    for name in ["DomainBody", "DomainPatch"] {
        if let Some(property) = schemas[name]["properties"].get_mut("name") {
            property["pattern"] = json!(host_name_pattern());
        }
    }
    constrain_policies(schemas);
    // An event's tenant: an id, or a subdomain (a DNS label, any case).
    schemas["TenantRef"] = json!({
        "oneOf": [
            {"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX},
            {"type": "string", "minLength": 1, "maxLength": 63, "pattern": "^[A-Za-z0-9-]+$"},
        ],
    });
    branding_constraints(schemas);
    plan_replace(&mut doc);
    constrain_parameters(&mut doc);
    doc
}

/// A plan's `PUT` names every field (`PlanReplace`: `PlanBody` with all of them
/// required); a create leaves out what it wants unlimited or off.
fn plan_replace(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    let mut replace = schemas["PlanBody"].clone();
    if let Some(fields) = replace["properties"].as_object() {
        replace["required"] = json!(fields.keys().collect::<Vec<_>>());
    }
    schemas["PlanReplace"] = replace;
    doc["paths"]["/api/v1/plans/{id}"]["put"]["requestBody"]["content"]["application/json"]
        ["schema"] = json!({"$ref": "#/components/schemas/PlanReplace"});
}

/// A policy's settings (`PolicySettings::parse`, each checked whatever the kind):
/// `threshold` 0–100, `categories` and `regulatory` from their fixed lists,
/// `domains` host names; a new policy sends its kind's own (`oneOf` by `kind`).
fn constrain_policies(schemas: &mut Value) {
    use crate::domain::policy::{CATEGORIES, MAX_DOMAINS, REGULATORY_LISTS};
    // A PATCH refuses `null` for a setting (422); a create takes it as left out.
    for (name, null) in [("PolicyBody", true), ("PolicyPatch", false)] {
        let Some(properties) = schemas[name]["properties"].as_object_mut() else {
            continue;
        };
        let of = |t: &str| if null { json!([t, "null"]) } else { json!(t) };
        properties.insert(
            "threshold".into(),
            json!({"type": of("integer"), "minimum": 0, "maximum": 100}),
        );
        let choices = |list: &[&str]| json!({"type": of("array"), "minItems": 1, "items": {"type": "string", "enum": list}});
        properties.insert("categories".into(), choices(CATEGORIES));
        properties.insert("regulatory".into(), choices(REGULATORY_LISTS));
        // A name as DNS queries carry it (underscores taken), or one with non-ASCII
        // letters: an internationalised domain
        // (UTS 46, stored as punycode), which no pattern states exactly.
        properties.insert(
            "domains".into(),
            json!({
                "type": of("array"), "minItems": 1, "maxItems": MAX_DOMAINS,
                "items": {"type": "string", "anyOf": [
                    {"pattern": dns_name_pattern()},
                    {"pattern": "[^\\u0000-\\u007f]",
                     "description": "An internationalised domain name, stored as punycode."},
                ]},
            }),
        );
    }
    // A policy read names its kind's setting alone, by the requests' names.
    if let Some(properties) = schemas["Policy"]["properties"].as_object_mut() {
        let listed =
            |list: &[&str]| json!({"type": "array", "items": {"type": "string", "enum": list}});
        properties.insert("categories".into(), listed(CATEGORIES));
        properties.insert("regulatory".into(), listed(REGULATORY_LISTS));
    }
    let needs = |kind: &str, field: &str| json!({"properties": {"kind": {"const": kind}, field: {"type": field_type(field)}}, "required": [field]});
    schemas["PolicyBody"]["oneOf"] = json!([
        needs("blocking_threshold", "threshold"),
        needs("content_filter", "categories"),
        needs("regulatory", "regulatory"),
        needs("allow_list", "domains"),
        needs("deny_list", "domains"),
    ]);
}

/// The JSON type a policy setting takes once sent for its kind (not `null`).
fn field_type(field: &str) -> &'static str {
    if field == "threshold" {
        "integer"
    } else {
        "array"
    }
}

/// `BrandingBody`: every field required, a string as the server reads it or `null`.
/// The name and the colour are exactly `ProductName` and `Color`; the email address
/// and the web address are a bounded part of what `Email` and `SupportUrl` take
/// (their length limits are not a pattern's to state), so every value the schema
/// allows is saved.
fn branding_constraints(schemas: &mut Value) {
    let nullable = |pattern: String| json!({"type": ["string", "null"], "pattern": pattern});
    // `domain::text::is_invisible`.
    let invisible = r"\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff";
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?";
    let domain = format!("(?:{label}\\.){{1,4}}{label}");
    let url_chars = format!(r#"[^{WS}{CONTROL}"'<>\\`]"#);
    // A port from 1 to 65535 (`SupportUrl::parse`).
    let port =
        "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
    schemas["BrandingBody"]["properties"] = json!({
        "product_name": nullable(format!(
            "^[{WS}]*[^{WS}{CONTROL}{invisible}](?:[^{CONTROL}{invisible}]{{0,58}}[^{WS}{CONTROL}{invisible}])?[{WS}]*$"
        )),
        "primary_color": nullable(format!("^[{WS}]*#[0-9A-Fa-f]{{6}}[{WS}]*$")),
        "support_email": nullable(format!("^[{WS}]*[A-Za-z0-9._%+-]{{1,64}}@{domain}[{WS}]*$")),
        "support_url": nullable(format!(
            "^[{WS}]*[Hh][Tt][Tt][Pp][Ss]?://{domain}(?::{port})?(?:[/?#]{url_chars}{{0,100}})?[{WS}]*$"
        )),
    });
    schemas["BrandingBody"]["required"] = json!([
        "product_name",
        "primary_color",
        "support_email",
        "support_url"
    ]);
    schemas["BrandingBody"]["additionalProperties"] = json!(false);
}

/// `Operation`'s variants become the named schemas `CreateOperation` … (a generated
/// client would call them `OperationType0` …), each refusing unknown fields as the
/// server does.
fn name_operations(doc: &mut Value) {
    name_variants(doc, "Operation", OPERATIONS);
    name_variants(doc, "BulkRequest", BULK_ACTIONS);
    // Each bulk action takes `ids` or `filter`, exactly one of them.
    for name in BULK_ACTIONS {
        doc["components"]["schemas"][*name]["oneOf"] =
            json!([{"required": ["ids"]}, {"required": ["filter"]}]);
    }
}

/// The variants of the tagged enum `schema` become the named schemas `names`, each
/// refusing unknown fields as the server does.
fn name_variants(doc: &mut Value, schema: &str, names: &[&str]) {
    let schemas = &mut doc["components"]["schemas"];
    let Some(variants) = schemas[schema]["oneOf"].as_array_mut() else {
        return;
    };
    let mut named = Vec::new();
    for (variant, name) in variants.iter_mut().zip(names) {
        let mut schema = std::mem::replace(
            variant,
            json!({"$ref": format!("#/components/schemas/{name}")}),
        );
        schema["additionalProperties"] = json!(false);
        named.push((*name, schema));
    }
    for (name, schema) in named {
        schemas[name] = schema;
    }
}

fn rename_schema(doc: &mut Value, from: &str, to: &str) {
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    let Some(schema) = schemas.remove(from) else {
        return;
    };
    schemas.insert(to.to_string(), schema);
    let (old, new) = (
        format!("#/components/schemas/{from}"),
        format!("#/components/schemas/{to}"),
    );
    fn walk(v: &mut Value, old: &str, new: &str) {
        match v {
            Value::String(s) if s == old => *s = new.to_string(),
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, old, new)),
            Value::Object(map) => map.values_mut().for_each(|i| walk(i, old, new)),
            _ => {}
        }
    }
    walk(doc, &old, &new);
}

/// Ids in paths and queries, the cursor and the `Idempotency-Key` header.
fn constrain_parameters(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, operation) in paths.iter_mut() {
        let Some(operation) = operation.as_object_mut() else {
            continue;
        };
        // Lists inside one tenant page with cursors bound to it.
        let in_tenant = path.starts_with("/api/v1/tenants/{id}/");
        for op in operation.values_mut() {
            // `get_mut`, not indexing: indexing would add `"parameters": null` to an
            // operation without any (POST /api/v1/usage), which is not valid OpenAPI.
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for param in params {
                let constraints = match param["name"].as_str() {
                    Some(
                        "id" | "parent" | "subtree" | "within" | "aid" | "did" | "rid" | "sid",
                    ) => id_constraints(),
                    Some("label") => label_constraints(),
                    // The tenants list's, a tenant's lists'; the activity and the
                    // stats state their own.
                    Some("cursor") if param["schema"]["pattern"].is_null() => {
                        let pattern = match (in_tenant, sort_keys(path)) {
                            (true, Some(keys)) => sorted_cursor_pattern(path, &keys),
                            (true, None) => tenant_cursor_pattern(path),
                            (false, _) => cursor_pattern(),
                        };
                        json!({ "pattern": pattern })
                    }
                    Some("Idempotency-Key") => json!({
                        "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$",
                    }),
                    _ => continue,
                };
                if let Some(constraints) = constraints.as_object() {
                    for (k, v) in constraints {
                        param["schema"][k] = v.clone();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::domain_name::{parse_custom_domain, ConsoleHosts};
    use crate::domain::{Description, Subdomain, TenantName};

    fn matches(pattern: &str, s: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(s)
    }

    /// Each pattern says yes exactly where the server's parser does.
    fn agrees(pattern: &str, parse: impl Fn(&str) -> bool, samples: &[&str]) {
        for s in samples {
            assert_eq!(matches(pattern, s), parse(s), "{pattern} on {s:?}");
        }
    }

    #[test]
    fn the_patterns_are_the_parsers() {
        let long = "x".repeat(100);
        let longer = "x".repeat(101);
        agrees(
            &name_pattern(),
            |s| TenantName::parse(s).is_ok(),
            &[
                "Acme",
                " Acme ",
                "",
                " ",
                "\t",
                "a\u{1}b",
                "a\tb",
                "\u{2003}A\u{3000}",
                &long,
                &longer,
                &format!(" {long} "),
            ],
        );
        let d1000 = "d".repeat(1000);
        let d1001 = "d".repeat(1001);
        agrees(
            &description_pattern(),
            |s| Description::parse(s).is_ok(),
            &[
                "",
                " ",
                "line\nbreak\ttab",
                "bell\u{7}",
                &d1000,
                &d1001,
                &format!("\n{d1000}\n"),
            ],
        );
        let l63 = "a".repeat(63);
        let l64 = "a".repeat(64);
        agrees(
            &subdomain_pattern(),
            |s| {
                Subdomain::parse(s).is_ok()
                    || Subdomain::parse(s).is_err_and(|e| e.contains("reserved"))
            },
            &[
                "a", "ab", "a-b", "a--b", "ab--c", "ab-c", "xn--abc", "a-", "-a", "A", " acme ",
                "a_b", "", &l63, &l64, "0", "9-9",
            ],
        );
        let hosts = ConsoleHosts::example();
        agrees(
            &custom_domain_pattern(),
            |s| parse_custom_domain(s, &hosts).is_ok(),
            &[
                "",
                " ",
                ".",
                "acme.com",
                "Console.Acme.COM.",
                " acme.com ",
                "acme",
                "1.2.3.4",
                "a.1-2",
                "a.2b",
                "a..b",
                "-a.com",
                "a_b.com",
                "a.com .",
                "x.y",
            ],
        );
    }

    #[test]
    fn the_identifier_pattern_is_its_parser() {
        let x100 = "x".repeat(100);
        let x101 = "x".repeat(101);
        agrees(
            &identifier_pattern(),
            |s| crate::domain::network::parse_identifier(s).is_ok(),
            &[
                "aa:bb",
                " aa:bb ",
                "",
                " ",
                "a b",
                "a\u{7}",
                "\u{3000}x",
                &x100,
                &x101,
            ],
        );
    }

    #[test]
    fn the_address_and_network_patterns_are_their_parsers() {
        use crate::domain::network::{parse_address, parse_network};
        let addresses = [
            "192.0.2.53",
            " 192.0.2.53 ",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "::",
            "::1",
            "1::",
            "2001:db8::53",
            "2001:DB8:0:0:0:0:0:53",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "1:2:3:4:5:6:7::8",
            "1:2:3:4:5:6:7:8:9",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "::1.2.3.4",
            "1::1.2.3.4",
            "1.2.3.4::",
            "12345::",
            ":1::",
            "1:::2",
            "fe80::1%eth0",
            "0001:0db8::",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "",
            " ",
            "10.0.0.0/8",
        ];
        agrees(&address_pattern(), |s| parse_address(s).is_ok(), &addresses);
        let networks = [
            "10.0.0.0/8",
            " 10.0.0.0/8 ",
            "10.0.0.0/08",
            "10.0.0.0/33",
            "10.0.0.0/32",
            "0.0.0.0/0",
            "10.0.0.0",
            "10.0.0.0/",
            "2001:db8::/32",
            "::/0",
            "::/128",
            "::/129",
            "::/012",
            "2001:db8::1.2.3.4/120",
            "1:2:3:4:5:6:7::/112",
            "a/8",
            "10.0.0.0/8/8",
        ];
        // Host bits set and IPv4-mapped networks are refused apart (a field error
        // naming the network meant):
        // the pattern is the parser's grammar with them allowed.
        agrees(
            &network_pattern(),
            |s| {
                parse_network(s).is_ok()
                    || parse_network(s)
                        .is_err_and(|e| e.contains("host bits") || e.contains("IPv4 form"))
            },
            &networks,
        );
        assert!(matches(&network_pattern(), "10.0.0.5/8"));
    }

    #[test]
    fn tenant_cursors_match_their_pattern_and_are_bound_to_their_list_and_tenant() {
        use super::super::tenants::{decode_tenant_cursor, encode_tenant_cursor, ListOf};
        let instances = "/api/v1/tenants/{id}/instances";
        let pattern = tenant_cursor_pattern(instances);
        for tenant in [1, 13, 999_999_999_999_999_999] {
            let list = ListOf::at(instances, tenant);
            for id in [1, 9, 10, 42, 123, 4567, 1_000_000, 999_999_999_999_999_999] {
                let cursor = encode_tenant_cursor(list, id);
                assert!(matches(&pattern, &cursor), "{tenant} {id} {cursor}");
                assert!(!matches(&cursor_pattern(), &cursor), "{cursor}");
                let clouds = "/api/v1/tenants/{id}/clouds";
                assert!(
                    !matches(&tenant_cursor_pattern(clouds), &cursor),
                    "{cursor}"
                );
                assert_eq!(decode_tenant_cursor(&cursor, list).ok(), Some(id));
                let other = ListOf {
                    tenant: tenant + 1,
                    ..list
                };
                let other = decode_tenant_cursor(&cursor, other).unwrap_err();
                assert_eq!(other.status().as_u16(), 422, "{other:?}");
                // Another list's, of the same tenant or not: 422 on `cursor` too.
                for t in [tenant, tenant + 1] {
                    let e = decode_tenant_cursor(&cursor, ListOf::at(clouds, t)).unwrap_err();
                    assert_eq!(e.status().as_u16(), 422, "{e:?}");
                    assert!(format!("{e:?}").contains("another list"), "{e:?}");
                }
            }
        }
        // The tenants list's cursors are not a tenant's lists' (422).
        let plain = super::super::tenants::encode_cursor(42);
        assert!(!matches(&pattern, &plain));
        assert_eq!(
            decode_tenant_cursor(&plain, ListOf::at(instances, 42))
                .unwrap_err()
                .status()
                .as_u16(),
            422
        );
    }

    #[test]
    fn sorted_cursors_match_their_list_s_pattern_and_read_back_in_their_order_only() {
        use super::super::owned::{decode_sorted, encode_sorted};
        use super::super::tenants::ListOf;
        use crate::domain::sorting::{After, InstanceSort, Order, SortKey};
        let instances = "/api/v1/tenants/{id}/instances";
        let keys = sort_keys(instances).unwrap();
        let pattern = sorted_cursor_pattern(instances, &keys);
        let list = ListOf::at(instances, 17);
        let at = chrono::DateTime::from_timestamp_micros(1_767_225_600_123_456).unwrap();
        for (order, after) in [
            (Order::by_id(), After::id(5)),
            (
                Order {
                    key: None,
                    descending: true,
                },
                After::id(5),
            ),
            (
                Order::by(InstanceSort::Name),
                After::at(7, "Ünïcode näme/with.dots"),
            ),
            (
                Order {
                    key: Some(InstanceSort::Storage),
                    descending: true,
                },
                After::at(8, 400),
            ),
            (Order::by(InstanceSort::Status), After::at(9, "stopped")),
            (Order::by(InstanceSort::Created), After::created(10, at)),
        ] {
            let cursor = encode_sorted(list, order, &after);
            assert!(matches(&pattern, &cursor), "{cursor}");
            assert!(cursor.len() <= 1000);
            assert_eq!(
                decode_sorted(&cursor, list, order).ok(),
                Some(after.clone())
            );
            // In any other order it is refused, naming the one it was read in.
            let other = Order::<InstanceSort> {
                descending: !order.descending,
                ..order
            };
            let e = decode_sorted(&cursor, list, other).unwrap_err();
            assert_eq!(e.status().as_u16(), 422);
            assert!(format!("{e:?}").contains(&order.describe()), "{e:?}");
        }
        // A value that is not one of its key's is no cursor.
        let bad = format!(
            "{}.storage.asc.{}",
            super::super::tenants::encode_tenant_cursor(list, 3),
            "eA"
        );
        assert!(decode_sorted(&bad, list, Order::by(InstanceSort::Storage)).is_err());
        assert_eq!(
            keys,
            InstanceSort::KEYS
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_list_inside_a_tenant_has_its_own_cursor() {
        let doc = document_json();
        let mut lists = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let Some(get) = item.get("get") else { continue };
            let params = get["parameters"].as_array().cloned().unwrap_or_default();
            let Some(cursor) = params.iter().find(|p| p["name"] == "cursor") else {
                continue;
            };
            let pattern = cursor["schema"]["pattern"].as_str().unwrap_or_default();
            if path.starts_with("/api/v1/tenants/{id}/") && pattern.starts_with("^YWZ0ZXI6") {
                let list = super::super::tenants::ListOf::at(path, 1).list;
                assert_ne!(list, 0, "{path} is not in tenants::TENANT_LISTS");
                lists.push(list);
            }
        }
        let count = lists.len();
        lists.sort_unstable();
        lists.dedup();
        assert_eq!(lists.len(), count, "two lists share a cursor");
        assert!(count >= 9, "{count}");
    }

    #[test]
    fn cursors_the_server_writes_match_and_others_do_not() {
        let pattern = cursor_pattern();
        for id in [1, 9, 10, 42, 123, 4567, 1_000_000, 999_999_999_999_999_999] {
            let cursor = super::super::tenants::encode_cursor(id);
            assert!(matches(&pattern, &cursor), "{id} {cursor}");
            assert_eq!(super::super::tenants::decode_cursor(&cursor).ok(), Some(id));
        }
        for bad in [
            "",
            "YWZ0ZXI6",
            "0000",
            "YWZ0ZXI6LTE",
            "YWZ0ZXI6MTIzNDU2Nzg5MDEyMzQ1Njc4OTA",
        ] {
            assert!(!matches(&pattern, bad), "{bad}");
        }
    }

    #[test]
    fn the_activity_cursor_pattern_is_its_parser() {
        let doc = document_json();
        let params = doc["paths"]["/api/v1/tenants/{id}/activity"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let cursor = params.iter().find(|p| p["name"] == "cursor").unwrap();
        let pattern = cursor["schema"]["pattern"].as_str().unwrap();
        agrees(
            pattern,
            |s| crate::domain::activity::EventCursor::parse(s).is_some(),
            &[
                "1796454623123456_42",
                "0_0",
                "9999999999999999_999999999999999999",
                "99999999999999999_1",
                "1_9999999999999999999",
                "+1_2",
                "1_2_3",
                "_1",
                "1_",
                "YWZ0ZXI6MDA0",
                "",
            ],
        );
    }

    #[test]
    fn the_document_states_constraints_under_readable_names() {
        let doc = document_json();
        let schemas = &doc["components"]["schemas"];
        for name in ["Tenant", "TenantPage", "CreateOperation", "DeleteOperation"] {
            assert!(schemas[name].is_object(), "{name}");
        }
        // A problem's `errors`: field (or a path in the body) -> message.
        assert!(schemas["ProblemDocument"]["properties"]["errors"].is_object());
        for gone in ["TenantJson", "BTreeMap"] {
            assert!(schemas.get(gone).is_none(), "{gone}");
        }
        assert!(!doc.to_string().contains("TenantJson"));
        let operations = &schemas["BatchRequest"]["properties"]["operations"];
        assert_eq!(
            (
                operations["minItems"].as_u64(),
                operations["maxItems"].as_u64()
            ),
            (Some(1), Some(1000))
        );
        assert_eq!(
            schemas["CreateTenant"]["properties"]["parent_id"]["minimum"],
            1
        );
        assert_eq!(schemas["UpdateOperation"]["properties"]["id"]["minimum"], 1);
        assert_eq!(schemas["CreateOperation"]["additionalProperties"], false);
        assert!(
            schemas["CreateTenant"]["properties"]["subdomain"]["not"]["enum"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("www")))
        );
        assert_eq!(
            schemas["UpdateTenant"]["properties"]["name"]["pattern"],
            name_pattern()
        );
        let show = &doc["paths"]["/api/v1/tenants/{id}"]["get"]["parameters"][0];
        assert_eq!(show["schema"]["minimum"], 1);
    }

    /// Each bulk action is a named schema that says what the server refuses: exactly
    /// one of `ids` and `filter`, the action's own required field, no other field.
    #[test]
    fn the_bulk_actions_state_their_constraints() {
        let doc = document_json();
        let schemas = &doc["components"]["schemas"];
        for name in BULK_ACTIONS {
            let s = &schemas[*name];
            assert_eq!(s["additionalProperties"], false, "{name}");
            assert_eq!(
                s["oneOf"],
                json!([{"required": ["ids"]}, {"required": ["filter"]}]),
                "{name}"
            );
            let ids = &s["properties"]["ids"];
            assert_eq!(
                (ids["minItems"].as_u64(), ids["maxItems"].as_u64()),
                (Some(1), Some(1000))
            );
            assert_eq!(ids["items"]["minimum"], 1);
        }
        let required = |name: &str| schemas[name]["required"].as_array().unwrap().clone();
        assert!(required("BulkMove").contains(&json!("parent_id")));
        assert!(required("BulkAddLabel").contains(&json!("label")));
        assert_eq!(
            schemas["BulkRemoveLabel"]["properties"]["label"]["pattern"],
            crate::domain::label::PATTERN
        );
        let filter = &schemas["BulkFilter"];
        assert_eq!(filter["additionalProperties"], false);
        assert_eq!(filter["properties"]["q"]["maxLength"], 100);
        assert_eq!(filter["properties"]["within"]["minimum"], 1);
        assert_eq!(filter["properties"]["label"]["maxLength"], 64);
        assert!(schemas.get("BulkRequest").is_some());
    }

    /// Whether a property's schema admits `null`, however utoipa words it.
    fn takes_null(p: &Value) -> bool {
        p["type"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("null")))
            || p["nullable"] == true
            || p["oneOf"]
                .as_array()
                .is_some_and(|o| o.iter().any(|s| s["type"] == "null"))
    }

    /// A PATCH may leave any field out, but only `custom_domain` may be `null` (the
    /// server answers 422 for the others), so the document says so.
    #[test]
    fn only_the_custom_domain_of_a_patch_is_nullable() {
        let doc = document_json();
        let update = &doc["components"]["schemas"]["UpdateTenant"];
        let nullable = |field: &str| takes_null(&update["properties"][field]);
        for field in [
            "name",
            "subdomain",
            "description",
            "can_have_subtenants",
            "enabled",
        ] {
            assert!(update["properties"][field].is_object(), "{field}");
            assert!(!nullable(field), "{field}: {update}");
        }
        assert!(nullable("custom_domain"), "{update}");
        assert!(update.get("required").is_none(), "{update}");
    }

    /// A plan's `custom_domain` is a switch: no domain name's pattern on it.
    #[test]
    fn a_plans_custom_domain_switch_has_no_pattern() {
        let doc = document_json();
        let plan = &doc["components"]["schemas"]["PlanBody"]["properties"];
        assert_eq!(plan["custom_domain"]["type"], "boolean", "{plan}");
        assert!(plan["custom_domain"].get("pattern").is_none(), "{plan}");
        let update = &doc["components"]["schemas"]["UpdateTenant"]["properties"];
        assert!(update["custom_domain"]["pattern"].is_string(), "{update}");
    }

    /// The rule configuration's PATCHes likewise: `null` only where it clears.
    #[test]
    fn only_the_clearing_fields_of_a_rules_patch_are_nullable() {
        let doc = document_json();
        for (schema, refused, cleared) in [
            (
                "RulePatch",
                &["kind", "value", "action", "enabled"][..],
                &["application_id", "domain_id", "path"][..],
            ),
            ("DomainPatch", &["name"][..], &["application_id"][..]),
        ] {
            let patch = &doc["components"]["schemas"][schema];
            let nullable = |field: &str| takes_null(&patch["properties"][field]);
            for field in refused {
                assert!(patch["properties"][field].is_object(), "{schema}.{field}");
                assert!(!nullable(field), "{schema}.{field}: {patch}");
            }
            for field in cleared {
                assert!(nullable(field), "{schema}.{field}: {patch}");
            }
            assert!(patch.get("required").is_none(), "{patch}");
        }
    }

    /// Every operation on a tenant's rule configuration may answer 423 (reads too),
    /// as a problem document, and so may a migration's retry; nothing else does.
    #[test]
    fn every_rules_operation_documents_the_lock() {
        let doc = document_json();
        let mut locked = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let answer = &op["responses"]["423"];
                if answer.is_null() {
                    continue;
                }
                assert!(
                    answer["content"]["application/problem+json"].is_object(),
                    "{method} {path}: {answer}"
                );
                locked.push(format!("{} {path}", method.to_uppercase()));
            }
        }
        for op in [
            "GET /api/v1/tenants/{id}/applications",
            "POST /api/v1/tenants/{id}/applications",
            "GET /api/v1/tenants/{id}/applications/{aid}",
            "PATCH /api/v1/tenants/{id}/applications/{aid}",
            "DELETE /api/v1/tenants/{id}/applications/{aid}",
            "GET /api/v1/tenants/{id}/domains",
            "POST /api/v1/tenants/{id}/domains",
            "GET /api/v1/tenants/{id}/domains/{did}",
            "PATCH /api/v1/tenants/{id}/domains/{did}",
            "DELETE /api/v1/tenants/{id}/domains/{did}",
            "GET /api/v1/tenants/{id}/rules",
            "POST /api/v1/tenants/{id}/rules",
            "POST /api/v1/tenants/{id}/rules/batch",
            "GET /api/v1/tenants/{id}/rules/{rid}",
            "PATCH /api/v1/tenants/{id}/rules/{rid}",
            "DELETE /api/v1/tenants/{id}/rules/{rid}",
            "POST /api/v1/tenants/{id}/rules/migrate",
            "GET /api/v1/tenants/{id}/ruleset",
            // A retry meeting a source another migration holds.
            "POST /api/v1/migrations/{id}/retry",
        ] {
            assert!(locked.contains(&op.to_string()), "{op}: {locked:?}");
        }
        assert_eq!(locked.len(), 19, "{locked:?}");
    }

    #[test]
    fn a_migration_start_states_its_target_and_mappings() {
        let doc = document_json();
        let start = &doc["components"]["schemas"]["StartMigration"]["properties"];
        assert_eq!(start["target"]["minimum"], 1);
        for field in ["applications", "domains"] {
            let m = &start[field];
            assert_eq!(m["maxProperties"], 10_000, "{m}");
            assert_eq!(
                m["propertyNames"]["pattern"],
                super::super::migrations::SOURCE_ID_PATTERN
            );
            assert_eq!(m["additionalProperties"]["minimum"], 1, "{m}");
        }
    }
}
