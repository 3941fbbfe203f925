//! `rwaku-store`: see `rwaku::Profile::Store`.

fn main() -> std::process::ExitCode {
    rwaku::main_for(rwaku::Profile::Store)
}
