//! Seeds a program of realistic size through the `app` operations, so that every row is written with its
//! audit event as in production. Each worker has its own `App` over the shared store with its own
//! `ManualClock`, set to the moment of each action, so filing dates, findings and date changes spread over
//! months and every notice state occurs at the reference time.

use accounts::Secret;
use anyhow::{Context, Result};
use app::program::{NewFinding, NewNotice};
use app::{App, Caller, Config, ManualClock};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use store::Store;
use uuid::Uuid;

/// What to seed.
#[derive(Debug, Clone)]
pub struct Plan {
    pub notices: usize,
    pub developers: usize,
    pub agencies: usize,
    pub findings_per_notice: usize,
    /// The reference time: notices are filed during the 150 days before it, and the server runs at it.
    pub now: DateTime<Utc>,
    pub seed: u64,
    pub workers: usize,
}

/// A person the benchmark acts as.
#[derive(Clone)]
pub struct Person {
    pub email: String,
    pub token: String,
    pub caller: Caller,
    /// The link token that lets this person set a password, to sign in for a browser session.
    pub invitation: String,
}

struct Agency {
    id: Uuid,
    admin: Person,
    evaluator: Person,
}

/// What was written, to report beside the figures.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub notices: usize,
    pub shared_with_all: usize,
    pub findings: usize,
    pub assignments: usize,
    pub moved: usize,
    pub launched_early: usize,
    pub withdrawn: usize,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.notices += o.notices;
        self.shared_with_all += o.shared_with_all;
        self.findings += o.findings;
        self.assignments += o.assignments;
        self.moved += o.moved;
        self.launched_early += o.launched_early;
        self.withdrawn += o.withdrawn;
    }
}

/// The seeded program: the people measured and what was written.
pub struct Seeded {
    /// The evaluator of the first agency: sees the notices shared with that agency.
    pub agency_person: Person,
    /// The administrator of the first developer: sees its own notices.
    pub developer_person: Person,
    pub counts: Counts,
}

/// An `App` over `store` whose clock the caller moves.
pub fn app_at(store: &Arc<dyn Store>, at: DateTime<Utc>) -> (App, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(at));
    (App::new(store.clone(), clock.clone(), Config::default()), clock)
}

pub(crate) async fn person(app: &App, org: &str, email: String, role: &str) -> Result<Person> {
    let (_, link) = app.provision_user(org, &email, role).await?;
    let token = app.provision_token(&email, None).await?;
    let caller = app.authenticate_bearer(token.expose()).await?;
    let invitation = link
        .expose()
        .rsplit('/')
        .next()
        .context("an invitation link without a token")?
        .to_owned();
    Ok(Person {
        email,
        token: token.expose().to_owned(),
        caller,
        invitation,
    })
}

fn password_of(person: &Person) -> Secret {
    Secret::new(format!("benchmark password of {}", person.email))
}

/// Sets a password through the person's invitation link, as they would before signing in.
async fn set_password(app: &App, person: &Person) -> Result<()> {
    app.accept_invitation(
        &person.invitation,
        Some(&person.email),
        "Bench Person",
        &password_of(person),
    )
    .await?;
    Ok(())
}

/// Opens a browser session for `person` and returns the cookie value.
pub async fn sign_in(app: &App, person: &Person) -> Result<String> {
    let from = std::net::IpAddr::from([127, 0, 0, 1]);
    let session = app.login(&person.email, &password_of(person), from).await?;
    Ok(session.token.expose().to_owned())
}

const MODEL_CARD: &str = "# Model card\n\n## Intended use\nGeneral-purpose assistant for text and code. \
Not intended for autonomous operation of critical infrastructure.\n\n## Training data\nPublic web text, \
licensed corpora and synthetic data, filtered for personal data.\n\n## Evaluations\n| suite | score |\n\
|---|---|\n| knowledge | 0.81 |\n| code | 0.74 |\n| capture-the-flag (easy) | 0.42 |\n\n\
## Known limitations\nMay state false information confidently. Refuses some benign security questions.\n\n\
## Safeguards\nRefusal training for weapons uplift; classifier on cyber-offense requests; staged access \
for agentic tool use.\n\n## Contact\nsafety@lab.example\n";

pub async fn seed(store: Arc<dyn Store>, plan: &Plan) -> Result<Seeded> {
    let start = plan.now - Duration::days(200);
    let (app, _clock) = app_at(&store, start);
    app.init_admin("admin@clearinghouse.example").await?;

    let mut agencies = Vec::with_capacity(plan.agencies);
    for a in 0..plan.agencies {
        let name = format!("Evaluation Agency {a:02}");
        let id = app.provision_org("agency", &name).await?.id;
        agencies.push(Agency {
            id,
            admin: person(&app, &name, format!("admin@agency{a:02}.example"), "admin").await?,
            evaluator: person(&app, &name, format!("eval@agency{a:02}.example"), "member").await?,
        });
    }
    let mut developers = Vec::with_capacity(plan.developers);
    for d in 0..plan.developers {
        let name = format!("Frontier Lab {d:02}");
        app.provision_org("developer", &name).await?;
        developers.push(person(&app, &name, format!("admin@lab{d:02}.example"), "admin").await?);
    }
    let agencies = Arc::new(agencies);

    let per_developer = plan.notices.div_ceil(plan.developers.max(1));
    let mut tasks = Vec::new();
    for w in 0..plan.workers.max(1) {
        let mine: Vec<(usize, Person)> = developers
            .iter()
            .cloned()
            .enumerate()
            .filter(|(d, _)| d % plan.workers.max(1) == w)
            .collect();
        let (store, agencies, plan) = (store.clone(), agencies.clone(), plan.clone());
        tasks.push(tokio::spawn(async move {
            let mut counts = Counts::default();
            for (d, developer) in mine {
                let first = d * per_developer;
                let last = ((d + 1) * per_developer).min(plan.notices);
                for n in first..last {
                    let mut rng =
                        StdRng::seed_from_u64(plan.seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    counts += seed_notice(&store, &plan, &developer, &agencies, &mut rng).await?;
                    if (n + 1) % 1000 == 0 {
                        eprintln!("  seeded notice {} of {}", n + 1, plan.notices);
                    }
                }
            }
            anyhow::Ok(counts)
        }));
    }
    let mut counts = Counts::default();
    for task in tasks {
        counts += task.await??;
    }
    let agency_person = agencies.first().context("no agency")?.evaluator.clone();
    let developer_person = developers.first().context("no developer")?.clone();
    for person in [&agency_person, &developer_person] {
        set_password(&app, person).await?;
    }
    Ok(Seeded {
        agency_person,
        developer_person,
        counts,
    })
}

fn minutes(rng: &mut StdRng, from_days: i64, to_days: i64) -> Duration {
    Duration::minutes(rng.gen_range(from_days * 1440..=to_days * 1440))
}

/// Files one notice and what follows it: findings by the agencies it is shared with, and perhaps a moved
/// launch, an early launch or a withdrawal, each at its own moment before the reference time.
async fn seed_notice(
    store: &Arc<dyn Store>,
    plan: &Plan,
    developer: &Person,
    agencies: &[Agency],
    rng: &mut StdRng,
) -> Result<Counts> {
    let mut counts = Counts::default();
    let filed = plan.now - minutes(rng, 1, 150);
    let launch = filed + minutes(rng, 2, 120);
    let (app, clock) = app_at(store, filed);

    let shared_with_all = rng.gen_bool(0.1);
    let mut audience: Vec<&Agency> = agencies.iter().collect();
    audience.shuffle(rng);
    audience.truncate(if shared_with_all { 2 } else { rng.gen_range(1..=4) });
    let input = NewNotice {
        model_name: format!("Model {}", rng.gen_range(1000..9999)),
        model_version: format!("{}.{}", rng.gen_range(1..5), rng.gen_range(0..10)),
        planned_launch_at: launch.to_rfc3339(),
        model_card: MODEL_CARD.into(),
        shared_with: if shared_with_all {
            Vec::new()
        } else {
            audience.iter().map(|a| a.id).collect()
        },
        shared_with_all,
        // Random names and versions may repeat; the seed wants every notice filed.
        confirm_duplicate: true,
    };
    let notice = app.file_notice(&developer.caller, input).await?;
    counts.notices += 1;
    counts.shared_with_all += usize::from(shared_with_all);

    for f in 0..plan.findings_per_notice {
        let Some(agency) = audience.get(f % audience.len().max(1)) else {
            break;
        };
        clock.set(filed + Duration::minutes(10 * (f as i64 + 1)));
        // The first finding comes from an assigned evaluator, the others from agency admins.
        let author = if f == 0 {
            app.assign(&agency.admin.caller, notice.id, agency.evaluator.caller.user_id())
                .await?;
            counts.assignments += 1;
            &agency.evaluator
        } else {
            &agency.admin
        };
        let shared_with = audience
            .iter()
            .map(|a| a.id)
            .filter(|id| *id != agency.id && rng.gen_bool(0.25))
            .collect();
        let severities = ["info", "low", "medium", "high", "critical"];
        let domains = ["cyber_offense", "critical_infrastructure", "autonomy", "other"];
        let input = NewFinding {
            title: format!("Finding {} on exploit development", f + 1),
            domain: domains.choose(rng).copied().unwrap_or("other").into(),
            severity: severities.choose(rng).copied().unwrap_or("info").into(),
            description: "The model wrote a working proof of concept for a known memory-safety bug \
                          when given the vulnerable function and a crash trace."
                .into(),
            evidence: vec![format!("https://evals.agency.example/runs/{}", Uuid::new_v4())],
            shared_with,
        };
        app.file_finding(&author.caller, notice.id, input).await?;
        counts.findings += 1;
    }

    // A change happens somewhere between filing and the earlier of launch and the reference time.
    let end = launch.min(plan.now);
    let at = filed + (end - filed) * rng.gen_range(20..90) / 100;
    clock.set(at);
    match rng.gen_range(0..100) {
        0..5 => {
            app.withdraw(&developer.caller, notice.id, Some("model retired"))
                .await?;
            counts.withdrawn += 1;
        }
        5..10 => {
            app.launch_now(&developer.caller, notice.id).await?;
            counts.launched_early += 1;
        }
        10..25 => {
            let to = at + minutes(rng, 1, 90);
            app.move_launch(
                &developer.caller,
                notice.id,
                &to.to_rfc3339(),
                Some("schedule change"),
            )
            .await?;
            counts.moved += 1;
        }
        _ => {}
    }
    Ok(counts)
}
