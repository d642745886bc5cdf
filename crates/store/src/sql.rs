//! The one seam between the history and its database engine: run portable SQL (parameters
//! written `$1`, `$2`, … — SQLite takes them as named parameters bound by position, and
//! PostgreSQL natively), get rows of plain values back, and run several statements as one
//! transaction. Everything above this is written once, so both engines give the same
//! answers to the same questions.

use crate::StoreError;

/// A value going into or coming out of a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
}

impl Value {
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            Value::Bool(b) => *b as i64,
            Value::Real(r) => *r as i64,
            _ => 0,
        }
    }

    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Value::Null => None,
            other => Some(other.int()),
        }
    }

    pub fn real(&self) -> f64 {
        match self {
            Value::Real(r) => *r,
            Value::Int(i) => *i as f64,
            _ => 0.0,
        }
    }

    /// SQLite keeps booleans as integers.
    pub fn bool(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            _ => false,
        }
    }

    pub fn text(&self) -> String {
        match self {
            Value::Text(t) => t.clone(),
            Value::Int(i) => i.to_string(),
            Value::Real(r) => r.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(v.min(i64::MAX as u64) as i64)
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::Int(v.min(i64::MAX as usize) as i64)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Real(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

pub type Row = Vec<Value>;

/// A statement and its parameters.
pub type Statement = (&'static str, Vec<Value>);

/// A connection to one engine.
pub trait Sql: Send {
    /// The rows a query returns.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// Runs the statements in one transaction: all of them, or none.
    fn transaction(&mut self, statements: &[Statement]) -> Result<(), StoreError>;
    /// Where the history is, for messages (a password never shows).
    fn location(&self) -> &str;
    /// The schema version the database holds (0: none yet).
    fn schema_version(&mut self) -> Result<i64, StoreError>;
}
