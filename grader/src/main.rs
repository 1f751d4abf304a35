//! `cargo grade`: the grader's parent process (see the library's docs for the layout).

fn main() {
    std::process::exit(grader::main());
}
