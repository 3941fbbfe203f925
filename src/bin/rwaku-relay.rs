//! `rwaku-relay`: see `rwaku::Profile::Relay`.

fn main() -> std::process::ExitCode {
    rwaku::main_for(rwaku::Profile::Relay)
}
