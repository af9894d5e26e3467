//! `tasks note`: a timestamped line under the body's `## Notes`.

use crate::error::{Error, Result};

/// Append a timestamped note to a task's `## Notes` section
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks note T-3b9x \"reproduced with 3 parallel acquires\"\n  git log -1 --format=%B | tasks note T-3b9x -"
)]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::any_task())]
    pub id: String,
    /// The note (`-` reads standard input)
    pub text: String,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let text = super::text_arg(&args.text)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::usage("the note is empty"));
    }
    let (entry, task) = super::update(ctx, &args.id, |_, actor, _, _| {
        // Later lines are indented so the note stays one list item.
        let body = text
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n  ");
        Ok(crate::task::Edit {
            note: Some(format!("- {} {}: {body}", actor.now, actor.name)),
            ..Default::default()
        })
    })?;
    super::report(ctx, &entry.path, &task, &format!("{}: note added", task.id));
    Ok(())
}
