//! Shrinking a failure: the fewest steps and bytes that still show the same problem, then the
//! fewest cuts and the friendliest network under which they do.

use std::mem::discriminant;

use super::checker::Checker;
use super::report::{Failure, Problem};
use super::script::{Script, Step};
use super::variant::{Cutting, Variant};
use crate::handler::Handler;

/// Runs one failure may take to shrink, at most.
const BUDGET: usize = 2_000;

/// Runs a shrink may still take, counted into the report's runs.
struct Budget<'a> {
    left: usize,
    runs: &'a mut usize,
}

impl Budget<'_> {
    fn take(&mut self, n: usize) -> bool {
        if self.left < n {
            self.left = 0;
            return false;
        }
        self.left -= n;
        *self.runs += n;
        true
    }
}

/// The smallest failure like `failure` found within the budget.
pub(crate) fn shrink<H: Handler>(
    checker: &Checker<H>,
    failure: Failure,
    runs: &mut usize,
) -> Failure {
    let mut budget = Budget { left: BUDGET, runs };
    let mut shrinker = Shrinker {
        checker,
        budget: &mut budget,
        like: failure.problem.clone(),
    };
    // Cuts at offsets do not carry over to a smaller script: shrink it one byte at a time.
    let portable = match failure.variant.cutting {
        Cutting::At(_) => Variant {
            cutting: Cutting::Bytewise,
            ..failure.variant.clone()
        },
        _ => failure.variant.clone(),
    };
    let failure = match shrinker.reproduce(&failure.script, &portable) {
        Some(found) => shrinker.smaller_script(found),
        None => failure,
    };
    shrinker.simpler_variant(failure)
}

struct Shrinker<'c, 'b, 'r, H> {
    checker: &'c Checker<H>,
    budget: &'b mut Budget<'r>,
    /// The problem being shrunk: candidates must show one like it.
    like: Problem,
}

impl<H: Handler> Shrinker<'_, '_, '_, H> {
    /// Fewer steps, then fewer bytes in each send, while the problem stays.
    fn smaller_script(&mut self, mut best: Failure) -> Failure {
        let mut size = (best.script.steps().len() / 2).max(1);
        loop {
            let mut at = 0;
            while at < best.script.steps().len() {
                let mut steps = best.script.steps().to_vec();
                steps.drain(at..(at + size).min(steps.len()));
                match self.reproduce(&Script::from_steps(steps), &best.variant) {
                    Some(smaller) => best = smaller,
                    None => at += size,
                }
            }
            if size == 1 {
                break;
            }
            size /= 2;
        }
        for index in 0..best.script.steps().len() {
            best = self.shorter_send(best, index);
        }
        best
    }

    /// Step `index`, if a send, with as few of its bytes as still show the problem.
    fn shorter_send(&mut self, mut best: Failure, index: usize) -> Failure {
        let Some(Step::Send { data, .. }) = best.script.steps().get(index) else {
            return best;
        };
        let mut size = (data.len() / 2).max(1);
        loop {
            let mut at = 0;
            loop {
                let Some(Step::Send { peer, data }) = best.script.steps().get(index) else {
                    return best;
                };
                if at >= data.len() || data.len() <= 1 {
                    break;
                }
                let kept = [&data[..at], &data[(at + size).min(data.len())..]].concat();
                let mut steps = best.script.steps().to_vec();
                steps[index] = Step::Send {
                    peer: *peer,
                    data: kept.into(),
                };
                match self.reproduce(&Script::from_steps(steps), &best.variant) {
                    Some(smaller) => best = smaller,
                    None => at += size,
                }
            }
            if size == 1 {
                return best;
            }
            size /= 2;
        }
    }

    /// The input whole if that shows the problem; else the fewest cuts, and the network's
    /// knobs back to friendly where the problem stays without them.
    fn simpler_variant(&mut self, mut best: Failure) -> Failure {
        if best.variant == Variant::whole() {
            return best;
        }
        if let Some(found) = self.reproduce(&best.script, &Variant::whole()) {
            return found;
        }
        let friendlier = [
            Variant {
                read_chunk: None,
                ..best.variant.clone()
            },
            Variant {
                write_chunk: None,
                window: None,
                ..best.variant.clone()
            },
        ];
        for variant in friendlier {
            if variant != best.variant
                && let Some(found) = self.reproduce(&best.script, &variant)
            {
                best = found;
            }
        }
        let mut cuts: Vec<usize> = best.variant.cuts(&best.script).into_iter().collect();
        let mut size = (cuts.len() / 2).max(1);
        while !cuts.is_empty() {
            let mut at = 0;
            while at < cuts.len() {
                let mut fewer = cuts.clone();
                fewer.drain(at..(at + size).min(cuts.len()));
                let variant = Variant {
                    cutting: Cutting::At(fewer.clone()),
                    ..best.variant.clone()
                };
                match self.reproduce(&best.script, &variant) {
                    Some(found) => {
                        best = found;
                        cuts = fewer;
                    }
                    None => at += size,
                }
            }
            if size == 1 {
                break;
            }
            size /= 2;
        }
        if !matches!(best.variant.cutting, Cutting::Whole) {
            best.variant.cutting = match cuts.is_empty() {
                true => Cutting::Whole,
                false => Cutting::At(cuts),
            };
        }
        best
    }

    /// The failure of `script` run as `variant`, if it shows a problem like the one shrunk
    /// (and the budget allows the runs). A problem of the run with the input whole counts,
    /// with that run.
    fn reproduce(&mut self, script: &Script, variant: &Variant) -> Option<Failure> {
        let failure = |problem: Problem, variant: &Variant| Failure {
            problem,
            script: script.clone(),
            variant: variant.clone(),
        };
        if !self.budget.take(1) {
            return None;
        }
        let whole = match self.checker.run(script, &Variant::whole()) {
            Err(problem) => {
                return alike(&problem, &self.like).then(|| failure(problem, &Variant::whole()));
            }
            Ok(whole) => whole,
        };
        if *variant == Variant::whole() || !self.budget.take(1) {
            return None;
        }
        let problem = self.checker.verdict(script, variant, &whole).err()?;
        alike(&problem, &self.like).then(|| failure(problem, variant))
    }
}

/// Whether two problems are the same kind: the same variant, the same memory, a panic with
/// the same message but for its numbers.
fn alike(a: &Problem, b: &Problem) -> bool {
    let words =
        |message: &str| -> String { message.chars().filter(|c| !c.is_ascii_digit()).collect() };
    match (a, b) {
        (Problem::Panic { message: a }, Problem::Panic { message: b }) => words(a) == words(b),
        (Problem::OverLimit { what: a, .. }, Problem::OverLimit { what: b, .. }) => a == b,
        _ => discriminant(a) == discriminant(b),
    }
}
