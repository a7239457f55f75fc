"""A catalogue of bad input: every case gives one clear line on stderr, a non-zero exit and no output.

Each row of :data:`CASES` is an input (command-line arguments, plus the files they name, written to a
fresh ``in/`` folder), the regular expression the one-line message must match, and the exit status.
Outputs go to an empty ``out/`` folder, which must still be empty afterwards: no result file, no
partial file, no temporary file. Hostile rows hold Python or shell code in a field; the code would
create a marker file, which must not exist afterwards (files are data, never executed).

The last test prints ``bad-input catalogue: N/M cases passed``.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from il6sim.cli import main
from il6sim.errors import Il6simError

ROOT = Path(__file__).resolve().parent.parent
BINDING = (ROOT / "models/examples/binding.toml").read_text()
TCZ = (ROOT / "models/drugs/tocilizumab.toml").read_text()
COVID = (ROOT / "models/scenarios/covid_severe_fixed.toml").read_text()
# its infusion rate is re-solved whenever the model changes IL-6 disposition: read it, do not copy it
COVID_RATE = re.search(r'rate = "[0-9.eE+-]+ nM/h"', COVID).group(0)  # type: ignore[union-attr]
REGIMEN = '[regimen]\nweight = "80 kg"\n[[doses]]\ndrug = "tocilizumab"\ndose = "8 mg/kg"\nat = "1 d"\n'
SWEEP = ('[sweep]\nscenario = "covid_severe"\ndays = 10\nstep = "12 h"\nseed = 1\nrows = 2\n'
         'observables = ["il6_free_pg_ml"]\nmetrics = ["peak"]\n'
         '[[factors]]\nparameter = "k_il6_basal"\nsampler = "uniform"\nlow = "0.001 nM/h"\nhigh = "0.01 nM/h"\n')
SBML = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
  <model id="m">
    <listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>
    <listOfSpecies>
      <species id="A" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false"
               boundaryCondition="false" constant="false"/>
    </listOfSpecies>
    <listOfParameters><parameter id="k" value="0.5" constant="true"/></listOfParameters>
    <listOfReactions>
      <reaction id="J" reversible="false">
        <listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants>
        <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">
          <apply><times/><ci>k</ci><ci>A</ci></apply></math></kineticLaw>
      </reaction>
    </listOfReactions>
  </model>
</sbml>
"""
XXE = SBML.replace('<?xml version="1.0" encoding="UTF-8"?>\n',
                   '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE sbml [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                   ).replace('<model id="m">', '<model id="m" name="&x;">')
LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE sbml [<!ENTITY a "lol">'
          + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
          + ']>\n<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">'
          '<model id="m" name="&j;"/></sbml>\n')
EVENT = SBML.replace("</listOfReactions>", """</listOfReactions>
    <listOfEvents><event id="e1" useValuesFromTriggerTime="true"><trigger initialValue="true" persistent="true">
      <math xmlns="http://www.w3.org/1998/Math/MathML"><true/></math></trigger></event></listOfEvents>""")

PY = "__import__('os').system('touch {tmp}/pwned')"
SH = "$(touch {tmp}/pwned)"
BT = "`touch {tmp}/pwned`"


@dataclass(frozen=True)
class Case:
    """One bad input: ``args`` (with ``{in}``, ``{out}``, ``{tmp}`` placeholders) and the files they name."""

    id: str
    args: tuple[str, ...]
    message: str  # regular expression searched in the one stderr line
    files: dict[str, str | bytes] = field(default_factory=dict)
    exit: int = 2
    subprocess: bool = False
    hostile: bool = False
    skip_if: str = ""  # "root": skip when running as root (permissions do not bind root)


def sub(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced once; the catalogue fails loudly if a base file changes under it."""
    if old not in text:
        raise LookupError(f"{old!r} is not in the base text any more; update the catalogue")
    return text.replace(old, new, 1)


M = ("list", "species", "--model", "{in}/m.toml")
SIM = ("simulate", "--days", "10", "--out", "{out}/o.csv")
D = (*SIM, "--drug", "{in}/d.toml")
S = (*SIM[:3], "--out", "{out}/o.csv", "--scenario", "{in}/s.toml")
R = (*SIM, "--regimen", "{in}/r.toml")
SW = ("sweep", "{in}/sw.toml", "--out", "{out}/sw")
X = ("list", "species", "--model", "{in}/m.xml")

CASES: list[Case] = [
    # ----- model files -------------------------------------------------------------------------
    Case("model-empty", M, r"m\.toml: file is empty", {"m.toml": ""}),
    Case("model-blank", M, r"m\.toml: file is empty", {"m.toml": "  \n\t\n"}),
    Case("model-binary", M, r"m\.toml: binary file, expected TOML text", {"m.toml": b"\x89PNG\r\n\x1a\n\x00\x00"}),
    Case("model-not-utf8", M, r"m\.toml: not UTF-8 text .*save the file as UTF-8",
         {"m.toml": BINDING.encode("utf-8").replace(b"binding", b"bind\xe9ing")}),
    Case("model-duplicate-key", M, r"m\.toml:\d+: TOML syntax error: Cannot overwrite a value",
         {"m.toml": sub(BINDING, 'value = "2 nM"', 'value = "2 nM"\nvalue = "3 nM"')}),
    Case("model-duplicate-table", M, r"m\.toml:\d+: TOML syntax error: Cannot declare \('species', 'l'\) twice",
         {"m.toml": BINDING + '\n[species.l]\ncompartment = "plasma"\ninitial = "1 nM"\n'}),
    Case("model-syntax", M, r"m\.toml:3: TOML syntax error", {"m.toml": sub(BINDING, 'name = "binding"', "name = ")}),
    Case("model-wrong-unit", M, r"m\.toml:12: \[species\.l\] initial: .*dimension nM/h, expected concentration",
         {"m.toml": sub(BINDING, 'initial = "10 nM"', 'initial = "10 nM/h"')}),
    Case("model-unknown-unit", M, r"m\.toml:12: \[species\.l\] initial: unknown unit 'nMol'.*did you mean 'nmol'",
         {"m.toml": sub(BINDING, 'initial = "10 nM"', 'initial = "10 nMol"')}),
    Case("model-missing-unit", M, r"m\.toml:12: \[species\.l\] initial: missing unit: write e\.g\. \"10 nM\"",
         {"m.toml": sub(BINDING, 'initial = "10 nM"', "initial = 10")}),
    Case("model-negative", M, r"m\.toml:12: \[species\.l\] initial: must not be negative",
         {"m.toml": sub(BINDING, 'initial = "10 nM"', 'initial = "-10 nM"')}),
    Case("model-nan", M, r"m\.toml:12: \[species\.l\] initial: must be finite, got nan",
         {"m.toml": sub(BINDING, 'initial = "10 nM"', 'initial = "nan nM"')}),
    Case("model-inf-volume", M, r"m\.toml:7: \[compartments\.plasma\] volume: must be finite",
         {"m.toml": sub(BINDING, 'volume = "1 l"', 'volume = "inf l"')}),
    Case("model-1e400", M, r"m\.toml:12: \[species\.l\] initial: must be finite",
         {"m.toml": sub(BINDING, 'initial = "10 nM"', 'initial = "1e400 nM"')}),
    Case("model-zero-volume", M, r"m\.toml:7: \[compartments\.plasma\] volume: must be positive",
         {"m.toml": sub(BINDING, 'volume = "1 l"', 'volume = "0 l"')}),
    Case("model-unit-power-overflow", M, r"m\.toml:7: \[compartments\.plasma\] volume: .*exponent 400 is out of range",
         {"m.toml": sub(BINDING, 'volume = "1 l"', 'volume = "1 l^400"')}),
    Case("model-unit-deep-brackets", M, r"m\.toml:7: \[compartments\.plasma\] volume: .*brackets nested more than",
         {"m.toml": sub(BINDING, 'volume = "1 l"', 'volume = "1 ' + "(" * 50 + "l" + ")" * 50 + '"')}),
    Case("model-deep-nesting", M, r"m\.toml: arrays or inline tables nested too deeply",
         {"m.toml": "x = " + "[" * 5000 + "]" * 5000 + "\n"}),
    Case("model-unknown-table", M, r"m\.toml:38: specis: unknown key 'specis'; did you mean 'species'",
         {"m.toml": BINDING + '\n[specis.x]\ncompartment = "plasma"\n'}),
    Case("model-unknown-species", M,
         r"m\.toml:34: \[\[reactions\]\] #1 equation: unknown species 'rr'; did you mean 'r'",
         {"m.toml": sub(BINDING, 'equation = "l + r <=> l__r"', 'equation = "l + rr <=> l__r"')}),
    Case("model-unknown-parameter", M,
         r"m\.toml:35: \[\[reactions\]\] #1 forward: unknown parameter 'kom'; did you mean 'kon'",
         {"m.toml": sub(BINDING, 'forward = "kon"', 'forward = "kom"')}),
    Case("model-rate-dimension", M, r"m\.toml:35: \[\[reactions\]\] #1 forward: 'kd' has dimension concentration.*needs",
         {"m.toml": sub(BINDING, 'forward = "kon"', 'forward = "kd"')}),
    Case("model-huge-stoichiometry", M, r"m\.toml:34: \[\[reactions\]\] #1 equation: .*must be positive and at most",
         {"m.toml": sub(BINDING, 'equation = "l + r <=> l__r"', 'equation = "1e400 l + r <=> l__r"')}),
    Case("model-rate-factor-overflow", M, r"m\.toml:35: \[\[reactions\]\] #1 forward: .*positive finite factor",
         {"m.toml": sub(BINDING, 'forward = "kon"', 'forward = "kon * 1e308 * 1e308"')}),
    Case("model-no-source", M, r"m\.toml:\d+: \[parameters\.kd\] source: missing: every parameter needs a source",
         {"m.toml": sub(BINDING, 'value = "2 nM"\nsource = "assumed: example value"', 'value = "2 nM"')}),
    Case("model-missing-file", ("list", "species", "--model", "{in}/nowhere.toml"), r"nowhere\.toml: file not found"),
    Case("model-directory", ("list", "species", "--model", "{in}/"), r"is a directory, expected a \.toml file"),
    Case("model-unknown-name", ("steady-state", "--model", "il7"), r"unknown model 'il7'; did you mean 'il6'"),
    Case("model-python-code", M, r"m\.toml:35: \[\[reactions\]\] #1 forward: rate expression .* cannot read",
         {"m.toml": sub(BINDING, 'forward = "kon"', f'forward = "{PY}"')}, hostile=True),
    Case("model-shell-code", M, r"m\.toml:12: \[species\.l\] initial: .* does not start with a number",
         {"m.toml": sub(BINDING, 'initial = "10 nM"', f'initial = "{SH}"')}, hostile=True),
    Case("model-backticks", M, r"m\.toml:34: \[\[reactions\]\] #1 equation: .*cannot read",
         {"m.toml": sub(BINDING, 'equation = "l + r <=> l__r"', f'equation = "l + r <=> {BT}"')}, hostile=True),
    Case("model-code-as-id", M, r"m\.toml:\d+: \[species\..*is not a valid species id",
         {"m.toml": BINDING + f'\n[species."{PY}"]\ncompartment = "plasma"\ninitial = "1 nM"\n'}, hostile=True),
    Case("model-multiline-message", M, r"m\.toml:12: \[species\.l\] initial: unknown unit .*\\nfoo",
         {"m.toml": sub(BINDING, 'initial = "10 nM"', 'initial = "10 nM\\nfoo"')}),
    # ----- drug files --------------------------------------------------------------------------
    Case("drug-target-class", D, r"d\.toml:\d+: \[drug\] target_class: must be one of .*did you mean 'receptor'",
         {"d.toml": sub(TCZ, 'target_class = "receptor"', 'target_class = "receptr"')}),
    Case("drug-wrong-unit", D, r"d\.toml:\d+: \[\[targets\]\] #1 kd: .*dimension .*expected concentration",
         {"d.toml": sub(TCZ, 'kd = "4.570 nM"', 'kd = "4.570 nM/h"')}),
    Case("drug-negative-kon", D, r"d\.toml:\d+: \[\[targets\]\] #1 kon: must be positive and finite",
         {"d.toml": sub(TCZ, 'kon = "1e6 1/(M*s)"', 'kon = "-1e6 1/(M*s)"')}),
    Case("drug-kd-and-koff", D, r"d\.toml:\d+: \[\[targets\]\] #1 kd: give kd or koff, not both",
         {"d.toml": sub(TCZ, 'kd = "4.570 nM"', 'kd = "4.570 nM"\nkoff = "1 1/h"')}),
    Case("drug-exponent-text", D, r"d\.toml:\d+: \[pk\] cl_weight_exponent: must be a number between -3 and 3",
         {"d.toml": sub(TCZ, "cl_weight_exponent = 0.3", 'cl_weight_exponent = "a"')}),
    Case("drug-exponent-nan", D, r"d\.toml:\d+: \[pk\] v_weight_exponent: must be a number between -3 and 3",
         {"d.toml": sub(TCZ, "v_weight_exponent = 0.0", "v_weight_exponent = nan")}),
    Case("drug-unknown-target", D, r"target kind 'il7' is not in model 'il6'; did you mean 'il6'",
         {"d.toml": sub(TCZ, 'kind = "mil6r"', 'kind = "il7"')}),
    Case("drug-code-as-id", D, r"d\.toml:\d+: \[drug\] id: missing or invalid",
         {"d.toml": sub(TCZ, 'id = "tcz"', f'id = "{PY}"')}, hostile=True),
    Case("drug-dosing-count", D, r"d\.toml:\d+: \[dosing\] count: must be a whole number from 1 to 10000",
         {"d.toml": sub(TCZ, "count = 1\n", "count = 1e9\n")}),
    Case("drug-dosing-huge", D, r"d\.toml:\d+: \[dosing\] dose: .*doses above 1000 g are refused",
         {"d.toml": sub(TCZ, 'dose = "8 mg/kg"', 'dose = "1e308 mg/kg"')}),
    Case("drug-unknown-key", D, r"d\.toml:\d+: \[pk\] vl: unknown key 'vl'; did you mean .*'v1'",
         {"d.toml": sub(TCZ, 'v1 = "3.71 l"', 'vl = "3.71 l"')}),
    Case("drug-binary", D, r"d\.toml: binary file", {"d.toml": bytes(range(256))}),
    Case("drug-unknown-name", (*SIM, "--drug", "tocilizumabb"), r"unknown drug 'tocilizumabb'; did you mean 'tocilizumab'"),
    # ----- scenario files ----------------------------------------------------------------------
    Case("scenario-days-1e400", S, r"s\.toml:4: \[scenario\] days: time must be finite",
         {"s.toml": sub(COVID, 'days = "28 d"', 'days = "1e400 d"')}),
    Case("scenario-days-overflow", S, r"s\.toml:4: \[scenario\] days: time must be finite",
         {"s.toml": sub(COVID, 'days = "28 d"', 'days = "1e307 wk"')}),
    Case("scenario-unknown-parameter", S,
         r"s\.toml:\d+: \[parameters\] k_infl_dg: unknown parameter 'k_infl_dg'; did you mean 'k_infl_deg'",
         {"s.toml": sub(COVID, "k_infl_deg =", "k_infl_dg =")}),
    Case("scenario-rate-unit", S, r"s\.toml:\d+: \[\[infusions\]\] #1 rate: .*expected nM/h",
         {"s.toml": sub(COVID, COVID_RATE, COVID_RATE.replace('nM/h"', 'nM"'))}),
    Case("scenario-admission-late", S, r"s\.toml:5: \[scenario\] admission: must fall inside the scenario's duration",
         {"s.toml": sub(COVID, 'admission = "7 d"', 'admission = "40 d"')}),
    Case("scenario-stop-before-start", S, r"s\.toml:\d+: \[\[infusions\]\] #1 stop: must be after start",
         {"s.toml": sub(COVID, 'stop = "13 d"', 'stop = "1 d"')}),
    Case("scenario-name-type", S, r"s\.toml:2: \[scenario\] name: must be a string, got list",
         {"s.toml": sub(COVID, 'name = "covid_severe_fixed"', 'name = ["covid_severe_fixed"]')}),
    Case("scenario-shell-code", S, r"s\.toml:\d+: \[\[events\]\] #1 set: .* does not start with a number",
         {"s.toml": COVID + f'\n[[events]]\nat = "1 d"\nset = {{ k_infl_deg = "{SH}" }}\n'}, hostile=True),
    Case("scenario-parameter-dose-per-weight", S,
         r"s\.toml:\d+: \[parameters\] k_infl_deg: k_infl_deg expects a first-order rate \(per time\) such as '1/h'; "
         r"'mg/kg' is a dose per body weight",
         {"s.toml": sub(COVID, 'k_infl_deg = "0.0289 1/h"', 'k_infl_deg = "0.0289 mg/kg"')}),
    Case("scenario-unknown-name", (*SIM, "--scenario", "covid_sever"),
         r"unknown scenario 'covid_sever'; did you mean 'covid_severe'"),
    # ----- regimen files -----------------------------------------------------------------------
    Case("regimen-count-huge", R, r"r\.toml:\d+: \[\[doses\]\] #1 count: must be a whole number from 1 to 10000",
         {"r.toml": REGIMEN + 'count = 1000000000\nevery = "1 h"\n'}),
    Case("regimen-dose-1e308", R, r"r\.toml:5: \[\[doses\]\] #1 dose: dose '1e308 mg' .*refused as typos",
         {"r.toml": sub(REGIMEN, 'dose = "8 mg/kg"', 'dose = "1e308 mg"')}),
    Case("regimen-dose-unit", R, r"r\.toml:5: \[\[doses\]\] #1 dose: dose '2 nM/h' must be a mass \(mg\), a mass per body "
         r"weight \(mg/kg\) or an amount \(nmol\)", {"r.toml": sub(REGIMEN, 'dose = "8 mg/kg"', 'dose = "2 nM/h"')}),
    Case("regimen-every-without-count", R,
         r"r\.toml:7: \[\[doses\]\] #1 every: without count gives a single dose; add count = N",
         {"r.toml": REGIMEN + 'every = "14 d"\n'}),
    Case("regimen-count-without-every", R,
         r"r\.toml:7: \[\[doses\]\] #1 count: count = 3 without every; add every = \"14 d\"",
         {"r.toml": REGIMEN + "count = 3\n"}),
    Case("regimen-at-dose-per-weight", R, r"r\.toml:6: \[\[doses\]\] #1 at: time '1 mg/kg': .* not a time",
         {"r.toml": sub(REGIMEN, 'at = "1 d"', 'at = "1 mg/kg"')}),
    Case("regimen-weight-dose-per-weight", R, r"r\.toml:2: \[regimen\] weight: .*'mg/kg' is a dose per body weight",
         {"r.toml": sub(REGIMEN, 'weight = "80 kg"', 'weight = "80 mg/kg"')}),
    Case("regimen-unknown-drug", R, r"r\.toml:3: \[\[doses\]\] #1: unknown drug 'tocilizumabb'; did you mean",
         {"r.toml": sub(REGIMEN, 'drug = "tocilizumab"', 'drug = "tocilizumabb"')}),
    Case("regimen-weight-unit", R, r"r\.toml:2: \[regimen\] weight: .*expected mass",
         {"r.toml": sub(REGIMEN, 'weight = "80 kg"', 'weight = "80 nM"')}),
    Case("regimen-no-doses", R, r"r\.toml: doses: missing: a regimen needs \[\[doses\]\] tables",
         {"r.toml": '[regimen]\nweight = "80 kg"\n'}),
    Case("regimen-dose-late", R, r"r\.toml:3: \[\[doses\]\] #1: .*outside the simulated time",
         {"r.toml": sub(REGIMEN, 'at = "1 d"', 'at = "20 d"')}),
    Case("regimen-missing", (*SIM, "--regimen", "{in}/nope.toml"), r"nope\.toml: file not found"),
    # ----- sweep specs -------------------------------------------------------------------------
    Case("sweep-unknown-parameter", SW,
         r"sw\.toml:\d+: \[\[factors\]\] #1 parameter: unknown parameter 'k_il6_basl'; did you mean 'k_il6_basal'",
         {"sw.toml": sub(SWEEP, 'parameter = "k_il6_basal"', 'parameter = "k_il6_basl"')}),
    Case("sweep-rows-negative", SW, r"sw\.toml:6: \[sweep\] rows: must be a whole number >= 1, got -1",
         {"sw.toml": sub(SWEEP, "rows = 2", "rows = -1")}),
    Case("sweep-sampler", SW, r"sw\.toml:\d+: \[\[factors\]\] #1 sampler: unknown sampler 'unifrm'; did you mean 'uniform'",
         {"sw.toml": sub(SWEEP, 'sampler = "uniform"', 'sampler = "unifrm"')}),
    Case("sweep-wrong-unit", SW, r"sw\.toml:\d+: \[\[factors\]\] #1 low: k_il6_basal expects a concentration per time",
         {"sw.toml": sub(SWEEP, 'low = "0.001 nM/h"', 'low = "0.001 nM"')}),
    Case("sweep-low-dose-per-weight", SW,
         r"sw\.toml:\d+: \[\[factors\]\] #1 low: k_il6_basal expects .*'mg/kg' is a dose per body weight",
         {"sw.toml": sub(SWEEP, 'low = "0.001 nM/h"', 'low = "0.001 mg/kg"')}),
    Case("sweep-grid-dose-per-weight", SW,
         r"sw\.toml:\d+: \[\[factors\]\] #1 grid: k_il6_basal expects a concentration per time such as 'nM/h'; "
         r"'mg/kg' is a dose per body weight",
         {"sw.toml": sub(SWEEP, 'sampler = "uniform"\nlow = "0.001 nM/h"\nhigh = "0.01 nM/h"\n',
                         'grid = ["0.05 nM/h", "2 mg/kg"]\n')}),
    Case("sweep-weight-dose-per-weight", SW, r"sw\.toml:\d+: \[sweep\] weight: .*'mg/kg' is a dose per body weight",
         {"sw.toml": sub(SWEEP, "rows = 2\n", 'rows = 2\nweight = "70 mg/kg"\n')}),
    Case("sweep-step-1e400", SW, r"sw\.toml:4: \[sweep\] step: time must be finite",
         {"sw.toml": sub(SWEEP, 'step = "12 h"', 'step = "1e400 h"')}),
    Case("sweep-observable", SW, r"sw\.toml:\d+: \[sweep\] observables: unknown observable 'il6_fre_pg_ml'; did you mean",
         {"sw.toml": sub(SWEEP, '"il6_free_pg_ml"', '"il6_fre_pg_ml"')}),
    Case("sweep-duplicate-key", SW, r"sw\.toml:7: TOML syntax error: Cannot overwrite a value",
         {"sw.toml": sub(SWEEP, "rows = 2\n", "rows = 2\nrows = 3\n")}),
    Case("sweep-empty", SW, r"sw\.toml: file is empty", {"sw.toml": ""}),
    Case("sweep-code", SW, r"sw\.toml:2: \[sweep\] model: __import__.*: file not found",
         {"sw.toml": SWEEP.replace("[sweep]\n", f'[sweep]\nmodel = "{PY}"\n')}, hostile=True),
    # ----- SBML files --------------------------------------------------------------------------
    Case("sbml-xxe", X, r"m\.xml: document type declaration .* refused for safety", {"m.xml": XXE}, hostile=True),
    Case("sbml-billion-laughs", X, r"m\.xml: document type declaration .* refused", {"m.xml": LAUGHS}, hostile=True),
    Case("sbml-not-xml", X, r"m\.xml: invalid SBML \(line \d+\)", {"m.xml": "this is not XML <"}),
    Case("sbml-empty", X, r"m\.xml: invalid SBML", {"m.xml": ""}),
    Case("sbml-binary", X, r"m\.xml: SBML file is not UTF-8 encoded", {"m.xml": b"\xff\xfe\x00<\x00s\xd8"}),
    Case("sbml-event", X, r"m\.xml: event 'e1': events are not supported", {"m.xml": EVENT}),
    Case("sbml-missing", ("list", "species", "--model", "{in}/none.xml"), r"none\.xml: cannot read SBML file"),
    # ----- command-line options ----------------------------------------------------------------
    Case("opt-days-nan", ("simulate", "--days", "nan", "--out", "{out}/o.csv"), r"--days/--step: time must be finite"),
    Case("opt-days-1e400", ("simulate", "--days", "1e400", "--out", "{out}/o.csv"), r"time must be finite"),
    Case("opt-days-negative", ("simulate", "--days=-1", "--out", "{out}/o.csv"), r"time must not be negative"),
    Case("opt-days-unit", ("simulate", "--days", "3 nM", "--out", "{out}/o.csv"), r"has dimension concentration"),
    Case("opt-step-zero", ("simulate", "--step", "0", "--out", "{out}/o.csv"), r"--step must be positive"),
    Case("opt-step-tiny", ("simulate", "--step", "1e-300", "--out", "{out}/o.csv"), r"more than 1,000,000 output rows"),
    Case("opt-set-negative", (*SIM, "--set", "k_il6_basal=-1"), r"--set k_il6_basal: .*must be finite and >= 0"),
    Case("opt-set-inf", (*SIM, "--set", "k_il6_basal=inf"), r"--set k_il6_basal: .*must be finite and >= 0"),
    Case("opt-set-unit", (*SIM, "--set", "k_il6_basal=1 nM"),
         r"--set: k_il6_basal expects a concentration per time such as 'nM/h'; 'nM' is a concentration"),
    Case("opt-set-dose-per-weight", (*SIM, "--set", "k_il6_basal=2 mg/kg"),
         r"--set: k_il6_basal expects a concentration per time such as 'nM/h'; 'mg/kg' is a dose per body weight "
         r"\(mass per mass\), not a concentration per time: write the value in nM/h"),
    Case("opt-set-dimensionless-ratio", (*SIM, "--set", "baseline_inflammation=2 mg/kg"),
         r"--set: baseline_inflammation expects a pure number \(no unit\); 'mg/kg' is a dose per body weight"),
    Case("opt-set-mass-rate", (*SIM, "--set", "k_il6_basal=5 pg/(ml*h)"),
         r"'pg/\(ml\*h\)' is a mass concentration per time, .*convert mass with the molecular weight"),
    Case("opt-set-unknown", (*SIM, "--set", "k_il6_basl=1"), r"--set: unknown parameter 'k_il6_basl'; did you mean"),
    Case("opt-set-syntax", (*SIM, "--set", "k_il6_basal"), r"--set 'k_il6_basal': expected NAME=VALUE"),
    Case("opt-set-1e308", ("simulate", "--days", "1", "--out", "{out}/o.csv", "--set", "k_il6_basal=1e308"),
         r"failed on non-finite numbers .*check extreme parameter values"),
    Case("opt-steady-1e308", ("steady-state", "--set", "k_il6_basal=1e308"),
         r"steady state failed on non-finite numbers .*check extreme parameter values"),
    Case("opt-dose-1e308", (*SIM, "--drug", "tocilizumab", "--dose", "1e308mg/kg"), r"refused as typos"),
    Case("opt-dose-nan", (*SIM, "--drug", "tocilizumab", "--dose", "nan mg"), r"must be a finite amount"),
    Case("opt-dose-unit", (*SIM, "--drug", "tocilizumab", "--dose", "8 nM"), r"must be a mass"),
    Case("opt-weight-zero", (*SIM, "--drug", "tocilizumab", "--weight", "0kg"), r"between 1 and 500 kg"),
    Case("opt-count-zero", (*SIM, "--drug", "tocilizumab", "--count", "0"), r"--count must be at least 1"),
    Case("opt-count-fraction", (*SIM, "--drug", "tocilizumab", "--count", "2.5"), r"--count must be a whole number"),
    Case("opt-count-without-every", (*SIM, "--drug", "tocilizumab", "--dose", "8mg/kg", "--count", "3"),
         r"--drug tocilizumab: --count 3 without --every; add --every TIME"),
    Case("opt-count-without-every-standard-dose", (*SIM, "--drug", "tocilizumab", "--count", "3"),
         r"--drug tocilizumab: --count 3 without --every; add --every TIME"),
    Case("opt-every-without-count", (*SIM, "--drug", "tocilizumab", "--every", "14d"),
         r"--drug tocilizumab: --every 14d without --count gives a single dose; add --count N \(doses in all"),
    Case("opt-at-dose-per-weight", (*SIM, "--drug", "tocilizumab", "--at", "1 mg/kg"),
         r"time '1 mg/kg': 'mg/kg' is a dose per body weight \(mass per mass\), not a time"),
    Case("opt-every-percent", (*SIM, "--drug", "tocilizumab", "--every", "50 %", "--count", "2"),
         r"time has dimension dimensionless, expected time"),
    Case("opt-weight-dose-per-weight", (*SIM, "--drug", "tocilizumab", "--weight", "80 mg/kg"),
         r"--weight: weight '80 mg/kg': 'mg/kg' is a dose per body weight \(mass per mass\), not a body weight"),
    Case("opt-route", (*SIM, "--drug", "tocilizumab", "--route", "im"), r"--route must be iv or sc"),
    Case("opt-dose-before-drug", (*SIM, "--dose", "8mg/kg"), r"--dose must follow a --drug"),
    Case("opt-dose-twice", (*SIM, "--drug", "tocilizumab", "--dose", "8mg/kg", "--dose", "4mg/kg"),
         r"--dose given twice for --drug tocilizumab"),
    Case("opt-rtol-zero", (*SIM, "--rtol", "0"), r"--rtol 0: must be between 0 and 1"),
    Case("opt-atol-negative", (*SIM, "--atol=-1"), r"--atol -1: must be a positive number"),
    Case("opt-rtol-text", (*SIM, "--rtol", "tight"), r"argument --rtol: invalid float value"),
    Case("opt-solver", (*SIM, "--solver", "numba"), r"unknown solver 'numba'"),
    Case("opt-method", (*SIM, "--method", "Rodas"), r"unknown method 'Rodas'"),
    Case("opt-genotype", (*SIM, "--genotype", "rs2228145=AT"), r"unknown genotype 'AT'"),
    Case("opt-unknown-option", (*SIM, "--frobnicate"), r"unrecognized arguments: --frobnicate"),
    Case("opt-unknown-command", ("simulat",), r"invalid choice: 'simulat'"),
    Case("out-parent-is-file", ("simulate", "--out", "{in}/f.txt/o.csv"), r"'.*f\.txt' is a file, not a directory",
         {"f.txt": "x"}),
    Case("out-is-directory", ("simulate", "--out", "{out}"), r"--out .*: is a directory; give a file name"),
    Case("out-missing-dir", ("simulate", "--out", "{out}/missing/o.csv"), r"directory '.*missing' does not exist"),
    Case("out-readonly-dir", ("simulate", "--out", "{in}/ro/o.csv"), r"directory '.*ro' is not writable",
         {"ro/.keep": ""}, skip_if="root"),
    Case("out-name-too-long", ("simulate", "--out", "{out}/" + "a" * 300 + ".csv"), r"File name too long"),
    Case("model-name-too-long", ("list", "species", "--model", "x" * 300), r"unknown model 'x{60}\.\.\.'"),
    Case("out-proc", ("simulate", "--out", "/proc/il6sim-test.csv"), r"directory '/proc' is not writable"),
    Case("model-card-out", ("model-card", "--out", "{out}/no/card.md"), r"directory '.*no' does not exist"),
    Case("export-sbml-out-dir", ("export-sbml", "--out", "{out}"), r"is a directory; give a file name"),
    Case("export-sbml-drug", ("export-sbml", "--drug", "tocilizumabb", "--out", "{out}/m.xml"),
         r"unknown drug 'tocilizumabb'; did you mean 'tocilizumab'"),
    Case("compare-no-drugs", ("compare", "--drugs", ",", "--out", "{out}/c"), r"--drugs ',': no drug named"),
    Case("compare-at-nan", ("compare", "--drugs", "tocilizumab", "--at", "nan", "--out", "{out}/c"),
         r"time must be finite"),
    Case("compare-run-ends-before-admission", ("compare", "--drugs", "tocilizumab", "--days", "10d", "--out", "{out}/c"),
         r"the scenario's admission \(15.8 d, the default --at\): the drug would be given at 15.8 d, at or after "
         r"the end of the run \(10 d\); dose earlier \(--at\) or simulate longer \(--days\)"),
    Case("compare-at-admission-without-admission", ("compare", "--scenario", "healthy", "--drugs", "tocilizumab",
                                                    "--at", "admission+1d", "--out", "{out}/c"),
         r"time 'admission\+1d' is relative to admission, but no scenario gives one"),
    Case("compare-unknown-drug", ("compare", "--drugs", "tocilizumab,siltuximabb", "--out", "{out}/c"),
         r"unknown drug 'siltuximabb'; did you mean 'siltuximab'"),
    Case("list-unknown-model", ("list", "parameters", "--model", "il66"), r"unknown model 'il66'; did you mean 'il6'"),
    # ----- the same, as a separate process (the installed entry point's path) ------------------
    Case("proc-model-nan", M, r"m\.toml:12: \[species\.l\] initial: must be finite",
         {"m.toml": sub(BINDING, 'initial = "10 nM"', 'initial = "nan nM"')}, subprocess=True),
    Case("proc-sbml-xxe", X, r"refused for safety", {"m.xml": XXE}, subprocess=True, hostile=True),
    Case("proc-dose-1e308", (*SIM, "--drug", "tocilizumab", "--dose", "1e308mg"), r"refused as typos", subprocess=True),
    Case("proc-out-parent-file", ("simulate", "--out", "{in}/f.txt/o.csv"), r"is a file, not a directory",
         {"f.txt": "x"}, subprocess=True),
]

_PASSED: dict[str, bool] = {}
_SKIPPED: set[str] = set()


def _fill(arg: str, tmp: Path) -> str:
    return arg.replace("{in}", str(tmp / "in")).replace("{out}", str(tmp / "out")).replace("{tmp}", str(tmp))


def _run_case(case: Case, tmp: Path) -> tuple[int, str, str]:
    """Write the case's files, run it, and return (exit status, stdout, stderr)."""
    (tmp / "in").mkdir()
    (tmp / "out").mkdir()
    for name, content in case.files.items():
        path = tmp / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(_fill(content, tmp))
    if case.id == "out-readonly-dir":
        (tmp / "in" / "ro").chmod(0o555)
    args = [_fill(a, tmp) for a in case.args]
    if case.subprocess:
        proc = subprocess.run([sys.executable, "-m", "il6sim.cli", *args], capture_output=True, text=True,
                              timeout=300, cwd=ROOT)
        return proc.returncode, proc.stdout, proc.stderr
    out, err = io.StringIO(), io.StringIO()
    from contextlib import redirect_stderr, redirect_stdout

    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(args)
        except SystemExit as exc:  # argparse's own errors
            status = exc.code if isinstance(exc.code, int) else 1
    return status, out.getvalue(), err.getvalue()


def _check(case: Case, tmp: Path) -> None:
    import re

    status, stdout, stderr = _run_case(case, tmp)
    lines = stderr.splitlines()
    assert status == case.exit, f"exit {status}, expected {case.exit}; stderr: {stderr}"
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {stderr}"
    assert lines[0].startswith("il6sim: error: "), lines[0]
    assert re.search(case.message, lines[0]), f"{case.message!r} not in: {lines[0]}"
    assert stdout == "", f"nothing should be printed on stdout: {stdout[:200]}"
    left = sorted(str(p.relative_to(tmp / "out")) for p in (tmp / "out").rglob("*"))
    assert not left, f"output left behind: {left}"
    if case.files:
        written = set(case.files) | {str(Path(n).parent) for n in case.files}
        extra = [p.name for p in (tmp / "in").rglob("*") if str(p.relative_to(tmp / "in")) not in written]
        assert not extra, f"files created next to the inputs: {extra}"
    assert not (tmp / "pwned").exists(), "code in a data file was executed"
    assert not Path("/proc/il6sim-test.csv").exists()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    if case.skip_if == "root" and hasattr(os, "geteuid") and os.geteuid() == 0:
        _SKIPPED.add(case.id)
        pytest.skip("permissions do not stop root; 'out-proc' covers an unwritable directory")
    if case.id.startswith(("sbml-", "proc-sbml")):
        pytest.importorskip("libsbml", reason="python-libsbml (the 'sbml' or 'test' extra) is not installed")
    _PASSED[case.id] = False
    try:
        _check(case, tmp_path)
    finally:
        if case.id == "out-readonly-dir":
            (tmp_path / "in" / "ro").chmod(0o755)
    _PASSED[case.id] = True


def test_catalogue_is_large_and_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 60
    kinds = {c.id.split("-")[0] for c in CASES}
    assert {"model", "drug", "scenario", "regimen", "sweep", "sbml", "opt", "out"} <= kinds
    assert sum(c.hostile for c in CASES) >= 8


# ---------------------------------------------------------------------------------------------
# Results and sweeps load without pickle
# ---------------------------------------------------------------------------------------------
def _pickled_npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, time_h=np.zeros(2), values=np.array([object(), None], dtype=object),
             observable_values=np.zeros((2, 0)), meta=np.array(json.dumps({"format": "il6sim.Result", "species": ["a"], "observable_ids": [],
                                       "observable_units": [], "provenance": {}})))
    return buf.getvalue()


def test_result_load_refuses_pickle(tmp_path: Path) -> None:
    from il6sim.results import Result

    path = tmp_path / "r.npz"
    path.write_bytes(_pickled_npz())
    with pytest.raises(Il6simError, match=r"r\.npz: cannot read result file: .*pickle"):
        Result.load(path)


def test_result_load_refuses_garbage(tmp_path: Path) -> None:
    from il6sim.results import Result

    for name, data in [("empty.npz", b""), ("text.npz", b"hello"), ("zip.npz", _zip({"a.txt": b"x"})),
                       ("truncated.npz", _pickled_npz()[:100])]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(Il6simError, match=rf"{name}: "):
            Result.load(path)


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
    return buf.getvalue()


def test_sweep_chunks_load_without_pickle(tmp_path: Path) -> None:
    from il6sim.sweeps import load_sweep

    out = tmp_path / "sw"
    spec = tmp_path / "sw.toml"
    spec.write_text(SWEEP)
    assert main(["sweep", str(spec), "--out", str(out)]) == 0
    chunk = sorted(out.glob("chunk-*.npz"))[0]
    with np.load(chunk, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["messages"] = np.array([object()] * len(arrays["status"]), dtype=object)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    chunk.write_bytes(buf.getvalue())
    with pytest.raises((ValueError, Il6simError), match="pickle"):  # refused: nothing is unpickled
        load_sweep(out)


SPEC = {"sweep": {"scenario": "covid_severe", "days": 10, "step": "12 h", "seed": 1, "rows": 2,
                  "observables": ["il6_free_pg_ml"], "metrics": ["peak"]}}


@pytest.mark.parametrize(
    ("factor", "pattern"),
    [
        ({"parameter": "k_il6_basal", "grid": ["0.05 nM/h", "2 mg/kg"]},
         r"^<dict>: \[\[factors\]\] #1 grid: k_il6_basal expects a concentration per time such as 'nM/h'; 'mg/kg' is a "
         r"dose per body weight \(mass per mass\), not a concentration per time"),
        ({"parameter": "k_il6_basal", "sampler": "uniform", "low": "0.001 nM/h", "high": "0.01 mg/kg"},
         r"^<dict>: \[\[factors\]\] #1 high: k_il6_basal expects a concentration per time .*'mg/kg' is a dose"),
        ({"parameter": "k_il6_basal", "sampler": "uniform", "low": "0.001 nM", "high": "0.01 nM/h"},
         r"#1 low: k_il6_basal expects a concentration per time such as 'nM/h'; 'nM' is a concentration"),
        ({"parameter": "baseline_inflammation", "grid": [1, "2 mg/kg"]},
         r"#1 grid: baseline_inflammation expects a pure number \(no unit\); 'mg/kg' is a dose per body weight"),
    ],
)
def test_sweep_values_of_the_wrong_dimension(factor: dict, pattern: str) -> None:
    from il6sim.sweeps import spec_from_dict

    with pytest.raises(Il6simError, match=pattern):
        spec_from_dict({**SPEC, "factors": [factor]})


def test_sweep_values_in_their_own_dimension() -> None:
    from il6sim.sweeps import spec_from_dict

    spec = spec_from_dict({**SPEC, "factors": [{"parameter": "k_il6_basal", "grid": ["0.05 nM/h", 0.05, "1.2 nM/d"]}]})
    grid = spec.factors[0].grid
    assert grid[0] == grid[1] == 0.05 and grid[2] == pytest.approx(0.05, rel=1e-14)


def test_catalogue_summary(tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    """Runs last in this file: prints ``bad-input catalogue: N/M cases passed``."""
    for case in CASES:  # rows not run in this session (e.g. -k selection) are run here
        if case.id not in _PASSED:
            if case.skip_if == "root" and hasattr(os, "geteuid") and os.geteuid() == 0:
                _SKIPPED.add(case.id)
                continue
            try:
                _check(case, tmp_path_factory.mktemp(case.id))
                _PASSED[case.id] = True
            except (AssertionError, Exception):
                _PASSED[case.id] = False
    passed = sum(_PASSED.get(c.id, False) for c in CASES)
    tried = len(CASES) - len(_SKIPPED)
    line = (f"bad-input catalogue: {passed}/{tried} cases passed ({sum(c.hostile for c in CASES)} hostile"
            + (f"; {len(_SKIPPED)} skipped: {', '.join(sorted(_SKIPPED))}" if _SKIPPED else "") + ")")
    with capsys.disabled():
        print(f"\n{line}")
    failed = [c.id for c in CASES if c.id not in _SKIPPED and not _PASSED.get(c.id, False)]
    assert not failed, f"{line}; failing: {', '.join(failed)}"


@pytest.mark.parametrize("manifest", ['[]', '"x"', '{"kind": "il6sim-sweep", "complete": true}',
                                      '{"kind": "il6sim-sweep", "complete": true, "chunks": [5]}'])
def test_load_sweep_malformed_manifest(tmp_path: Path, manifest: str) -> None:
    from il6sim.sweeps import load_sweep

    (tmp_path / "manifest.json").write_text(manifest)
    with pytest.raises(Il6simError, match="manifest"):
        load_sweep(tmp_path)
