"""MPAN redaction throughput on realistic email text, versus one naive ``re.sub(r"\\d{13}")`` pass.

The naive pass is the floor any redactor must pay (it reads every character once) while catching only plain,
ungrouped MPANs and redacting every 13-digit number, valid or not. The bridge's redactor must stay within 4x
of it and above 20 MB/s, while also finding grouped, split, quoted, Unicode and labelled MPANs. The corpus is
generated (seeded, so every run sees the same text): plain and HTML emails with quoted replies, signatures
with phone numbers, tables, case and incident numbers, timestamps, sys_ids, order numbers, and MPANs written
in the forms people use. A second, digit-dense corpus (a pasted meter-readings table) shows the worst case.

The last gate (:mod:`bridge.mappings.mpan_gate`, issue 15) reads every outgoing email once more; it must cost
at most 2x the naive pass over the same text (issue 21). It is timed over the redacted corpus read as HTML (tags,
entities and escapes decoded: its dearest reading), and must find nothing there (a false refusal) while finding
every planted MPAN in the unredacted corpus.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable

from bench.report import Result
from bridge.mappings.mpan_gate import mpan_windows
from bridge.mappings.redaction import find_mpans, mpan_check_digit, redact_mpans

TARGET_MB_S = 20.0
MAX_SLOWDOWN = 4.0
GATE_MAX_SLOWDOWN = 2.0
_NAIVE = re.compile(r"\d{13}")
_SAMPLE = (
    "the DIP message was rejected by the registration service after settlement run we have raised this with "
    "data collector please confirm whether your service has processed the file and let us know the outcome "
    "thanks for the update we are still investigating root cause appears to be a configuration change in the "
    "interface the smart meter readings for the affected supply were not received before the deadline"
)
_WORDS = _SAMPLE.split()
_NAMES = ("Priya Shah", "Tom Evans", "Aisha Khan", "Gareth Jones", "Mei Lin")


def _mpan(rng: random.Random) -> str:
    first12 = str(rng.randint(10, 39)) + "".join(str(rng.randint(0, 9)) for _ in range(10))
    return first12 + str(mpan_check_digit(first12))


def _mpan_form(rng: random.Random, planted: list[str]) -> str:
    m = _mpan(rng)
    planted.append(m)
    forms = (
        m,
        f"{m[:2]} {m[2:6]} {m[6:10]} {m[10:]}",
        f"{m[:4]}-{m[4:8]}-{m[8:]}",
        f"S 01 801 100 {m[:2]} {m[2:6]} {m[6:10]} {m[10:]}",
        f"MPAN: {m}",
        f"{m[:2]}\u00a0{m[2:6]}\u00a0{m[6:10]}\u00a0{m[10:]}",
        f"https://portal.example/meter?mpan={m}&view=1",
    )
    return rng.choice(forms)


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 20))).capitalize() + "."


def _noise(rng: random.Random) -> str:
    """Numbers that must survive: case/incident numbers, timestamps, sys_ids, order numbers."""
    return rng.choice(
        (
            f"Case CS{rng.randint(1, 99999):07d} was updated",
            f"INC{rng.randint(1, 99999):07d} opened at 2024-05-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:14:09",
            f"sys_id {rng.getrandbits(128):032x}",
            f"Purchase order PO-{rng.randint(100000, 999999)}",
            f"received {rng.randint(1, 28):02d}/05/2024 {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
            f"transaction {rng.getrandbits(64):016x}-{rng.randint(1000, 9999)}",
        )
    )


def _signature(rng: random.Random) -> str:
    return (
        f"Kind regards,\n{rng.choice(_NAMES)}\nService Desk Analyst\n"
        f"T: 03700 {rng.randint(100000, 999999)} | M: +44 7700 {rng.randint(100000, 999999)}\nwww.elexon.co.uk\n"
    )


def _plain_email(rng: random.Random, planted: list[str]) -> str:
    case = f"CS{rng.randint(1, 99999):07d}"
    body = [f"Subject: RE: [{case}] {_sentence(rng)}", "", "Hello,", ""]
    body += [f"{_sentence(rng)} {_noise(rng)}. {_sentence(rng)}" for _ in range(rng.randint(2, 5))]
    if rng.random() < 0.4:
        body.append(f"The affected meter is {_mpan_form(rng, planted)} as discussed.")
    body += ["", _signature(rng), f"On 01/05/2024 10:{rng.randint(10, 59)}, {rng.choice(_NAMES)} wrote:"]
    quoted = [_sentence(rng), _noise(rng), _sentence(rng), *_signature(rng).splitlines()]
    body += [f"> {line}" for line in quoted]
    return "\n".join(body) + "\n"


def _html_email(rng: random.Random, planted: list[str]) -> str:
    rows = []
    for _ in range(rng.randint(3, 8)):
        cell = _mpan_form(rng, planted) if rng.random() < 0.1 else f"CS{rng.randint(1, 99999):07d}"
        rows.append(
            f"<tr><td>{cell}</td><td>2024-05-{rng.randint(1, 28):02d} 10:{rng.randint(10, 59)}:00</td>"
            f"<td>{rng.randint(0, 500)}</td><td>{rng.choice(('Rejected', 'Accepted', 'Pending'))}</td></tr>"
        )
    paragraphs = "".join(f"<p>{_sentence(rng)} {_noise(rng)}</p>" for _ in range(rng.randint(2, 4)))
    return (
        f'<html><body style="font-family:Arial">{paragraphs}<table border="1">'
        f"<tr><th>Reference</th><th>Received</th><th>Count</th><th>Status</th></tr>{''.join(rows)}</table>"
        f"<p>{_signature(rng).replace(chr(10), '<br>')}</p></body></html>\n"
    )


def email_corpus(target_bytes: int = 6_000_000, seed: int = 7) -> tuple[str, list[str]]:
    """Realistic service-desk email text, about ``target_bytes`` long, and the MPANs planted in it."""
    rng = random.Random(seed)
    parts: list[str] = []
    planted: list[str] = []
    size = 0
    while size < target_bytes:
        part = _html_email(rng, planted) if rng.random() < 0.3 else _plain_email(rng, planted)
        parts.append(part)
        size += len(part)
    return "\n".join(parts), planted


def readings_corpus(target_bytes: int = 2_000_000, seed: int = 11) -> str:
    """The worst realistic case: a pasted table of readings, digits on every line."""
    rng = random.Random(seed)
    lines = []
    size = 0
    while size < target_bytes:
        mpan = _mpan(rng) if rng.random() < 0.05 else f"{rng.randint(1, 9999):04d}"
        lines.append(f"{mpan}\t2024-05-{rng.randint(1, 28):02d}\t{rng.randint(0, 99999):05d}.{rng.randint(0, 9)}")
        size += len(lines[-1]) + 1
    return "\n".join(lines)


def _best_seconds(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def measure(text: str, *, repeats: int = 5) -> dict[str, float]:
    """Best-of-N MB/s (UTF-8 bytes) for the bridge's redactor and the naive pass on the same text."""
    megabytes = len(text.encode()) / 1e6
    redact = _best_seconds(lambda: redact_mpans(text), repeats)
    naive = _best_seconds(lambda: _NAIVE.sub("[MPAN REDACTED]", text), repeats)
    return {
        "megabytes": round(megabytes, 2),
        "redact_mb_s": round(megabytes / redact, 1),
        "naive_mb_s": round(megabytes / naive, 1),
        "slowdown": round(redact / naive, 2),
    }


def measure_gate(redacted: str, *, repeats: int = 5) -> dict[str, float]:
    """Best-of-N MB/s for the last gate and the naive pass over the same (redacted) text."""
    megabytes = len(redacted.encode()) / 1e6
    gate = _best_seconds(lambda: mpan_windows(redacted, markup=True), repeats)
    naive = _best_seconds(lambda: _NAIVE.sub("[MPAN REDACTED]", redacted), repeats)
    return {"gate_mb_s": round(megabytes / gate, 1), "slowdown": round(gate / naive, 2)}


def run() -> dict[str, object]:
    """Figures for the email corpus (the target), the digit-dense corpus (for information) and the last gate."""
    emails, planted = email_corpus()
    figures = measure(emails)
    dense = measure(readings_corpus())
    redacted = redact_mpans(emails)
    gate = {
        **measure_gate(redacted),
        "windows_in_raw": mpan_windows(emails, markup=True),
        "false_refusals": mpan_windows(redacted, markup=True) + mpan_windows(redact_mpans(readings_corpus())),
    }
    gate_met = gate["slowdown"] <= GATE_MAX_SLOWDOWN and gate["false_refusals"] == 0
    gate_met = gate_met and gate["windows_in_raw"] >= len(planted)
    return {
        **figures,
        "mpans_planted": len(planted),
        "mpans_found": len(find_mpans(emails)),
        "naive_hits": len(_NAIVE.findall(emails)),
        "dense": dense,
        "gate": gate,
        "target": f">= {TARGET_MB_S:.0f} MB/s and <= {MAX_SLOWDOWN:.0f}x the naive pass",
        "met": figures["redact_mb_s"] >= TARGET_MB_S and figures["slowdown"] <= MAX_SLOWDOWN,
        "gate_target": f"<= {GATE_MAX_SLOWDOWN:.0f}x the naive pass over the redacted text, no false refusal",
        "gate_met": gate_met,
    }


def gate_result(figures: dict[str, object]) -> Result:
    """The last gate's figures in the shape ``bench/report.py`` writes."""
    gate = figures["gate"]
    assert isinstance(gate, dict)
    return Result(
        name="MPAN last gate",
        what="The independent last check on every outgoing email (issue 15), over the redacted email corpus.",
        figures={
            "redacted email text, read as HTML": f"{gate['gate_mb_s']} MB/s",
            "windows found before redaction": f"{gate['windows_in_raw']} (MPANs planted: {figures['mpans_planted']})",
            "false refusals after redaction": str(gate["false_refusals"]),
        },
        baseline="one naive re.sub(r'\\d{13}') pass over the same redacted text",
        ratio=float(gate["slowdown"]),
        target=str(figures["gate_target"]),
        met=bool(figures["gate_met"]),
    )


def as_result(figures: dict[str, object]) -> Result:
    """The same figures in the shape ``bench/report.py`` writes to docs/BENCHMARKS.md."""
    dense = figures["dense"]
    assert isinstance(dense, dict)
    return Result(
        name="MPAN redaction",
        what=__doc__ or "",
        figures={
            "email text": f"{figures['redact_mb_s']} MB/s over {figures['megabytes']} MB",
            "digit-dense table": f"{dense['redact_mb_s']} MB/s ({dense['slowdown']}x naive)",
            "MPANs found": str(figures["mpans_found"]),
        },
        baseline=f"one naive re.sub(r'\\d{{13}}') pass: {figures['naive_mb_s']} MB/s",
        ratio=float(str(figures["slowdown"])),
        target=str(figures["target"]),
        met=bool(figures["met"]),
    )


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))


def results() -> list[Result]:
    """For `python -m bench`."""
    figures = run()
    return [as_result(figures), gate_result(figures)]
