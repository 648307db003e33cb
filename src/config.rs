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
    pub base_domain: String,
    pub secret_key: SecretString,
    pub dev: bool,
    pub admin_username: Option<String>,
    pub admin_password: Option<SecretString>,
    pub root_subdomain: String,
    pub public_url: String,
    pub pool_size: usize,
    /// Upper bound on concurrent Argon2 computations (each takes ~19 MiB).
    pub hash_concurrency: usize,
    /// Failed logins per account name before it is throttled (per 15 minutes).
    pub login_max_failures_per_account: i32,
    /// Failed logins per client address before it is throttled (per 15 minutes).
    pub login_max_failures_per_address: i32,
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
        let pool_size = parse_num(
            get(
                "TENANTRY_DB_POOL_SIZE",
                &file.db_pool_size.map(|n| n.to_string()),
            ),
            16,
            "TENANTRY_DB_POOL_SIZE",
        )?;
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hash_concurrency = parse_num(
            get("TENANTRY_HASH_CONCURRENCY", &None),
            cpus.max(2),
            "TENANTRY_HASH_CONCURRENCY",
        )?;
        Ok(Self {
            database_url: SecretString::from(database_url),
            listen,
            base_domain: get("TENANTRY_BASE_DOMAIN", &file.base_domain)
                .unwrap_or_else(|| "localhost".into())
                .to_ascii_lowercase(),
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
            login_max_failures_per_account: parse_num(
                get("TENANTRY_LOGIN_MAX_FAILURES", &None),
                5,
                "TENANTRY_LOGIN_MAX_FAILURES",
            )?,
            login_max_failures_per_address: parse_num(
                get("TENANTRY_LOGIN_MAX_FAILURES_PER_ADDRESS", &None),
                50,
                "TENANTRY_LOGIN_MAX_FAILURES_PER_ADDRESS",
            )?,
        })
    }

    /// Session cookies get the Secure flag when the public URL is HTTPS.
    pub fn cookies_secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
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
    }
}
