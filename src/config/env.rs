//! Environment overrides: `REJECT_BRIDGE__<SECTION>__<KEY>` variables, each parsed to the type
//! its key has in the schema (a list as JSON) and merged into the file's table before anything is
//! validated. A variable with our prefix that names no key is an error; a value that is not
//! valid Unicode is an error naming the variable (the value, possibly a secret, is never shown).

use std::collections::BTreeMap;

use toml::{Table, Value};

use super::schema::{Kind, kind_of};

/// The prefix of environment overrides; `__` separates section and key.
pub const ENV_PREFIX: &str = "REJECT_BRIDGE__";

/// Stands for an environment value that is not valid Unicode (it cannot be a setting).
const NOT_UNICODE: &str = "\u{0}not-unicode\u{0}";

/// The process environment as (name, value) pairs, for [`apply_env`].
pub(super) fn process_env() -> impl Iterator<Item = (String, String)> {
    // vars_os: a variable that is not valid Unicode must not abort the program. One of ours
    // becomes an error naming it (its value, possibly a secret, is never shown).
    std::env::vars_os().filter_map(|(name, value)| {
        let name = name.into_string().ok()?;
        let value = value
            .into_string()
            .unwrap_or_else(|_| NOT_UNICODE.to_string());
        Some((name, value))
    })
}

/// Merges the variables of `env` that start with [`ENV_PREFIX`] into `table`, in name order,
/// recording an error for each that names no key or whose value does not fit the key's type.
pub(super) fn apply_env(
    table: &mut Table,
    env: impl IntoIterator<Item = (String, String)>,
    errors: &mut Vec<String>,
) {
    let mut overrides: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in env {
        if name.starts_with(ENV_PREFIX) {
            overrides.insert(name, value);
        }
    }
    for (name, raw) in overrides {
        let rest = &name[ENV_PREFIX.len()..];
        let Some((section, key)) = rest.split_once("__") else {
            errors.push(format!(
                "{name}: not a setting (write {ENV_PREFIX}<SECTION>__<KEY>)"
            ));
            continue;
        };
        let (section, key) = (section.to_lowercase(), key.to_lowercase());
        let Some(kind) = kind_of(&section, &key) else {
            errors.push(format!("{name}: unknown setting {section}.{key}"));
            continue;
        };
        if raw == NOT_UNICODE {
            errors.push(format!("{name}: the value is not valid UTF-8"));
            continue;
        }
        let value = match kind {
            Kind::Str => Value::String(raw),
            Kind::Int => match raw.trim().parse::<i64>() {
                Ok(n) => Value::Integer(n),
                Err(_) => {
                    errors.push(format!("{name}: {section}.{key} must be a whole number"));
                    continue;
                }
            },
            Kind::Bool => match raw.trim().to_lowercase().as_str() {
                "true" | "1" | "yes" => Value::Boolean(true),
                "false" | "0" | "no" => Value::Boolean(false),
                _ => {
                    errors.push(format!("{name}: {section}.{key} must be true or false"));
                    continue;
                }
            },
            Kind::List => match serde_json::from_str::<Vec<String>>(&raw) {
                Ok(items) => Value::Array(items.into_iter().map(Value::String).collect()),
                Err(_) => {
                    errors.push(format!(
                        "{name}: {section}.{key} must be a JSON list of strings, e.g. '[\"@example.test\"]'"
                    ));
                    continue;
                }
            },
        };
        let entry = table
            .entry(section.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        if let Some(t) = entry.as_table_mut() {
            t.insert(key, value);
        }
    }
}
