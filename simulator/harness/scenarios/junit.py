"""JUnit XML from a finished run: one test case per scenario."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from simulator.harness.scenarios.events import RunFinished


def junit_xml(run: RunFinished, suite: str = "kyc-sandbox scenarios") -> str:
    """One <testcase> per scenario; a failure carries the failing step's full report."""
    root = ET.Element("testsuites")
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(run.results)),
        failures=str(run.count("failed")),
        skipped=str(run.count("skipped")),
        errors="0",
        time=f"{run.duration:.3f}",
    )
    for r in run.results:
        case = ET.SubElement(
            ts, "testcase", classname=f"scenarios.{r.ident}", name=r.scenario, time=f"{r.duration:.3f}"
        )
        if r.path:
            case.set("file", r.path)
        if r.outcome == "failed":
            step = r.failed_step
            message = step.failures[0].message if step and step.failures else (step.reason if step else r.reason)
            el = ET.SubElement(case, "failure", message=message or "failed", type="ScenarioFailure")
            el.text = step.report() if step else r.reason
        elif r.outcome == "skipped":
            ET.SubElement(case, "skipped", message=r.reason or "skipped")
        out = "\n".join(f"{s.outcome:7} step {s.index + 1}: {s.label}  {s.request}" for s in r.steps)
        ET.SubElement(case, "system-out").text = out
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
