//! `rwaku`: see `rwaku::Profile::Full`.

fn main() -> std::process::ExitCode {
    rwaku::main_for(rwaku::Profile::Full)
}
