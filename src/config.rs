//! Settings from the environment and an optional TOML file (`TENANTRY_CONFIG`).
//! Environment variables win over the file.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::HashMap;

/// Minimum length of `TENANTRY_SECRET_KEY`: it signs session cookies (64 bytes).
pub const MIN_SECRET_KEY_LEN: usize = 64;

/// Everything the process needs to run.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: SecretString,
    pub listen: String,
    /// Lower case; `localhost` when `TENANTRY_BASE_DOMAIN` is not set.
    pub base_domain: String,
    /// Whether `TENANTRY_BASE_DOMAIN` is set: only then do links in mail lead to
    /// tenants' own hosts (`console_urls`).
    pub base_domain_configured: bool,
    pub secret_key: SecretString,
    pub dev: bool,
    pub admin_username: Option<String>,
    pub admin_password: Option<SecretString>,
    pub root_subdomain: String,
    pub public_url: String,
    pub pool_size: usize,
    /// Upper bound on concurrent Argon2 computations (each takes ~19 MiB).
    pub hash_concurrency: usize,
    /// Failed logins per (account name, client address) before that pair is throttled
    /// (per 15 minutes); also per (account, known device) and for password changes.
    pub login_max_failures: i32,
    /// Failed logins per account name from all addresses together before only
    /// browsers with a device cookie for the account may still try (per 15 minutes).
    pub login_max_failures_across_addresses: i32,
    /// Failed logins per client address before it is throttled (per 15 minutes).
    pub login_max_failures_per_address: i32,
    /// Outgoing mail server: `smtp://host:port` (plain), `smtp://…?tls=required`
    /// (STARTTLS) or `smtps://host:port` (TLS), optionally with `user:password@`.
    /// `None`: mails are not sent but written as files to `mail_dir` (development).
    pub smtp_url: Option<SecretString>,
    /// Where mail goes without a mail server (`TENANTRY_MAIL_DIR`): one `.eml` file
    /// each, readable by the server's user only. Never the log: links carry tokens.
    pub mail_dir: std::path::PathBuf,
    /// The From address of outgoing mail.
    pub mail_from: String,
    /// How long an invitation link stays valid.
    pub invitation_ttl_hours: i64,
    /// Invitation mails (new and resent) one user may have sent per hour.
    pub invitations_per_hour: i64,
    /// How often the outbox worker looks for due mail.
    pub outbox_poll_ms: u64,
    /// First retry delay after a failed delivery; doubles with every attempt.
    pub outbox_backoff_ms: u64,
    /// How often each process runs the monthly report job (`TENANTRY_REPORT_POLL_SECS`;
    /// 0: never, as in tests, which run it for a chosen date).
    pub report_poll_secs: u64,
    /// How often pending usage is folded into the subtree totals (the most the
    /// stats' subtree totals lag behind ingestion).
    pub usage_fold_interval_ms: u64,
    /// How often each process looks for a rule-set migration to run
    /// (`TENANTRY_MIGRATION_POLL_MS`).
    pub migration_poll_ms: u64,
    /// A running migration's lease (`TENANTRY_MIGRATION_LEASE_SECS`, 1–30): how
    /// long after its process died a migration is found failed.
    pub migration_lease_secs: u64,
    /// Source rules a migration copies per transaction
    /// (`TENANTRY_MIGRATION_BATCH`, 1–50,000).
    pub migration_batch: i64,
    /// The DNS server that custom-domain checks ask (`TENANTRY_DNS_RESOLVER`);
    /// `None`: the system's resolver configuration (`/etc/resolv.conf`).
    pub dns_resolver: Option<std::net::SocketAddr>,
    /// Reverse proxies (`TENANTRY_TRUSTED_PROXIES`, addresses or networks): from
    /// these peers the client address is taken from `X-Forwarded-For`.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("DATABASE_URL is not set")]
    MissingDatabaseUrl,
    #[error(
        "TENANTRY_SECRET_KEY is missing: set it to a random string of at least {MIN_SECRET_KEY_LEN} characters \
         (for example `openssl rand -hex 32`), or set TENANTRY_DEV=1 for local development"
    )]
    MissingSecretKey,
    #[error("TENANTRY_SECRET_KEY is too short: it needs at least {MIN_SECRET_KEY_LEN} characters, got {0}")]
    ShortSecretKey(usize),
    #[error("{0} must be {1}")]
    Invalid(&'static str, &'static str),
    #[error("cannot read config file {0}: {1}")]
    File(String, String),
}

impl Settings {
    /// Reads the process environment (and `TENANTRY_CONFIG`, when set).
    pub fn from_env() -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::from_map(&env)
    }

    /// Settings for commands that never serve HTTP (migrate, bootstrap, seed-demo):
    /// they sign no cookies, so they do not need the secret key.
    pub fn from_env_without_secret() -> Result<Self, ConfigError> {
        let mut env: HashMap<String, String> = std::env::vars().collect();
        env.entry("TENANTRY_SECRET_KEY".into())
            .and_modify(|k| {
                if k.len() < MIN_SECRET_KEY_LEN {
                    *k = "x".repeat(MIN_SECRET_KEY_LEN)
                }
            })
            .or_insert_with(|| "x".repeat(MIN_SECRET_KEY_LEN));
        Self::from_map(&env)
    }

    /// Builds settings from a map of variable names, so tests need not touch the process env.
    pub fn from_map(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let file = match env.get("TENANTRY_CONFIG").filter(|p| !p.is_empty()) {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::File(path.clone(), e.to_string()))?;
                toml::from_str::<FileSettings>(&text)
                    .map_err(|e| ConfigError::File(path.clone(), e.to_string()))?
            }
            None => FileSettings::default(),
        };
        let get = |env_name: &str, file_value: &Option<String>| -> Option<String> {
            env.get(env_name)
                .filter(|v| !v.is_empty())
                .cloned()
                .or_else(|| file_value.clone())
        };

        let dev = matches!(
            get("TENANTRY_DEV", &file.dev.map(|b| b.to_string())).as_deref(),
            Some("1" | "true" | "yes")
        );
        let database_url =
            get("DATABASE_URL", &file.database_url).ok_or(ConfigError::MissingDatabaseUrl)?;
        let listen =
            get("TENANTRY_LISTEN", &file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
        let secret_key = match get("TENANTRY_SECRET_KEY", &file.secret_key) {
            Some(k) if k.len() >= MIN_SECRET_KEY_LEN => k,
            Some(k) if !dev => return Err(ConfigError::ShortSecretKey(k.len())),
            None if !dev => return Err(ConfigError::MissingSecretKey),
            // Dev mode: a fixed, clearly-marked key so sessions survive restarts.
            _ => "tenantry-development-only-key-do-not-use-in-production-0123456789abcdef".into(),
        };
        let public_url = get("TENANTRY_PUBLIC_URL", &file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        let pool_size = number(&get, "TENANTRY_DB_POOL_SIZE", file.db_pool_size, 16)?;
        let smtp_url = get("TENANTRY_SMTP_URL", &file.smtp_url);
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(ConfigError::Invalid(
                    "TENANTRY_SMTP_URL",
                    "an smtp:// or smtps:// URL, like smtp://127.0.0.1:2525",
                ));
            }
        }
        let base_domain_set = get("TENANTRY_BASE_DOMAIN", &file.base_domain);
        let base_domain_configured = base_domain_set.is_some();
        let base_domain = base_domain_set
            .unwrap_or_else(|| "localhost".into())
            .to_ascii_lowercase();
        let mail_from = get("TENANTRY_MAIL_FROM", &file.mail_from)
            .unwrap_or_else(|| format!("tenantry@{base_domain}"));
        let mail_dir = get("TENANTRY_MAIL_DIR", &file.mail_dir)
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| "mail-outbox".into())
            .into();
        let invitation_ttl_hours: i64 = number(
            &get,
            "TENANTRY_INVITATION_TTL_HOURS",
            file.invitation_ttl_hours,
            168,
        )?;
        if !(1..=24 * 365).contains(&invitation_ttl_hours) {
            return Err(ConfigError::Invalid(
                "TENANTRY_INVITATION_TTL_HOURS",
                "a number of hours from 1 to 8760",
            ));
        }
        let invitations_per_hour: i64 = number(
            &get,
            "TENANTRY_INVITATIONS_PER_HOUR",
            file.invitations_per_hour,
            20,
        )?;
        let outbox_poll_ms: u64 = number(&get, "TENANTRY_OUTBOX_POLL_MS", None, 1000)?;
        let outbox_backoff_ms: u64 = number(&get, "TENANTRY_OUTBOX_BACKOFF_MS", None, 2000)?;
        let report_poll_secs: u64 = number(&get, "TENANTRY_REPORT_POLL_SECS", None, 300)?;
        let usage_fold_interval_ms: u64 =
            number(&get, "TENANTRY_USAGE_FOLD_INTERVAL_MS", None, 1000)?;
        let migration_poll_ms: u64 = number(&get, "TENANTRY_MIGRATION_POLL_MS", None, 1000)?;
        let migration_lease_secs: u64 = number(&get, "TENANTRY_MIGRATION_LEASE_SECS", None, 30)?;
        let migration_batch: i64 = number(&get, "TENANTRY_MIGRATION_BATCH", None, 25_000)?;
        let dns_resolver = match get("TENANTRY_DNS_RESOLVER", &file.dns_resolver) {
            None => None,
            Some(v) => Some(parse_resolver(&v).ok_or(ConfigError::Invalid(
                "TENANTRY_DNS_RESOLVER",
                "an IP address with an optional port, like 192.0.2.53:53 or [2001:db8::53]:53",
            ))?),
        };
        let trusted_proxies = match get("TENANTRY_TRUSTED_PROXIES", &file.trusted_proxies) {
            None => Vec::new(),
            Some(v) => parse_networks(&v).ok_or(ConfigError::Invalid(
                "TENANTRY_TRUSTED_PROXIES",
                "a comma-separated list of IP addresses or networks, like 127.0.0.1,10.0.0.0/8",
            ))?,
        };
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hash_concurrency = number(&get, "TENANTRY_HASH_CONCURRENCY", None, cpus.max(2))?;
        Ok(Self {
            database_url: SecretString::from(database_url),
            listen,
            base_domain,
            base_domain_configured,
            secret_key: SecretString::from(secret_key),
            dev,
            admin_username: get("TENANTRY_ADMIN_USERNAME", &file.admin_username),
            admin_password: get("TENANTRY_ADMIN_PASSWORD", &file.admin_password)
                .map(SecretString::from),
            root_subdomain: get("TENANTRY_ROOT_SUBDOMAIN", &file.root_subdomain)
                .unwrap_or_else(|| "root".into()),
            public_url,
            pool_size,
            hash_concurrency,
            login_max_failures: parse_limit(
                get("TENANTRY_LOGIN_MAX_FAILURES", &None),
                5,
                "TENANTRY_LOGIN_MAX_FAILURES",
            )?,
            login_max_failures_across_addresses: parse_limit(
                get("TENANTRY_LOGIN_MAX_FAILURES_PER_ACCOUNT", &None),
                50,
                "TENANTRY_LOGIN_MAX_FAILURES_PER_ACCOUNT",
            )?,
            login_max_failures_per_address: parse_limit(
                get("TENANTRY_LOGIN_MAX_FAILURES_PER_ADDRESS", &None),
                50,
                "TENANTRY_LOGIN_MAX_FAILURES_PER_ADDRESS",
            )?,
            smtp_url: smtp_url.map(SecretString::from),
            mail_from,
            mail_dir,
            invitation_ttl_hours,
            invitations_per_hour,
            outbox_poll_ms: outbox_poll_ms.max(10),
            outbox_backoff_ms,
            report_poll_secs,
            usage_fold_interval_ms: usage_fold_interval_ms.max(10),
            migration_poll_ms: migration_poll_ms.max(10),
            migration_lease_secs: migration_lease_secs.clamp(1, 30),
            migration_batch: migration_batch.clamp(1, 50_000),
            dns_resolver,
            trusted_proxies,
        })
    }

    /// The host of the public URL, lower case, without port (`console.example.net`).
    pub fn public_host(&self) -> String {
        let rest = self
            .public_url
            .split_once("://")
            .map_or(self.public_url.as_str(), |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = match authority.find(']') {
            Some(end) if authority.starts_with('[') => &authority[..=end],
            _ => authority.split(':').next().unwrap_or_default(),
        };
        host.trim_end_matches('.').to_ascii_lowercase()
    }

    /// The host names that belong to the console itself: no tenant may claim them.
    pub fn console_hosts(&self) -> crate::domain::domain_name::ConsoleHosts {
        crate::domain::domain_name::ConsoleHosts {
            base_domain: self.base_domain.clone(),
            public_host: self.public_host(),
        }
    }

    /// Where links in mail lead (`ConsoleUrls::tenant_url`): a tenant's own host
    /// under the base domain only when `TENANTRY_BASE_DOMAIN` is set.
    pub fn console_urls(&self) -> crate::domain::domain_name::ConsoleUrls {
        crate::domain::domain_name::ConsoleUrls {
            public_url: self.public_url.clone(),
            base_domain: self
                .base_domain_configured
                .then(|| self.base_domain.trim_end_matches('.').to_string()),
        }
    }

    /// Session cookies get the Secure flag when the public URL is HTTPS.
    pub fn cookies_secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

/// `ip:port`, `[ipv6]:port`, or a bare IP address (port 53).
fn parse_resolver(v: &str) -> Option<std::net::SocketAddr> {
    let v = v.trim();
    v.parse()
        .ok()
        .or_else(|| v.parse::<std::net::IpAddr>().ok().map(|ip| (ip, 53).into()))
}

/// A number setting: from the environment, else the file, else `default`.
fn number<T: std::str::FromStr + ToString>(
    get: &impl Fn(&str, &Option<String>) -> Option<String>,
    name: &'static str,
    file_value: Option<T>,
    default: T,
) -> Result<T, ConfigError> {
    parse_num(get(name, &file_value.map(|n| n.to_string())), default, name)
}

fn parse_num<T: std::str::FromStr>(
    v: Option<String>,
    default: T,
    name: &'static str,
) -> Result<T, ConfigError> {
    match v {
        None => Ok(default),
        Some(s) => s
            .trim()
            .parse()
            .map_err(|_| ConfigError::Invalid(name, "a positive number")),
    }
}

/// A failure limit: 0 or less would refuse every login.
/// `10.0.0.0/8, 127.0.0.1, ::1`: networks, or single addresses as /32 and /128.
fn parse_networks(v: &str) -> Option<Vec<ipnet::IpNet>> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .ok()
                .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
        })
        .collect()
}

fn parse_limit(v: Option<String>, default: i32, name: &'static str) -> Result<i32, ConfigError> {
    match parse_num(v, default, name)? {
        n if n >= 1 => Ok(n),
        _ => Err(ConfigError::Invalid(name, "a number of at least 1")),
    }
}

/// The optional config file: the same names, lower-case, without the prefix.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database_url: Option<String>,
    listen: Option<String>,
    base_domain: Option<String>,
    secret_key: Option<String>,
    dev: Option<bool>,
    admin_username: Option<String>,
    admin_password: Option<String>,
    root_subdomain: Option<String>,
    public_url: Option<String>,
    db_pool_size: Option<usize>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    mail_dir: Option<String>,
    invitation_ttl_hours: Option<i64>,
    invitations_per_hour: Option<i64>,
    dns_resolver: Option<String>,
    trusted_proxies: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn secret_key_required_outside_dev() {
        let err = Settings::from_map(&map(&[("DATABASE_URL", "postgres://x")])).unwrap_err();
        assert!(matches!(err, ConfigError::MissingSecretKey));
        let err = Settings::from_map(&map(&[
            ("DATABASE_URL", "postgres://x"),
            ("TENANTRY_SECRET_KEY", "short"),
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::ShortSecretKey(5)));
        assert!(Settings::from_map(&map(&[
            ("DATABASE_URL", "postgres://x"),
            ("TENANTRY_DEV", "1")
        ]))
        .is_ok());
    }

    #[test]
    fn defaults_and_public_url() {
        let s = Settings::from_map(&map(&[
            ("DATABASE_URL", "postgres://x"),
            ("TENANTRY_DEV", "1"),
        ]))
        .unwrap();
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert_eq!(s.base_domain, "localhost");
        assert_eq!(s.root_subdomain, "root");
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert!(!s.cookies_secure());
        let s = Settings::from_map(&map(&[
            ("DATABASE_URL", "postgres://x"),
            ("TENANTRY_DEV", "1"),
            ("TENANTRY_PUBLIC_URL", "https://console.example.net/"),
        ]))
        .unwrap();
        assert!(s.cookies_secure());
        assert_eq!(s.public_url, "https://console.example.net");
        assert_eq!(s.public_host(), "console.example.net");
    }

    #[test]
    fn public_host_and_resolver() {
        let with = |pairs: &[(&str, &str)]| {
            let mut all = vec![("DATABASE_URL", "postgres://x"), ("TENANTRY_DEV", "1")];
            all.extend_from_slice(pairs);
            Settings::from_map(&map(&all))
        };
        for (url, host) in [
            (
                "https://Console.Example.NET./login?x=1",
                "console.example.net",
            ),
            (
                "http://user:pw@console.example.net:8443",
                "console.example.net",
            ),
            ("http://[::1]:8080/", "[::1]"),
            ("console.example.net:80", "console.example.net"),
        ] {
            let s = with(&[("TENANTRY_PUBLIC_URL", url)]).unwrap();
            assert_eq!(s.public_host(), host, "{url}");
        }
        let s = with(&[]).unwrap();
        assert_eq!(s.public_host(), "127.0.0.1");
        assert_eq!(s.dns_resolver, None);
        assert_eq!(s.console_hosts().base_domain, "localhost");
        let s = with(&[("TENANTRY_DNS_RESOLVER", "127.0.0.1:5353")]).unwrap();
        assert_eq!(s.dns_resolver, Some("127.0.0.1:5353".parse().unwrap()));
        let s = with(&[("TENANTRY_DNS_RESOLVER", "192.0.2.53")]).unwrap();
        assert_eq!(s.dns_resolver, Some("192.0.2.53:53".parse().unwrap()));
        let s = with(&[("TENANTRY_DNS_RESOLVER", "[2001:db8::53]:5353")]).unwrap();
        assert_eq!(s.dns_resolver, Some("[2001:db8::53]:5353".parse().unwrap()));
        for bad in ["dns.example.net", "127.0.0.1:99999", "1.2.3"] {
            assert!(with(&[("TENANTRY_DNS_RESOLVER", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn mail_settings() {
        let s = Settings::from_map(&map(&[
            ("DATABASE_URL", "postgres://x"),
            ("TENANTRY_DEV", "1"),
            ("TENANTRY_BASE_DOMAIN", "Tenants.Example.NET"),
        ]))
        .unwrap();
        assert!(s.smtp_url.is_none());
        assert_eq!(s.mail_from, "tenantry@tenants.example.net");
        assert_eq!(s.invitation_ttl_hours, 168);
        assert_eq!(s.invitations_per_hour, 20);
        assert_eq!(s.outbox_poll_ms, 1000);
        assert_eq!(s.usage_fold_interval_ms, 1000);
        let s = Settings::from_map(&map(&[
            ("DATABASE_URL", "postgres://x"),
            ("TENANTRY_DEV", "1"),
            ("TENANTRY_SMTP_URL", "smtp://127.0.0.1:2525"),
            ("TENANTRY_MAIL_FROM", "noreply@example.net"),
            ("TENANTRY_INVITATION_TTL_HOURS", "24"),
        ]))
        .unwrap();
        assert_eq!(
            s.smtp_url.as_ref().map(|u| u.expose_secret().to_string()),
            Some("smtp://127.0.0.1:2525".into())
        );
        assert_eq!(s.mail_from, "noreply@example.net");
        assert_eq!(s.invitation_ttl_hours, 24);
        for (k, v) in [
            ("TENANTRY_SMTP_URL", "http://mail.example.net"),
            ("TENANTRY_INVITATION_TTL_HOURS", "0"),
            ("TENANTRY_INVITATIONS_PER_HOUR", "many"),
        ] {
            assert!(
                Settings::from_map(&map(&[
                    ("DATABASE_URL", "postgres://x"),
                    ("TENANTRY_DEV", "1"),
                    (k, v)
                ]))
                .is_err(),
                "{k}={v}"
            );
        }
    }

    #[test]
    fn login_limits() {
        let base = [("DATABASE_URL", "postgres://x"), ("TENANTRY_DEV", "1")];
        let s = Settings::from_map(&map(&base)).unwrap();
        assert_eq!(s.login_max_failures, 5);
        assert_eq!(s.login_max_failures_across_addresses, 50);
        assert_eq!(s.login_max_failures_per_address, 50);
        let mut env = map(&base);
        env.insert(
            "TENANTRY_LOGIN_MAX_FAILURES_PER_ACCOUNT".into(),
            "200".into(),
        );
        let s = Settings::from_map(&env).unwrap();
        assert_eq!(s.login_max_failures_across_addresses, 200);
        for (k, v) in [
            ("TENANTRY_LOGIN_MAX_FAILURES", "0"),
            ("TENANTRY_LOGIN_MAX_FAILURES_PER_ACCOUNT", "-1"),
            ("TENANTRY_LOGIN_MAX_FAILURES_PER_ADDRESS", "lots"),
        ] {
            let mut env = map(&base);
            env.insert(k.into(), v.into());
            assert!(Settings::from_map(&env).is_err(), "{k}={v}");
        }
    }
}
