//! Reading a file that does not parse far enough to find every problem in it: a value that
//! cannot be read (a duration such as `forever`) is noted with its key and set aside, and
//! reading goes on, so `config check` names every problem at once instead of the first.

use super::Config;

/// How many unreadable values are set aside before giving up on finding more.
const MOST: usize = 32;

/// One step of a key's path: a table key or an array index.
#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Reads `table` into a [`Config`] setting aside what does not parse; returns the config (when
/// what is left reads) and every value set aside as `(key, problem)`, in the order found.
pub(super) fn read_all(mut table: toml::Table) -> (Option<Config>, Vec<(String, String)>) {
    let mut unreadable: Vec<(String, String)> = Vec::new();
    while unreadable.len() < MOST {
        let (path, message) = match attempt(&table) {
            Ok(config) => return (Some(config), unreadable),
            Err(error) => error,
        };

        let set_aside = set_aside(&mut table, &path, &message);
        unreadable.push((path, message));
        if !set_aside {
            break;
        }
    }
    (None, unreadable)
}

/// One attempt: the config, or the first error's key path and message.
fn attempt(table: &toml::Table) -> Result<Config, (String, String)> {
    serde_path_to_error::deserialize(toml::Value::Table(table.clone())).map_err(
        |error: serde_path_to_error::Error<toml::de::Error>| {
            (
                error.path().to_string(),
                error.inner().message().trim_end().to_owned(),
            )
        },
    )
}

/// Takes the value at `path` out of the way so reading can go on: an unknown key is removed;
/// a value of the wrong shape is replaced by the first stand-in that reads there. False when
/// nothing can be done (a missing key, a path that cannot be followed).
fn set_aside(table: &mut toml::Table, path: &str, message: &str) -> bool {
    let mut segments = parse_path(path);
    if let Some(unknown) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        segments.push(Segment::Key(unknown.to_owned()));
        return remove(table, &segments);
    }
    if segments.is_empty() || message.starts_with("missing field") {
        return false;
    }
    // An enum names what it takes: its first variant stands in best.
    let variant = message
        .split_once("expected one of `")
        .and_then(|(_, rest)| rest.split('`').next())
        .unwrap_or("1s");
    // The key's default stands in first: it keeps the rules between keys (a renewal shorter
    // than the lease) from reporting problems the stand-in made.
    let default = toml::Value::try_from(Config::default())
        .ok()
        .and_then(|value| value.as_table().cloned())
        .and_then(|mut defaults| parent(&mut defaults, &segments).cloned());
    let stand_ins = default.into_iter().chain([
        toml::Value::String(variant.to_owned()),
        toml::Value::String("1s".to_owned()),
        toml::Value::Integer(1),
        toml::Value::Boolean(false),
        toml::Value::Array(Vec::new()),
        toml::Value::Table(toml::Table::new()),
    ]);
    for stand_in in stand_ins {
        let mut tried = table.clone();
        if !replace(&mut tried, &segments, stand_in) {
            return false;
        }
        // Read past it: the next error is elsewhere, and is not the set-aside key's absence.
        let missing_itself = match segments.last() {
            Some(Segment::Key(key)) => format!("missing field `{key}`"),
            _ => String::new(),
        };
        let moved_on = match attempt(&tried) {
            Ok(_) => true,
            Err((next, message)) => next != path && message != missing_itself,
        };
        if moved_on {
            *table = tried;
            return true;
        }
    }
    false
}

/// `environments[2].windows[0].duration` as its steps.
fn parse_path(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut pieces = part.split('[');
        if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
            segments.push(Segment::Key(key.to_owned()));
        }
        for index in pieces {
            if let Ok(index) = index.trim_end_matches(']').parse() {
                segments.push(Segment::Index(index));
            }
        }
    }
    segments
}

/// The value holding the last step of `segments`.
fn parent<'a>(table: &'a mut toml::Table, segments: &[Segment]) -> Option<&'a mut toml::Value> {
    let (first, rest) = segments.split_first()?;
    let Segment::Key(first) = first else {
        return None;
    };
    let mut value = table.get_mut(first)?;
    for segment in rest {
        value = match segment {
            Segment::Key(key) => value.as_table_mut()?.get_mut(key)?,
            Segment::Index(index) => value.as_array_mut()?.get_mut(*index)?,
        };
    }
    Some(value)
}

fn remove(table: &mut toml::Table, segments: &[Segment]) -> bool {
    let Some((Segment::Key(last), above)) = segments.split_last() else {
        return false;
    };
    if above.is_empty() {
        return table.remove(last).is_some();
    }
    parent(table, above)
        .and_then(toml::Value::as_table_mut)
        .is_some_and(|holder| holder.remove(last).is_some())
}

fn replace(table: &mut toml::Table, segments: &[Segment], value: toml::Value) -> bool {
    match parent(table, segments) {
        Some(slot) => {
            *slot = value;
            true
        }
        None => false,
    }
}
