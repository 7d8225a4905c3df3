//! The modules a spec script defines, as binaries.

use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::{Wast, WastDirective};

/// The binary of every `module` directive in `text` that encodes; scripts that do not parse
/// give none.
pub fn script_modules(text: &str) -> Vec<Vec<u8>> {
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let Ok(buffer) = ParseBuffer::new_with_lexer(lexer) else {
        return Vec::new();
    };
    let Ok(wast) = parser::parse::<Wast<'_>>(&buffer) else {
        return Vec::new();
    };
    wast.directives
        .into_iter()
        .filter_map(|d| match d {
            WastDirective::Module(mut m) | WastDirective::ModuleDefinition(mut m) => {
                m.encode().ok()
            }
            _ => None,
        })
        .collect()
}
