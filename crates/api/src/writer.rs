//! The single writer: one thread owns the store's write handle and commits requests in
//! groups. Requests queue on a channel; the writer takes every request waiting (up to
//! `batch_max`), runs each through the workflows inside one transaction, commits once, and
//! only then answers them. An answer is given only for a committed write, so a crash loses no
//! acknowledged write; a request refused alone does not spoil the others in its group.

use domain::custody::HandoffStatus;
use domain::detainer::DetainerStatus;
use domain::{DetainerId, HandoffId, Record, RecordKind, Timestamp};
use law::Law;
use ledger::SignedCheckpoint;
use service::{Command, Done, Principal, ServiceError, Settings};
use std::collections::BTreeSet;
use store::{Hash, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// A committed command: what it did and the checkpoint that covers it.
#[derive(Debug)]
pub struct Committed {
    pub done: Done,
    pub checkpoint: SignedCheckpoint,
}

pub type Answer = Result<Committed, ServiceError>;

/// One request for the writer.
pub struct Job {
    pub principal: Principal,
    pub command: Command,
    pub key: Option<(String, Hash)>,
    pub reply: oneshot::Sender<Answer>,
    /// Issued by the server itself (not by any caller): skips the role check.
    pub system: bool,
}

/// What the writer may be asked.
pub enum Message {
    Job(Box<Job>),
    /// Expire the handoff offers whose window has closed and the holds whose clock ran out.
    Sweep,
    /// After a failed commit: see whether the database answers the writer again.
    Probe,
}

/// The sending side, shared by the request handlers.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Message>,
    health: std::sync::Arc<Health>,
}

/// What the writer last saw of its database, for `/readyz`.
#[derive(Debug, Default)]
pub struct Health {
    /// The last group commit failed on the database (cleared by the next one that succeeds).
    store_failing: std::sync::atomic::AtomicBool,
}

/// Runs one command inside the writer's transaction: `service::execute`, or in tests a
/// stand-in (one that panics, say).
pub type Execute =
    fn(&mut dyn store::Batch, &Law, &Settings, &service::Request, Timestamp) -> Result<Done, ServiceError>;

impl Writer {
    /// Starts the writer thread, which opens its store with `open` and reads the open handoff
    /// offers and running holds before it takes requests. The thread ends when every `Writer`
    /// is dropped and the queue is drained.
    pub async fn start(
        open: impl FnOnce() -> anyhow::Result<Box<dyn Store + Send>> + Send + 'static,
        law: std::sync::Arc<Law>,
        settings: Settings,
        batch_max: usize,
    ) -> anyhow::Result<(Writer, std::thread::JoinHandle<()>)> {
        Self::start_with(open, law, settings, batch_max, service::execute).await
    }

    /// [`Writer::start`] with another way to run each command (tests inject faults).
    pub async fn start_with(
        open: impl FnOnce() -> anyhow::Result<Box<dyn Store + Send>> + Send + 'static,
        law: std::sync::Arc<Law>,
        settings: Settings,
        batch_max: usize,
        execute: Execute,
    ) -> anyhow::Result<(Writer, std::thread::JoinHandle<()>)> {
        let health = std::sync::Arc::new(Health::default());
        let thread_health = health.clone();
        let (tx, mut rx) = mpsc::channel::<Message>(batch_max * 8);
        let (ready, started) = oneshot::channel::<anyhow::Result<()>>();
        let handle = std::thread::Builder::new()
            .name("liaison-writer".into())
            .spawn(move || {
                let opened = open().and_then(|mut store| {
                    let deadlines = deadlines(store.as_mut())?;
                    Ok((store, deadlines))
                });
                let (mut store, mut deadlines) = match opened {
                    Ok(x) => {
                        let _ = ready.send(Ok(()));
                        x
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                while let Some(first) = rx.blocking_recv() {
                    let mut jobs = Vec::new();
                    let (mut sweep, mut probe) = (false, false);
                    let mut next = Some(first);
                    while let Some(m) = next.take() {
                        match m {
                            Message::Job(j) => jobs.push(*j),
                            Message::Sweep => sweep = true,
                            Message::Probe => probe = true,
                        }
                        if jobs.len() < batch_max {
                            next = rx.try_recv().ok();
                        }
                    }
                    if sweep {
                        jobs.extend(expiry_jobs(&mut deadlines));
                    }
                    if jobs.is_empty() {
                        if probe {
                            // A read on the writer's own handle (on PostgreSQL it reconnects).
                            let ok = store.size().is_ok();
                            thread_health.store_failing.store(!ok, std::sync::atomic::Ordering::Relaxed);
                        }
                        continue;
                    }
                    let ok = supervised_commit(store.as_mut(), &law, &settings, jobs, &mut deadlines, execute);
                    thread_health.store_failing.store(!ok, std::sync::atomic::Ordering::Relaxed);
                }
            })
            .expect("spawn the writer thread");
        started.await.map_err(|_| anyhow::anyhow!("the writer thread stopped while starting"))??;
        Ok((Writer { tx, health }, handle))
    }

    /// Queues a command and waits until it is committed or refused.
    pub async fn run(&self, principal: Principal, command: Command, key: Option<(String, Hash)>) -> Answer {
        let (reply, answer) = oneshot::channel();
        let job = Job { principal, command, key, reply, system: false };
        if self.tx.send(Message::Job(Box::new(job))).await.is_err() {
            return Err(ServiceError::new(503, "shutting_down", "the server is shutting down; retry elsewhere"));
        }
        answer.await.unwrap_or_else(|_| Err(ServiceError::internal("the writer stopped before answering")))
    }

    /// Whether the writer can take writes: its thread is running and its last commit did not
    /// fail on the database.
    pub fn ready(&self) -> Result<(), &'static str> {
        if self.tx.is_closed() {
            return Err("the writer has stopped");
        }
        if self.health.store_failing.load(std::sync::atomic::Ordering::Relaxed) {
            return Err("the writer's last commit failed on the database");
        }
        Ok(())
    }

    /// Asks the writer to check its database again if its last commit failed.
    pub async fn probe(&self) {
        if self.health.store_failing.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = self.tx.send(Message::Probe).await;
        }
    }

    pub async fn sweep(&self) {
        let _ = self.tx.send(Message::Sweep).await;
    }
}

/// What the server itself must close when its time comes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Offer(HandoffId),
    Hold(DetainerId),
}

/// Open handoff offers and running holds, by the time they end.
type Deadlines = BTreeSet<(Timestamp, Due)>;

/// Every page of one kind of record.
fn each_record(store: &mut dyn Store, kind: RecordKind, f: &mut dyn FnMut(Record)) -> Result<(), StoreError> {
    let mut after: Option<String> = None;
    loop {
        let page = store.records(kind, after.as_deref(), 1000)?;
        let Some(last) = page.last() else { return Ok(()) };
        after = Some(last.key().id);
        page.into_iter().for_each(&mut *f);
    }
}

fn deadlines(store: &mut dyn Store) -> Result<Deadlines, StoreError> {
    let mut out = Deadlines::new();
    each_record(store, RecordKind::Handoff, &mut |r| {
        if let Record::Handoff(h) = r
            && h.status == HandoffStatus::Offered
        {
            out.insert((h.expires_at, Due::Offer(h.id)));
        }
    })?;
    let mut holding = Vec::new();
    each_record(store, RecordKind::Detainer, &mut |r| {
        if let Record::Detainer(d) = r
            && d.status == DetainerStatus::Holding
        {
            holding.push(d);
        }
    })?;
    for d in holding {
        let tz = service::views::hold_time_zone(&d, &mut |k| store.record(k))?;
        let id = d.id.clone();
        if let Some(h) = service::views::DetainerView::new(d, &tz).hold {
            out.insert((h.deadline, Due::Hold(id)));
        }
    }
    Ok(out)
}

fn expiry_jobs(deadlines: &mut Deadlines) -> Vec<Job> {
    let now = Timestamp::now();
    let mut due = Vec::new();
    while let Some((at, _)) = deadlines.first()
        && *at < now
    {
        let (_, what) = deadlines.pop_first().expect("checked");
        let command = match what {
            Due::Offer(handoff) => Command::ExpireHandoff { handoff },
            Due::Hold(detainer) => Command::ExpireDetainer { detainer },
        };
        let (reply, _) = oneshot::channel();
        due.push(Job { principal: service::system_principal(), command, key: None, reply, system: true });
    }
    due
}

/// Commits a group; a command that panics is answered 500 and the rest of its group is
/// committed without it (the panicked attempt's transaction is rolled back whole). Returns
/// false when the database refused the commit.
fn supervised_commit(
    store: &mut dyn Store,
    law: &Law,
    settings: &Settings,
    mut jobs: Vec<Job>,
    deadlines: &mut Deadlines,
    execute: Execute,
) -> bool {
    loop {
        match commit(store, law, settings, jobs, deadlines, execute) {
            Commit::Done(ok) => return ok,
            Commit::Panicked { rest, job, message } => {
                LOG.error(&format!("a command panicked and was refused alone: {message}"));
                let _ = job.reply.send(Err(ServiceError::internal(
                    "the server failed on this request and recorded nothing; the failure is logged",
                )));
                jobs = rest;
            }
        }
    }
}

enum Commit {
    Done(bool),
    /// `job` panicked; nothing of the group was committed, `rest` is to run again.
    Panicked {
        rest: Vec<Job>,
        job: Box<Job>,
        message: String,
    },
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

fn commit(
    store: &mut dyn Store,
    law: &Law,
    settings: &Settings,
    mut jobs: Vec<Job>,
    deadlines: &mut Deadlines,
    execute: Execute,
) -> Commit {
    let now = Timestamp::now();
    let mut results: Vec<Option<Result<Done, ServiceError>>> = Vec::with_capacity(jobs.len());
    let mut panicked: Option<(usize, String)> = None;
    let created: Vec<domain::RecordKey> = jobs.iter().filter_map(|j| j.command.creates()).collect();
    let outcome = store.transact(now, &mut |b| {
        results.clear();
        b.prefetch(&created)?;
        for (i, j) in jobs.iter().enumerate() {
            let key = j.key.as_ref().map(|(k, h)| (k.as_str(), *h));
            let req = service::Request { principal: &j.principal, command: &j.command, key, as_system: j.system };
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(b, law, settings, &req, now)));
            let r = match run {
                Ok(r) => r,
                Err(p) => {
                    panicked = Some((i, panic_message(p.as_ref())));
                    return Err(StoreError::Invalid("a command panicked".into()));
                }
            };
            if let Err(e) = &r
                && e.status >= 500
            {
                return Err(StoreError::Invalid(e.message.clone()));
            }
            results.push(Some(r));
        }
        Ok(())
    });
    if let Some((i, message)) = panicked {
        let job = Box::new(jobs.remove(i));
        return Commit::Panicked { rest: jobs, job, message };
    }
    match outcome {
        Ok(cp) => {
            for (job, r) in jobs.into_iter().zip(results) {
                let answer = match r.expect("every job ran") {
                    Ok(done) => {
                        for e in &done.events {
                            match e {
                                domain::Event::HandoffOffered { handoff: h } => {
                                    deadlines.insert((h.expires_at, Due::Offer(h.id.clone())));
                                }
                                domain::Event::SubjectReleaseEligible { detainer } => {
                                    if let Some(h) = done.decision.as_ref().and_then(|d| d.hold.as_ref()) {
                                        deadlines.insert((h.deadline, Due::Hold(detainer.clone())));
                                    }
                                }
                                _ => {}
                            }
                        }
                        let checkpoint = done.pending.checkpoint.clone().or_else(|| cp.clone());
                        match checkpoint {
                            Some(checkpoint) => Ok(Committed { done, checkpoint }),
                            None => Err(ServiceError::internal("no checkpoint covers the command")),
                        }
                    }
                    Err(e) => Err(e),
                };
                if let Err(e) = &answer
                    && e.status >= 500
                {
                    LOG.error(&format!("command failed: {}: {}", e.code, e.message));
                }
                let _ = job.reply.send(answer);
            }
            Commit::Done(true)
        }
        Err(e) => {
            LOG.error(&format!("group commit failed; nothing was written: {e}"));
            for job in jobs {
                let _ = job.reply.send(Err(ServiceError::new(
                    503,
                    "not_committed",
                    format!("the write could not be committed and was not recorded: {e}"),
                )));
            }
            Commit::Done(false)
        }
    }
}

/// The writer's error log, with repeats of one line folded (a database that is down would
/// otherwise write one line per refused request).
static LOG: crate::RateLimitedLog = crate::RateLimitedLog::new();
