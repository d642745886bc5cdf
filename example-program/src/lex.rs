//! Pass 1: characters to tokens. Linear in the input.

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Ident(String),
    Number(u64),
    Punct(char),
    Arrow,
}

#[inline(never)]
pub fn lex(source: &str) -> Result<Vec<Token>, String> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::with_capacity(source.len() / 3);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'>') => {
                tokens.push(Token::Arrow);
                i += 2;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                tokens.push(Token::Ident(source[start..i].to_string()));
            }
            b'0'..=b'9' => {
                let mut value = 0u64;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    value = value.wrapping_mul(10).wrapping_add(u64::from(bytes[i] - b'0'));
                    i += 1;
                }
                tokens.push(Token::Number(value));
            }
            b'(' | b')' | b'{' | b'}' | b':' | b',' | b'+' | b'*' | b'-' | b';' => {
                tokens.push(Token::Punct(c as char));
                i += 1;
            }
            other => {
                let line = source[..i].matches('\n').count() + 1;
                return Err(format!("line {line}: unexpected character `{}`", other as char));
            }
        }
    }
    Ok(tokens)
}
