//! Login with `subdomain\username` (bare on a tenant's own host) and logout.

use crate::auth::device::Device;
use crate::auth::session_keys;
use crate::config::Settings;
use crate::db::models::branding::Brand;
use crate::db::models::{throttle, Tenant, User};
use crate::domain::activity::Action;
use crate::error::AppError;
use crate::services::Actor;
use crate::web::csrf;
use crate::web::page::{render_status, see_other};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use secrecy::{ExposeSecret, SecretString};

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/" => home),
        route!(GET "/login" => login_form),
        route!(POST "/login" => login),
        route!(POST "/logout" => logout),
    ]
}

const FAILED: &str = "Invalid username or password.";
const THROTTLED: &str = "Too many failed attempts. Wait 15 minutes and try again.";

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    /// The branding of the host's tenant (the root's on the console's own host).
    brand: Brand,
    heading: String,
    username_hint: String,
    username: String,
    error: Option<&'static str>,
    /// A message carried over from the previous page (e.g. after "log out everywhere").
    notice: Option<String>,
    csrf: String,
    /// Where the login returns to (a local path, [`local_path`]): the page that
    /// sent the visitor here, kept as a hidden field through failed attempts.
    next: Option<String>,
}

impl LoginPage {
    /// The page's title: its heading ("Log in to Acme") and the product's name,
    /// unless the heading names it already ("Log in to Acme Cloud" on the
    /// console's own host).
    fn title(&self) -> String {
        let product = self.brand.name();
        if self.heading.ends_with(product) {
            self.heading.clone()
        } else {
            format!("{} · {product}", self.heading)
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    /// The page to return to after the login (anything but a [`local_path`]: the
    /// dashboard).
    next: String,
}

/// `GET /login?next=…`: the page the visitor was sent from.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LoginParams {
    next: String,
}

/// Where a login lands without a page to return to.
const LANDING: &str = "/dashboard";

/// `next` if a login may return there: a path on this host — one `/` first (not
/// `//` nor `/\`, which browsers read as another host), no backslash, no control
/// characters or spaces (CR and LF would split the header; browsers drop tabs and
/// newlines, which could join `/` and `/` again), at most 2,000 characters, and
/// not the login or logout itself. Anything else: `None` (the landing page).
pub fn local_path(next: &str) -> Option<&str> {
    let path = next.split(['?', '#']).next().unwrap_or_default();
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && next.len() <= 2000
        && !matches!(path.trim_end_matches('/'), "/login" | "/logout");
    local.then_some(next)
}

/// The page a request that needs a login asked for, to return to after it: a GET's
/// own path and query; an htmx fragment's page (`HX-Current-URL`, its path), as the
/// fragment is only part of it; `None` for other requests (a form post is not
/// sent again), for the landing page and for anything but a [`local_path`].
pub fn return_path(req: &HttpRequest) -> Option<String> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    // A boosted link or form is a whole page: its own address, as without htmx.
    let fragment = header("HX-Request").is_some() && header("HX-Boosted").is_none();
    let path = if fragment {
        let current = header("HX-Current-URL")?;
        // `https://host/path?q` → `/path?q` (this host's: the header names the page).
        let rest = current.split_once("://").map_or(current, |(_, r)| r);
        &rest[rest.find('/')?..]
    } else if req.method() == actix_web::http::Method::GET {
        req.uri().path_and_query().map(|p| p.as_str())?
    } else {
        return None;
    };
    // The landing page needs no return: a plain `/login` for it.
    local_path(path)
        .filter(|p| !matches!(*p, "/" | LANDING))
        .map(str::to_string)
}

/// The login page's address, returning to `next` after the login when it is a
/// [`local_path`].
pub fn login_url(next: Option<&str>) -> String {
    match next.and_then(local_path) {
        Some(next) => format!(
            "/login?{}",
            serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
        ),
        None => "/login".into(),
    }
}

async fn home(session: Session) -> HttpResponse {
    let logged_in = matches!(session.get::<i64>(session_keys::USER_ID), Ok(Some(_)));
    HttpResponse::SeeOther()
        .insert_header(("Location", if logged_in { "/dashboard" } else { "/login" }))
        .finish()
}

/// The tenant whose own host this request came to: `<subdomain>.<base domain>` or a
/// custom domain that serves (proven in DNS or approved) while its plan includes
/// custom domains. The console's public host
/// is always the root's login, whatever a tenant row says about it.
pub async fn host_tenant(
    req: &HttpRequest,
    state: &AppState,
    conn: &mut AsyncPgConnection,
) -> Result<Option<Tenant>, AppError> {
    let host = req.connection_info().host().to_ascii_lowercase();
    let host = host.rsplit_once(':').map_or(host.as_str(), |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host.as_str()
        }
    });
    let host = host.trim_end_matches('.');
    let base = state.settings.base_domain.as_str();
    if host == state.settings.public_host()
        || host == base
        || host.parse::<std::net::IpAddr>().is_ok()
        || host.starts_with('[')
    {
        return Ok(None);
    }
    if let Some(label) = host.strip_suffix(base).and_then(|p| p.strip_suffix('.')) {
        if label.contains('.') {
            return Ok(None);
        }
        return Ok(Tenant::by_subdomain(conn, label).await?);
    }
    // A custom domain whose tenant's plan lacks the option is kept, not served.
    let Some(tenant) = Tenant::by_serving_custom_domain(conn, host).await? else {
        return Ok(None);
    };
    let option = crate::domain::plan::PlanOption::CustomDomain;
    Ok(crate::services::plans::allows(conn, &tenant, option)
        .await?
        .then_some(tenant))
}

/// The branding a visitor of this host sees: the host's tenant's, else the root's
/// (the installation's own). Costs the login page one or two statements.
pub async fn host_brand(
    conn: &mut AsyncPgConnection,
    host: Option<&Tenant>,
) -> Result<Brand, AppError> {
    let id = match host {
        Some(t) => Some(t.id),
        None => Tenant::root(conn).await?.map(|t| t.id),
    };
    Ok(match id {
        Some(id) => Brand::of(conn, id).await?,
        None => Brand::default(),
    })
}

fn page(
    brand: Brand,
    tenant: Option<&Tenant>,
    username: String,
    error: Option<&'static str>,
    csrf: String,
    next: &str,
) -> LoginPage {
    let next = local_path(next).map(str::to_string);
    match tenant {
        Some(t) => LoginPage {
            brand,
            heading: format!("Log in to {}", t.name),
            username_hint: "Your username.".into(),
            username,
            error,
            notice: None,
            csrf,
            next,
        },
        None => LoginPage {
            heading: format!("Log in to {}", brand.name()),
            brand,
            username_hint: "Tenant users: subdomain\\username. Root users may omit the prefix."
                .into(),
            username,
            error,
            notice: None,
            csrf,
            next,
        },
    }
}

async fn login_form(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    params: crate::web::extract::Query<LoginParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = host_tenant(&req, &state, &mut conn).await?;
    let brand = host_brand(&mut conn, tenant.as_ref()).await?;
    let mut page = page(
        brand,
        tenant.as_ref(),
        String::new(),
        None,
        csrf::form_token(&req, &session, &state),
        &params.next,
    );
    page.notice = crate::web::page::take_flash(&session);
    render_status(&page, StatusCode::OK)
}

/// Splits `subdomain\username`; without a prefix the host's tenant (or the root) is meant.
fn split_login<'a>(input: &'a str, default_subdomain: &'a str) -> (&'a str, &'a str) {
    match input.split_once('\\') {
        Some((sub, name)) => (sub.trim(), name.trim()),
        None => (default_subdomain, input.trim()),
    }
}

async fn login(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut conn = state.pool.get().await?;
    let host = host_tenant(&req, &state, &mut conn).await?;
    let default_sub = match &host {
        Some(t) => t.subdomain.clone(),
        None => Tenant::root(&mut conn)
            .await?
            .map(|t| t.subdomain)
            .unwrap_or_default(),
    };
    let (subdomain, username) = split_login(&form.username, &default_sub);
    let account = crate::domain::login_name(
        &printable(subdomain).to_lowercase(),
        &printable(username).to_lowercase(),
    );
    let client_addr = crate::web::client_addr(&req);
    let brand = host_brand(&mut conn, host.as_ref()).await?;
    let retry = |error| {
        render_status(
            &page(
                brand.clone(),
                host.as_ref(),
                form.username.clone(),
                Some(error),
                csrf::form_token(&req, &session, &state),
                &form.next,
            ),
            if error == THROTTLED {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            },
        )
    };

    let bounded = username.len() <= 200
        && form.password.len() <= 1024
        && !username
            .chars()
            .chain(subdomain.chars())
            .any(char::is_control);
    let found = if bounded && !subdomain.is_empty() {
        User::find_for_login(&mut conn, subdomain, username).await?
    } else {
        None
    };
    let key = state.settings.secret_key.expose_secret().as_bytes();
    let now = state.clock.now();
    let device = Device::from_request(&req, key, now);
    let counters = match (&found, &device) {
        (Some((user, _)), Some(d)) if d.knows(user.id) => Counters::KnownDevice {
            device: format!("device:{}:{}", user.id, d.id),
        },
        _ => Counters::Unknown {
            pair: format!(
                "pair:{}|{account}",
                client_addr.as_deref().unwrap_or_default()
            ),
            address: format!("addr:{}", client_addr.as_deref().unwrap_or_default()),
            account: format!("acct:{account}"),
        },
    };
    // Count the attempt before checking the password, atomically, so parallel
    // guesses cannot pass the limit; a success takes its attempt back.
    if !counters.admit(&mut conn, &state.settings, now).await? {
        return retry(THROTTLED);
    }
    // Always one Argon2 verification, against a dummy hash when there is no such user.
    let password = SecretString::from(form.password.clone());
    let verified = state
        .hasher
        .verify(
            &password,
            found.as_ref().map(|(u, _)| u.password_hash.as_str()),
        )
        .await?;
    let user = match found {
        Some((user, tenant)) if verified && user.enabled && tenant.enabled => (user, tenant),
        _ => {
            let mut event = Actor::anonymous(printable(&form.username), client_addr.clone())
                .event(Action::LoginFailure, None);
            event.after = None;
            event.record(&mut conn).await?;
            return retry(FAILED);
        }
    };
    let (user, home) = user;
    counters.succeeded(&mut conn).await?;
    User::record_login(&mut conn, user.id).await?;
    Actor::account(&user, &home, client_addr)
        .event(Action::LoginSuccess, Some(home.id))
        .record(&mut conn)
        .await?;
    session_keys::log_in(&session, user.id, user.session_epoch, home.id)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("session: {e}")))?;
    let mut response = see_other(&req, local_path(&form.next).unwrap_or(LANDING));
    // This browser now knows the account: it keeps logging in while strangers'
    // guesses lock the account for unknown browsers.
    let device = Device::after_login(device, user.id, now);
    response
        .add_cookie(&device.cookie(key, state.settings.cookies_secure()))
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("device cookie: {e}")))?;
    Ok(response)
}

/// The failed-login counters an attempt is charged to (see docs/DEPLOYMENT.md).
enum Counters {
    /// A browser with a device cookie for this account: only its own counter, so
    /// neither the account's nor the address's lock keeps the owner out.
    KnownDevice { device: String },
    /// Any other browser: the (account, address) pair, the address, and the
    /// account across all addresses.
    Unknown {
        pair: String,
        address: String,
        account: String,
    },
}

impl Counters {
    /// Counts the attempt; false when a limit is passed (the attempt is refused).
    async fn admit(
        &self,
        conn: &mut AsyncPgConnection,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        match self {
            Counters::KnownDevice { device } => Ok(throttle::count_attempt(conn, device, now)
                .await?
                <= settings.login_max_failures),
            Counters::Unknown {
                pair,
                address,
                account,
            } => {
                // A counter is charged only when those before it let the attempt
                // through: guesses already refused for one address do not use up
                // the account's allowance across addresses.
                if throttle::count_attempt(conn, pair, now).await? > settings.login_max_failures {
                    return Ok(false);
                }
                if throttle::count_attempt(conn, address, now).await?
                    > settings.login_max_failures_per_address
                {
                    return Ok(false);
                }
                Ok(throttle::count_attempt(conn, account, now).await?
                    <= settings.login_max_failures_across_addresses)
            }
        }
    }

    /// The attempt succeeded: the pair (or device) starts afresh; the shared
    /// counters only take this attempt back, so a stranger's count stands.
    async fn succeeded(&self, conn: &mut AsyncPgConnection) -> Result<(), AppError> {
        match self {
            Counters::KnownDevice { device } => {
                throttle::clear(conn, device).await?;
            }
            Counters::Unknown {
                pair,
                address,
                account,
            } => {
                throttle::clear(conn, pair).await?;
                throttle::forgive(conn, address).await?;
                throttle::forgive(conn, account).await?;
            }
        }
        Ok(())
    }
}

async fn logout(req: HttpRequest, session: Session) -> HttpResponse {
    session.purge();
    see_other(&req, "/login")
}

/// Text safe to store: control characters (NUL included) dropped, at most 200 characters.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::{local_path, login_url, split_login};

    #[test]
    fn a_login_returns_only_to_a_path_on_this_host() {
        for ok in ["/tenants/5/usage", "/tenants?q=a&page=2", "/", "/stats#top"] {
            assert_eq!(local_path(ok), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "tenants/5",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/a\\b",
            "/\tevil",
            "/a\r\nSet-Cookie: x=1",
            "/a b",
            "javascript:alert(1)",
            "/login",
            "/login?next=/x",
            "/logout",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(2000))), None);
        assert_eq!(
            login_url(Some("/tenants/5/usage?from=2026-01")),
            "/login?next=%2Ftenants%2F5%2Fusage%3Ffrom%3D2026-01"
        );
        assert_eq!(login_url(Some("//evil.example")), "/login");
        assert_eq!(login_url(None), "/login");
    }

    #[test]
    fn splits_prefix() {
        assert_eq!(split_login("acme\\alice", "root"), ("acme", "alice"));
        assert_eq!(split_login("alice", "root"), ("root", "alice"));
        assert_eq!(split_login(" acme\\ alice ", "root"), ("acme", "alice"));
    }
}
