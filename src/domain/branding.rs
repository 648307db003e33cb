//! A tenant's branding (issue #16): the product name its users see, its primary
//! colour, its support address and page. Each field is optional on a tenant: unset,
//! it inherits from the nearest ancestor that sets it (`db::models::branding`).

use super::email::Email;
use super::text::is_invisible;

/// What every page, mail and login shows when no tenant on the path sets a name.
pub const DEFAULT_PRODUCT_NAME: &str = "tenantry";

/// The fields of a branding, as the page, the API and the audit name them.
pub const FIELDS: [&str; 5] = [
    "product_name",
    "logo",
    "primary_color",
    "support_email",
    "support_url",
];

/// The product name shown in titles, headers and mail: trimmed, 1–60 characters,
/// no control or invisible characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    pub const MAX: usize = 60;

    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter a product name.".into());
        }
        if s.chars().count() > Self::MAX {
            return Err(format!(
                "A product name has at most {} characters.",
                Self::MAX
            ));
        }
        if s.chars().any(is_hidden) {
            return Err("A product name cannot contain control or invisible characters.".into());
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters a product name may not have: controls, the invisible ones names
/// refuse, every format character (Unicode's `Cf`: soft hyphen, Mongolian vowel
/// separator, tags, …; the zero-width joiner and non-joiner stay, for scripts and
/// emoji), separators other than the space (U+2028, U+2029, no-break and wide
/// spaces), and the fillers and joiners that show as nothing (Hangul fillers,
/// combining grapheme joiner, Mongolian free variation selectors, Khmer inherent
/// vowels, Braille blank).
fn is_hidden(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.is_control()
        || is_invisible(c)
        || (c.general_category() == GeneralCategory::Format
            && !matches!(c, '\u{200C}' | '\u{200D}'))
        || (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{034F}' | '\u{180B}'
                ..='\u{180F}' | '\u{17B4}' | '\u{17B5}' | '\u{2800}'
        )
}

/// A primary colour, `#rrggbb`, kept in lower case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Color([u8; 3]);

/// WCAG 2's minimum contrast for normal text.
pub const MIN_CONTRAST: f64 = 4.5;

impl Color {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        let hex = s
            .strip_prefix('#')
            .filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| "Enter a colour as #rrggbb, e.g. #1f6feb.".to_string())?;
        let mut rgb = [0u8; 3];
        for (i, byte) in rgb.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| "Enter a colour as #rrggbb, e.g. #1f6feb.".to_string())?;
        }
        Ok(Self(rgb))
    }

    /// `#rrggbb`, lower case.
    pub fn hex(&self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2])
    }

    /// WCAG 2's relative luminance, 0 (black) to 1 (white).
    pub fn luminance(&self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0[0]) + 0.7152 * channel(self.0[1]) + 0.0722 * channel(self.0[2])
    }

    /// The contrast ratio of this colour against white, 1 to 21.
    pub fn contrast_with_white(&self) -> f64 {
        1.05 / (self.luminance() + 0.05)
    }

    /// A warning when white text on this colour (or this colour on white) is hard to
    /// read: saved all the same, since the choice is the brand's.
    pub fn contrast_warning(&self) -> Option<String> {
        let ratio = self.contrast_with_white();
        (ratio < MIN_CONTRAST).then(|| {
            format!(
                "{} has a contrast of {:.1}:1 against white, below the {MIN_CONTRAST}:1 that \
                 text needs to be easy to read; headings and buttons in it will be hard to read.",
                self.hex(),
                (ratio * 10.0).floor() / 10.0
            )
        })
    }
}

/// A support page: an `http://` or `https://` URL with a host, at most 300
/// characters, nothing that could break out of an attribute or a mail line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupportUrl(String);

impl SupportUrl {
    pub const MAX: usize = 300;

    /// The address, or what is wrong with it — one message per cause.
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.chars().count() > Self::MAX {
            return Err(format!(
                "A web address has at most {} characters.",
                Self::MAX
            ));
        }
        if s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`')
        }) {
            return Err("A web address cannot contain spaces, quotes or angle brackets.".into());
        }
        let lower = s.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .ok_or_else(|| {
                "A support page is a web page: start its address with https:// (or http://), e.g. https://help.example.com.".to_string()
            })?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() {
            return Err(
                "Enter the page's domain after https://, e.g. https://help.example.com.".into(),
            );
        }
        // A user name or password in the address would be shown to every user.
        if authority.contains('@') {
            return Err(
                "A web address cannot carry a user name or password (…@): give the page's address only."
                    .into(),
            );
        }
        let host = match authority.rsplit_once(':') {
            Some((host, port)) => {
                if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
                    return Err(format!(
                        "“{port}” is not a port: after “:” comes a number, e.g. https://help.example.com:8443."
                    ));
                }
                if !port.parse::<u16>().is_ok_and(|p| p > 0) {
                    return Err(format!(
                        "“{port}” is not a port: a port is a number from 1 to 65535, e.g. https://help.example.com:8443."
                    ));
                }
                host
            }
            None => authority,
        };
        let labels_ok = host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !labels_ok {
            return Err(format!(
                "“{host}” is not a domain name: letters, digits and hyphens, parts separated by dots, e.g. help.example.com."
            ));
        }
        // A single name (`localhost`, `x`) is no address users elsewhere can open.
        if !host.contains('.') {
            return Err(format!(
                "“{host}” has no domain: enter a full domain name, e.g. https://help.example.com."
            ));
        }
        // Each part as DNS takes it (no hyphen at either end, at most 63 characters).
        if let Some(e) = host.split('.').find_map(super::domain_name::label_error) {
            return Err(format!("“{host}” is not a domain name. {e}"));
        }
        if host.len() > 253 {
            return Err("A domain has at most 253 characters.".into());
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text fields of a branding, each set or left to inherit (`None`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrandingFields {
    pub product_name: Option<ProductName>,
    pub primary_color: Option<Color>,
    pub support_email: Option<Email>,
    pub support_url: Option<SupportUrl>,
}

impl BrandingFields {
    /// Parses each field: empty (or absent) leaves it to inherit; the errors by field.
    pub fn parse(
        product_name: Option<&str>,
        primary_color: Option<&str>,
        support_email: Option<&str>,
        support_url: Option<&str>,
    ) -> Result<Self, crate::error::FieldErrors> {
        let mut errors = crate::error::FieldErrors::new();
        fn field<T>(
            errors: &mut crate::error::FieldErrors,
            name: &'static str,
            raw: Option<&str>,
            parse: impl FnOnce(&str) -> Result<T, String>,
        ) -> Option<T> {
            let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
            parse(raw).map_err(|e| errors.insert(name, e)).ok()
        }
        let fields = BrandingFields {
            product_name: field(
                &mut errors,
                "product_name",
                product_name,
                ProductName::parse,
            ),
            primary_color: field(&mut errors, "primary_color", primary_color, Color::parse),
            support_email: field(&mut errors, "support_email", support_email, Email::parse),
            support_url: field(&mut errors, "support_url", support_url, SupportUrl::parse),
        };
        if errors.is_empty() {
            Ok(fields)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_names_are_trimmed_and_bounded() {
        assert_eq!(
            ProductName::parse("  Acme Cloud ").unwrap().as_str(),
            "Acme Cloud"
        );
        assert!(ProductName::parse("   ").is_err());
        assert!(ProductName::parse(&"x".repeat(61)).is_err());
        assert!(ProductName::parse(&"x".repeat(60)).is_ok());
        assert!(ProductName::parse("a\u{202E}b").is_err());
        assert!(ProductName::parse("a\nb").is_err());
    }

    #[test]
    fn product_names_refuse_characters_that_show_as_nothing() {
        for c in [
            '\u{3164}',
            '\u{00AD}',
            '\u{2028}',
            '\u{2029}',
            '\u{115F}',
            '\u{1160}',
            '\u{FFA0}',
            '\u{180E}',
            '\u{034F}',
            '\u{061C}',
            '\u{E0041}',
            '\u{FFF9}',
            '\u{00A0}',
            '\u{3000}',
            '\u{2800}',
            '\u{17B4}',
        ] {
            let err = ProductName::parse(&format!("Acme{c}Cloud")).unwrap_err();
            assert!(err.contains("invisible"), "U+{:04X}: {err}", c as u32);
        }
        // Scripts and emoji keep what they need.
        for ok in ["Acme Cloud", "क्‍ष", "👩‍💻 Ops", "Ünïcödé ☁️", "سحابة"]
        {
            assert!(ProductName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn colours_are_rrggbb_in_lower_case() {
        assert_eq!(Color::parse("#1F6FEB").unwrap().hex(), "#1f6feb");
        for bad in [
            "1f6feb",
            "#1f6fe",
            "#1f6febb",
            "#gggggg",
            "#+1+1+1",
            "",
            "#１２３４５６",
        ] {
            assert!(Color::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn contrast_against_white_follows_wcag() {
        let black = Color::parse("#000000").unwrap();
        let white = Color::parse("#ffffff").unwrap();
        assert!((black.contrast_with_white() - 21.0).abs() < 1e-9);
        assert!((white.contrast_with_white() - 1.0).abs() < 1e-9);
        // #767676 is the lightest grey with 4.5:1 on white.
        assert!(Color::parse("#767676")
            .unwrap()
            .contrast_warning()
            .is_none());
        assert!(Color::parse("#777777")
            .unwrap()
            .contrast_warning()
            .is_some());
        let warning = Color::parse("#ffff00").unwrap().contrast_warning().unwrap();
        assert!(warning.contains("1.0:1"), "{warning}");
    }

    #[test]
    fn support_urls_are_web_addresses_with_a_host() {
        assert!(SupportUrl::parse("https://help.example.com/a?b=c#d").is_ok());
        assert!(SupportUrl::parse("http://help.example.com:8080").is_ok());
        for bad in [
            "javascript:alert(1)",
            "https://",
            "https://localhost",
            "ftp://example.com",
            "https://exa mple.com",
            "https://example.com/\"onmouseover=x",
            "https://example.com/<script>",
            "//example.com",
        ] {
            assert!(SupportUrl::parse(bad).is_err(), "{bad}");
        }
        // One message per cause, naming it.
        let why = |s: &str| SupportUrl::parse(s).unwrap_err();
        assert!(
            why("http://x").contains("“x” has no domain"),
            "{}",
            why("http://x")
        );
        assert!(why("https://localhost").contains("has no domain"));
        assert!(why("https://user:pw@help.example.com").contains("user name or password"));
        assert!(why("https://me@help.example.com/a").contains("user name or password"));
        assert!(why("ftp://example.com").contains("start its address with https://"));
        assert!(why("help.example.com").contains("start its address with https://"));
        assert!(why("https://").contains("domain after https://"));
        assert!(why("https://exa_mple.com").contains("is not a domain name"));
        assert!(why("https://example.com:80a").contains("is not a port"));
        // Ports 1–65535; DNS labels without a hyphen at either end.
        assert!(why("https://a.example:99999/")
            .contains("“99999” is not a port: a port is a number from 1 to 65535"));
        assert!(why("https://a.example:0").contains("from 1 to 65535"));
        assert!(SupportUrl::parse("https://a.example:65535/").is_ok());
        assert!(SupportUrl::parse("https://a.example:1").is_ok());
        assert!(why("https://-a.example/").contains("“-a.example” is not a domain name"));
        assert!(why("https://a-.example/").contains("not starting or ending with a hyphen"));
        assert!(why(&format!("https://{}.example/", "a".repeat(64))).contains("at most 63"));
        assert!(SupportUrl::parse("https://a-b.example/").is_ok());
        assert!(why("https://exa mple.com").contains("spaces"));
        assert!(SupportUrl::parse(&format!("https://example.com/{}", "a".repeat(300))).is_err());
    }

    #[test]
    fn empty_fields_inherit_and_errors_name_their_field() {
        let f = BrandingFields::parse(Some(""), None, Some("  "), None).unwrap();
        assert_eq!(f, BrandingFields::default());
        let errors =
            BrandingFields::parse(Some("Acme"), Some("red"), Some("nope"), Some("x")).unwrap_err();
        assert!(errors.contains_key("primary_color"));
        assert!(errors.contains_key("support_email"));
        assert!(errors.contains_key("support_url"));
        assert!(!errors.contains_key("product_name"));
    }
}
