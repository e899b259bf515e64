//! The web UI's words, in Japanese and English, from the Fluent files in `locales/`.
//!
//! The files are compiled into the binary (`static_loader!` reads them at build time), so a
//! running server never looks for them on disk. Which language a page is in is decided once
//! per request by [`resolve`] and then carried by a [`Tr`].

use std::borrow::Cow;
use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, header};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};
use kizuki_domain::settings::Language;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Unicode isolation marks around arguments would end up inside e-mail addresses,
        // numbers and case titles that users copy out of the page.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

const JA: LanguageIdentifier = langid!("ja");
const EN: LanguageIdentifier = langid!("en");

/// The cookie that remembers a language chosen with `?lang=`.
pub const LANG_COOKIE: &str = "kizuki_lang";

/// A value given to a message: Fluent selects plural forms on numbers, so they stay numbers.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Number(i64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

macro_rules! number_arg {
    ($($t:ty),+) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Self {
                Arg::Number(i64::from(n))
            }
        }
        impl IntoArg for $t {
            fn into_arg(self) -> Arg {
                Arg::from(self)
            }
        }
    )+};
}
number_arg!(u8, u16, u32, i32, i64);

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl IntoArg for usize {
    fn into_arg(self) -> Arg {
        Arg::from(self)
    }
}

/// What [`Tr::t1`] accepts. Templates hand over fields by reference (and loop variables by
/// reference to reference), so references convert too.
pub trait IntoArg {
    fn into_arg(self) -> Arg;
}

impl IntoArg for &str {
    fn into_arg(self) -> Arg {
        Arg::from(self)
    }
}

impl IntoArg for String {
    fn into_arg(self) -> Arg {
        Arg::Text(self)
    }
}

impl<T: IntoArg + Clone> IntoArg for &T {
    fn into_arg(self) -> Arg {
        self.clone().into_arg()
    }
}

/// The translator of one page: every visible word of a template comes through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub lang: Language,
}

impl Tr {
    pub fn new(lang: Language) -> Self {
        Self { lang }
    }

    /// `ja` or `en`, for `<html lang>` and links.
    pub fn code(&self) -> &'static str {
        self.lang.as_str()
    }

    /// The message `key`. A missing key shows as the key itself (and is logged), which the
    /// key-parity test and the template scan keep from ever shipping.
    pub fn t(&self, key: &str) -> String {
        self.lookup(key, None)
    }

    /// The message `key` with one argument.
    pub fn t1(&self, key: &str, name: &str, value: impl IntoArg) -> String {
        self.with(key, &[(name, value.into_arg())])
    }

    /// The message `key` with any number of arguments.
    pub fn with(&self, key: &str, args: &[(&str, Arg)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(name, value)| {
                let v = match value {
                    Arg::Text(s) => FluentValue::from(s.clone()),
                    Arg::Number(n) => FluentValue::from(*n),
                };
                (Cow::Owned((*name).to_owned()), v)
            })
            .collect();
        self.lookup(key, Some(&map))
    }

    fn lookup(
        &self,
        key: &str,
        args: Option<&HashMap<Cow<'static, str>, FluentValue<'_>>>,
    ) -> String {
        let id = match self.lang {
            Language::Ja => &JA,
            Language::En => &EN,
        };
        LOCALES
            .try_lookup_complete(id, key, args)
            .unwrap_or_else(|| {
                tracing::warn!(key, lang = %self.lang, "missing UI message");
                key.to_owned()
            })
    }
}

/// The page's language, and whether it was just chosen with `?lang=` (so it must be
/// remembered in the cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub lang: Language,
    pub chosen: bool,
}

/// Decides the language of a page: `?lang=ja|en`, else the signed-in person's stored
/// choice (`person`), else the choice remembered by this browser, else what the browser
/// asks for, else the organisation's language. Unknown values are ignored rather than
/// refused, so a stale bookmark still opens.
pub fn resolve(
    query: Option<&str>,
    headers: &HeaderMap,
    person: Option<Language>,
    org: Language,
) -> Resolved {
    let asked = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .filter(|(k, _)| k == "lang")
            .find_map(|(_, v)| v.parse::<Language>().ok())
    });
    if let Some(lang) = asked {
        return Resolved { lang, chosen: true };
    }
    let lang = person
        .or_else(|| browser_choice(headers))
        .or_else(|| from_accept_language(headers))
        .unwrap_or(org);
    Resolved {
        lang,
        chosen: false,
    }
}

/// The language this browser remembers from an earlier `?lang=`.
pub fn browser_choice(headers: &HeaderMap) -> Option<Language> {
    cookie(headers, LANG_COOKIE).and_then(|v| v.parse().ok())
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The best of Kizuki's two languages in an `Accept-Language` header, by quality; ties go
/// to the one listed first. `None` when the browser wants neither.
fn from_accept_language(headers: &HeaderMap) -> Option<Language> {
    let value = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    let mut best: Option<(u16, Language)> = None;
    for part in value.split(',') {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or_default().trim();
        let quality = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        // Whole thousandths: comparing floats for "greater" is all that is needed, but an
        // integer keeps NaN out of it.
        let quality = (quality.clamp(0.0, 1.0) * 1000.0).round() as u16;
        let primary = tag.split('-').next().unwrap_or_default();
        let lang = if primary.eq_ignore_ascii_case("ja") {
            Language::Ja
        } else if primary.eq_ignore_ascii_case("en") {
            Language::En
        } else {
            continue;
        };
        if quality > 0 && best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// The `Set-Cookie` that remembers `lang` for a year.
pub fn remember(lang: Language, secure: bool) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000{}",
        lang.as_str(),
        if secure { "; Secure" } else { "" }
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    const JA_FTL: &str = include_str!("../../locales/ja/main.ftl");
    const EN_FTL: &str = include_str!("../../locales/en/main.ftl");

    /// Message ids and, for each, the variables it uses. A deliberately small reader of the
    /// Fluent syntax: a message starts at column 0 with `id =`, and its pattern continues on
    /// indented lines.
    fn messages(ftl: &str) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in ftl.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if !line.starts_with(' ')
                && let Some((id, _)) = line.split_once('=')
            {
                let id = id.trim().to_owned();
                assert!(
                    out.insert(id.clone(), BTreeSet::new()).is_none(),
                    "message {id} defined twice"
                );
                current = Some(id);
            }
            let Some(id) = &current else { continue };
            let vars = out.get_mut(id).unwrap();
            let mut rest = line;
            while let Some(at) = rest.find('$') {
                rest = &rest[at + 1..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                vars.insert(name);
            }
        }
        out
    }

    #[test]
    fn both_files_parse_as_fluent() {
        for (name, ftl) in [("ja", JA_FTL), ("en", EN_FTL)] {
            if let Err((_, errors)) =
                fluent_templates::fluent_bundle::FluentResource::try_new(ftl.to_owned())
            {
                panic!("locales/{name}/main.ftl: {errors:?}");
            }
        }
    }

    #[test]
    fn japanese_and_english_have_the_same_messages_and_variables() {
        let ja = messages(JA_FTL);
        let en = messages(EN_FTL);
        let ja_ids: BTreeSet<&String> = ja.keys().collect();
        let en_ids: BTreeSet<&String> = en.keys().collect();
        assert_eq!(
            ja_ids.difference(&en_ids).collect::<Vec<_>>(),
            Vec::<&&String>::new(),
            "only in ja"
        );
        assert_eq!(
            en_ids.difference(&ja_ids).collect::<Vec<_>>(),
            Vec::<&&String>::new(),
            "only in en"
        );
        for (id, vars) in &ja {
            assert_eq!(vars, &en[id], "variables of {id} differ between ja and en");
        }
        assert!(
            ja.len() > 50,
            "the reader found too few messages: {}",
            ja.len()
        );
    }

    /// Every `.t("…")`, `.t1("…"` and `.with("…"` in the templates and the web module names a
    /// message that exists, so a typo cannot show a raw key to users.
    #[test]
    fn every_key_used_exists() {
        let known = messages(EN_FTL);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["templates", "src/web"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                files.push(entry.unwrap().path());
            }
        }
        let mut checked = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for call in ["t(\"", "t1(\"", "with(\""] {
                for (at, _) in text.match_indices(call) {
                    // Only method calls (`tr.t("…")`), not `starts_with("…")` and the like.
                    if !text[..at].ends_with('.') {
                        continue;
                    }
                    let rest = &text[at + call.len()..];
                    let key = &rest[..rest.find('"').unwrap()];
                    if key == "…" {
                        continue; // this test's own description
                    }
                    assert!(
                        known.contains_key(key),
                        "{} uses unknown message {key}",
                        file.display()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 30, "found only {checked} uses");
    }

    #[test]
    fn a_message_with_a_plural_and_an_argument() {
        let en = Tr::new(Language::En);
        assert_eq!(en.t1("when-days-before", "n", 1), "1 day before");
        assert_eq!(en.t1("when-days-before", "n", 11), "11 days before");
        assert_eq!(Tr::new(Language::Ja).t1("when-day", "day", 3), "3日目");
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn language_comes_from_query_then_person_then_cookie_then_browser_then_organisation() {
        let none = headers(&[]);
        assert_eq!(
            resolve(Some("lang=en"), &none, Some(Language::Ja), Language::Ja),
            Resolved {
                lang: Language::En,
                chosen: true
            }
        );
        assert_eq!(
            resolve(Some("lang=xx"), &none, None, Language::Ja),
            Resolved {
                lang: Language::Ja,
                chosen: false
            }
        );
        let cookie = headers(&[("cookie", "a=b; kizuki_lang=en"), ("accept-language", "ja")]);
        assert_eq!(
            resolve(None, &cookie, None, Language::Ja).lang,
            Language::En
        );
        // The person's stored choice follows them to a browser that remembers another.
        assert_eq!(
            resolve(None, &cookie, Some(Language::Ja), Language::En).lang,
            Language::Ja
        );
        let browser = headers(&[("accept-language", "fr-FR, en-GB;q=0.8, ja;q=0.9")]);
        assert_eq!(
            resolve(None, &browser, None, Language::En).lang,
            Language::Ja
        );
        let neither = headers(&[("accept-language", "fr, de;q=0.5, en;q=0")]);
        assert_eq!(
            resolve(None, &neither, None, Language::En).lang,
            Language::En
        );
        assert_eq!(
            resolve(None, &neither, None, Language::Ja).lang,
            Language::Ja
        );
    }
}
