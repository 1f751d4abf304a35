//! `cargo grade schema`: the JSON Schema of case files (draft-07), generated from the case types.

use crate::cli::EXIT_PASS;

pub fn run() -> i32 {
    println!("{}", crate::schema::render());
    EXIT_PASS
}
