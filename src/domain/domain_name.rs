//! A tenant's custom domain: a fully qualified host name it serves its console on.

/// Parses a host name: 2–127 DNS labels, at most 253 characters, lower-cased.
/// Hosts under the installation's base domain are refused: those are subdomains.
pub fn parse_custom_domain(input: &str, base_domain: &str) -> Result<Option<String>, String> {
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
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err("Use letters, digits and hyphens in each part of the domain.".into());
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("An IP address is not a domain name.".into());
    }
    if s == base_domain || s.ends_with(&format!(".{base_domain}")) {
        return Err(format!(
            "Hosts under {base_domain} are tenant subdomains; use the subdomain field."
        ));
    }
    Ok(Some(s))
}

#[cfg(test)]
mod tests {
    use super::parse_custom_domain as p;

    #[test]
    fn custom_domains() {
        assert_eq!(p("", "example.net").unwrap(), None);
        assert_eq!(
            p(" Console.Acme.COM. ", "example.net").unwrap().as_deref(),
            Some("console.acme.com")
        );
        assert!(p("localhost", "example.net").is_err());
        assert!(p("10.0.0.1", "example.net").is_err());
        assert!(p("bad_host.com", "example.net").is_err());
        assert!(p("-x.com", "example.net").is_err());
        assert!(p("acme.example.net", "example.net").is_err());
        assert!(p(&format!("{}.com", "a".repeat(64)), "example.net").is_err());
    }
}
