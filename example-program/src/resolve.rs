//! Passes 3 and 4: name resolution and checking.
//!
//! `resolve` is the planted superlinear pass. Its symbol table is the list of functions
//! in the order they were read, and each call's callee is found by searching it from the
//! start ([`lookup`]): calls × functions comparisons. A `HashMap` from name to index would
//! make it linear; that is the fix a profile should lead to.

use crate::parse::{Expr, Function};

/// Points every call at its callee; returns how many calls there were.
#[inline(never)]
pub fn resolve(functions: &mut [Function]) -> Result<usize, String> {
    let names: Vec<String> = functions.iter().map(|f| f.name.clone()).collect();
    let mut calls = 0;
    for function in functions.iter_mut() {
        let mut pending = vec![&mut function.body];
        while let Some(expr) = pending.pop() {
            match expr {
                Expr::Call {
                    callee,
                    arg,
                    target,
                } => {
                    calls += 1;
                    *target = Some(
                        lookup(&names, callee)
                            .ok_or_else(|| format!("fn {}: no function `{callee}`", function.name))?,
                    );
                    pending.push(arg);
                }
                Expr::Binary(_, left, right) => {
                    pending.push(left);
                    pending.push(right);
                }
                Expr::Number(_) | Expr::Param => {}
            }
        }
    }
    Ok(calls)
}

/// The index of `name` in `names`, searched from the start.
#[inline(never)]
pub fn lookup(names: &[String], name: &str) -> Option<usize> {
    names.iter().position(|n| n == name)
}

/// Every call resolved, and no function calls itself (directly): linear.
#[inline(never)]
pub fn check(functions: &[Function]) -> Result<(), String> {
    for (index, function) in functions.iter().enumerate() {
        let mut pending = vec![&function.body];
        while let Some(expr) = pending.pop() {
            match expr {
                Expr::Call { target, arg, callee } => {
                    match target {
                        None => return Err(format!("fn {}: `{callee}` unresolved", function.name)),
                        Some(t) if *t == index => {
                            return Err(format!("fn {}: calls itself", function.name))
                        }
                        Some(_) => {}
                    }
                    pending.push(arg);
                }
                Expr::Binary(_, left, right) => {
                    pending.push(left);
                    pending.push(right);
                }
                Expr::Number(_) | Expr::Param => {}
            }
        }
    }
    Ok(())
}
