//! WHERE clauses assembled from optional filters, with `$N` placeholders numbered in order, and
//! their values bound in the same order: shared by every list query.

use sqlx::any::AnyArguments;
use sqlx::query::QueryAs;
use sqlx::Any;

/// A bind value for a dynamically assembled filter.
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

/// WHERE clauses joined by AND, each `?` numbered as `$N` in order. SQLite numbers `$N`
/// parameters by first appearance, so a value used twice is bound twice rather than reused.
#[derive(Default)]
pub(crate) struct Filter {
    clauses: Vec<String>,
    pub(crate) params: Vec<Param>,
}

impl Filter {
    pub(crate) fn add(&mut self, clause: &str, values: impl IntoIterator<Item = Param>) {
        let mut numbered = String::with_capacity(clause.len() + 4);
        for (i, part) in clause.split('?').enumerate() {
            if i > 0 {
                numbered.push_str(&format!("${}", self.params.len() + i));
            }
            numbered.push_str(part);
        }
        self.params.extend(values);
        self.clauses.push(numbered);
    }

    pub(crate) fn where_clause(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }
}

impl Param {
    /// Binds this value as the next placeholder of `query`.
    pub(crate) fn bind<'q, T>(
        self,
        query: QueryAs<'q, Any, T, AnyArguments<'q>>,
    ) -> QueryAs<'q, Any, T, AnyArguments<'q>> {
        match self {
            Param::Int(v) => query.bind(v),
            Param::Text(v) => query.bind(v),
        }
    }
}

/// `text` as a LIKE pattern matching it anywhere, its own `%`, `_` and `\` taken literally
/// (queries say `ESCAPE '\'`).
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}
