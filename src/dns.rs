//! DNS lookups for custom-domain ownership checks: the TXT records at a name,
//! asked of the configured resolver (`TENANTRY_DNS_RESOLVER`) or the system's.
//!
//! Lookups are asynchronous (hickory-resolver on tokio) and bounded by
//! [`LOOKUP_TIMEOUT`], so a resolver that does not answer costs a request a few
//! seconds and a clear message, never a blocked worker. Each check builds its own
//! resolver: no cache keeps a "no such record" from before the record was added.

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, Resolver};
use std::net::SocketAddr;
use std::time::Duration;

/// The longest a whole lookup may take, retries included.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest one query to one server may take (a retry may follow).
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Why TXT records could not be read: the resolver's fault, not the domain's.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("the DNS resolver did not answer in time")]
    Timeout,
    #[error("the DNS resolver could not be asked: {0}")]
    Unreachable(String),
    #[error("the DNS resolver failed to answer: {0}")]
    Failed(String),
}

/// Who answers the lookups.
#[derive(Clone, Copy, Debug)]
pub struct TxtResolver {
    /// `None`: the system's configuration (`/etc/resolv.conf`).
    pub server: Option<SocketAddr>,
}

impl TxtResolver {
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        Self {
            server: settings.dns_resolver,
        }
    }

    /// The TXT records at `name`, each record's strings joined (long values are
    /// split into 255-byte strings on the wire). No record, or no such name, is an
    /// empty list.
    pub async fn txt_records(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let resolver = self.resolver().await?;
        // A fully qualified name: the resolver's search domains never apply.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let lookup = tokio::time::timeout(LOOKUP_TIMEOUT, resolver.txt_lookup(fqdn))
            .await
            .map_err(|_| DnsError::Timeout)?;
        match lookup {
            Ok(txt) => Ok(txt
                .iter()
                .map(|record| {
                    let bytes: Vec<u8> = record
                        .txt_data()
                        .iter()
                        .flat_map(|s| s.iter())
                        .copied()
                        .collect();
                    String::from_utf8_lossy(&bytes).into_owned()
                })
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(e) => Err(classify(&e)),
        }
    }

    async fn resolver(&self) -> Result<Resolver<TokioConnectionProvider>, DnsError> {
        let (config, mut opts) = match self.server {
            Some(addr) => {
                let mut config = ResolverConfig::new();
                config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
                // Answers too long for UDP come again over TCP, from the same server.
                config.add_name_server(NameServerConfig::new(addr, Protocol::Tcp));
                (config, ResolverOpts::default())
            }
            // Reading /etc/resolv.conf is file I/O: off the async workers.
            None => tokio::task::spawn_blocking(hickory_resolver::system_conf::read_system_conf)
                .await
                .map_err(|e| DnsError::Unreachable(e.to_string()))?
                .map_err(|e| {
                    DnsError::Unreachable(format!("no usable system resolver configuration ({e})"))
                })?,
        };
        opts.timeout = QUERY_TIMEOUT;
        opts.attempts = 1;
        opts.cache_size = 0;
        // /etc/hosts holds no TXT records, and reading it would block.
        opts.use_hosts_file = ResolveHosts::Never;
        Ok(
            Resolver::builder_with_config(config, TokioConnectionProvider::default())
                .with_options(opts)
                .build(),
        )
    }
}

fn classify(e: &ResolveError) -> DnsError {
    match e.proto() {
        Some(p) if matches!(p.kind(), hickory_resolver::proto::ProtoErrorKind::Timeout) => {
            DnsError::Timeout
        }
        Some(p) if p.is_io() || p.is_no_connections() => DnsError::Unreachable(p.to_string()),
        _ => DnsError::Failed(e.to_string()),
    }
}
