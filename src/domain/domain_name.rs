//! A tenant's custom domain: a fully qualified host name it serves its console on,
//! and how its ownership is proven (a DNS TXT record holding a per-tenant token).

use super::text_enum::text_enum;

/// The console's own host names, which no tenant may claim as its custom domain:
/// the host of the public URL, and the base domain with every name under it (those
/// are tenant subdomains).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleHosts {
    /// Lower case, like `tenants.example.net`.
    pub base_domain: String,
    /// Lower case, without port, like `console.example.net`.
    pub public_host: String,
}

#[cfg(test)]
impl ConsoleHosts {
    /// The console's hosts in unit tests.
    pub fn example() -> Self {
        Self {
            base_domain: "tenants.example.net".into(),
            public_host: "console.example.net".into(),
        }
    }
}

/// Where a tenant's users reach the console, as links in mail write it: the
/// console's public URL (`TENANTRY_PUBLIC_URL`), and the base domain under which
/// tenants have their hosts (`TENANTRY_BASE_DOMAIN`, `None` when it is not set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleUrls {
    /// Without a trailing `/`, like `https://console.example.net`.
    pub public_url: String,
    /// Lower case, like `tenants.example.net`.
    pub base_domain: Option<String>,
}

/// The address of one tenant as [`ConsoleUrls::tenant_url`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantAddress {
    pub subdomain: String,
    /// Its custom domain while it serves (verified or approved) and its plan
    /// includes custom domains; `None` otherwise (a dormant or pending one is not
    /// served, so no link names it).
    pub custom_domain: Option<String>,
    /// The root tenant: its address is the console's own.
    pub is_root: bool,
}

impl ConsoleUrls {
    /// The base of links for the users of a tenant: its custom domain if it
    /// serves, else `<subdomain>.<base domain>`, each with the scheme, port and
    /// path of the public URL; the public URL itself for the root, for a tenant
    /// without an address (`None`: not found), and without a base domain.
    pub fn tenant_url(&self, tenant: Option<&TenantAddress>) -> String {
        let host = match tenant {
            Some(t) if t.is_root => None,
            Some(t) => t.custom_domain.clone().or_else(|| {
                self.base_domain
                    .as_ref()
                    .map(|base| format!("{}.{base}", t.subdomain))
            }),
            None => None,
        };
        match host {
            Some(host) => self.with_host(&host),
            None => self.public_url.clone(),
        }
    }

    /// The public URL with its host replaced by `host` (its scheme, port and path kept).
    fn with_host(&self, host: &str) -> String {
        let (scheme, rest) = self
            .public_url
            .split_once("://")
            .unwrap_or(("http", self.public_url.as_str()));
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        // The port after the host (an IPv6 literal's colons are inside its brackets).
        let port = match authority.rfind(':') {
            Some(at) if !authority[at..].contains(']') => &authority[at..],
            _ => "",
        };
        format!("{scheme}://{host}{port}{path}")
    }
}

/// A host name a tenant may claim as its custom domain (the rules of
/// [`parse_custom_domain`]), lower case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomDomain(String);

impl CustomDomain {
    /// `Ok(None)` for an empty input: no custom domain.
    pub fn parse(input: &str, hosts: &ConsoleHosts) -> Result<Option<Self>, String> {
        parse_custom_domain(input, hosts).map(|d| d.map(Self))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The most characters a DNS label (a part of a name between dots) may have.
const MAX_LABEL: usize = 63;

/// Parses a custom domain: a host name ([`parse_host_name`]) that is none of the
/// console's own hosts (see [`ConsoleHosts`]).
pub fn parse_custom_domain(input: &str, hosts: &ConsoleHosts) -> Result<Option<String>, String> {
    let Some(s) = parse_host_name(input)? else {
        return Ok(None);
    };
    if s == hosts.public_host {
        return Err(format!(
            "{s} is the address of the console itself; a tenant cannot take it as its domain."
        ));
    }
    let base = hosts.base_domain.as_str();
    if s == base || s.ends_with(&format!(".{base}")) {
        return Err(format!(
            "Hosts under {base} are tenant subdomains; use the subdomain field."
        ));
    }
    Ok(Some(s))
}

/// What is wrong with one (lower-cased) DNS label of a host name, if anything: at
/// most 63 characters, letters, digits and hyphens, not starting or ending with a
/// hyphen.
pub fn label_error(label: &str) -> Option<String> {
    dns_label_error(label, false)
}

/// [`label_error`], with `_` also taken when `underscores` (names as DNS queries
/// carry them).
fn dns_label_error(label: &str, underscores: bool) -> Option<String> {
    if label.len() > MAX_LABEL {
        return Some(format!(
            "Each part of the domain (between dots) may have at most {MAX_LABEL} characters."
        ));
    }
    let ok = !label.is_empty()
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (underscores && c == '_')
        });
    (!ok).then(|| {
        if underscores {
            "Use letters, digits, hyphens and underscores in each part of the domain, not \
             starting or ending with a hyphen."
                .to_string()
        } else {
            "Use letters, digits and hyphens in each part of the domain, not starting or \
             ending with a hyphen."
                .to_string()
        }
    })
}

/// Parses a fully qualified host name (a tenant's custom domain, a domain its rules
/// protect): 2–127 DNS labels, at most 253 characters, lower-cased, a trailing dot
/// ignored. `Ok(None)` for an empty input.
pub fn parse_host_name(input: &str) -> Result<Option<String>, String> {
    host_name(input, false)
}

/// Parses a name as DNS queries carry it (a line of a policy's allow or deny list):
/// a host name ([`parse_host_name`]) whose labels may also hold underscores
/// (`_dmarc.example.com`, `a_b.example`: service and TXT names that resolvers are
/// asked for, which a list must be able to match).
pub fn parse_dns_name(input: &str) -> Result<Option<String>, String> {
    host_name(input, true)
}

/// [`parse_host_name`], with `_` taken in labels when `underscores`.
fn host_name(input: &str, underscores: bool) -> Result<Option<String>, String> {
    let s = input.trim().trim_end_matches('.').to_ascii_lowercase();
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() > 253 {
        return Err("A domain has at most 253 characters.".into());
    }
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 {
        return Err("Enter a full domain name, such as console.example.com.".into());
    }
    if let Some(e) = labels.iter().find_map(|l| dns_label_error(l, underscores)) {
        return Err(e);
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("An IP address is not a domain name.".into());
    }
    Ok(Some(s))
}

text_enum! {
    /// Where a custom domain stands. Only a domain that serves (verified or approved)
    /// shows its tenant's login page and takes bare usernames on its host.
    #[derive(serde::Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum DomainStatus {
        /// Set, not proven yet: the host shows the neutral login page.
        Pending = "pending",
        /// Proven by the DNS TXT record.
        Verified = "verified",
        /// Approved by an Owner of the root without a DNS proof.
        Approved = "approved",
    }
}

impl DomainStatus {
    /// Does a domain in this state serve its tenant?
    pub fn serves(self) -> bool {
        self != DomainStatus::Pending
    }
}

/// The label under a custom domain where its TXT record lives.
pub const CHALLENGE_LABEL: &str = "_tenantry-challenge";
/// What the TXT record's value starts with; the token follows.
pub const CHALLENGE_PREFIX: &str = "tenantry-verify=";

/// The name of the TXT record that proves `domain`: `_tenantry-challenge.<domain>`.
pub fn challenge_name(domain: &str) -> String {
    format!("{CHALLENGE_LABEL}.{domain}")
}

/// The value the TXT record must hold: `tenantry-verify=<token>`.
pub fn challenge_value(token: &str) -> String {
    format!("{CHALLENGE_PREFIX}{token}")
}

/// A new random token for one (tenant, domain): 128 bits as 32 hex characters
/// (lower case, so copying it into any DNS interface keeps it intact).
pub fn new_challenge_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the TXT records found at the challenge name say about the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxtProof {
    /// One record holds exactly the expected value.
    Found,
    /// There are TXT records, none with the expected value (how many).
    Mismatch(usize),
    /// No TXT record at all.
    Missing,
}

/// Compares the TXT records at the challenge name (each record's strings already
/// joined, as RFC 7208 reads long values) with the expected token. Surrounding
/// spaces and quotes that DNS interfaces sometimes keep are ignored.
pub fn txt_proof(records: &[String], token: &str) -> TxtProof {
    let expected = challenge_value(token);
    if records.is_empty() {
        TxtProof::Missing
    } else if records
        .iter()
        .any(|r| r.trim().trim_matches('"').trim() == expected)
    {
        TxtProof::Found
    } else {
        TxtProof::Mismatch(records.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(public_url: &str, base_domain: Option<&str>) -> ConsoleUrls {
        ConsoleUrls {
            public_url: public_url.into(),
            base_domain: base_domain.map(Into::into),
        }
    }

    fn address(subdomain: &str, custom_domain: Option<&str>, is_root: bool) -> TenantAddress {
        TenantAddress {
            subdomain: subdomain.into(),
            custom_domain: custom_domain.map(Into::into),
            is_root,
        }
    }

    #[test]
    fn a_tenants_links_use_its_own_address() {
        let u = urls("https://console.example.net", Some("tenants.example.net"));
        let acme = address("acme", None, false);
        assert_eq!(
            u.tenant_url(Some(&acme)),
            "https://acme.tenants.example.net"
        );
        let shop = address("shop", Some("admin.shop.example"), false);
        assert_eq!(u.tenant_url(Some(&shop)), "https://admin.shop.example");
        // The root's address, and an unknown tenant's, are the console's own.
        assert_eq!(
            u.tenant_url(Some(&address("root", None, true))),
            "https://console.example.net"
        );
        assert_eq!(u.tenant_url(None), "https://console.example.net");
        // Without a base domain: the public URL, as before.
        assert_eq!(
            urls("https://console.example.net", None).tenant_url(Some(&acme)),
            "https://console.example.net"
        );
        // The scheme, port and path of the public URL are kept; user info is not.
        let u = urls("http://u@127.0.0.1:8080/console", Some("tenantry.test"));
        assert_eq!(
            u.tenant_url(Some(&acme)),
            "http://acme.tenantry.test:8080/console"
        );
        let u = urls("http://[::1]:8443", Some("tenantry.test"));
        assert_eq!(u.tenant_url(Some(&acme)), "http://acme.tenantry.test:8443");
        let u = urls("http://[::1]", Some("tenantry.test"));
        assert_eq!(u.tenant_url(Some(&acme)), "http://acme.tenantry.test");
    }

    fn hosts() -> ConsoleHosts {
        ConsoleHosts {
            base_domain: "example.net".into(),
            public_host: "console.provider.com".into(),
        }
    }

    fn p(input: &str) -> Result<Option<String>, String> {
        parse_custom_domain(input, &hosts())
    }

    #[test]
    fn custom_domains() {
        assert_eq!(p("").unwrap(), None);
        assert_eq!(
            p(" Console.Acme.COM. ").unwrap().as_deref(),
            Some("console.acme.com")
        );
        assert!(p("localhost").is_err());
        assert!(p("10.0.0.1").is_err());
        assert!(p("bad_host.com").is_err());
        assert!(p("-x.com").is_err());
        assert!(p("acme.example.net").is_err());
        assert_eq!(
            p(&format!("{}.com", "a".repeat(64))),
            Err("Each part of the domain (between dots) may have at most 63 characters.".into())
        );
        assert!(p(&format!("{}.com", "a".repeat(63))).is_ok());
        assert_eq!(
            p("a..com"),
            Err(
                "Use letters, digits and hyphens in each part of the domain, not starting or \
                 ending with a hyphen."
                    .into()
            )
        );
    }

    #[test]
    fn the_consoles_own_hosts_are_refused() {
        for host in [
            "console.provider.com",
            "CONSOLE.Provider.com.",
            "example.net",
            "acme.example.net",
            "deep.acme.example.net",
        ] {
            assert!(p(host).is_err(), "{host}");
        }
        assert!(p("console.provider.com")
            .unwrap_err()
            .contains("address of the console itself"));
        // Neighbours of the public host are other people's names.
        assert!(p("provider.com").unwrap().is_some());
        assert!(p("other.provider.com").unwrap().is_some());
        assert!(p("notexample.net").unwrap().is_some());
    }

    #[test]
    fn statuses() {
        for &s in DomainStatus::ALL {
            assert_eq!(s.as_str().parse::<DomainStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(
                serde_json::from_value::<DomainStatus>(s.as_str().into()).unwrap(),
                s
            );
        }
        assert!("bogus".parse::<DomainStatus>().is_err());
        assert!(!DomainStatus::Pending.serves());
        assert!(DomainStatus::Verified.serves() && DomainStatus::Approved.serves());
    }

    #[test]
    fn challenge_record() {
        assert_eq!(
            challenge_name("console.acme.com"),
            "_tenantry-challenge.console.acme.com"
        );
        let token = new_challenge_token();
        assert_eq!(token.len(), 32);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(token, new_challenge_token());
        let good = challenge_value(&token);
        assert_eq!(good, format!("tenantry-verify={token}"));
        assert_eq!(txt_proof(&[], &token), TxtProof::Missing);
        assert_eq!(
            txt_proof(&["v=spf1 -all".into(), format!(" \"{good}\" ")], &token),
            TxtProof::Found
        );
        assert_eq!(
            txt_proof(&["tenantry-verify=other".into()], &token),
            TxtProof::Mismatch(1)
        );
        assert_eq!(
            txt_proof(&[format!("{good}x")], &token),
            TxtProof::Mismatch(1)
        );
    }
}
