//! Password strength rules for new passwords.
//!
//! Length limits count characters (Unicode scalar values), not bytes, so a Japanese password
//! is not credited three times over. Guessability is judged by `zxcvbn`, which knows common
//! passwords, words, names, keyboard patterns, dates and the user's own details; a score of
//! 3 means an estimated 10^8 guesses or more, which the slow hash in [`crate::password`]
//! makes impractical to try offline and the lock-out in [`crate::lockout`] impossible online. Composition rules ("one digit, one symbol") are deliberately
//! absent, as NIST SP 800-63B advises.

use std::collections::BTreeSet;
use std::fmt;

use zxcvbn::Score;
use zxcvbn::matching::patterns::MatchPattern;

/// The fewest characters accepted.
pub const MIN_CHARS: usize = 12;
/// The most characters accepted (bounds the work spent on one login attempt).
pub const MAX_CHARS: usize = 1024;
/// The lowest acceptable zxcvbn score (0–4).
pub const MIN_SCORE: u8 = 3;

/// Why a guessable password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuessableReason {
    /// It is, or closely resembles, a password from leaked password lists.
    CommonPassword,
    /// It is built from the user's own e-mail address or name.
    PersonalInformation,
    /// It is made of patterns a cracker tries early (words, dates, sequences, keyboard rows…).
    Predictable,
}

impl fmt::Display for GuessableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GuessableReason::CommonPassword => "is a commonly used password",
            GuessableReason::PersonalInformation => "contains your e-mail address or name",
            GuessableReason::Predictable => "is too easy to guess",
        })
    }
}

/// A password refused by [`check_password`]. The `Display` text is a complete English
/// sentence fit to show the user; the fields let a UI translate it instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("password must be at least {min} characters (it has {actual})")]
    TooShort { min: usize, actual: usize },
    #[error("password must be at most {max} characters (it has {actual})")]
    TooLong { max: usize, actual: usize },
    #[error("password {reason}{}", describe_feedback(*.reason, .warning.as_deref(), .suggestions))]
    Guessable {
        reason: GuessableReason,
        /// zxcvbn's score, below [`MIN_SCORE`].
        score: u8,
        /// zxcvbn's warning, e.g. "This is a top-10 common password."
        warning: Option<String>,
        /// zxcvbn's suggestions, e.g. "Add another word or two. Uncommon words are better."
        suggestions: Vec<String>,
    },
}

fn describe_feedback(
    reason: GuessableReason,
    warning: Option<&str>,
    suggestions: &[String],
) -> String {
    let mut text = String::new();
    // For the named reasons zxcvbn's warning only repeats them; for the generic one it says
    // which pattern was spotted.
    if let (GuessableReason::Predictable, Some(warning)) = (reason, warning) {
        text.push_str(": ");
        text.push_str(warning);
    } else {
        text.push('.');
    }
    for suggestion in suggestions {
        text.push(' ');
        text.push_str(suggestion);
    }
    text
}

/// Passphrases famous enough to be in every cracker's list although zxcvbn rates them
/// highly, in the form [`squash`] produces.
const WELL_KNOWN_PHRASES: &[&str] = &[
    "correcthorsebatterystaple",
    "thequickbrownfoxjumpsoverthelazydog",
    "loremipsumdolorsitamet",
    "tobeornottobethatisthequestion",
    "maytheforcebewithyou",
    "allyourbasearebelongtous",
    "helloworld",
    "iamyourfather",
    "winteriscoming",
    "youshallnotpass",
];

/// Words that say nothing about the user but are among the first guesses against any Kizuki
/// installation.
const SERVICE_WORDS: &[&str] = &["kizuki"];

/// Check a new password. `user_inputs` are facts about the user (e-mail address, display
/// name, user name) that must not make up the password; each is also split at punctuation
/// so that `alice.smith@example.com` rules out `alice`, `smith` and `example` too. The
/// service's own name is always added.
pub fn check_password(password: &str, user_inputs: &[&str]) -> Result<(), WeakPassword> {
    let actual = password.chars().count();
    if actual < MIN_CHARS {
        return Err(WeakPassword::TooShort {
            min: MIN_CHARS,
            actual,
        });
    }
    if actual > MAX_CHARS {
        return Err(WeakPassword::TooLong {
            max: MAX_CHARS,
            actual,
        });
    }

    let personal = expand_user_inputs(user_inputs);
    let mut inputs: Vec<&str> = personal.iter().map(String::as_str).collect();
    inputs.extend(SERVICE_WORDS);
    let entropy = zxcvbn::zxcvbn(password, &inputs);
    if entropy.score() < Score::Three {
        return Err(guessable(&entropy, &personal));
    }

    // zxcvbn does not know famous passphrases, and spaces or punctuation between the words
    // hide them from its dictionaries; look again at the bare letters and digits.
    let squashed = squash(password);
    if let Some(phrase) = WELL_KNOWN_PHRASES.iter().find(|p| squashed.contains(*p)) {
        inputs.push(phrase);
        let entropy = zxcvbn::zxcvbn(&squashed, &inputs);
        if entropy.score() < Score::Three {
            return Err(WeakPassword::Guessable {
                reason: GuessableReason::CommonPassword,
                score: u8::from(entropy.score()),
                warning: Some("This is a well-known phrase.".to_string()),
                suggestions: vec![
                    "Use a few words, avoid common phrases.".to_string(),
                    "Add another word or two. Uncommon words are better.".to_string(),
                ],
            });
        }
    }
    Ok(())
}

/// The refusal for a zxcvbn score below the minimum.
fn guessable(entropy: &zxcvbn::Entropy, personal: &BTreeSet<String>) -> WeakPassword {
    let uses_personal_information = entropy.sequence().iter().any(|m| match &m.pattern {
        MatchPattern::Dictionary(d) => personal.contains(&d.matched_word),
        _ => false,
    });
    let feedback = entropy.feedback();
    let warning = feedback.and_then(|f| f.warning()).map(|w| w.to_string());
    let reason = if uses_personal_information {
        GuessableReason::PersonalInformation
    } else if warning
        .as_deref()
        .is_some_and(|w| w.contains("common password") || w.contains("commonly used password"))
    {
        GuessableReason::CommonPassword
    } else {
        GuessableReason::Predictable
    };
    WeakPassword::Guessable {
        reason,
        score: u8::from(entropy.score()),
        warning,
        suggestions: feedback
            .map(|f| f.suggestions().iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
    }
}

/// Lower-case letters and digits only.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Lower-cased inputs plus their alphanumeric pieces of three or more characters.
fn expand_user_inputs(user_inputs: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for input in user_inputs {
        let lower = input.trim().to_lowercase();
        if lower.is_empty() {
            continue;
        }
        for piece in lower.split(|c: char| !c.is_alphanumeric()) {
            if piece.chars().count() >= 3 {
                out.insert(piece.to_string());
            }
        }
        out.insert(lower);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(password: &str, inputs: &[&str]) -> GuessableReason {
        match check_password(password, inputs) {
            Err(WeakPassword::Guessable { reason, score, .. }) => {
                assert!(score < MIN_SCORE);
                reason
            }
            other => panic!("{password:?}: {other:?}"),
        }
    }

    #[test]
    fn too_short_counts_characters() {
        assert_eq!(
            check_password("short", &[]),
            Err(WeakPassword::TooShort { min: 12, actual: 5 })
        );
        // 11 characters but 33 bytes: still too short.
        let japanese = "春夏秋冬花鳥風月雪月花";
        assert_eq!(japanese.len(), 33);
        assert_eq!(
            check_password(japanese, &[]),
            Err(WeakPassword::TooShort {
                min: 12,
                actual: 11
            })
        );
        assert_eq!(
            check_password("short", &[]).unwrap_err().to_string(),
            "password must be at least 12 characters (it has 5)"
        );
    }

    #[test]
    fn japanese_passphrase_is_accepted() {
        assert_eq!(
            check_password("猫が屋根の上で昼寝している午後三時", &[]),
            Ok(())
        );
    }

    #[test]
    fn too_long() {
        let long = "ab1!".repeat(257);
        assert_eq!(
            check_password(&long, &[]),
            Err(WeakPassword::TooLong {
                max: 1024,
                actual: 1028
            })
        );
        let max = "ねこ".repeat(512);
        assert!(!matches!(
            check_password(&max, &[]),
            Err(WeakPassword::TooLong { .. } | WeakPassword::TooShort { .. })
        ));
    }

    #[test]
    fn common_passwords_are_refused() {
        assert_eq!(reason("password1234", &[]), GuessableReason::CommonPassword);
        assert_eq!(
            reason("Password1234!", &[]),
            GuessableReason::CommonPassword
        );
        assert_eq!(
            reason("qwertyuiop123", &[]),
            GuessableReason::CommonPassword
        );
        assert_eq!(
            reason("abcdefghijklmnop", &[]),
            GuessableReason::Predictable
        );
        assert_eq!(reason("kizukikizuki1", &[]), GuessableReason::Predictable);
        assert_eq!(
            check_password("abcdefghijklmnop", &[])
                .unwrap_err()
                .to_string(),
            "password is too easy to guess: Sequences like abc or 6543 are easy to guess. \
             Add another word or two. Uncommon words are better. Avoid sequences."
        );
        let err = check_password("password1234", &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "password is a commonly used password. \
             Add another word or two. Uncommon words are better."
        );
    }

    #[test]
    fn common_phrases_are_refused() {
        for phrase in [
            "correcthorsebatterystaple",
            "Correct Horse Battery Staple",
            "correct-horse-battery-staple!",
            "CorrectHorseBatteryStaple2024",
            "The quick brown fox jumps over the lazy dog",
            "iloveyouiloveyou",
            "letmeinletmein",
            "123456789012",
        ] {
            assert!(check_password(phrase, &[]).is_err(), "{phrase}");
        }
        assert_eq!(
            reason("Correct Horse Battery Staple", &[]),
            GuessableReason::CommonPassword
        );
        // A famous phrase inside a genuinely strong one is fine.
        assert_eq!(
            check_password("correct horse battery staple velvet cactus orbits", &[]),
            Ok(())
        );
    }

    #[test]
    fn own_email_is_refused() {
        let email = "yamada.taro@example.co.jp";
        let inputs = [email, "Yamada Taro"];
        for password in [email, "YAMADA.TARO@EXAMPLE.CO.JP", "Yamada Taro 1234"] {
            assert_eq!(
                reason(password, &inputs),
                GuessableReason::PersonalInformation,
                "{password}"
            );
        }
        // Without the user's details the same string passes, so the inputs are what count.
        assert_eq!(check_password(email, &[]), Ok(()));
        let err = check_password(email, &[email]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("password contains your e-mail address or name"),
            "{err}"
        );
    }

    #[test]
    fn random_passphrase_is_accepted() {
        assert_eq!(
            check_password("velvet cactus orbits quietly 47", &["alice@example.com"]),
            Ok(())
        );
        assert_eq!(check_password("k7#Qm9vX!2pL", &[]), Ok(()));
    }
}
