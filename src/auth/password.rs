//! Argon2id hashing off the async workers, with bounded concurrency.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// OWASP's minimum for Argon2id: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

fn argon2() -> Argon2<'static> {
    // The constants are valid Argon2 parameters; `Params::DEFAULT` is unreachable.
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes and verifies passwords on the blocking pool; at most `limit` at once so a
/// burst of logins cannot starve page requests or exhaust memory.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when the user does not exist, so failures cost the same.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new(limit: usize) -> anyhow::Result<Self> {
        let dummy = hash_blocking("tenantry-dummy-password-for-timing")?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
            dummy_hash: Arc::new(dummy),
        })
    }

    pub async fn hash(&self, password: &SecretString) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_blocking(password.expose_secret())).await?
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is no user.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let exists = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy_hash.as_str().to_string(), str::to_string);
        let password = password.clone();
        let ok =
            tokio::task::spawn_blocking(move || verify_blocking(password.expose_secret(), &hash))
                .await?;
        Ok(ok && exists)
    }
}

/// Hashes synchronously; for CLI bootstrap and seeding.
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_owasp_parameters_and_verifies() {
        let hasher = PasswordHasher::new(2).unwrap();
        let pw = SecretString::from("correct horse battery staple");
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher.verify(&pw, Some(&hash)).await.unwrap());
        assert!(!hasher
            .verify(&SecretString::from("wrong"), Some(&hash))
            .await
            .unwrap());
        // No user: the dummy hash is checked, and the answer is always false.
        assert!(!hasher
            .verify(
                &SecretString::from("tenantry-dummy-password-for-timing"),
                None
            )
            .await
            .unwrap());
    }
}
