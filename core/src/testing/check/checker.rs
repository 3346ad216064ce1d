//! The checker: a protocol's server and its settings, the plan of runs, and the comparison of
//! each run with the run of the input whole.

use std::rc::Rc;
use std::sync::Arc;

use super::report::{Failure, Outcome, PeerOutcome, Problem, Report};
use super::run::Setup;
use super::script::Script;
use super::shrink;
use super::variant::{Cutting, Variant};
use crate::handler::Handler;
use crate::stream::StreamConfig;

/// A normalisation of what a peer received, before runs are compared.
type Normalize = dyn Fn(&[u8]) -> Vec<u8>;

/// Checks a protocol's server against scripts of its peers; see the [module](super).
///
/// Build one per protocol, set what differs from the defaults, and [`check`](Self::check) as
/// many scripts as you like:
///
/// ```
/// use pants_core::testing::check::{Checker, Script};
/// use pants_core::{Context, Frame, Handler};
///
/// struct Echo;
/// impl Handler for Echo {
///     fn on_read(&mut self, cx: &mut Context<'_>, data: Frame<'_>) {
///         let _ = cx.write(data);
///     }
/// }
///
/// let checker = Checker::new(|| Echo).every_position();
/// let report = checker.check(Script::new().send("hello").eof());
/// report.assert_ok();
/// assert_eq!(report.received(0), "hello");
/// ```
pub struct Checker<H> {
    setup: Setup<H>,
    normalize: Option<Rc<Normalize>>,
    /// The variants every check runs (`None`: the default ones).
    variants: Option<Vec<Variant>>,
    every_position: bool,
    seeded: usize,
    seed: u64,
}

impl<H> std::fmt::Debug for Checker<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("variants", &self.variants)
            .field("every_position", &self.every_position)
            .field("seeded", &self.seeded)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl<H: Handler> Checker<H> {
    /// Checks a server whose connections each get a handler from `factory`. Each run starts a
    /// fresh server with the same factory: if its handlers share state (a room, a store), use
    /// [`per_run`](Self::per_run) so that runs do not see each other's.
    pub fn new(factory: impl Fn() -> H + 'static) -> Self {
        let factory = Rc::new(factory);
        Self::per_run(move || {
            let factory = factory.clone();
            move || factory()
        })
    }

    /// Checks a server made afresh for each run by `make`, which returns the factory of its
    /// connections' handlers: for protocols whose connections share state.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use pants_core::testing::check::Checker;
    /// use pants_core::{Context, Frame, Handler};
    ///
    /// /// Counts the frames of every connection of its server together.
    /// struct Counter(Rc<RefCell<usize>>);
    /// impl Handler for Counter {
    ///     fn on_read(&mut self, cx: &mut Context<'_>, _: Frame<'_>) {
    ///         *self.0.borrow_mut() += 1;
    ///         let _ = cx.write(self.0.borrow().to_string());
    ///     }
    /// }
    ///
    /// let checker = Checker::per_run(|| {
    ///     let count = Rc::new(RefCell::new(0));
    ///     move || Counter(count.clone())
    /// });
    /// checker.check("x").assert_ok();
    /// ```
    pub fn per_run<F>(make: impl Fn() -> F + 'static) -> Self
    where
        F: FnMut() -> H + 'static,
    {
        Self {
            setup: Setup {
                make_server: Rc::new(move || Box::new(make())),
                config: Arc::new(StreamConfig::default()),
                held: None,
                queue_bound: None,
            },
            normalize: None,
            variants: None,
            every_position: false,
            seeded: 2,
            seed: 0,
        }
    }

    /// The settings of the server's connections (default: [`StreamConfig::default`]). Small
    /// read limits put every limit of the protocol within a short input's reach.
    pub fn stream_config(mut self, config: StreamConfig) -> Self {
        self.setup.config = Arc::new(config);
        self
    }

    /// The handler's own memory: `probe` says how many bytes a handler holds, and after every
    /// callback that must be at most `bound`. Without it, the check cannot see a handler that
    /// buffers without limit.
    pub fn held(mut self, probe: impl Fn(&H) -> usize + 'static, bound: usize) -> Self {
        self.setup.held = Some((Rc::new(probe), bound));
        self
    }

    /// The most a connection's write queue may hold after a callback (default: the hard write
    /// limit of the stream settings). A protocol that pauses reading above the high-water mark
    /// stays within that mark plus one reply.
    pub fn queue_bound(mut self, bound: usize) -> Self {
        self.setup.queue_bound = Some(bound);
        self
    }

    /// Compares what peers received after `normalize`: for protocols whose replies may
    /// differ with the timing of reads (a reply batched per read, say) in ways that do not
    /// matter.
    pub fn normalize(mut self, normalize: impl Fn(&[u8]) -> Vec<u8> + 'static) -> Self {
        self.normalize = Some(Rc::new(normalize));
        self
    }

    /// Runs these variants instead of the default ones (as scripted, one byte at a time, reads
    /// of one byte, short writes into a small window); the seeded cuttings and every position
    /// still come after them when asked.
    pub fn variants(mut self, variants: impl IntoIterator<Item = Variant>) -> Self {
        self.variants = Some(variants.into_iter().collect());
        self
    }

    /// Also runs the input cut in two at every position (one run per byte sent): thorough
    /// for short inputs in unit tests, slow for a fuzzer.
    pub fn every_position(mut self) -> Self {
        self.every_position = true;
        self
    }

    /// Runs `runs` cuttings drawn from `seed` (default: 2 from seed 0).
    pub fn seeded(mut self, runs: usize, seed: u64) -> Self {
        self.seeded = runs;
        self.seed = seed;
        self
    }

    /// The runs a check of `script` compares with the input whole: as scripted, one byte at a
    /// time, reads of one byte, short writes and a small window, the seeded cuttings, and
    /// every position if asked.
    pub fn plan(&self, script: &Script) -> Vec<Variant> {
        let mut plan = self.variants.clone().unwrap_or_else(|| {
            vec![
                Variant::cut(Cutting::AsScripted),
                Variant::cut(Cutting::Bytewise),
                Variant::one_byte_reads(),
                Variant::short_writes_small_window(),
            ]
        });
        let seeds = (0..self.seeded as u64).map(|i| self.seed.wrapping_add(i));
        plan.extend(seeds.map(|seed| Variant::cut(Cutting::Seeded(seed))));
        if self.every_position {
            plan.extend((1..script.len()).map(|at| Variant::cut(Cutting::At(vec![at]))));
        }
        plan
    }

    /// Runs `script` with the input whole, then as every variant of the [plan](Self::plan),
    /// and reports the first problem, shrunk to the smallest script and cutting found.
    pub fn check(&self, script: impl Into<Script>) -> Report {
        let script = script.into();
        let mut runs = 1;
        let whole = self.run(&script, &Variant::whole());
        let failure = match &whole {
            Err(problem) => Some((problem.clone(), Variant::whole())),
            Ok(whole) => self.plan(&script).into_iter().find_map(|variant| {
                runs += 1;
                self.verdict(&script, &variant, whole)
                    .err()
                    .map(|problem| (problem, variant))
            }),
        };
        let failure = failure.map(|(problem, variant)| {
            let failure = Failure {
                problem,
                script,
                variant,
            };
            Box::new(shrink::shrink(self, failure, &mut runs))
        });
        Report {
            runs,
            outcome: whole.ok(),
            failure,
        }
    }

    /// One run of `script` as `variant` says, and what the peers saw; a panic, memory over its
    /// bounds or a connection that did not close is an error.
    pub fn run(&self, script: &Script, variant: &Variant) -> Result<Outcome, Problem> {
        self.setup.run(script, variant)
    }

    /// Runs `variant` and compares it with `whole`, the outcome of the input whole.
    pub(crate) fn verdict(
        &self,
        script: &Script,
        variant: &Variant,
        whole: &Outcome,
    ) -> Result<(), Problem> {
        let outcome = self.run(script, variant)?;
        let pairs = whole.peers.iter().zip(&outcome.peers).enumerate();
        for (peer, (expected, seen)) in pairs {
            if !self.same(expected, seen) {
                return Err(Problem::DependsOnCutting {
                    peer,
                    whole: expected.clone(),
                    cut: seen.clone(),
                });
            }
        }
        Ok(())
    }

    fn same(&self, a: &PeerOutcome, b: &PeerOutcome) -> bool {
        let same_bytes = match &self.normalize {
            Some(normalize) => normalize(&a.received) == normalize(&b.received),
            None => a.received == b.received,
        };
        same_bytes && a.closed_early == b.closed_early
    }
}
