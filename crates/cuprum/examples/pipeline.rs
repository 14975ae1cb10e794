//! Run a pipeline from Rust with a catalogue, a deadline and line events.
//!
//! `cargo run -p cuprum --example pipeline`

use std::time::Duration;

use cuprum::exec::{EventKind, ExecSpec, Output, Stream};
use cuprum::{Catalogue, Pipeline, Project};

fn main() -> cuprum::Result<()> {
    let catalogue = Catalogue::new([Project::new("text-tools", ["printf", "sort", "uniq"])])?;
    let pipeline = Pipeline::new(vec![
        catalogue.command("printf")?.arg("pear\napple\npear\nfig\n"),
        catalogue.command("sort")?,
        catalogue.command("uniq")?.arg("-c"),
    ])?;

    let run = ExecSpec::pipeline(pipeline)
        .stdout(Output::capture())
        .stderr(Output::capture())
        .line_events(true)
        .timeout(Some(Duration::from_secs(10)))
        .spawn()?;
    println!("spawned pids {:?}", run.pids());

    loop {
        let batch = run.wait_events(None);
        for event in batch.events {
            match event.kind {
                EventKind::Line {
                    stream: Stream::Stdout,
                    text,
                } => println!("line from stage {}: {text}", event.stage),
                EventKind::Exit {
                    exit_code,
                    duration,
                } => {
                    println!(
                        "stage {} exited {exit_code} after {duration:?}",
                        event.stage
                    );
                }
                _ => {}
            }
        }
        if batch.finished {
            break;
        }
    }
    let outcome = run
        .take_outcome()
        .expect("the outcome follows the finishing batch");
    println!("success: {}", outcome.success());
    Ok(())
}
