"""What a verification found: each interaction's verdict, each pact's, and the report `contract verify` prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.harness.pact_verify.sources import PactFile


@dataclass
class InteractionOutcome:
    description: str
    kind: str
    states: list[str]
    passed: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class PactOutcome:
    pact: PactFile
    interactions: list[InteractionOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def passed(self) -> bool:
        return not self.errors and bool(self.interactions) and all(i.passed for i in self.interactions)


@dataclass
class Report:
    base_url: str
    pacts: list[PactOutcome]

    @property
    def passed(self) -> bool:
        return bool(self.pacts) and all(p.passed for p in self.pacts)

    @property
    def counts(self) -> tuple[int, int]:
        ok = sum(1 for p in self.pacts for i in p.interactions if i.passed)
        total = sum(len(p.interactions) for p in self.pacts)
        return ok, total - ok

    def render(self, *, verbose: bool = False) -> str:
        lines = [f"Verifying against {self.base_url}"]
        for p in self.pacts:
            n = len(p.pact.interactions)
            lines.append("")
            lines.append(f"{p.pact.path}  ({p.pact.consumer} -> {p.pact.provider}, {n} interaction{'s' * (n != 1)})")
            for i in p.interactions:
                mark = "PASS" if i.passed else "FAIL"
                given = f"  [given: {'; '.join(i.states)}]" if i.states else ""
                kind = " (message)" if i.kind == "message" else ""
                lines.append(f"  {mark}  {i.description}{kind}{given}")
                lines.extend(f"          {problem}" for problem in i.problems)
            lines.extend(f"  ERROR {e}" for e in p.errors)
            if verbose and p.output:
                lines.append("  --- pact verifier output ---")
                lines.extend(f"  {line}" for line in p.output.splitlines())
        ok, failed = self.counts
        errors = sum(len(p.errors) for p in self.pacts)
        verdict = "PASSED" if self.passed else "FAILED"
        extra = f", {errors} error{'s' * (errors != 1)}" if errors else ""
        lines.append("")
        lines.append(f"{verdict}: {ok + failed} interactions checked, {ok} ok, {failed} failing{extra}")
        return "\n".join(lines)
