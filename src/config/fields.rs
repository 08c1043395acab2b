//! Typed reads of the merged table ([`Fields`]): a string, a whole number in a range, a yes/no, a
//! list, one of named choices, a path. A value of the wrong type or out of range records one
//! error naming its key (`section.key: must be …`) and the read goes on with the default, so
//! every problem of a file is found in one pass.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

/// Typed reads of the merged table; each failed read records one error naming its key.
pub(super) struct Fields<'a> {
    pub(super) table: &'a Table,
    pub(super) errors: &'a mut Vec<String>,
    pub(super) base_dir: &'a Path,
}

impl Fields<'_> {
    pub(super) fn raw(&self, section: &str, key: &str) -> Option<&Value> {
        self.table.get(section)?.as_table()?.get(key)
    }

    pub(super) fn err(&mut self, section: &str, key: &str, what: impl fmt::Display) {
        self.errors.push(format!("{section}.{key}: {what}"));
    }

    pub(super) fn opt_str(&mut self, section: &str, key: &str) -> Option<String> {
        match self.raw(section, key) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.err(section, key, "must be a string");
                None
            }
        }
    }

    pub(super) fn str(&mut self, section: &str, key: &str, default: &str) -> String {
        self.opt_str(section, key)
            .unwrap_or_else(|| default.to_string())
    }

    /// A required string: missing or empty is an error.
    pub(super) fn required(&mut self, section: &str, key: &str) -> Option<String> {
        match self.opt_str(section, key) {
            Some(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(_) => {
                self.err(section, key, "is required and must not be empty");
                None
            }
            None if self.raw(section, key).is_some() => None,
            None => {
                self.err(section, key, "is required");
                None
            }
        }
    }

    pub(super) fn int(
        &mut self,
        section: &str,
        key: &str,
        default: i64,
        min: i64,
        max: i64,
    ) -> i64 {
        match self.raw(section, key) {
            None => default,
            Some(Value::Integer(n)) if (min..=max).contains(n) => *n,
            Some(Value::Integer(n)) => {
                self.err(
                    section,
                    key,
                    format!("must be between {min} and {max} (got {n})"),
                );
                default
            }
            Some(_) => {
                self.err(section, key, "must be a whole number");
                default
            }
        }
    }

    pub(super) fn bool(&mut self, section: &str, key: &str, default: bool) -> bool {
        match self.raw(section, key) {
            None => default,
            Some(Value::Boolean(b)) => *b,
            Some(_) => {
                self.err(section, key, "must be true or false");
                default
            }
        }
    }

    pub(super) fn list(&mut self, section: &str, key: &str) -> Option<Vec<String>> {
        match self.raw(section, key) {
            None => None,
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        _ => {
                            self.err(section, key, "must be a list of strings");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Some(_) => {
                self.err(section, key, "must be a list of strings");
                None
            }
        }
    }

    pub(super) fn choice<T: Copy>(
        &mut self,
        section: &str,
        key: &str,
        default: T,
        options: &[(&str, T)],
    ) -> T {
        let Some(value) = self.opt_str(section, key) else {
            return default;
        };
        if let Some((_, v)) = options.iter().find(|(name, _)| *name == value) {
            return *v;
        }
        let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        self.err(
            section,
            key,
            format!("must be one of {} (got \"{value}\")", names.join(", ")),
        );
        default
    }

    /// A path key: empty means unset; relative paths resolve against the config file's folder.
    pub(super) fn path(&mut self, section: &str, key: &str, default: &str) -> Option<PathBuf> {
        let value = self.str(section, key, default);
        if value.trim().is_empty() {
            return None;
        }
        let p = PathBuf::from(value.trim());
        Some(if p.is_absolute() {
            p
        } else {
            self.base_dir.join(p)
        })
    }

    /// A path that must name a readable file when set.
    pub(super) fn existing_file(&mut self, section: &str, key: &str) -> Option<PathBuf> {
        let p = self.path(section, key, "")?;
        if !p.is_file() {
            self.err(
                section,
                key,
                format!("{} is not a readable file", p.display()),
            );
        }
        Some(p)
    }
}
