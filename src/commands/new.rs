//! `tasks new`: write a new task file and print its id.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};

use serde_norway::Value;

use crate::error::{Error, Result};
use crate::lifecycle;
use crate::output;
use crate::store::{TASKS_DIR, atomic, events};
use crate::task::model::id_problem;
use crate::task::{Kind, Task, split, yaml};

/// Create a task and print its id
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks new \"Write the migration\" --priority 1 --type feature --owner role:backend\n  tasks new \"Use the schema\" --depends-on T-3b9x --label db\n  echo \"Add a users table\" | tasks new \"Schema\" --body -"
)]
pub struct Args {
    /// One line saying what is to be done
    pub title: String,
    /// Use this id instead of a generated one
    #[arg(long)]
    pub id: Option<String>,
    /// 0 (highest) to 4
    #[arg(long, short, value_parser = clap::value_parser!(u8).range(0..=4))]
    pub priority: Option<u8>,
    /// task, bug, feature, chore, epic or placeholder
    #[arg(long = "type", short = 't', value_name = "TYPE")]
    pub kind: Option<Kind>,
    /// A person, or role:NAME
    #[arg(long)]
    pub owner: Option<String>,
    /// A label (repeat for more)
    #[arg(long = "label", short = 'l', value_name = "LABEL")]
    pub labels: Vec<String>,
    /// A task this one waits for (repeat for more)
    #[arg(long = "depends-on", short = 'd', value_name = "ID", add = crate::completion::any_task())]
    pub depends_on: Vec<String>,
    /// The description (`-` reads standard input)
    #[arg(long)]
    pub body: Option<String>,
}

impl clap::ValueEnum for Kind {
    fn value_variants<'a>() -> &'a [Self] {
        &Kind::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let actor = ctx.actor(&store)?;
    let title = args.title.trim();
    if title.is_empty() || title.contains(['\n', '\r']) {
        return Err(Error::usage("the title must be one non-empty line"));
    }
    let body = args.body.as_deref().map(super::text_arg).transpose()?;
    let scan = store.scan();
    let mut deps = Vec::new();
    for dep in &args.depends_on {
        let id = store.resolve(&scan, dep)?.task.id.clone();
        if !deps.contains(&id) {
            deps.push(id);
        }
    }

    let _lock = store.lock(ctx.out.quiet)?;
    let known = store.all_known_ids(&store.scan());
    let id = match &args.id {
        Some(id) => {
            if let Some(problem) = id_problem(id) {
                return Err(Error::failure("invalid_input", problem));
            }
            if known.contains(id) {
                return Err(Error::conflict(
                    "id_taken",
                    format!("the id {id} is already used"),
                ));
            }
            id.clone()
        }
        None => generate_id(store.config.id_prefix(), &known),
    };
    let path = store.tasks_dir.join(format!("{id}.md"));
    if path.exists() {
        return Err(Error::conflict(
            "id_taken",
            format!("{TASKS_DIR}/{id}.md already exists"),
        ));
    }

    let mut fm: Vec<(&str, Value)> = vec![
        ("id", Value::String(id.clone())),
        ("title", Value::String(title.to_string())),
        ("status", Value::String("open".into())),
        (
            "priority",
            Value::Number(
                args.priority
                    .unwrap_or(crate::task::model::DEFAULT_PRIORITY)
                    .into(),
            ),
        ),
    ];
    if let Some(kind) = args.kind {
        fm.push(("type", Value::String(kind.as_str().into())));
    }
    if let Some(owner) = &args.owner {
        fm.push((
            "owner",
            Value::String(super::set::person(owner, &store.config)),
        ));
    }
    if !args.labels.is_empty() {
        fm.push(("labels", lifecycle::strings(&args.labels)));
    }
    if !deps.is_empty() {
        fm.push(("depends_on", lifecycle::strings(&deps)));
    }
    fm.push(("created_at", Value::String(actor.now.clone())));
    fm.push(("updated_at", Value::String(actor.now.clone())));
    let mut text = String::from("---\n");
    for (key, value) in &fm {
        text.push_str(&format!("{key}: {}\n", yaml::render(value)));
    }
    text.push_str("---\n");
    if let Some(body) = body.as_deref().map(str::trim_end).filter(|b| !b.is_empty()) {
        text.push_str(body);
        text.push('\n');
    }
    let task =
        Task::parse(&split::split(&text).map_err(|e| Error::failure("internal", e.to_string()))?)
            .map_err(|e| Error::failure("invalid_input", e.message))?;
    atomic::write(&path, text.as_bytes())?;
    events::append(
        &store.state_dir,
        &events::Event {
            time: actor.now.clone(),
            actor: actor.name.clone(),
            task: task.id.clone(),
            from: None,
            to: task.status.as_str().to_string(),
            outcome: None,
            fix: None,
            path: None,
        },
    )?;

    if ctx.out.json {
        ctx.out.print_json(&output::one_task(&task, &path));
    } else {
        crate::outln!("{}", task.id);
        ctx.out.status(&format!("Created {}", store.display(&path)));
    }
    Ok(())
}

/// `<prefix>-<4 base36 chars>`, growing a character whenever collisions repeat.
fn generate_id(prefix: &str, known: &HashSet<String>) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let state = std::collections::hash_map::RandomState::new();
    let mut len = 4;
    let mut collisions = 0;
    for round in 0u64.. {
        let mut h = state.build_hasher();
        h.write_u64(round);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        let mut n = h.finish();
        let suffix: String = (0..len)
            .map(|_| {
                let c = ALPHABET[(n % 36) as usize] as char;
                n /= 36;
                c
            })
            .collect();
        let id = format!("{prefix}-{suffix}");
        if !known.contains(&id) {
            return id;
        }
        collisions += 1;
        if collisions % 3 == 0 {
            len += 1;
        }
    }
    unreachable!("the id space grows until an id is free")
}
