//! The `rwaku` binaries' shared start-up: parse the layered configuration, choose the plugins
//! this build and binary offer, set up logging, and hand everything to the Supervisor.

pub mod cli;
#[cfg(feature = "dos-validator")]
pub mod community_keys;
pub mod config_layers;
pub mod logging;
pub mod profile;

use std::process::ExitCode;

pub use profile::Profile;

/// Runs one of the rwaku binaries; `profile` says which.
pub fn main_for(profile: Profile) -> ExitCode {
    let invocation = match cli::parse(profile) {
        Ok(i) => i,
        Err(e) => {
            // clap prints its own help/version/usage text.
            return e;
        }
    };
    if let Some(command) = &invocation.args.command {
        return run_command(command);
    }
    let config = match config_layers::load(&invocation.args, profile) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rwaku: {e}");
            return ExitCode::from(2);
        }
    };
    if invocation.args.dump_config {
        match toml::to_string(&config) {
            Ok(text) => {
                print!("{text}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("rwaku: cannot print the configuration: {e}");
                return ExitCode::from(2);
            }
        }
    }
    logging::init(&config.log_level);
    let plugins = match profile::plugins_for(profile, &config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rwaku: {e}");
            return ExitCode::from(2);
        }
    };
    let code = rwaku_actors::Supervisor::new(config, plugins).run_until_signal();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn run_command(command: &cli::Command) -> ExitCode {
    #[cfg(feature = "dos-validator")]
    {
        let result = match command {
            cli::Command::Keygen(args) => community_keys::keygen(args),
            cli::Command::Sign(args) => community_keys::sign(args),
        };
        match result {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("rwaku: {e}");
                ExitCode::from(2)
            }
        }
    }
    #[cfg(not(feature = "dos-validator"))]
    {
        let _ = command;
        eprintln!("rwaku: keygen and sign need a build with the `dos-validator` feature");
        ExitCode::from(2)
    }
}
