extension TrainingState {
    /// Checks a saved state against its own invariants and the run it is to continue, so that an
    /// edited or damaged checkpoint is refused instead of producing wrong numbers.
    ///
    /// - Parameters:
    ///   - budget: the run's query budget.
    ///   - queriesPerIteration: what every iteration costs (the zeroth-order methods, the only
    ///     ones that resume, pay the same for each).
    /// - Throws: ``RLHFError/invalidArgument(name:message:)`` naming the first broken invariant:
    ///   negative or non-finite counters, queries ≠ iterations × cost or above the budget, no
    ///   evaluation points, points out of order, or a last point that is not this state.
    public func validate(budget: Int, queriesPerIteration cost: Int) throws {
        func fail(_ message: String) -> RLHFError { .invalidArgument(name: "checkpoint", message: message) }
        guard iteration >= 0, queriesUsed >= 0, envSteps >= 0 else {
            throw fail("negative counters (iteration \(iteration), queries \(queriesUsed), environment steps \(envSteps))")
        }
        let (paid, overflow) = iteration.multipliedReportingOverflow(by: cost)
        guard !overflow, paid == queriesUsed else {
            throw fail("\(iteration) iterations at \(cost) queries each do not make the \(queriesUsed) queries it records")
        }
        guard queriesUsed <= budget else {
            throw fail("it records \(queriesUsed) queries, more than the budget of \(budget)")
        }
        guard wallSeconds.isFinite, wallSeconds >= 0 else { throw fail("wall time \(wallSeconds) is not a duration") }
        if let bad = parameters.firstIndex(where: { !$0.isFinite }) {
            throw fail("parameter θ[\(bad)] is \(parameters[bad])")
        }
        guard let first = records.first, let last = records.last else { throw fail("it has no evaluation points") }
        guard first.iteration == 0 else { throw fail("its first evaluation point is at iteration \(first.iteration), not 0") }
        for (a, b) in zip(records, records.dropFirst()) {
            guard b.iteration > a.iteration, b.queries >= a.queries, b.envSteps >= a.envSteps else {
                throw fail("evaluation points out of order at iteration \(b.iteration)")
            }
        }
        guard last.iteration == iteration, last.queries == queriesUsed, last.envSteps == envSteps else {
            throw fail("its last evaluation point (iteration \(last.iteration)) is not its state (iteration \(iteration))")
        }
        for r in records {
            guard r.value.isFinite, r.normalizedValue.isFinite, r.wallSeconds.isFinite, r.queries >= 0, r.envSteps >= 0,
                  r.valueStandardError.map({ $0.isFinite && $0 >= 0 }) ?? true else {
                throw fail("the evaluation point at iteration \(r.iteration) has a non-finite or negative number")
            }
            guard r.queries == r.iteration * cost else {
                throw fail("the evaluation point at iteration \(r.iteration) records \(r.queries) queries, not \(r.iteration * cost)")
            }
        }
    }
}
