//! A tenant's DNS configuration values: a resolver's address, a subnet's network
//! and a device's identifier, each parsed into its valid form or refused with the
//! message a form shows.

use ipnet::IpNet;
use std::net::IpAddr;
use std::str::FromStr;

/// A resolver's address: one IPv4 or IPv6 address (no prefix length, no zone).
pub fn parse_address(raw: &str) -> Result<IpAddr, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("Enter the resolver's IP address, such as 192.0.2.53 or 2001:db8::53.".into());
    }
    if let Ok(addr) = IpAddr::from_str(s) {
        return Ok(addr);
    }
    if IpNet::from_str(s).is_ok() {
        return Err(format!(
            "{s} is a network; enter a single address, without a prefix length."
        ));
    }
    Err(format!(
        "{} is not an IP address (IPv4 such as 192.0.2.53, or IPv6 such as 2001:db8::53).",
        shown(s)
    ))
}

/// A subnet: an IPv4 or IPv6 network in CIDR notation, in its canonical form (no
/// host bits set: `10.0.0.5/24` is refused, naming `10.0.0.0/24`). The address is
/// read as `std::net` reads one (as [`parse_address`]), the prefix length as a
/// decimal without leading zeros: one grammar for both, which the API document
/// states as a pattern.
pub fn parse_network(raw: &str) -> Result<IpNet, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("Enter a network in CIDR notation, such as 10.0.0.0/24.".into());
    }
    let not_a_network = || {
        format!(
            "{} is not a network in CIDR notation (such as 10.0.0.0/24 or 2001:db8::/48).",
            shown(s)
        )
    };
    let Some((addr, prefix)) = s.split_once('/') else {
        return match IpAddr::from_str(s) {
            Ok(addr) => Err(format!(
                "Add the prefix length: {addr}/{} is this address alone.",
                if addr.is_ipv4() { 32 } else { 128 }
            )),
            Err(_) => Err(not_a_network()),
        };
    };
    let addr = IpAddr::from_str(addr).map_err(|_| not_a_network())?;
    let canonical_digits = !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && (prefix == "0" || !prefix.starts_with('0'))
        && prefix.len() <= 3;
    let len: u8 = match prefix.parse() {
        Ok(n) if canonical_digits => n,
        _ => return Err(not_a_network()),
    };
    let net = IpNet::new(addr, len).map_err(|_| not_a_network())?;
    if net.trunc() != net {
        return Err(format!(
            "{s} has host bits set; did you mean {}?",
            net.trunc()
        ));
    }
    // IPv4-mapped IPv6 (`::ffff:10.0.0.0/120`) would escape the overlap check with
    // its IPv4 form: refused, naming that form.
    if let IpAddr::V6(v6) = addr {
        if let (Some(v4), Some(v4_len)) = (v6.to_ipv4_mapped(), len.checked_sub(96)) {
            return Err(format!(
                "{s} is an IPv4-mapped IPv6 network: use the IPv4 form, {v4}/{v4_len}."
            ));
        }
    }
    Ok(net)
}

/// A device's identifier as it reports itself (a serial, a MAC address, a host
/// name): 1–100 characters without spaces or control characters.
pub fn parse_identifier(raw: &str) -> Result<String, String> {
    const MAX: usize = 100;
    let s = raw.trim();
    if s.is_empty() {
        return Err("Enter the device's identifier, such as its serial or MAC address.".into());
    }
    if s.chars().count() > MAX {
        return Err(format!("An identifier has at most {MAX} characters."));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("An identifier cannot contain spaces or control characters.".into());
    }
    Ok(s.to_string())
}

/// Input echoed in a message: at most 60 characters of it, control characters
/// dropped (the message is shown next to the field that holds it all).
fn shown(s: &str) -> String {
    let kept: String = s.chars().filter(|c| !c.is_control()).take(60).collect();
    if kept.chars().count() < s.chars().count() {
        format!("“{kept}…”")
    } else {
        format!("“{kept}”")
    }
}

/// How a network is written (`10.0.0.0/24`, `2001:db8::/48`).
pub fn network_text(net: &IpNet) -> String {
    net.to_string()
}

/// How a resolver's address is written (the address alone).
pub fn address_text(net: &IpNet) -> String {
    net.addr().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_single_ip_addresses() {
        assert_eq!(
            parse_address(" 192.0.2.53 ").unwrap().to_string(),
            "192.0.2.53"
        );
        assert_eq!(
            parse_address("2001:DB8::53").unwrap().to_string(),
            "2001:db8::53"
        );
        assert!(parse_address("").unwrap_err().contains("Enter"));
        assert!(parse_address("10.0.0.0/8")
            .unwrap_err()
            .contains("single address"));
        assert!(parse_address("300.1.1.1")
            .unwrap_err()
            .contains("not an IP address"));
        assert!(parse_address("dns.example.com").is_err());
        assert!(parse_address("fe80::1%eth0").is_err());
    }

    #[test]
    fn networks_are_canonical_cidr() {
        assert_eq!(
            parse_network("10.0.0.0/24").unwrap().to_string(),
            "10.0.0.0/24"
        );
        assert_eq!(
            parse_network(" 2001:DB8::/48 ").unwrap().to_string(),
            "2001:db8::/48"
        );
        assert_eq!(
            parse_network("10.0.0.5/24").unwrap_err(),
            "10.0.0.5/24 has host bits set; did you mean 10.0.0.0/24?"
        );
        assert!(parse_network("2001:db8::1/64")
            .unwrap_err()
            .contains("did you mean 2001:db8::/64?"));
        assert!(parse_network("10.0.0.5")
            .unwrap_err()
            .contains("10.0.0.5/32"));
        assert!(parse_network("10.0.0.0/33")
            .unwrap_err()
            .contains("not a network"));
        assert!(parse_network("").is_err());
        assert!(parse_network("x".repeat(200).as_str())
            .unwrap_err()
            .contains('…'));
        for bad in [
            "10.0.0.0/08",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "010.0.0.0/8",
            "::/129",
            "a/8",
        ] {
            assert!(
                parse_network(bad).unwrap_err().contains("not a network"),
                "{bad}"
            );
        }
        assert_eq!(parse_network("::/0").unwrap().to_string(), "::/0");
    }

    #[test]
    fn identifiers_are_visible_text_without_spaces() {
        assert_eq!(parse_identifier(" aa:bb:cc ").unwrap(), "aa:bb:cc");
        assert!(parse_identifier("").is_err());
        assert!(parse_identifier("a b").is_err());
        assert!(parse_identifier("a\u{7}").is_err());
        assert!(parse_identifier(&"x".repeat(100)).is_ok());
        assert!(parse_identifier(&"x".repeat(101)).is_err());
    }

    #[test]
    fn ipv4_mapped_networks_are_refused_naming_the_ipv4_form() {
        assert_eq!(
            parse_network("::ffff:10.0.0.0/120"),
            Err("::ffff:10.0.0.0/120 is an IPv4-mapped IPv6 network: use the IPv4 form, 10.0.0.0/24.".into())
        );
        assert!(parse_network("::ffff:0:0/96").is_err());
        assert!(parse_network("10.0.0.0/24").is_ok());
        assert!(parse_network("2001:db8::/48").is_ok());
        assert!(parse_network("::/0").is_ok());
    }
}
