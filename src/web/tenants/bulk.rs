//! `POST /tenants/bulk`, the Tenants list's bulk bar: the ticked rows (`ids`) or
//! every tenant matching the list's filter (`all=yes`), and one action. Without
//! `confirm=yes` it answers a preview of each tenant's outcome with a confirmation
//! form carrying the same fields (for "all matching", also the previewed ids, which
//! the confirmation applies to: `Selection::Previewed`); with it, it applies and
//! shows each tenant's result. Input it cannot use shows the list again with the bar's messages (422).
//! The work is `services::tenants::bulk`, as for `POST /api/v1/tenants/bulk`.
//!
//! The bar's own fields are `action`, `scope`, `destination` (the new parent's
//! subdomain or name, typed; `services::tenants::destinations` resolves it, and a
//! text that fits several answers a choice of them), `parent` (the new parent's id:
//! picked from the matches with JavaScript, chosen from that choice, or sent alone
//! by a form of before the picker) and `label`; the list's filter travels as `q`,
//! `status`, `kind`, `within`, `filter_parent` and `filter_label` (the filter's
//! `parent` and `label` would collide with the action's), with `sort`, `dir`, `page`
//! and `per_page`.

use super::list::{list_page, BulkBar, ListParams};
use crate::auth::{authz, CurrentUser};
use crate::domain::{Feature, Level};
use crate::error::{AppError, FieldErrors};
use crate::services::tenants::bulk::{
    self as service, ActionRequest, Counts, ItemOutcome, Listed, Outcome, Reach, Selection,
};
use crate::services::tenants::destinations::{self, Destination};
use crate::services::tenants::{parse_filter, FilterText};
use crate::web::actor;
use crate::web::extract::Query;
use crate::web::form::read_form;
use crate::web::form::SearchBox;
use crate::web::page::{render, render_status, wants_fragment, PageCtx};
use crate::web::switch::{self, SwitchResult};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

/// The bar's form as posted (the rows' checkboxes are `ids`, repeated).
#[derive(Clone, Debug, Default)]
struct BulkForm {
    ids: Vec<String>,
    all: bool,
    confirm: bool,
    action: String,
    scope: String,
    destination: String,
    parent: String,
    label: String,
    /// The bar's fields sent more than once (a form sends each once).
    repeated: Vec<&'static str>,
    /// The list's parameters, `filter_parent` and `filter_label` as `parent` and `label`.
    list: ListParams,
}

impl BulkForm {
    /// The fields of a form's body; one that cannot be read is a 400 (nothing of it is
    /// taken, nor shown back).
    fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, AppError> {
        let pairs = read_form(content_type, body)?;
        let mut form = BulkForm::default();
        let mut seen: Vec<&'static str> = Vec::new();
        // The filter's fields come from the list's hidden inputs: a second value
        // would act on another set than the list shown, so it is refused (400, as
        // the list itself refuses it) rather than the last one used.
        let mut seen_filter: Vec<String> = Vec::new();
        for (key, _) in &pairs {
            let filter_field = matches!(
                key.as_str(),
                "q" | "status"
                    | "kind"
                    | "within"
                    | "filter_parent"
                    | "filter_label"
                    | "sort"
                    | "dir"
                    | "page"
                    | "per_page"
            );
            if filter_field {
                if seen_filter.contains(key) {
                    return Err(AppError::BadRequest(format!(
                        "The field “{key}” is given more than once: give it once."
                    )));
                }
                seen_filter.push(key.clone());
            }
        }
        for (mut key, value) in pairs {
            // The API's name for the new parent's id, as a hand-made form may send it.
            if key == "parent_id" {
                key = "parent".into();
            }
            // Two values of one field are refused rather than the last one used.
            let field = match key.as_str() {
                "action" => Some("action"),
                "scope" => Some("scope"),
                "destination" => Some("destination"),
                "parent" => Some("parent"),
                "label" => Some("label"),
                _ => None,
            };
            if let Some(field) = field {
                if seen.contains(&field) && !form.repeated.contains(&field) {
                    form.repeated.push(field);
                }
                seen.push(field);
            }
            match key.as_str() {
                "ids" => form.ids.push(value),
                "all" => form.all = value == "yes",
                "confirm" => form.confirm = value == "yes",
                "action" => form.action = value,
                "scope" => form.scope = value,
                "destination" => form.destination = value,
                "parent" => form.parent = value,
                "label" => form.label = value,
                "q" => form.list.q = value,
                "status" => form.list.status = value,
                "kind" => form.list.kind = value,
                "within" => form.list.within = value,
                "filter_parent" => form.list.parent = value,
                "filter_label" => form.list.label = value,
                "sort" => form.list.sort = value,
                "dir" => form.list.dir = value,
                "page" => form.list.page = value,
                "per_page" => form.list.per_page = value,
                _ => {}
            }
        }
        Ok(form)
    }

    fn filter_text(&self) -> FilterText<'_> {
        FilterText {
            q: &self.list.q,
            status: &self.list.status,
            kind: &self.list.kind,
            parent: &self.list.parent,
            within: &self.list.within,
            label: &self.list.label,
        }
    }

    /// The Tenants list with this form's filter, sort and page.
    fn list_href(&self) -> String {
        let l = &self.list;
        let params: Vec<(&str, &str)> = [
            ("q", &l.q),
            ("status", &l.status),
            ("kind", &l.kind),
            ("parent", &l.parent),
            ("within", &l.within),
            ("label", &l.label),
            ("sort", &l.sort),
            ("dir", &l.dir),
            ("page", &l.page),
            ("per_page", &l.per_page),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.as_str()))
        .collect();
        match serde_urlencoded::to_string(params) {
            Ok(query) if !query.is_empty() => format!("/tenants?{query}"),
            _ => "/tenants".into(),
        }
    }

    /// Every field but the CSRF token and `confirm`, for the confirmation to repeat.
    fn hidden(&self) -> Vec<(&'static str, String)> {
        self.hidden_but(&[])
    }

    /// `hidden` without the fields `left_out`.
    fn hidden_but(&self, left_out: &[&str]) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> =
            self.ids.iter().map(|id| ("ids", id.clone())).collect();
        if self.all {
            out.push(("all", "yes".into()));
        }
        let l = &self.list;
        for (name, value) in [
            ("action", &self.action),
            ("scope", &self.scope),
            ("destination", &self.destination),
            ("parent", &self.parent),
            ("label", &self.label),
            ("q", &l.q),
            ("status", &l.status),
            ("kind", &l.kind),
            ("within", &l.within),
            ("filter_parent", &l.parent),
            ("filter_label", &l.label),
            ("sort", &l.sort),
            ("dir", &l.dir),
            ("page", &l.page),
            ("per_page", &l.per_page),
        ] {
            if !value.is_empty() && !left_out.contains(&name) {
                out.push((name, value.clone()));
            }
        }
        out
    }

    /// The bar as sent, with these errors, to show again.
    fn bar(&self, errors: FieldErrors) -> BulkBar {
        BulkBar {
            selected: self
                .ids
                .iter()
                .filter_map(|id| id.trim().parse().ok())
                .collect(),
            all: self.all,
            action: self.action.clone(),
            scope: self.scope.clone(),
            destination: self.destination.clone(),
            parent: self.parent.clone(),
            label: self.label.clone(),
            errors,
        }
    }

    /// What is selected, in words.
    fn selected_words(&self) -> String {
        if self.all {
            return "All tenants matching the filter are selected.".into();
        }
        match self.ids.len() {
            1 => "1 tenant selected.".into(),
            n => format!("{n} tenants selected."),
        }
    }

    /// The selection, or its field errors (`ids`, `filter`). A confirmed "all
    /// matching" is the ids its preview listed (`hidden_after`), each checked against
    /// the filter again, so that a tenant matching only since is not changed unseen.
    fn selection(
        &self,
        acting: &crate::db::models::Tenant,
        errors: &mut FieldErrors,
    ) -> Option<Selection> {
        if self.all {
            let spec = match parse_filter(self.filter_text()) {
                Ok(spec) => spec,
                Err(e) => {
                    errors.insert("filter", filter_message(e));
                    return None;
                }
            };
            let listed = Listed::Page(Box::new(acting.clone()));
            if !self.confirm {
                return Some(Selection::Matching(spec, listed));
            }
            return self
                .id_list(errors)
                .map(|ids| Selection::Previewed(ids, spec, listed));
        }
        self.id_list(errors).map(Selection::Ids)
    }

    /// The ids sent, or the `ids` field error.
    fn id_list(&self, errors: &mut FieldErrors) -> Option<Vec<i64>> {
        let mut ids = Vec::with_capacity(self.ids.len());
        for raw in &self.ids {
            match raw.trim().parse::<i64>() {
                Ok(id) if id < 1 => {
                    errors.insert("ids", service::not_an_id(id));
                    return None;
                }
                Ok(id) => ids.push(id),
                Err(_) => {
                    errors.insert("ids", format!("“{raw}” is not a tenant id."));
                    return None;
                }
            }
        }
        if ids.is_empty() {
            errors.insert("ids", service::NOTHING_SELECTED.into());
            return None;
        }
        Some(ids)
    }
}

/// The field error of a bar field sent more than once.
fn repeated_message(field: &str) -> String {
    match field {
        "action" => "Choose one action.".into(),
        "scope" => "Choose one of “each tenant only” and “with all their sub-tenants”.".into(),
        "parent" | "destination" => "Enter one new parent.".into(),
        _ => "Enter one label.".into(),
    }
}

/// The message of a confirmed bulk action that changes nothing.
pub const NOTHING_TO_APPLY: &str =
    "Nothing to apply: none of the selected tenants would change. Nothing was changed.";

/// The messages of a filter that cannot be applied, as one.
fn filter_message(errors: FieldErrors) -> String {
    let messages: Vec<String> = errors.into_values().collect();
    format!("This filter cannot be applied: {}", messages.join(" "))
}

/// The page's names for the service's fields: the new parent is `parent`, and
/// whatever is wrong with the list's filter is the `filter`'s.
fn page_errors(errors: FieldErrors) -> FieldErrors {
    let mut out = FieldErrors::new();
    let mut filter = FieldErrors::new();
    for (field, message) in errors {
        match field {
            "action" | "scope" | "label" | "ids" | "filter" => {
                out.insert(field, message);
            }
            "parent_id" => {
                out.insert("parent", message);
            }
            other => {
                filter.insert(other, message);
            }
        }
    }
    if !filter.is_empty() {
        out.insert("filter", filter_message(filter));
    }
    out
}

/// One row of the preview or the result.
struct ItemView {
    id: i64,
    name: Option<String>,
    subdomain: Option<String>,
    outcome: &'static str,
    /// The outcome in words: "will change", "not allowed: …", "changed", …
    text: String,
    /// What disabling or enabling it reaches: "3 sub-tenants, 5 users".
    reach: Option<String>,
}

impl ItemView {
    fn new(item: ItemOutcome, applied: bool) -> Self {
        let word = match (item.outcome, applied) {
            (Outcome::Changed, false) => "will change",
            (Outcome::Unchanged, false) => "no change",
            (Outcome::Refused, false) => "not allowed",
            (o, true) => o.as_str(),
        };
        ItemView {
            id: item.id,
            name: item.tenant.as_ref().map(|t| t.name.clone()),
            subdomain: item.tenant.map(|t| t.subdomain),
            outcome: item.outcome.as_str(),
            reach: item.reach.map(reach_text),
            text: match item.message {
                Some(m) => format!("{word}: {m}"),
                None => word.to_string(),
            },
        }
    }
}

/// A reach in the single disable confirmation's words: "3 sub-tenants (5 users)",
/// or "5 users" for the tenant alone.
fn reach_text(r: Reach) -> String {
    let plural = |n: i64, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let users = plural(r.users, "user", "users");
    if r.subtenants > 0 {
        format!(
            "{} ({users})",
            plural(r.subtenants, "sub-tenant", "sub-tenants")
        )
    } else {
        users
    }
}

/// The choice of destinations a typed name fits (the bar sent without JavaScript):
/// the same fields again, with the chosen one's id as `parent`.
#[derive(Template)]
#[template(path = "tenants/bulk_choice.html", blocks = ["content"])]
struct BulkChoice {
    page: PageCtx,
    /// "3 tenants selected", "All tenants matching the filter".
    selected: String,
    message: String,
    choices: Vec<SwitchResult>,
    hidden: Vec<(&'static str, String)>,
    back: String,
}

/// The matches of the bar's destination picker (`GET /tenants/destinations`), as
/// one types: the tenants one may move tenants under.
#[derive(Template)]
#[template(path = "tenants/_destinations.html")]
struct DestinationResults {
    search: SearchBox,
    results: Vec<SwitchResult>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct DestinationQuery {
    /// The search: the bar's input is named for its form.
    #[serde(alias = "destination")]
    q: String,
}

/// `GET /tenants/destinations?q=`: as the list (each destination's right is
/// `destinations::find`'s).
pub(super) async fn destination_results(
    user: CurrentUser,
    state: web::Data<AppState>,
    query: Query<DestinationQuery>,
) -> Result<HttpResponse, AppError> {
    authz::require(&user, &user.acting, Feature::Tenants, Level::Read)?;
    let search = SearchBox::read(&query.q);
    let mut conn = state.pool.get().await?;
    let found = destinations::find(&mut conn, &user, &search.text, None, switch::RESULTS).await?;
    let results = switch::labelled(&user, &mut conn, found).await?;
    render(&DestinationResults { search, results })
}

#[derive(Template)]
#[template(path = "tenants/bulk.html", blocks = ["content"])]
struct BulkPage {
    page: PageCtx,
    applied: bool,
    /// The action in words.
    action: String,
    /// Whether it disables or moves (the confirm button says so in red).
    destructive: bool,
    all: bool,
    counts: Counts,
    items: Vec<ItemView>,
    /// Whether a column says what each change reaches (disable and enable).
    reaches: bool,
    /// Why the confirmation was refused (a confirmed action that changes nothing).
    refused: Option<&'static str>,
    hidden: Vec<(&'static str, String)>,
    back: String,
}

pub(super) async fn bulk(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    // As the list itself; each tenant's own right is decided per row.
    authz::require(&user, &user.acting, Feature::Tenants, Level::Read)?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let mut form = BulkForm::parse(content_type, &body)?;
    // A confirmed "all matching" acts on the ids its preview carried; one without
    // them (a form of before) is previewed again rather than applied unseen.
    if form.all && form.ids.is_empty() {
        form.confirm = false;
    }
    let mut conn = state.pool.get().await?;
    // The bar names the new parent as typed or picked (the API's `parent_id` is an
    // id): resolved first, then checked as the API's.
    let mut unresolved = None;
    let moving = service::ActionKind::parse(&form.action) == Some(service::ActionKind::Move);
    let mut resolved = None;
    let parent_id = if moving && form.repeated.is_empty() {
        match destinations::resolve(&mut conn, &user, &form.destination, &form.parent).await? {
            Destination::One(t) => {
                resolved = Some(t.id);
                t.id.to_string()
            }
            Destination::Unresolved { message, choices } => {
                unresolved = Some((message, choices));
                String::new()
            }
        }
    } else {
        form.parent.clone()
    };
    let request = ActionRequest {
        action: &form.action,
        scope: &form.scope,
        parent_id: &parent_id,
        label: &form.label,
    };
    let mut errors = FieldErrors::new();
    for field in &form.repeated {
        let on = if *field == "destination" {
            "parent"
        } else {
            *field
        };
        errors.insert(on, repeated_message(field));
    }
    let action = match service::parse_action(&mut conn, &user, request).await? {
        Ok(action) => Some(action),
        Err(e) => {
            errors.extend(page_errors(e));
            None
        }
    };
    let mut choices = Vec::new();
    if let Some((message, offered)) = unresolved {
        errors.insert("parent", message);
        choices = offered;
    }
    let selection = form.selection(&user.acting, &mut errors);
    // A name that fits several destinations, and nothing else amiss: the choice.
    if !choices.is_empty() && errors.len() == 1 && selection.is_some() {
        let view = BulkChoice {
            page: PageCtx::new(&user, &mut conn, "tenants").await?,
            selected: form.selected_words(),
            message: errors.remove("parent").unwrap_or_default(),
            choices: switch::labelled(&user, &mut conn, choices).await?,
            hidden: form.hidden_but(&["parent"]),
            back: form.list_href(),
        };
        return if wants_fragment(&req) {
            render_status(&view.as_content(), StatusCode::OK)
        } else {
            render_status(&view, StatusCode::OK)
        };
    }
    let (Some(action), Some(selection), true) = (action, selection, form.repeated.is_empty())
    else {
        let bar = form.bar(errors);
        return list_page(&req, &user, &mut conn, &form.list, Some(bar)).await;
    };
    let hosts = state.settings.console_hosts();
    let actor = actor(&user, &req);
    let items = match service::bulk(
        &mut conn,
        &user,
        &actor,
        &hosts,
        selection,
        &action,
        state.clock.now(),
        form.confirm,
    )
    .await
    {
        Ok(items) => items,
        Err(AppError::Validation(e)) => {
            let bar = form.bar(page_errors(e));
            return list_page(&req, &user, &mut conn, &form.list, Some(bar)).await;
        }
        Err(e) => return Err(e),
    };
    let counts = Counts::of(&items);
    // Only changed tenants are written: a confirmed action that changed none wrote
    // nothing, and is refused (as its preview offers no confirmation).
    let refused = (form.confirm && counts.changed == 0).then_some(NOTHING_TO_APPLY);
    let applied = form.confirm && refused.is_none();
    // The confirmation names the destination previewed by its id, and "all matching"
    // by the ids previewed (ticked rows sent along are not the selection).
    let mut hidden = match resolved {
        Some(id) => {
            let mut fields = form.hidden_but(&["destination", "parent"]);
            fields.push(("parent", id.to_string()));
            fields
        }
        None => form.hidden(),
    };
    if form.all {
        hidden.retain(|(name, _)| *name != "ids");
        hidden.extend(items.iter().map(|i| ("ids", i.id.to_string())));
    }
    let view = BulkPage {
        page: PageCtx::new(&user, &mut conn, "tenants").await?,
        applied,
        action: action.describe(),
        destructive: matches!(
            action.kind(),
            service::ActionKind::Disable | service::ActionKind::Move
        ),
        all: form.all,
        counts,
        reaches: matches!(
            action.kind(),
            service::ActionKind::Disable | service::ActionKind::Enable
        ),
        items: items
            .into_iter()
            .map(|i| ItemView::new(i, applied))
            .collect(),
        refused,
        hidden,
        back: form.list_href(),
    };
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    if wants_fragment(&req) {
        render_status(&view.as_content(), status)
    } else {
        render_status(&view, status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn the_form_reads_repeated_ids_and_keeps_the_filter_apart() {
        let form = BulkForm::parse(
            FORM,
            b"ids=3&ids=5&action=move&parent=9&label=x&filter_parent=2&filter_label=tier%3Agold&q=acme&all=yes&confirm=yes&csrf_token=t",
        )
        .unwrap();
        assert_eq!(form.ids, ["3", "5"]);
        assert!(form.all && form.confirm);
        assert_eq!((form.parent.as_str(), form.label.as_str()), ("9", "x"));
        assert_eq!(
            (form.list.parent.as_str(), form.list.label.as_str()),
            ("2", "tier:gold")
        );
        assert_eq!(
            form.list_href(),
            "/tenants?q=acme&parent=2&label=tier%3Agold"
        );
        let hidden = form.hidden();
        assert!(hidden.contains(&("filter_label", "tier:gold".into())));
        assert!(hidden.contains(&("parent", "9".into())));
        assert!(!hidden
            .iter()
            .any(|(k, _)| *k == "confirm" || *k == "csrf_token"));
        assert!(!BulkForm::parse(FORM, b"confirm=no").unwrap().confirm);
        let form = BulkForm::parse(FORM, b"action=move&parent_id=9").unwrap();
        assert_eq!(form.parent, "9");
        let form = BulkForm::parse(FORM, b"action=move&parent_id=9&parent=8").unwrap();
        assert_eq!(form.repeated, ["parent"]);
        for twice in [
            &b"all=yes&status=enabled&status=disabled"[..],
            b"within=2&within=29",
        ] {
            let Err(refused) = BulkForm::parse(FORM, twice) else {
                panic!("a repeated filter field was taken")
            };
            assert!(refused.public_message().1.contains("more than once"));
        }
        assert!(BulkForm::parse(FORM, b"\xff=%%").is_err());
        assert!(BulkForm::parse(Some("multipart/form-data; boundary=x"), b"").is_err());
    }

    #[test]
    fn the_services_fields_get_the_pages_names() {
        let errors = FieldErrors::from([
            ("parent_id", "There is no tenant 9.".to_string()),
            ("within", "There is no tenant 4.".to_string()),
            ("action", "Choose an action.".to_string()),
        ]);
        let page = page_errors(errors);
        assert_eq!(page["parent"], "There is no tenant 9.");
        assert_eq!(page["action"], "Choose an action.");
        assert!(page["filter"].contains("There is no tenant 4."));
        assert_eq!(page.len(), 3);
    }
}
