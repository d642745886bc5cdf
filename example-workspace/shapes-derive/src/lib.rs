//! `#[derive(Named)]`: implements `geometry::Named` with the type's name, written against
//! the bare `proc_macro` API so the example needs nothing from outside std.

use proc_macro::{TokenStream, TokenTree};

#[proc_macro_derive(Named)]
pub fn derive_named(input: TokenStream) -> TokenStream {
    let mut tokens = input.into_iter();
    let mut name = None;
    while let Some(token) = tokens.next() {
        if let TokenTree::Ident(ident) = &token {
            let word = ident.to_string();
            if word == "struct" || word == "enum" {
                if let Some(TokenTree::Ident(type_name)) = tokens.next() {
                    name = Some(type_name.to_string());
                }
                break;
            }
        }
    }
    let name = name.expect("#[derive(Named)] works on structs and enums");
    format!(
        "impl ::geometry::Named for {name} {{ fn type_name() -> &'static str {{ \"{name}\" }} }}"
    )
    .parse()
    .expect("generated impl parses")
}
