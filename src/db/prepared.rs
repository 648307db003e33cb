//! Raw SQL that is prepared once per connection and kept, as diesel keeps its typed
//! queries. `diesel::sql_query` marks itself unsafe to cache: diesel-async then
//! prepares it anew on every call — a round trip of its own (Parse, Describe) before
//! the one that runs it, and a plan made from scratch each time. On a hot path that
//! costs more than the statement (docs/PERFORMANCE.md, session 17: four such
//! statements were a third of an instance create). [`prepared`] takes the SQL of
//! statements the DSL cannot write (CTEs, array functions, locking subqueries) and
//! keeps them in the connection's statement cache, keyed by their text.
//!
//! Only for fixed text (a literal, or text built once from constants): the cache
//! keeps a statement per distinct text, so SQL that varies with the input belongs in
//! `sql_query` (or the DSL's boxed queries) instead.
//!
//! ```ignore
//! let rows: Vec<Row> = prepared("SELECT … WHERE t.id = ANY ($1) AND c.id = $2")
//!     .bind::<Array<BigInt>, _>(path)
//!     .bind::<BigInt, _>(id)
//!     .load(conn)
//!     .await?;
//! ```
//!
//! `$n` names the n-th bind; a number may appear more than once.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::QueryResult;
use std::marker::PhantomData;

/// A fixed SQL text and its binds (`B`: `()`, then one pair per [`Prepared::bind`]).
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until it is run"]
pub struct Prepared<B = ()> {
    sql: &'static str,
    binds: B,
}

/// Raw SQL, with binds `$1`, `$2`, … given by [`Prepared::bind`] in that order, run
/// as a cached prepared statement (module comment). Rows load as with
/// `sql_query`: into `QueryableByName` types.
pub fn prepared(sql: &'static str) -> Prepared<()> {
    Prepared { sql, binds: () }
}

/// One bind value of SQL type `ST`.
#[derive(Debug, Clone)]
pub struct Bound<ST, V> {
    value: V,
    sql_type: PhantomData<ST>,
}

impl<B> Prepared<B> {
    /// Binds the next `$n`.
    pub fn bind<ST, V>(self, value: V) -> Prepared<(B, Bound<ST, V>)> {
        Prepared {
            sql: self.sql,
            binds: (
                self.binds,
                Bound {
                    value,
                    sql_type: PhantomData,
                },
            ),
        }
    }
}

/// The binds of a [`Prepared`], numbered from 1 in the order they were given.
pub trait Binds {
    const COUNT: usize;
    /// Writes bind number `n` (1-based) as the next placeholder.
    fn push<'b>(&'b self, n: usize, out: AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

impl Binds for () {
    const COUNT: usize = 0;
    fn push<'b>(&'b self, n: usize, _: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        Err(diesel::result::Error::QueryBuilderError(
            format!("the SQL names ${n}, which has no bind").into(),
        ))
    }
}

impl<B, ST, V> Binds for (B, Bound<ST, V>)
where
    B: Binds,
    Pg: HasSqlType<ST>,
    V: ToSql<ST, Pg>,
{
    const COUNT: usize = B::COUNT + 1;
    fn push<'b>(&'b self, n: usize, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if n == Self::COUNT {
            out.push_bind_param::<ST, V>(&self.1.value)
        } else {
            self.0.push(n, out)
        }
    }
}

impl<B: Binds> QueryFragment<Pg> for Prepared<B> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Unlike `SqlQuery`, nothing here calls `unsafe_to_cache_prepared`.
        let mut rest = self.sql;
        while let Some(at) = rest.find('$') {
            let digits = rest[at + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(rest.len() - at - 1, |end| end);
            if digits == 0 {
                // Not a placeholder (`$` in a name or a literal): kept as it is.
                out.push_sql(&rest[..=at]);
                rest = &rest[at + 1..];
                continue;
            }
            out.push_sql(&rest[..at]);
            let n: usize = rest[at + 1..at + 1 + digits].parse().map_err(|_| {
                diesel::result::Error::QueryBuilderError("a bind number out of range".into())
            })?;
            if n == 0 || n > B::COUNT {
                return Err(diesel::result::Error::QueryBuilderError(
                    format!("the SQL names ${n}, which has no bind").into(),
                ));
            }
            self.binds.push(n, out.reborrow())?;
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

/// Cached by its SQL text and bind types (no static query id: the text differs).
impl<B> QueryId for Prepared<B> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<B> Query for Prepared<B> {
    type SqlType = Untyped;
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sql_types::{BigInt, Text};

    fn sql_of<B: Binds>(q: &Prepared<B>) -> String {
        diesel::debug_query::<Pg, _>(q).to_string()
    }

    #[test]
    fn binds_take_their_numbers_and_repeat() {
        let q = prepared("SELECT $2 || 'x$' , $1, $1 FROM t WHERE a = ANY ($2)")
            .bind::<BigInt, _>(7_i64)
            .bind::<Text, _>("a");
        let sql = sql_of(&q);
        assert!(
            sql.starts_with("SELECT $1 || 'x$' , $2, $3 FROM t WHERE a = ANY ($4)"),
            "{sql}"
        );
        assert!(sql.contains("binds: [\"a\", 7, 7, \"a\"]"), "{sql}");
    }

    #[test]
    fn a_placeholder_without_its_bind_is_an_error() {
        use std::fmt::Write;
        let q = prepared("SELECT $2").bind::<BigInt, _>(1_i64);
        let mut sql = String::new();
        assert!(write!(sql, "{}", diesel::debug_query::<Pg, _>(&q)).is_err());
    }
}
