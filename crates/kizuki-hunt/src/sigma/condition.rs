//! The Sigma condition grammar: `and`, `or`, `not`, parentheses, `1 of`/`all of`/`N of`
//! with `them` or a wildcard pattern, and selection names.

/// A parsed condition, with selections referred to by index.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// One selection.
    Sel(usize),
    /// All must hold.
    And(Vec<Cond>),
    /// One must hold.
    Or(Vec<Cond>),
    /// At least `n` must hold.
    AtLeast(usize, Vec<Cond>),
    /// Negation.
    Not(Box<Cond>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    And,
    Or,
    Not,
    Open,
    Close,
    Of,
    Them,
    All,
    Num(usize),
    Pipe,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' {
            chars.next();
            out.push(Tok::Open);
        } else if c == ')' {
            chars.next();
            out.push(Tok::Close);
        } else if c == '|' {
            chars.next();
            out.push(Tok::Pipe);
        } else if c.is_alphanumeric() || c == '_' || c == '*' || c == '-' || c == '.' || c == '?' {
            let mut end = i;
            while let Some(&(j, d)) = chars.peek() {
                if d.is_alphanumeric() || d == '_' || d == '*' || d == '-' || d == '.' || d == '?' {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let w = &s[i..end];
            out.push(match w.to_ascii_lowercase().as_str() {
                "and" => Tok::And,
                "or" => Tok::Or,
                "not" => Tok::Not,
                "of" => Tok::Of,
                "them" => Tok::Them,
                "all" => Tok::All,
                "any" => Tok::Num(1),
                _ => match w.parse::<usize>() {
                    Ok(n) => Tok::Num(n),
                    Err(_) => Tok::Ident(w.to_string()),
                },
            });
        } else {
            return Err(format!("unexpected character {c:?} at position {i}"));
        }
    }
    Ok(out)
}

/// Glob match for selection-name patterns (`*` any run, `?` one character).
pub fn name_glob(pat: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|k| go(&p[1..], &n[k..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    names: &'a [String],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or(&mut self) -> Result<Cond, String> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::Or(items)
        })
    }
    fn and(&mut self) -> Result<Cond, String> {
        let mut items = vec![self.unary()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::And(items)
        })
    }
    fn unary(&mut self) -> Result<Cond, String> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }
    fn targets(&mut self) -> Result<Vec<Cond>, String> {
        match self.next() {
            Some(Tok::Them) => {
                let v: Vec<Cond> = self
                    .names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| !n.starts_with('_'))
                    .map(|(i, _)| Cond::Sel(i))
                    .collect();
                if v.is_empty() {
                    return Err("'them' refers to no selection".into());
                }
                Ok(v)
            }
            Some(Tok::Ident(p)) => {
                let v: Vec<Cond> = self
                    .names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| name_glob(&p, n))
                    .map(|(i, _)| Cond::Sel(i))
                    .collect();
                if v.is_empty() {
                    return Err(format!("pattern '{p}' matches no selection"));
                }
                Ok(v)
            }
            other => Err(format!(
                "expected 'them' or a selection pattern after 'of', found {other:?}"
            )),
        }
    }
    fn primary(&mut self) -> Result<Cond, String> {
        match self.next() {
            Some(Tok::Open) => {
                let c = self.or()?;
                match self.next() {
                    Some(Tok::Close) => Ok(c),
                    other => Err(format!("expected ')', found {other:?}")),
                }
            }
            Some(Tok::All) => {
                if self.next() != Some(Tok::Of) {
                    return Err("expected 'of' after 'all'".into());
                }
                Ok(Cond::And(self.targets()?))
            }
            Some(Tok::Num(n)) => {
                if self.next() != Some(Tok::Of) {
                    return Err(format!("expected 'of' after '{n}'"));
                }
                let t = self.targets()?;
                Ok(if n <= 1 { Cond::Or(t) } else { Cond::AtLeast(n, t) })
            }
            Some(Tok::Ident(name)) => {
                if name.contains('*') || name.contains('?') {
                    return Err(format!("wildcard '{name}' is only allowed after '1 of' / 'all of'"));
                }
                match self.names.iter().position(|n| *n == name) {
                    Some(i) => Ok(Cond::Sel(i)),
                    None => Err(format!("unknown selection '{name}' in condition")),
                }
            }
            Some(Tok::Pipe) => Err(
                "aggregation after '|' (count, near, …) is deprecated in Sigma; use a correlation rule"
                    .into(),
            ),
            Some(t) => Err(format!("unexpected {t:?} in condition")),
            None => Err("condition ends unexpectedly".into()),
        }
    }
}

/// Parse `cond` against the selection names of the rule.
pub fn parse(cond: &str, names: &[String]) -> Result<Cond, String> {
    let toks = lex(cond)?;
    if toks.is_empty() {
        return Err("empty condition".into());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
    };
    let c = p.or()?;
    match p.peek() {
        None => Ok(c),
        Some(Tok::Pipe) => Err(
            "aggregation after '|' (count, near, …) is deprecated in Sigma; use a correlation rule"
                .into(),
        ),
        Some(t) => Err(format!("unexpected {t:?} after the end of the condition")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["sel", "sel_a", "sel_b", "filter", "_hidden"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn precedence() {
        let c = parse("sel or sel_a and not filter", &names()).unwrap();
        assert_eq!(
            c,
            Cond::Or(vec![
                Cond::Sel(0),
                Cond::And(vec![Cond::Sel(1), Cond::Not(Box::new(Cond::Sel(3)))])
            ])
        );
    }

    #[test]
    fn of_forms() {
        let c = parse("1 of sel_* and all of them", &names()).unwrap();
        assert_eq!(
            c,
            Cond::And(vec![
                Cond::Or(vec![Cond::Sel(1), Cond::Sel(2)]),
                Cond::And(vec![Cond::Sel(0), Cond::Sel(1), Cond::Sel(2), Cond::Sel(3)])
            ])
        );
        assert!(parse("sel | count() > 5", &names()).is_err());
        assert!(parse("nothere", &names()).is_err());
        assert!(parse("(sel", &names()).is_err());
    }
}
