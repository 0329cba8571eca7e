use secrecy::SecretString;
use serde::Serialize;

use crate::error::FieldProblem;

/// Trimmed text of 1 to 200 characters: names, titles, areas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ShortText(String);

impl ShortText {
    pub const MAX: usize = 200;

    /// The length limit applies to the text as sent (as the OpenAPI `maxLength` says), the
    /// blank check to the text trimmed.
    pub fn parse(field: impl Into<String>, raw: &str) -> Result<Self, FieldProblem> {
        let trimmed = raw.trim();
        if trimmed.contains('\0') {
            return Err(FieldProblem::new(field, "nul_character"));
        }
        if raw.chars().count() > Self::MAX {
            return Err(FieldProblem::new(field, "too_long"));
        }
        if trimmed.is_empty() { Err(FieldProblem::new(field, "blank")) } else { Ok(Self(trimmed.to_owned())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Optional free text up to `max` characters, trimmed; blank counts as absent.
pub fn optional_text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, FieldProblem> {
    let Some(raw) = raw else { return Ok(None) };
    let trimmed = raw.trim();
    if raw.chars().count() > max {
        Err(FieldProblem::new(field, "too_long"))
    } else if trimmed.is_empty() {
        Ok(None)
    } else {
        Ok(Some(trimmed.to_owned()))
    }
}

/// Required free text of 1 to `max` characters, trimmed.
pub fn required_text(field: &str, raw: &str, max: usize) -> Result<String, FieldProblem> {
    optional_text(field, Some(raw), max)?.ok_or_else(|| FieldProblem::new(field, "blank"))
}

/// An email address, trimmed and lower-cased. Only the shape is checked (one `@`, something
/// either side, a dot in the domain); deliverability is not this service's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: impl Into<String>, raw: &str) -> Result<Self, FieldProblem> {
        let email = raw.trim().to_lowercase();
        let field = field.into();
        if email.is_empty() {
            return Err(FieldProblem::new(field, "blank"));
        }
        if email.chars().count() > 254 {
            return Err(FieldProblem::new(field, "too_long"));
        }
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if valid { Ok(Self(email)) } else { Err(FieldProblem::new(field, "invalid_email")) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A new password: 12 to 128 characters, any characters, not a well-known password
/// (SECURITY.md AN-1). Held as a secret so it cannot be logged.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(field: impl Into<String>, raw: String) -> Result<Self, FieldProblem> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FieldProblem::new(field, "too_short"));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldProblem::new(field, "too_long"));
        }
        if is_common_password(&raw) {
            return Err(FieldProblem::new(field, "too_common"));
        }
        Ok(Self(SecretString::from(raw)))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

/// Passwords of at least 12 characters that appear high on published breach lists, compared
/// case-insensitively, plus any password that is one character repeated.
fn is_common_password(candidate: &str) -> bool {
    const COMMON: &[&str] = &[
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456123456",
        "111111111111",
        "000000000000",
        "qwertyuiop12",
        "qwertyuiopasdf",
        "qwertyuiopasdfgh",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "password123!",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "administrator",
        "administrator1",
        "abcdefghijkl",
        "abc123abc123",
        "monkey123456",
        "football1234",
        "baseball1234",
        "superman1234",
        "sunshine1234",
        "princess1234",
        "trustno1trustno1",
        "changeme1234",
        "mypassword123",
        "qazwsxedcrfv",
        "asdfghjkl123",
        "zxcvbnm12345",
        "987654321987",
        "123123123123",
        "aaaaaaaaaaaa",
        "passw0rd1234",
    ];
    let lower = candidate.to_lowercase();
    let mut chars = lower.chars();
    let first = chars.next();
    let repeated = first.is_some_and(|f| chars.all(|c| c == f));
    repeated || COMMON.contains(&lower.as_str())
}

/// The key under which names (of organisations or people) are compared: case folded, punctuation dropped,
/// separators turned into single spaces ("St. Mungo's" and "ST Mungos" both give "st mungos").
pub fn normalize_org_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_space = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else if c.is_whitespace() || matches!(c, '-' | '/' | '&' | '_' | '+' | ',') {
            pending_space = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_trims_and_bounds() {
        assert_eq!(ShortText::parse("n", "  Police  ").unwrap().as_str(), "Police");
        assert_eq!(ShortText::parse("n", "   ").unwrap_err().code, "blank");
        assert_eq!(ShortText::parse("n", &"x".repeat(201)).unwrap_err().code, "too_long");
        assert!(ShortText::parse("n", &"é".repeat(200)).is_ok());
        assert_eq!(ShortText::parse("n", "a\0b").unwrap_err().code, "nul_character");
    }

    #[test]
    fn emails_are_lowercased_and_shape_checked() {
        assert_eq!(Email::parse("e", " Jo@Example.ORG ").unwrap().as_str(), "jo@example.org");
        for bad in ["", "jo", "jo@", "@x.org", "jo@x", "jo@@x.org", "jo x@y.org", "jo@.org"] {
            assert!(Email::parse("e", bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn passwords_need_length_and_must_not_be_common() {
        assert_eq!(NewPassword::parse("p", "short".into()).err().unwrap().code, "too_short");
        assert_eq!(NewPassword::parse("p", "Password1234".into()).err().unwrap().code, "too_common");
        assert_eq!(NewPassword::parse("p", "zzzzzzzzzzzzzz".into()).err().unwrap().code, "too_common");
        assert_eq!(NewPassword::parse("p", "x".repeat(129)).err().unwrap().code, "too_long");
        assert!(NewPassword::parse("p", "correct horse battery".into()).is_ok());
        assert!(NewPassword::parse("p", "ünïcödé-pässwörd".into()).is_ok());
    }

    #[test]
    fn organisation_names_normalise_across_spellings() {
        let key = normalize_org_name("St Mungos");
        for spelling in ["ST Mungos", "St. Mungos", "St Mungo's", "  st   mungos ", "St-Mungos"] {
            let other = normalize_org_name(spelling);
            assert!(other == key || other == "st mungos", "{spelling} gave {other}");
        }
        assert_eq!(normalize_org_name("St-Mungos"), "st mungos");
        assert_eq!(normalize_org_name("WDP (VIA)"), "wdp via");
        assert_eq!(normalize_org_name("Peabody Housing Trust"), "peabody housing trust");
        assert_eq!(normalize_org_name("..."), "");
    }
}
