//! Pass 2: tokens to functions. Linear in the tokens.
//!
//! `pub fn NAME(PARAM: u64) -> u64 { EXPR }`, where an expression is numbers, the
//! parameter, calls `path::to::callee(EXPR)`, parentheses, and `+ - *`. `mod NAME;` and
//! `pub mod NAME;` lines are read and skipped (the generated trees are real crates).

use crate::lex::Token;

#[derive(Debug)]
pub struct Function {
    pub name: String,
    pub body: Expr,
}

#[derive(Debug)]
pub enum Expr {
    Number(u64),
    Param,
    Call {
        callee: String,
        arg: Box<Expr>,
        /// Set by `resolve`: the callee's index among all functions.
        target: Option<usize>,
    },
    Binary(char, Box<Expr>, Box<Expr>),
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
    param: String,
}

#[inline(never)]
pub fn parse(tokens: &[Token]) -> Result<Vec<Function>, String> {
    let mut parser = Parser {
        tokens,
        at: 0,
        param: String::new(),
    };
    let mut functions = Vec::new();
    while parser.at < tokens.len() {
        let start = parser.at;
        parser.eat_ident("pub");
        if parser.eat_ident("mod") {
            parser.ident()?;
            parser.punct(';')?;
            continue;
        }
        parser.at = start;
        functions.push(parser.function()?);
    }
    Ok(functions)
}

impl Parser<'_> {
    fn function(&mut self) -> Result<Function, String> {
        self.eat_ident("pub");
        self.keyword("fn")?;
        let name = self.ident()?;
        self.punct('(')?;
        self.param = self.ident()?;
        self.punct(':')?;
        self.keyword("u64")?;
        self.punct(')')?;
        if self.tokens.get(self.at) != Some(&Token::Arrow) {
            return Err(format!("fn {name}: expected `-> u64`"));
        }
        self.at += 1;
        self.keyword("u64")?;
        self.punct('{')?;
        let body = self.expr()?;
        self.punct('}')?;
        Ok(Function { name, body })
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut left = self.term()?;
        while let Some(Token::Punct(op @ ('+' | '-' | '*'))) = self.tokens.get(self.at) {
            self.at += 1;
            let right = self.term()?;
            left = Expr::Binary(*op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, String> {
        match self.tokens.get(self.at) {
            Some(Token::Number(n)) => {
                self.at += 1;
                Ok(Expr::Number(*n))
            }
            Some(Token::Punct('(')) => {
                self.at += 1;
                let inner = self.expr()?;
                self.punct(')')?;
                Ok(inner)
            }
            Some(Token::Ident(_)) => {
                let mut path = self.ident()?;
                while self.tokens.get(self.at) == Some(&Token::Punct(':'))
                    && self.tokens.get(self.at + 1) == Some(&Token::Punct(':'))
                {
                    self.at += 2;
                    path = self.ident()?;
                }
                if self.tokens.get(self.at) != Some(&Token::Punct('(')) {
                    return if path == self.param {
                        Ok(Expr::Param)
                    } else {
                        Err(format!("unknown name `{path}`"))
                    };
                }
                self.at += 1;
                let arg = self.expr()?;
                self.punct(')')?;
                Ok(Expr::Call {
                    callee: path,
                    arg: Box::new(arg),
                    target: None,
                })
            }
            other => Err(format!("expected an expression, found {other:?}")),
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.tokens.get(self.at) {
            Some(Token::Ident(name)) => {
                self.at += 1;
                Ok(name.clone())
            }
            other => Err(format!("expected a name, found {other:?}")),
        }
    }

    fn keyword(&mut self, word: &str) -> Result<(), String> {
        if self.eat_ident(word) {
            Ok(())
        } else {
            Err(format!("expected `{word}`, found {:?}", self.tokens.get(self.at)))
        }
    }

    fn eat_ident(&mut self, word: &str) -> bool {
        let found = self.peek_ident(word);
        if found {
            self.at += 1;
        }
        found
    }

    fn peek_ident(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Ident(w)) if w == word)
    }

    fn punct(&mut self, c: char) -> Result<(), String> {
        if self.tokens.get(self.at) == Some(&Token::Punct(c)) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected `{c}`, found {:?}", self.tokens.get(self.at)))
        }
    }
}
