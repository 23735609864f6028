//! How the crate's enums are kept in SQLite: each value as one fixed name, written and read
//! through rusqlite's own traits, so that a state is spelled once (in its enum) and never again
//! in a query.

use rusqlite::types::{FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};

/// A value kept in SQLite as one of a fixed set of names.
pub(crate) trait Named: Sized + Copy {
    /// What the value is, for an error about a name this build does not know ("row state").
    const WHAT: &'static str;

    /// The name stored.
    fn name(self) -> &'static str;

    /// The value a stored name stands for; `None` for a name this build does not know.
    fn from_name(name: &str) -> Option<Self>;
}

/// A stored name this build does not know: a later version wrote it, or someone edited the
/// file. Reading it as any known value would be a guess about where money stands.
#[derive(Debug, thiserror::Error)]
#[error("{what} {name:?} is not one this version knows (written by a later version?)")]
pub(crate) struct UnknownName {
    /// What the value is.
    pub what: &'static str,
    /// The name found.
    pub name: String,
}

/// `value` as SQLite text.
pub(crate) fn to_sql<T: Named>(value: T) -> ToSqlOutput<'static> {
    ToSqlOutput::Borrowed(ValueRef::Text(value.name().as_bytes()))
}

/// The value stored text names; an unknown name is an error that names it.
pub(crate) fn from_sql<T: Named>(value: ValueRef<'_>) -> FromSqlResult<T> {
    let name = value.as_str()?;
    T::from_name(name).ok_or_else(|| {
        FromSqlError::other(UnknownName {
            what: T::WHAT,
            name: name.to_owned(),
        })
    })
}

/// `name IN ('a', 'b')` for a fixed set of values. Their names are this crate's constants,
/// never input, so they may stand in the SQL text: binding them instead would renumber the
/// parameters of every query the condition is part of.
pub(crate) fn sql_in<T: Named>(column: &str, values: &[T]) -> String {
    let names: Vec<String> = values
        .iter()
        .map(|value| format!("'{}'", value.name()))
        .collect();
    format!("{column} IN ({})", names.join(", "))
}

/// Implements `ToSql` and `FromSql` for [`Named`] types: the orphan rule forbids one blanket
/// implementation, so each type gets its own two, all alike.
macro_rules! stored_by_name {
    ($($ty:ty),+ $(,)?) => {$(
        impl rusqlite::types::ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok($crate::stored::to_sql(*self))
            }
        }

        impl rusqlite::types::FromSql for $ty {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                $crate::stored::from_sql(value)
            }
        }
    )+};
}
pub(crate) use stored_by_name;

#[cfg(test)]
pub(crate) mod tests {
    use rusqlite::Connection;
    use rusqlite::types::{FromSql, ToSql};

    use super::Named;

    /// Writes `value` to SQLite and reads it back.
    pub(crate) fn round_trip<T: Named + ToSql + FromSql>(value: T) -> T {
        let conn = Connection::open_in_memory().unwrap();
        conn.query_row("SELECT ?1", [value], |row| row.get(0))
            .unwrap()
    }

    /// The error reading `text` as a `T` gives, as a message.
    pub(crate) fn read_error<T: Named + FromSql + std::fmt::Debug>(text: &str) -> String {
        let conn = Connection::open_in_memory().unwrap();
        let read: rusqlite::Result<T> = conn.query_row("SELECT ?1", [text], |row| row.get(0));
        read.unwrap_err().to_string()
    }
}
