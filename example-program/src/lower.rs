//! Pass 5: functions to stack code, then a peephole optimizer. Linear in the code.

use crate::parse::{Expr, Function};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Push(u64),
    Param,
    Call(usize),
    Add,
    Sub,
    Mul,
}

impl Op {
    pub fn hash(&self) -> u64 {
        match *self {
            Op::Push(n) => n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            Op::Param => 1,
            Op::Call(f) => (f as u64) << 3 | 2,
            Op::Add => 3,
            Op::Sub => 4,
            Op::Mul => 5,
        }
    }
}

/// Every function's stack code, optimized.
#[inline(never)]
pub fn lower(functions: &[Function]) -> Vec<Vec<Op>> {
    functions
        .iter()
        .map(|f| {
            let mut code = Vec::new();
            emit(&f.body, &mut code);
            optimize(code)
        })
        .collect()
}

fn emit(expr: &Expr, code: &mut Vec<Op>) {
    match expr {
        Expr::Number(n) => code.push(Op::Push(*n)),
        Expr::Param => code.push(Op::Param),
        Expr::Call { arg, target, .. } => {
            emit(arg, code);
            code.push(Op::Call(target.expect("resolved before lowering")));
        }
        Expr::Binary(op, left, right) => {
            emit(left, code);
            emit(right, code);
            code.push(match op {
                '+' => Op::Add,
                '-' => Op::Sub,
                _ => Op::Mul,
            });
        }
    }
}

/// Runs every function's code on `inputs` argument values (a call stands for its
/// callee's result, `arg ^ callee`): the check a compiler's constant evaluator makes that
/// no function overflows its stack. Linear in the code, with a large constant.
#[inline(never)]
pub fn evaluate(code: &[Vec<Op>], inputs: u64) -> u64 {
    let mut stack: Vec<u64> = Vec::with_capacity(64);
    let mut checksum = 0u64;
    for function in code {
        for x in 0..inputs {
            stack.clear();
            for op in function {
                match *op {
                    Op::Push(n) => stack.push(n),
                    Op::Param => stack.push(x),
                    Op::Call(f) => {
                        let arg = stack.pop().unwrap_or(0);
                        stack.push(arg ^ f as u64);
                    }
                    Op::Add | Op::Sub | Op::Mul => {
                        let b = stack.pop().unwrap_or(0);
                        let a = stack.pop().unwrap_or(0);
                        stack.push(match *op {
                            Op::Add => a.wrapping_add(b),
                            Op::Sub => a.wrapping_sub(b),
                            _ => a.wrapping_mul(b),
                        });
                    }
                }
            }
            checksum = checksum.rotate_left(1) ^ stack.last().copied().unwrap_or(0);
        }
    }
    checksum
}

/// Folds constant arithmetic until nothing changes (a few sweeps per function).
#[inline(never)]
pub fn optimize(mut code: Vec<Op>) -> Vec<Op> {
    loop {
        let mut out: Vec<Op> = Vec::with_capacity(code.len());
        for op in &code {
            let folded = match (out.as_slice(), op) {
                ([.., Op::Push(a), Op::Push(b)], Op::Add) => Some(a.wrapping_add(*b)),
                ([.., Op::Push(a), Op::Push(b)], Op::Sub) => Some(a.wrapping_sub(*b)),
                ([.., Op::Push(a), Op::Push(b)], Op::Mul) => Some(a.wrapping_mul(*b)),
                _ => None,
            };
            match folded {
                Some(value) => {
                    out.truncate(out.len() - 2);
                    out.push(Op::Push(value));
                }
                None => out.push(*op),
            }
        }
        if out.len() == code.len() {
            return out;
        }
        code = out;
    }
}
